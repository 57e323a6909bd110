"""Reader mode's lock: the lock page, unlocking, setting up the passphrase, the idle lock.

Admin views open only with the admin passphrase. A workspace without one keeps them closed:
the lock page says so and offers *Set up admin passphrase…*, an explicit step whose dialog
says that it makes the user the study administrator. Clicking an admin view never sets a
passphrase. Wrong passphrases are rate-limited by :func:`wbsdesk.services.admin.unlock`,
and no message here names a command, a file or a label.

Unlocked views go back to reader mode after :func:`~wbsdesk.services.admin.idle_lock_minutes`
without keyboard or mouse input anywhere in the app (:class:`IdleWatcher`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from wbsdesk.errors import UserError
from wbsdesk.gui import dialogs
from wbsdesk.services import admin
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

LOCKED_TEXT = ("This computer is set up for reading sessions. The study lead starts each "
               "session; the other views need the admin passphrase.")
NO_PASSPHRASE_TEXT = (f"{admin.NOT_SET_UP} The admin views stay closed until the study "
                      "administrator sets one up.")
SET_UP_HINT = ("The admin views stay closed until the study administrator sets one up with "
               "“Set up admin passphrase…” on the reader-mode page.")


class LockWidget(QWidget):
    """What reader mode shows between sessions."""

    def __init__(self) -> None:
        super().__init__()
        title = QLabel("<h2>Reader mode</h2>")
        self.text = QLabel(LOCKED_TEXT)
        self.text.setWordWrap(True)
        self.unlock_button = QPushButton("Unlock admin views…")
        self.setup_button = QPushButton("Set up admin passphrase…")
        self.setup_button.setToolTip("Makes you the study administrator of this workspace")
        v = QVBoxLayout(self)
        v.addStretch(1)
        for w in (title, self.text):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            v.addWidget(w)
        v.addWidget(self.unlock_button, 0, Qt.AlignmentFlag.AlignHCenter)
        v.addWidget(self.setup_button, 0, Qt.AlignmentFlag.AlignHCenter)
        v.addStretch(2)

    def refresh(self, *, has_passphrase: bool) -> None:
        """Offer unlocking, or (without a passphrase) the set-up step."""
        self.text.setText(LOCKED_TEXT if has_passphrase else NO_PASSPHRASE_TEXT)
        self.unlock_button.setVisible(has_passphrase)
        self.setup_button.setVisible(not has_passphrase)


def ask_and_unlock(parent: QWidget, ws: Workspace,
                   show_error: Any) -> bool:
    """Ask for the admin passphrase and check it; ``True`` if the admin views may open.

    Without a passphrase nothing is asked: the user is told the views are closed.
    """
    if not admin.has_passphrase(ws):
        show_error(UserError(admin.NOT_SET_UP, hint=SET_UP_HINT))
        return False
    entered = dialogs.ask_passphrase(parent, wait=lambda: admin.unlock_wait(ws))
    if entered is None:
        return False
    try:
        admin.unlock(ws, entered)
    except UserError as exc:
        show_error(exc)
        return False
    return True


def set_up_passphrase(parent: QWidget, ws: Workspace, show_error: Any) -> bool:
    """The explicit first-run step: ask for a new passphrase twice and store it.

    Returns
    -------
    bool
        Whether a passphrase was set up (the one who did it is the administrator).
    """
    if admin.has_passphrase(ws):
        show_error(UserError("An admin passphrase is already set up on this workspace."))
        return False
    entered = dialogs.ask_new_passphrase(parent)
    if entered is None:
        return False
    try:
        admin.set_passphrase(ws, entered)
    except UserError as exc:
        show_error(exc)
        return False
    return True


class IdleWatcher(QObject):
    """Emit ``idle`` after ``ms`` without keyboard, mouse, wheel or touch input in the app.

    An application-wide event filter restarts the countdown on every input event; the
    countdown runs only between :meth:`start` and :meth:`stop`.
    """

    idle = Signal()
    _INPUT = frozenset({QEvent.Type.KeyPress, QEvent.Type.KeyRelease,
                        QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                        QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
                        QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate,
                        QEvent.Type.TabletPress, QEvent.Type.TabletMove})

    def __init__(self, ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(max(int(ms), 1))
        self.timer.timeout.connect(self._on_timeout)

    def set_interval(self, ms: int) -> None:
        """Change the idle time (a running countdown restarts with it)."""
        self.timer.setInterval(max(int(ms), 1))
        if self.timer.isActive():
            self.timer.start()

    def start(self) -> None:
        """Start (or restart) the countdown; input events are watched from now on."""
        app = QApplication.instance()
        if app is not None and not self.timer.isActive():
            app.installEventFilter(self)
        self.timer.start()

    def stop(self) -> None:
        """Stop counting and watching (reader mode and sessions need no idle lock)."""
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)

    def _on_timeout(self) -> None:
        self.stop()
        self.idle.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in self._INPUT:
            self.timer.start()
        return False


class DialogLockWidget(QWidget):
    """Covers a busy admin dialog (a wizard whose job runs) until the passphrase is given.

    The dialog's own widgets are disabled, its keys (Esc included) and its close button do
    nothing, and an opaque panel with *Unlock…* lies over it. Closing the dialog instead
    would ask whether to stop the job, or stop it.
    """

    def __init__(self, dialog: QDialog, unlock: Callable[[QWidget], bool]) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self._unlock = unlock
        self.setAutoFillBackground(True)
        text = QLabel("<h3>Locked</h3>The admin views locked after a time without input. "
                      "The work in this window goes on.")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unlock_button = QPushButton("Unlock…")
        self.unlock_button.clicked.connect(self._on_unlock)
        v = QVBoxLayout(self)
        v.addStretch(1)
        v.addWidget(text)
        v.addWidget(self.unlock_button, 0, Qt.AlignmentFlag.AlignHCenter)
        v.addStretch(1)
        self._disabled = [c for c in dialog.findChildren(
            QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if c is not self and c.isEnabled()]
        for c in self._disabled:
            c.setEnabled(False)
        dialog.installEventFilter(self)
        self.setGeometry(dialog.rect())
        self.raise_()
        self.show()
        self.unlock_button.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.dialog:
            if event.type() == QEvent.Type.Resize:
                self.setGeometry(self.dialog.rect())
            elif event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride,
                                  QEvent.Type.Close):
                event.ignore()
                return True
        return False

    def _on_unlock(self) -> None:
        if self._unlock(self.dialog):
            self.release()

    def release(self) -> None:
        """Give the dialog back."""
        self.dialog.removeEventFilter(self)
        for c in self._disabled:
            c.setEnabled(True)
        self.hide()
        self.deleteLater()


def lock_admin_dialogs(window: QWidget,
                       unlock: Callable[[QWidget], bool]) -> list[DialogLockWidget]:
    """Close the dialogs open over the admin views; cover the busy ones.

    A dialog with a ``busy()`` method that says ``True`` (a wizard whose job runs) gets a
    :class:`DialogLockWidget`; every other one is rejected (top of the modal stack first).
    """
    dialogs_open: list[QDialog] = []
    modal = QApplication.activeModalWidget()
    while isinstance(modal, QDialog) and modal is not window and modal not in dialogs_open:
        dialogs_open.append(modal)
        busy = getattr(modal, "busy", None)
        if callable(busy) and busy():
            break
        modal.reject()
        modal = QApplication.activeModalWidget()
    dialogs_open += [w for w in QApplication.topLevelWidgets()
                     if isinstance(w, QDialog) and w.isVisible() and w not in dialogs_open]
    covers = []
    for w in dialogs_open:
        if not w.isVisible() or any(c.isVisible() for c in w.findChildren(DialogLockWidget)):
            continue
        busy = getattr(w, "busy", None)
        if callable(busy) and busy():
            covers.append(DialogLockWidget(w, unlock))
        else:
            w.reject()
    return covers
