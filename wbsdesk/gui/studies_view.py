"""The Studies view: the workspace's studies, and the selected one's groups and folds.

It also starts the new-study wizard (when this build has it) and resumes the selected
study's unfinished training run (the window switches to the Training view for that).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.gui.tables import fill_table, fit_height, make_table, two_lines
from wbsdesk.services import studies as study_service
from wbsdesk.services import training as training_service
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

#: The module of the new-study wizard (started lazily; the button is off without it).
WIZARD_MODULE = "wbsdesk.gui.wizard"


def wizard_available() -> bool:
    """Whether this build has the new-study wizard."""
    try:
        return importlib.util.find_spec(WIZARD_MODULE) is not None
    except (ImportError, ValueError):
        return False


class StudiesWidget(QWidget):
    """The workspace's studies, and the selected one's groups and folds.

    Signals
    -------
    resume_requested(str, str)
        "Resume training…" was pressed: the study and its newest unfinished run.
    """

    resume_requested = Signal(str, str)

    def __init__(self, ws: Workspace, study: str | None = None) -> None:
        super().__init__()
        self._ws = ws
        self.study: str | None = None
        self._resumable: str | None = None
        self.wizard_button = QPushButton("New study wizard…")
        self.wizard_button.setToolTip("Create a study step by step: protocol, photos, faces, "
                                      "training")
        self.wizard_button.setEnabled(wizard_available())
        if not self.wizard_button.isEnabled():
            self.wizard_button.setToolTip("Not available in this version")
        self.wizard_button.clicked.connect(self.open_wizard)
        self.resume_button = QPushButton("Resume training…")
        self.resume_button.clicked.connect(self._on_resume_clicked)
        self.training_label = QLabel()
        self.training_label.setWordWrap(True)
        self.studies_table = make_table(["Study", "Protocol", "Subjects", "Photos", "Data"])
        self.groups_table = make_table(["Group", "Subjects", "Excluded", "Photos", "Primary"])
        self.folds_label = QLabel()
        self.folds_table = make_table(["Subset"])
        self.title = QLabel()
        self.title.setWordWrap(True)
        f = QFont(self.title.font())
        f.setPointSizeF(f.pointSizeF() * 1.3)
        f.setBold(True)
        self.title.setFont(f)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty = QLabel()
        self.empty.setWordWrap(True)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(QLabel("<b>Studies in this workspace</b>"))
        lv.addWidget(self.studies_table)
        lv.addWidget(self.empty)
        wb = QHBoxLayout()
        wb.addWidget(self.wizard_button)
        wb.addStretch(1)
        lv.addLayout(wb)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.title)
        rv.addWidget(self.details)
        rv.addWidget(self.groups_table)
        rv.addWidget(self.folds_label)
        rv.addWidget(self.folds_table)
        tr = QHBoxLayout()
        tr.addWidget(self.training_label, 1)
        tr.addWidget(self.resume_button)
        rv.addLayout(tr)
        rv.addStretch(1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([380, 820])
        QVBoxLayout(self).addWidget(split)
        self.studies_table.itemSelectionChanged.connect(self._on_selection_changed)
        self.refresh(select=study)

    def refresh(self, select: str | None = None) -> None:
        """Reload the list of studies and select ``select`` (or the first)."""
        rows = study_service.list_studies(self._ws)
        self._names = [r["name"] for r in rows]
        self.studies_table.blockSignals(True)  # the details are shown once, below
        fill_table(self.studies_table, [[r["name"], r["protocol"], r["subjects"], r["photos"],
                                    "SYNTHETIC" if r["synthetic"] else "real"] for r in rows])
        self.empty.setText("" if rows else
                           "No studies yet. Build the demo with <tt>wbsdesk demo</tt>, or "
                           "create one with <tt>wbsdesk study create</tt>"
                           + (" or the “New study wizard…”." if wizard_available() else "."))
        if rows:
            idx = self._names.index(select) if select in self._names else 0
            self.studies_table.selectRow(idx)
        self.studies_table.blockSignals(False)
        # always: the selected row may be the same index but another study (or changed)
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        sel = self.studies_table.selectionModel().selectedRows()
        self._show(self._names[sel[0].row()] if sel else None)

    def open_wizard(self) -> None:
        """Run the new-study wizard (modal); the list follows what it does, while it is open
        and after (the wizard's study is selected)."""
        if not wizard_available():
            return
        wiz = self.make_wizard()
        wiz.exec()
        self.refresh(select=wiz.study or self.study)

    def make_wizard(self) -> Any:
        """The new-study wizard over this view, wired so that this view follows it."""
        from wbsdesk.gui.wizard import StudyWizard

        wiz = StudyWizard(self._ws, parent=self)
        wiz.study_changed.connect(lambda name: self.refresh(select=name or self.study))
        return wiz

    def _on_resume_clicked(self) -> None:
        if self.study and self._resumable:
            self.resume_requested.emit(self.study, self._resumable)

    def show_training(self) -> None:
        """Refresh the selected study's training line and the "Resume training…" button."""
        name = self.study
        run = training_service.latest_resumable_run(self._ws, name) if name else None
        self._resumable = run
        self.resume_button.setEnabled(run is not None)
        self.resume_button.setVisible(name is not None)
        if name is None:
            self.training_label.setText("")
            return
        runs = training_service.list_runs(self._ws, name)
        finished = sum(r["status"] == "finished" for r in runs)
        text = (f"<b>Training:</b> {len(runs)} run(s), {finished} finished"
                if runs else "<b>Training:</b> no runs yet")
        if run is not None:
            text += f"; run {run} is unfinished and can be resumed"
            self.resume_button.setToolTip(f"Continue run {run} in the Training view")
        else:
            self.resume_button.setToolTip("No unfinished run to resume")
        self.training_label.setText(text + ".")

    def _show(self, name: str | None) -> None:
        self.study = name
        self.show_training()
        if name is None:
            self.title.setText("")
            fill_table(self.groups_table, [])
            self.details.setText("")
            self.folds_label.setText("")
            self.folds_table.hide()
            return
        info = study_service.show_study(self._ws, name)
        tag = "  [synthetic data]" if info["synthetic"] else ""
        self.title.setText(f"{info['name']}{tag}")
        fill_table(self.groups_table, [
            [v["label"] + ("  (target)" if v["positive"] else ""), v["subjects"],
             v["excluded"], v["photos"], v["primary_photos"]]
            for v in info["groups"].values()])
        fit_height(self.groups_table)
        f = info["folds"]
        folds = (f"{f['k']} folds, seed {f['seed']}" if f["assigned"]
                 else "not assigned yet")
        self.details.setText(f"<p>{info['title']}</p><p>Protocol: <b>{info['protocol']}</b>"
                             f"<br>Subjects: {info['subjects']}, photos: {info['photos']}"
                             f"<br>Cross-validation folds: {folds}</p>")
        report = study_service.fold_report(self._ws, name)
        self.folds_table.setVisible(report is not None)
        if report is None:
            self.folds_label.setText("")
            return
        self.folds_label.setText("<b>Subjects per fold and group</b> (Table 3)")
        # long group names take two lines, so that every column (and "Total") fits
        labels = [two_lines(info["groups"][g]["label"]) for g in report.groups]
        self.folds_table.setColumnCount(len(labels) + 2)
        self.folds_table.setHorizontalHeaderLabels(["Subset", *labels, "Total"])
        self.folds_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        header = self.folds_table.horizontalHeader()
        for c in range(self.folds_table.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        rows = []
        for i in range(report.k):
            counts = [report.table[g][i] for g in report.groups]
            rows.append([f"Subset {i + 1}", *counts, sum(counts)])
        fill_table(self.folds_table, rows)
        fit_height(self.folds_table)
