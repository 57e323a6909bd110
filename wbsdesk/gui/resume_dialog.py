"""The administrator's choice for a session interrupted past the protocol's resume limit."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.services.session_policy import ExpiredSession

RESTART_TEXT = ("Restart the session. The {reads} answers so far stay in the database and "
                "the audit log, marked void: they leave every analysis. The reader starts "
                "again from the first photo, in a new order.")
CONTINUE_TEXT = ("Continue where it stopped. The session keeps its {reads} answers; the "
                 "late continuation is recorded as a protocol deviation and shown in the "
                 "report.")


class ResumeDecisionDialog(QDialog):
    """Restart or continue an expired session, with a reason (nothing is chosen at first).

    ``decision()`` is ``"restart"`` or ``"continue"`` once accepted; ``reason()`` the text.
    """

    def __init__(self, expired: ExpiredSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Session interrupted too long")
        self.setMinimumWidth(560)
        head = QLabel(f"<b>{expired.describe()}.</b>")
        head.setWordWrap(True)
        ask = QLabel("The reader cannot simply go on. As the study administrator, choose:")
        ask.setWordWrap(True)
        self.restart = QRadioButton("Restart: earlier answers void")
        self.keep_on = QRadioButton("Continue: a protocol deviation")
        restart_text = QLabel(RESTART_TEXT.format(reads=expired.reads))
        continue_text = QLabel(CONTINUE_TEXT.format(reads=expired.reads))
        for lab in (restart_text, continue_text):
            lab.setWordWrap(True)
            lab.setIndent(24)
        self.group = QButtonGroup(self)
        self.group.addButton(self.restart)
        self.group.addButton(self.keep_on)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Reason (kept with the decision and shown in "
                                            "the report)")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Record the decision")
        self.ok.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.group.buttonToggled.connect(lambda *_: self.ok.setEnabled(True))
        v = QVBoxLayout(self)
        for w in (head, ask, self.restart, restart_text, self.keep_on, continue_text,
                  QLabel("Reason:"), self.reason_edit, self.buttons):
            v.addWidget(w)

    def decision(self) -> str | None:
        """``"restart"``, ``"continue"`` or ``None`` (nothing chosen)."""
        if self.restart.isChecked():
            return "restart"
        if self.keep_on.isChecked():
            return "continue"
        return None

    def reason(self) -> str:
        """The reason typed (stripped)."""
        return self.reason_edit.text().strip()


def ask_resume_decision(parent: QWidget | None,
                        expired: ExpiredSession) -> tuple[str, str] | None:
    """(decision, reason) from the administrator, or ``None`` if cancelled."""
    dlg = ResumeDecisionDialog(expired, parent)
    if dlg.exec() != QDialog.DialogCode.Accepted or dlg.decision() is None:
        return None
    decision = dlg.decision()
    assert decision is not None
    return decision, dlg.reason()
