"""Dialogs: the one error presenter, the admin passphrase, adding a reader, confirmations.

The module-level functions (:func:`ask_passphrase`, :func:`ask_new_passphrase`,
:func:`ask_new_reader`, :func:`confirm`) are what the windows call, so tests can replace
them.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.errors import Cancelled
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.services.admin import MIN_LENGTH, wait_message

log = logging.getLogger(__name__)


class ErrorDialog(QMessageBox):
    """A problem shown to the user: a plain message, or a short message with Details."""


def present_error(parent: QWidget | None, error: BaseException | JobFailure,
                  *, log_path: Path | None = None) -> ErrorDialog | None:
    """Show an error the one way the app does; cancellation shows nothing.

    A :class:`UserError` (or a failure from one) becomes its message and hint. Anything
    else is a bug: a short message, the traceback under *Details*, and a log entry.

    Returns
    -------
    ErrorDialog or None
        The (window-modal, non-blocking) dialog, or ``None`` for a cancellation.
    """
    if isinstance(error, Cancelled):
        return None
    failure = error if isinstance(error, JobFailure) else JobFailure.from_exception(error)
    box = ErrorDialog(parent)
    box.setWindowTitle("wbsdesk")
    if failure.user_error:
        log.info("user error shown: %s", failure.message)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(failure.message)
        if failure.hint:
            box.setInformativeText(failure.hint)
    else:
        log.error("unexpected error: %s\n%s", failure.message, failure.traceback)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setText("Something went wrong. The details are in the log.")
        where = f"\nLog file: {log_path}" if log_path else ""
        box.setInformativeText(f"{failure.message}{where}")
        box.setDetailedText(failure.traceback or "".join(traceback.format_stack()))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


class PassphraseDialog(QDialog):
    """Ask for the admin passphrase; while wrong attempts must wait, say how long.

    ``wait`` gives the seconds before an attempt is taken (0: now); OK stays disabled and
    the time left is shown until then.
    """

    def __init__(self, parent: QWidget | None = None, *,
                 wait: Callable[[], float] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Admin passphrase")
        self._wait = wait or (lambda: 0.0)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020;")
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(QLabel("Enter the admin passphrase."))
        v.addLayout(form)
        v.addWidget(self.problem)
        v.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._update_wait)
        self._update_wait()

    @property
    def ok_button(self) -> QPushButton:
        """The OK button (disabled while an attempt must wait)."""
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _update_wait(self) -> None:
        left = self._wait()
        self.ok_button.setEnabled(left <= 0)
        if left > 0:
            self.problem.setText(wait_message(left))
            self._timer.start()
        else:
            self.problem.clear()
            self._timer.stop()


def ask_passphrase(parent: QWidget | None, *,
                   wait: Callable[[], float] | None = None) -> str | None:
    """The passphrase the user typed, or ``None`` if they cancelled."""
    dlg = PassphraseDialog(parent, wait=wait)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return dlg.passphrase.text()


SETUP_TEXT = (
    "<b>This makes you the study administrator of this workspace.</b><br><br>"
    "From now on, imports, ground truth, training, dashboards and readers' sessions open "
    "only with this passphrase. Readers at this computer stay in reader mode and are locked "
    "out of these views.<br><br>"
    f"Choose a passphrase of at least {MIN_LENGTH} characters and type it twice. Keep it to "
    "yourself; readers must not know it.")


class SetupPassphraseDialog(QDialog):
    """Set up the first admin passphrase: says what that does, and asks for it twice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set up admin passphrase")
        intro = QLabel(SETUP_TEXT)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020;")
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        form.addRow("Type it again", self.repeat)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.addButton("Set up and become administrator",
                                           QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(intro)
        v.addLayout(form)
        v.addWidget(self.problem)
        v.addWidget(buttons)
        self.setMinimumWidth(460)

    def _on_accept(self) -> None:
        if len(self.passphrase.text()) < MIN_LENGTH:
            self.problem.setText(f"Use at least {MIN_LENGTH} characters.")
            return
        if self.passphrase.text() != self.repeat.text():
            self.problem.setText("The two entries differ.")
            return
        self.accept()


def ask_new_passphrase(parent: QWidget | None) -> str | None:
    """The first admin passphrase, typed twice, or ``None`` if the user cancelled."""
    dlg = SetupPassphraseDialog(parent)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return dlg.passphrase.text()


class AddReaderDialog(QDialog):
    """A new reader: display name or code, role, years of experience."""

    def __init__(self, roles: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add reader")
        self.name = QLineEdit()
        self.name.setPlaceholderText("display name or code, e.g. R01")
        self.role = QComboBox()
        self.role.addItems(list(roles))
        self.years = QSpinBox()
        self.years.setRange(-1, 80)
        self.years.setSpecialValueText("not given")
        self.years.setValue(-1)
        form = QFormLayout()
        form.addRow("Name or code", self.name)
        form.addRow("Role", self.role)
        form.addRow("Years of experience", self.years)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addLayout(form)
        v.addWidget(buttons)

    def values(self) -> tuple[str, str, int | None]:
        """(name, role, years or None)."""
        years = self.years.value()
        return self.name.text().strip(), self.role.currentText(), None if years < 0 else years


def ask_new_reader(parent: QWidget | None,
                   roles: tuple[str, ...]) -> tuple[str, str, int | None] | None:
    """(name, role, years) for a new reader, or ``None`` if cancelled."""
    dlg = AddReaderDialog(roles, parent)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return dlg.values()


def confirm(parent: QWidget | None, title: str, text: str, *, yes: str = "Yes",
            no: str = "No") -> bool:
    """Ask a yes/no question; ``True`` for yes."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.YesRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.NoRole)
    box.setDefaultButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button
