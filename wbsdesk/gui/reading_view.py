"""The Reading view (admin): readers, their sessions on a study, and starting a session."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.gui.aid_setup import AidSetupWidget
from wbsdesk.gui.tables import fill_table, make_table
from wbsdesk.gui.widgets import fill_study_combo
from wbsdesk.services import reading as reading_service
from wbsdesk.services.session_policy import expired_readers
from wbsdesk.services.workspace import Workspace


class ReadingAdminWidget(QWidget):
    """Pick a study and a reader, add readers, and start or resume a reading session.

    Signals
    -------
    start_requested(study, reader), add_reader_requested(), teaching_requested(study, reader)
    """

    start_requested = Signal(str, str)
    add_reader_requested = Signal()
    teaching_requested = Signal(str, str)

    def __init__(self, ws: Workspace, study: str | None = None) -> None:
        super().__init__()
        self._ws = ws
        self.study_combo = QComboBox()
        self.table = make_table(["Reader", "Role", "Years", "Kind", "Session",
                                 "Interruptions"])
        self.add_button = QPushButton("Add reader…")
        self.start_button = QPushButton("Start or resume session")
        self.start_button.setDefault(True)
        self.teaching_button = QPushButton("Teaching session…")
        self.teaching_button.setToolTip("Shows the true group after each answer, for teaching "
                                        "after the study reads; never part of the results")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.aid = AidSetupWidget(ws)  # the model's aid of an aided design
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Study</b>"))
        top.addWidget(self.study_combo, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.teaching_button)
        buttons.addWidget(self.start_button)
        v = QVBoxLayout(self)
        v.addLayout(top)
        v.addWidget(self.aid)
        v.addWidget(QLabel("<b>Readers</b> (simulated and dry-run readers are marked)"))
        v.addWidget(self.table, 1)
        v.addWidget(self.note)
        v.addLayout(buttons)
        self.study_combo.currentTextChanged.connect(lambda _: self.refresh_readers())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.add_button.clicked.connect(self.add_reader_requested)
        self.start_button.clicked.connect(self._on_start)
        self.teaching_button.clicked.connect(self._on_teaching)
        self.refresh(study)

    def refresh(self, study: str | None = None) -> None:
        """Reload the studies (selecting ``study`` if given) and the readers."""
        fill_study_combo(self.study_combo, self._ws, study or self.study_combo.currentText())
        self.refresh_readers()

    @property
    def study(self) -> str:
        """The selected study ('' when there is none)."""
        return self.study_combo.currentText()

    def selected_reader(self) -> str | None:
        """The selected reader's name."""
        rows = self.table.selectionModel().selectedRows()
        return self._readers[rows[0].row()] if rows else None

    def refresh_readers(self, select: str | None = None) -> None:
        """Reload the readers and their session on the selected study."""
        keep = select or self.selected_reader()
        self.aid.set_study(self.study)
        readers = reading_service.list_readers(self._ws)
        sessions = ({s["reader"]: s for s in reading_service.study_sessions(self._ws,
                                                                          self.study)}
                    if self.study else {})
        self._readers = [r["name"] for r in readers]
        expired = expired_readers(self._ws, self.study) if self.study else {}
        rows = []
        for r in readers:
            s = sessions.get(r["name"])
            if s is None:
                status, breaks = "not started", ""
            elif s["status"] == "finished":
                status, breaks = "finished", s["interruptions"]
            else:
                status, breaks = f"in progress, {s['read']} / {s['total']}", s["interruptions"]
                if r["name"] in expired:  # the administrator restarts or continues it
                    status += " · past the resume limit"
            kind = "" if r["kind"] == "physician" else r["kind"].upper()
            rows.append([r["name"], r["role"], r["years"], kind, status, breaks])
        fill_table(self.table, rows)
        if keep in self._readers:
            self.table.selectRow(self._readers.index(keep))
        self.note.setText("" if readers else "No readers yet: add the physicians who will "
                          "read, then start a session for each.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.start_button.setEnabled(bool(self.study) and self.selected_reader() is not None)
        self.teaching_button.setEnabled(self.start_button.isEnabled())

    def _on_start(self) -> None:
        name = self.selected_reader()
        if name and self.study:
            self.start_requested.emit(self.study, name)

    def _on_teaching(self) -> None:
        name = self.selected_reader()
        if name and self.study:
            self.teaching_requested.emit(self.study, name)
