"""Dialogs: the one error presenter, the admin passphrase, adding a reader, confirmations.

The module-level functions (:func:`ask_passphrase`, :func:`ask_new_reader`,
:func:`confirm`) are what the windows call, so tests can replace them.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.errors import Cancelled
from wbsdesk.gui.process_entry import JobFailure

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
    """Ask for the admin passphrase (twice when it is being set for the first time)."""

    def __init__(self, parent: QWidget | None = None, *, first_time: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Admin passphrase")
        self.first_time = first_time
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020;")
        text = ("Set an admin passphrase (at least 8 characters). It protects imports, "
                "ground truth, dashboards and readers' sessions from reader mode."
                if first_time else "Enter the admin passphrase.")
        intro = QLabel(text)
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        if first_time:
            form.addRow("Repeat", self.repeat)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(intro)
        v.addLayout(form)
        v.addWidget(self.problem)
        v.addWidget(buttons)

    def _on_accept(self) -> None:
        if self.first_time:
            if len(self.passphrase.text()) < 8:
                self.problem.setText("Use at least 8 characters.")
                return
            if self.passphrase.text() != self.repeat.text():
                self.problem.setText("The two entries differ.")
                return
        self.accept()


def ask_passphrase(parent: QWidget | None, *, first_time: bool) -> str | None:
    """The passphrase the user typed, or ``None`` if they cancelled."""
    dlg = PassphraseDialog(parent, first_time=first_time)
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
