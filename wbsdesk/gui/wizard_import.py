"""Wizard page 2: check a photo folder and its manifest, then import and assign folds.

Choosing the files starts a dry run (:func:`~wbsdesk.services.importer.check_import`, in a
worker thread) that writes nothing. Its problems fill a table (file, row, problem); the
Import button only works on a clean check of the files on show. The import itself runs in
a worker thread too, and assigns the study's folds when it lands.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from wbsdesk.errors import UserError
from wbsdesk.gui.file_dialogs import existing_folder, open_file, save_file
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.tables import fill_table, make_table
from wbsdesk.gui.wizard_common import WizardPageBase
from wbsdesk.services import studies as study_service
from wbsdesk.services.importer import ImportCheck
from wbsdesk.services.manifest import template_csv
from wbsdesk.services.study_jobs import ImportOutcome, check_import_job, import_job
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)


def _file_row(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
    h = QHBoxLayout()
    h.addWidget(edit, 1)
    h.addWidget(button)
    return h


class ImportPage(WizardPageBase):
    """Photo folder + manifest: a dry-run report, then the import and the folds."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(
            ws, "Photos and manifest",
            "Choose the folder with the photos and the manifest: a CSV file with one row per "
            "photo (subject_id, photo, group). wbsdesk checks everything first and copies "
            "nothing until the manifest is clean.")
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("the folder the 'photo' paths start from")
        self.folder_button = QPushButton("Choose…")
        self.manifest_edit = QLineEdit()
        self.manifest_edit.setPlaceholderText("subjects.csv")
        self.manifest_button = QPushButton("Choose…")
        self.group_edit = QLineEdit("group")
        self.group_edit.setToolTip("The manifest column that holds each subject's group")
        self.template_button = QPushButton("Save template manifest…")
        self.template_button.setToolTip("A CSV with the right columns and two example rows")
        self.check_button = QPushButton("Check again")
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.problems_label = QLabel()
        self.problems = make_table(["File", "Row", "Problem"])
        header = self.problems.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.problems.horizontalHeaderItem(1).setToolTip("The line in the CSV file, as a "
                                                         "spreadsheet numbers it (the header "
                                                         "is row 1)")
        self.problems.hide()
        self.folds_label = QLabel()
        self.folds_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Photo folder", _file_row(self.folder_edit, self.folder_button))
        form.addRow("Manifest (CSV)", _file_row(self.manifest_edit, self.manifest_button))
        form.addRow("Group column", self.group_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.template_button)
        buttons.addStretch(1)
        buttons.addWidget(self.progress)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.import_button)
        v = QVBoxLayout(self)
        v.addLayout(form)
        v.addLayout(buttons)
        v.addWidget(self.message)
        v.addWidget(self.problems_label)
        v.addWidget(self.problems, 1)
        v.addWidget(self.folds_label)
        v.addStretch(0)

        self.check: ImportCheck | None = None
        self.outcome: ImportOutcome | None = None
        self.job: ThreadJob | None = None
        self._imported_inputs: tuple | None = None
        self._recheck = QTimer(self)
        self._recheck.setSingleShot(True)
        self._recheck.setInterval(400)
        self._recheck.timeout.connect(self.start_check)
        for edit in (self.folder_edit, self.manifest_edit, self.group_edit):
            edit.textChanged.connect(lambda _: self._on_inputs_changed())
        self.folder_button.clicked.connect(self._choose_folder)
        self.manifest_button.clicked.connect(self._choose_manifest)
        self.template_button.clicked.connect(self._save_template)
        self.check_button.clicked.connect(self.start_check)
        self.import_button.clicked.connect(self.start_import)

    # -- inputs ----------------------------------------------------------------------------
    def inputs(self) -> tuple[str, str, str] | None:
        """(manifest, photo folder, group column) as typed, or ``None`` without a manifest."""
        manifest = self.manifest_edit.text().strip()
        if not manifest:
            return None
        folder = self.folder_edit.text().strip() or str(Path(manifest).parent)
        return manifest, folder, self.group_edit.text().strip() or "group"

    def set_inputs(self, folder: Path | str, manifest: Path | str) -> None:
        """Fill in the photo folder and the manifest (a check follows shortly)."""
        self.folder_edit.setText(str(folder))
        self.manifest_edit.setText(str(manifest))

    def _choose_folder(self) -> None:
        d = existing_folder(self, "Folder with the photos", self.folder_edit.text() or None)
        if d:
            self.folder_edit.setText(str(d))

    def _choose_manifest(self) -> None:
        path = open_file(self, "Manifest", self.folder_edit.text() or None,
                         "CSV files (*.csv *.tsv *.txt);;All files (*)")
        if path:
            self.manifest_edit.setText(str(path))
            if not self.folder_edit.text():
                self.folder_edit.setText(str(Path(path).parent))

    def _save_template(self) -> None:
        folder = self.folder_edit.text()
        start = Path(folder) / "manifest_template.csv" if folder else "manifest_template.csv"
        path = save_file(self, "Save template manifest", start, "CSV files (*.csv)")
        if path:
            self.save_template(path)

    def save_template(self, path: Path) -> Path:
        """Write a template manifest with the study's groups to ``path``."""
        groups = study_service.load_study(self.ws, self.study).protocol.groups.names
        try:
            Path(path).write_text(template_csv(groups), encoding="utf-8")
        except OSError as exc:
            self.message.show_error(UserError(f"cannot write {path}: {exc.strerror}"))
            return Path(path)
        self.message.show_text("info", f"Template saved to {path}. Fill in one row per photo "
                               f"(groups: {', '.join(groups)}), then choose it above.")
        return Path(path)

    def _on_inputs_changed(self) -> None:
        self.check = None
        self.problems.hide()
        self.problems_label.clear()
        if self.inputs() is None:
            self.message.clear_message()
        else:
            self._recheck.start()
        self._update_buttons()

    # -- the dry run and the import --------------------------------------------------------
    def start_check(self) -> None:
        """Dry-run the import of the files on show (writes nothing)."""
        self._recheck.stop()
        args = self.inputs()
        if args is None or not self.study:
            return
        if self.job is not None:
            self._recheck.start()  # one job at a time; check when this one is done
            return
        manifest, folder, column = args
        self.message.show_text("info", "Checking the manifest and every photo…")
        job = ThreadJob(check_import_job, str(self.ws.root), self.study, manifest, folder,
                        group_column=column, title="Checking the manifest")
        self._run(job, lambda res: self._on_checked(args, res))

    def _on_checked(self, args: tuple, res: ImportCheck) -> None:
        if args != self.inputs():
            return  # the inputs changed meanwhile; a new check is on its way
        self.check = res
        if res.problems:
            fill_table(self.problems, [[Path(p.file).name, p.row, p.reason]
                                       for p in res.problems])
            self.problems.show()
            n = len(res.problems)
            self.problems_label.setText(f"<b>{n} problem{'s' if n != 1 else ''} found</b>")
            self.message.show_text(
                "error", f"<b>The manifest is not ready: nothing will be imported.</b><br>"
                f"Fix the {'problem' if n == 1 else f'{n} problems'} listed below in the CSV "
                "file or the photo folder, save, then press <i>Check again</i>."
                f"{self._skip_hint()}", rich=True)
        else:
            self.problems.hide()
            self.problems_label.clear()
            already = res.subjects - res.new_subjects
            extra = f" ({already} already in the study)" if already else ""
            self.message.show_text(
                "ok", f"The manifest is clean: {res.photos} photos of {res.subjects} "
                f"subjects{extra}. Press <b>Import</b> to copy them into the workspace.",
                rich=True)
        self._update_buttons()

    def _skip_hint(self) -> str:
        """For a study that has photos already: how to go on without this manifest."""
        if not study_service.show_study(self.ws, self.study)["subjects"]:
            return ""
        return ("<br>The study already has photos: to go on without importing this file, "
                "clear the manifest field.")

    def start_import(self) -> None:
        """Import the checked files and assign the folds (in a worker thread)."""
        args = self.inputs()
        if self.check is None or not self.check.clean or args is None or self.job is not None:
            return
        manifest, folder, column = args
        self.message.show_text("info", "Copying the photos into the workspace…")
        job = ThreadJob(import_job, str(self.ws.root), self.study, manifest, folder,
                        group_column=column, title="Importing")
        self._run(job, lambda res: self._on_imported(args, res))

    def _on_imported(self, args: tuple, res: ImportOutcome) -> None:
        self.outcome = res
        self._imported_inputs = args
        r, f = res.report, res.folds
        what = ("Everything in this manifest was already imported." if r.no_op else
                f"Imported {r.subjects_added} subjects and {r.photos_added} photos.")
        self.message.show_text("ok", f"<b>{what}</b> Press <i>Next</i> to find the faces.",
                               rich=True)
        self.show_folds(f)
        self._update_buttons()

    def show_folds(self, f: study_service.FoldsReport) -> None:
        """Describe the study's folds under the report."""
        totals = [sum(f.table[g][i] for g in f.groups) for i in range(f.k)]
        text = (f"The study's cross-validation: {f.k} folds (seed {f.seed}) with "
                f"{', '.join(map(str, totals))} subjects.")
        if f.unassigned_subjects:
            text += (f" <span style='color:#8a5a00'><b>{f.unassigned_subjects} subject(s) "
                     "imported after the folds were assigned have no fold</b>: reassign the "
                     f"folds with 'wbsdesk folds {f.study} --reassign'.</span>")
        self.folds_label.setText(text)

    def _run(self, job: ThreadJob, on_ok: Any) -> None:
        self.job = job
        job.progressed.connect(self._on_progress)
        self.progress.setRange(0, 0)
        self.progress.show()
        self._update_buttons()
        self.run_job(job, on_ok=on_ok, on_done=self._on_job_done)

    def _on_progress(self, p: Any) -> None:
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(p.done)

    def _on_job_done(self) -> None:
        self.job = None
        self.progress.hide()
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.job is not None
        clean = self.check is not None and self.check.clean
        done = self._imported_inputs is not None and self._imported_inputs == self.inputs()
        self.import_button.setEnabled(clean and not busy and not done)
        self.check_button.setEnabled(self.inputs() is not None and not busy)
        self.completeChanged.emit()

    # -- QWizardPage -----------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 - Qt override
        info = study_service.show_study(self.ws, self.study)
        if info["subjects"] and self.outcome is None and self.inputs() is None:
            self.message.show_text(
                "info", f"Study '{self.study}' already has {info['subjects']} subjects and "
                f"{info['photos']} photos. Press <i>Next</i> to go on, or choose another "
                "manifest to add more.", rich=True)
            report = study_service.fold_report(self.ws, self.study)
            if report is not None:
                self.show_folds(report)
        self._update_buttons()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        if self.job is not None or not self.study:
            return False
        pending = self.inputs() is not None and self._imported_inputs != self.inputs()
        if pending:
            return False  # a manifest is on show that has not been imported
        return study_service.show_study(self.ws, self.study)["subjects"] > 0

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        try:
            self.show_folds(study_service.folds(self.ws, self.study))  # assigns them once
        except UserError as exc:
            self.message.show_error(exc)
            return False
        return True
