"""The study wizard: from a folder of photos to a finished cross-validation, without a terminal.

Six pages, each with a line saying what to do:

1. **Study** (:mod:`~wbsdesk.gui.wizard_study`): create one from a protocol, or continue one;
2. **Photos and manifest** (:mod:`~wbsdesk.gui.wizard_import`): a dry-run check, then the
   import and the folds;
3. **Faces** (:mod:`~wbsdesk.gui.wizard_faces`): alignment in a spawned process, the review
   grid and the manual crop tool;
4. **Training set-up** and 5. **Training** (:mod:`~wbsdesk.gui.wizard_training`): the
   training widgets, wrapped;
6. **Results**: Table 4 and the ROC plot of the new run, and the way to the Dashboard.

Errors show inside the page (a user error's message and hint), never as a crash. Whenever
the workspace changes (a study is created, an import, alignment or training job ends, a
run starts) the wizard emits ``study_changed``, so the window behind it (the Studies view)
shows the new state while the wizard is still open. The wizard keeps every job its pages
start until it has finished; closing it while training
runs asks first, then cancels and waits for the jobs.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QWidget, QWizard

from wbsdesk.gui import dialogs
from wbsdesk.gui.wizard_common import (
    PAGE_FACES,
    PAGE_IMPORT,
    PAGE_SETUP,
    PAGE_STUDY,
    PAGE_SUMMARY,
    PAGE_TRAINING,
)
from wbsdesk.gui.wizard_faces import FacesPage
from wbsdesk.gui.wizard_import import ImportPage
from wbsdesk.gui.wizard_study import StudyPage
from wbsdesk.gui.wizard_training import SetupPage, SummaryPage, TrainingPage
from wbsdesk.services.workspace import Workspace

__all__ = ["PAGE_FACES", "PAGE_IMPORT", "PAGE_SETUP", "PAGE_STUDY", "PAGE_SUMMARY",
           "PAGE_TRAINING", "StudyWizard"]

log = logging.getLogger(__name__)


class StudyWizard(QWizard):
    """Set up a study, import its photos, review the faces, train and see the results.

    Parameters
    ----------
    ws : Workspace
    parent : QWidget, optional
        The main window or a widget in it: the last page's "Open the Dashboard" uses the
        window's ``dashboard`` and ``open_view``.
    study : str, keyword-only, optional
        Start with this existing study selected on the first page.

    Attributes
    ----------
    study : str or None
        The study being worked on (set when page 1 is done).
    run : str or None
        The training run the wizard finished.
    training_request : TrainRequest or None
        The run page 4 set up (page 5 trains it).

    Signals
    -------
    study_changed(str)
        The workspace changed under the study named (created, photos imported, faces
        found, a training run started or ended): views behind the wizard reload.
    """

    study_changed = Signal(str)

    def __init__(self, ws: Workspace, parent: QWidget | None = None, *,
                 study: str | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.study: str | None = study
        self.run: str | None = None
        self.training_request: Any = None
        self.jobs: list[Any] = []
        self.setWindowTitle("Study wizard — wbsdesk")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Close")
        self.study_page = StudyPage(ws, study)
        self.import_page = ImportPage(ws)
        self.faces_page = FacesPage(ws)
        self.setup_page = SetupPage(ws)
        self.training_page = TrainingPage(ws)
        self.summary_page = SummaryPage(ws)
        for pid, page in ((PAGE_STUDY, self.study_page), (PAGE_IMPORT, self.import_page),
                          (PAGE_FACES, self.faces_page), (PAGE_SETUP, self.setup_page),
                          (PAGE_TRAINING, self.training_page),
                          (PAGE_SUMMARY, self.summary_page)):
            self.setPage(pid, page)
        self.setStartId(PAGE_STUDY)
        self.resize(1120, 800)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1120, 800)

    def notify_changed(self) -> None:
        """Tell the views behind the wizard that the workspace changed (``study_changed``)."""
        self.study_changed.emit(self.study or "")

    # -- jobs ------------------------------------------------------------------------------
    def keep_job(self, job: Any) -> None:
        """Hold ``job`` until it has finished (a page started it); then views reload."""
        self.jobs.append(job)
        job.finished.connect(lambda: self.jobs.remove(job) if job in self.jobs else None)
        job.finished.connect(self.notify_changed)

    def busy(self) -> bool:
        """Whether a job or the training runs."""
        return bool(self.jobs) or self.training_page.running()

    def shutdown(self, ms: int = 60_000) -> None:
        """Cancel every job and the training, and wait for them (no questions asked)."""
        self.faces_page.shutdown()
        if self.setup_page.panel is not None:
            self.setup_page.panel.shutdown(ms)
        if self.training_page.running():
            self.training_page.panel.cancel()
        for job in list(self.jobs):
            job.cancel()
        if self.training_page.running():
            self.training_page.panel.wait(ms)
        for job in list(self.jobs):
            job.wait(ms)

    def show_page(self, page_id: int) -> None:
        """Jump straight to a page (screenshots, tests); its ``initializePage`` runs."""
        self.setStartId(page_id)
        self.restart()

    # -- closing ---------------------------------------------------------------------------
    def _may_close(self) -> bool:
        if self.training_page.running() and not dialogs.confirm(
                self, "Stop training?",
                "Training is still running. Stop it and close the wizard?\n\nThe run is "
                "kept: you can resume it later from the Training view.",
                yes="Stop and close", no="Keep training"):
            return False
        self.shutdown()
        return True

    def reject(self) -> None:
        """Cancel, Esc or the window's close button: ask while training, then stop cleanly."""
        if self._may_close():
            super().reject()

    def accept(self) -> None:
        """Finish (or "Open the Dashboard"): stop what still runs, then close."""
        self.shutdown()
        super().accept()
