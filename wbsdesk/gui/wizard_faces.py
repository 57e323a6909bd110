"""Wizard page 3: find and crop every face (a spawned process), then review what needs it.

Alignment runs as a :class:`~wbsdesk.gui.runners.ProcessJob` (MTCNN and torch stay out of
the GUI process) with progress and Cancel; each photo is committed as it is done, so a
cancelled run goes on where it stopped. The review below
(:class:`~wbsdesk.gui.face_review.FaceReviewWidget`) fixes the photos it flags. Next is
enabled only when no included photo needs attention (the gate training and reading use,
:func:`wbsdesk.services.faces.require_faces_ok`).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from wbsdesk.errors import UserError
from wbsdesk.gui.face_review import FaceReviewWidget
from wbsdesk.gui.runners import ProcessJob, describe
from wbsdesk.gui.wizard_common import WizardPageBase
from wbsdesk.services.faces import AlignSummary, require_faces_ok, review_list
from wbsdesk.services.study_jobs import align_job
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)


def _photos(n: int, one: str = "has", many: str = "have") -> str:
    """``1 photo has`` / ``3 photos have``."""
    return f"{n} photo {one}" if n == 1 else f"{n} photos {many}"


class FacesPage(WizardPageBase):
    """Alignment with progress and Cancel, and the review grid with the crop tool."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(
            ws, "Faces",
            "wbsdesk finds the face in each photo and makes two crops: one for the physicians "
            "and one for the models. Look at the photos it flags: crop them by hand, or "
            "exclude the child with a reason.")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.align_button = QPushButton("Find faces")
        self.align_button.setToolTip("Detect and crop the faces of the photos not done yet")
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop finding faces; photos done so far are kept")
        self.cancel_button.hide()
        self.review = FaceReviewWidget(ws)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.progress)
        top.addWidget(self.align_button)
        top.addWidget(self.cancel_button)
        v = QVBoxLayout(self)
        v.addLayout(top)
        v.addWidget(self.message)
        v.addWidget(self.review, 1)
        self.job: ProcessJob | None = None
        self.summary: AlignSummary | None = None
        self.autostart = True
        self.align_button.clicked.connect(self.start_alignment)
        self.cancel_button.clicked.connect(self.cancel_alignment)
        self.review.changed.connect(self._on_review_changed)

    # -- alignment -------------------------------------------------------------------------
    def start_alignment(self) -> None:
        """Find the faces of the photos not aligned yet (in a spawned process)."""
        if self.job is not None or not self.study:
            return
        self.message.clear_message()
        job = ProcessJob(align_job, str(self.ws.root), self.study, title="Finding faces")
        job.progressed.connect(self._on_progress)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.align_button.setEnabled(False)
        self.status.setText("Starting the face finder (this takes a few seconds)…")
        self.run_job(job, on_ok=self._on_aligned, on_done=self._on_done)

    def cancel_alignment(self) -> None:
        """Ask the alignment to stop (photos done so far are kept)."""
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Stopping…")

    def _on_progress(self, p: Any) -> None:
        self.progress.setRange(0, max(p.total, 1))
        self.progress.setValue(p.done)
        self.status.setText(f"Finding faces: {describe(p)}")

    def _on_aligned(self, s: AlignSummary) -> None:
        self.summary = s
        if s.failed:
            self.message.show_text("warn", f"{len(s.failed)} photo(s) could not be read: "
                                   + "; ".join(s.failed[:5]))

    def _on_cancelled(self) -> None:
        self.message.show_text("info", "Stopped. The photos done so far are kept; press "
                               "<i>Find faces</i> to go on.", rich=True)

    def _on_done(self) -> None:
        self.job = None
        self.progress.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)
        self.review.refresh()
        if any(e.needs_attention for e in self.review.entries):
            self.review.set_filter("needs_review")
        else:  # nothing to fix: show every crop, the first one large
            self.review.set_filter("all")
            if self.review.entries:
                self.review.select_photo(self.review.entries[0].photo_id)
        self._update_status()

    def busy(self) -> bool:
        """Whether alignment is running."""
        return self.job is not None

    # -- state -----------------------------------------------------------------------------
    def _on_review_changed(self) -> None:
        self._update_status()

    def _update_status(self) -> None:
        entries = self.review.entries
        todo = [e for e in entries if e.needs_attention]
        not_aligned = sum(e.status == "not_aligned" for e in todo)
        ok = sum(e.status == "ok" and not e.excluded for e in entries)
        self.align_button.setEnabled(self.job is None and not_aligned > 0)
        if self.job is not None:
            pass
        elif not entries:
            self.status.setText("This study has no photos yet: go back and import them.")
        elif not_aligned:
            self.status.setText(f"{_photos(not_aligned)} not been searched for a face yet. "
                                "Press <b>Find faces</b>.")
        elif todo:
            self.status.setText(f"<b>{_photos(len(todo), 'needs', 'need')} your "
                                "attention</b> (listed on the left). Select one, then crop "
                                "it by hand or exclude the child.")
        elif ok:
            self.status.setText(f"All {ok} photos are ready. Press <i>Next</i>.")
        else:
            self.status.setText("Every subject is excluded: include some again to go on.")
        self.completeChanged.emit()

    # -- QWizardPage -----------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.review.set_study(self.study)
        todo = [e for e in self.review.entries if e.needs_attention]
        self.review.set_filter("needs_review" if todo else "all")
        self._update_status()
        if self.autostart and any(e.status == "not_aligned" for e in todo):
            self.start_alignment()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        if self.job is not None or not self.study:
            return False
        entries = self.review.entries
        return (bool(entries) and not any(e.needs_attention for e in entries)
                and any(not e.excluded for e in entries) and not review_list(self.ws,
                                                                             self.study))

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        try:
            require_faces_ok(self.ws, self.study, purpose="training")
        except UserError as exc:
            self.message.show_error(exc)
            return False
        return True

    def shutdown(self) -> None:
        """Stop the review's own work (the wizard cancels the alignment job)."""
        self.review.shutdown()
