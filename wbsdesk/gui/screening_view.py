"""The Screening view (admin): score one new photo with a study's trained run.

Research use only — the banner saying so is always on screen. The photo is aligned and
scored by :func:`wbsdesk.services.prediction.screen_photo` in a
:class:`~wbsdesk.gui.runners.ThreadJob` (torch loads in that thread on first use); a busy
bar and the job's current step show while it works, and the window stays usable. When no
face is found, the user drags a box around the face on the photo and scores again. Warnings
say when the photo is unlike the study's (an adult, a different capture, a less sure face
detection); the optional age is checked against the study's age range. Another
architecture or a single fold's Grad-CAM is computed in the background on request. Nothing
is stored; "Save result…" writes a JSON file and the images where the user chooses.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.architectures import arch_label
from wbsdesk.core.jobs import Progress
from wbsdesk.errors import UserError
from wbsdesk.gui.crop_canvas import PhotoMarkupWidget, load_upright
from wbsdesk.gui.file_dialogs import open_file, save_file
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.screening_result import ScreeningResultWidget
from wbsdesk.gui.widgets import fill_study_combo
from wbsdesk.services.prediction import RESEARCH_ONLY, ScreeningResult, save_screening, screen_photo
from wbsdesk.services.screening_heatmap import GradCam, screening_heatmap
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import list_runs
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

BANNER = (f"<b>{RESEARCH_ONLY}</b> These probabilities say how much a photo resembles the "
          "study's target group <i>to these models</i>. They are not validated for any "
          "decision about a person.")
NO_FACE = ("<b>No face was found on this photo.</b> Drag a box around the face on the photo "
           "(from the middle of the forehead to the chin, cheek to cheek), then press "
           "“Score with this box”.")
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp);;All files (*)"


class ScreeningWidget(QWidget):
    """Score one new photo with a study's run; research use only (always shown)."""

    def __init__(self, ws: Workspace, study: str | None = None) -> None:
        super().__init__()
        self._ws = ws
        self.study = ""
        self.photo: Path | None = None
        self.result: ScreeningResult | None = None
        self.job: ThreadJob | None = None

        self.banner = QLabel(BANNER)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #fff3cd; color: #5c4400; border: 1px solid "
                                  "#e0c36a; padding: 6px;")
        self.study_combo = QComboBox()
        self.run_combo = QComboBox()
        self.open_button = QPushButton("Open photo…")
        self.score_button = QPushButton("Score")
        self.save_button = QPushButton("Save result…")
        self.save_button.setToolTip("Nothing is stored unless you save it here")
        self.clear_button = QPushButton("Clear")
        self.age_edit = QLineEdit()
        self.age_edit.setPlaceholderText("optional")
        self.age_edit.setValidator(QDoubleValidator(0.0, 1500.0, 1))
        self.age_edit.setFixedWidth(80)
        self.age_edit.setToolTip("The subject's age in months, checked against the ages of "
                                 "the study's subjects")
        top = QHBoxLayout()
        for label, w in (("Study", self.study_combo), ("Run", self.run_combo)):
            top.addWidget(QLabel(f"<b>{label}</b>"))
            top.addWidget(w, 1)
        top.addWidget(QLabel("<b>Age (months)</b>"))
        top.addWidget(self.age_edit)
        for b in (self.open_button, self.score_button, self.save_button, self.clear_button):
            top.addWidget(b)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # indeterminate: moves while the job works
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedWidth(120)
        self.busy_label = QLabel()
        busy = QHBoxLayout()
        busy.addWidget(self.busy_bar)
        busy.addWidget(self.busy_label, 1)

        self.canvas = PhotoMarkupWidget(interactive=True, max_landmarks=0,
                                        placeholder="Open a photo to score it")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.panel = ScreeningResultWidget()
        # the panel's parts, named as the view's own (tests and screenshots use them)
        self.ensemble_label = self.panel.ensemble_label
        self.table = self.panel.table
        self.heatmap = self.panel.heatmap
        self.crop = self.panel.crop
        self.heatmap_caption = self.panel.heatmap_caption
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.canvas, 1)
        lv.addLayout(busy)  # under the photo: the result side does not jump
        lv.addWidget(self.message)
        scroll = QScrollArea()  # every warning stays reachable in a small window
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(scroll)
        split.setSizes([460, 740])
        v = QVBoxLayout(self)
        v.addWidget(self.banner)
        v.addLayout(top)
        v.addWidget(split, 1)
        self._set_busy(None)

        self.study_combo.currentTextChanged.connect(self._on_study_changed)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.score_button.clicked.connect(self.score)
        self.save_button.clicked.connect(self._on_save_clicked)
        self.clear_button.clicked.connect(self.clear)
        self.canvas.box_drawn.connect(lambda _box: self._update_buttons())
        self.age_edit.editingFinished.connect(self._on_age_changed)
        self.panel.heatmap_requested.connect(self.recompute_heatmap)
        self.reload(study)

    # -- study and run ---------------------------------------------------------------------
    def reload(self, study: str | None = None) -> None:
        """Reload the studies (selecting ``study`` if given) and their finished runs."""
        name = fill_study_combo(self.study_combo, self._ws, study or self.study or None)
        self._on_study_changed(name)

    def activate(self) -> None:
        """The view is shown: refresh the lists (a run may have finished meanwhile)."""
        self.reload(self.study or None)

    def _on_study_changed(self, name: str) -> None:
        self.study = name
        keep = self.run_combo.currentText()
        runs = [r["run"] for r in list_runs(self._ws, name) if r["status"] == "finished"] \
            if name else []
        self.run_combo.clear()
        self.run_combo.addItems(list(reversed(runs)))  # newest first
        if keep in runs:
            self.run_combo.setCurrentText(keep)
        if name and not runs:
            self.message.setText(f"Study {name} has no finished training run yet: train one "
                                 "in the Training view first.")
        elif self.photo is None:
            self.message.setText("Open a photo from outside the study to score it.")
        self._show_result(None)
        self._update_buttons()

    # -- photo and scoring -----------------------------------------------------------------
    def _on_open_clicked(self) -> None:
        path = open_file(self, "Open a photo to score", None, PHOTO_FILTER)
        if path:
            self.open_photo(path)

    def open_photo(self, path: Path) -> bool:
        """Show the photo (upright) and score it; ``False`` if it cannot be read."""
        try:  # upright (EXIF orientation, as the aligner applies it); box in full-size pixels
            image, full_size = load_upright(Path(path))
        except OSError as exc:
            self.message.setText(f"<b>Cannot read {Path(path).name}:</b> {exc}")
            return False
        self.photo = Path(path)
        self.canvas.set_photo(image, full_size)
        self._show_result(None)
        self.score()
        return True

    def age_months(self) -> float | None:
        """The age typed in (months), or ``None``."""
        text = self.age_edit.text().strip().replace(",", ".")
        try:
            return float(text) if text else None
        except ValueError:
            return None

    def score(self) -> ThreadJob | None:
        """Score the photo (with the drawn box, if any) in a worker thread."""
        run = self.run_combo.currentText()
        if self.photo is None or not run or self.job is not None:
            return None
        box = self.canvas.box
        job = ThreadJob(screen_photo, self._ws.root, self.study, self.photo, run=run,
                        box=list(box) if box else None, device="auto",
                        age_months=self.age_months(), title="Screening")
        job.succeeded.connect(self._on_scored)
        self.message.setText("Finding the face and scoring (the first time also loads the "
                             "models; a few seconds)…" if box is None else
                             "Scoring with your face box…")
        self._start(job, "Finding the face…")
        return job

    def recompute_heatmap(self, choice: tuple[str, int | None]) -> ThreadJob | None:
        """Grad-CAM of another architecture (``fold`` None: mean of its folds) in the background."""
        result = self.result
        if result is None or result.prediction is None or not result.crop_png \
                or self.job is not None:
            return None
        arch, fold = choice
        job = ThreadJob(screening_heatmap, self._ws.root, self.study, result.crop_png,
                        run=result.prediction.run, arch=arch, fold=fold, device="auto",
                        title="Grad-CAM")
        job.succeeded.connect(self._on_heatmap)
        self._start(job, f"Grad-CAM of {arch_label(arch)}…")
        return job

    def _start(self, job: ThreadJob, text: str) -> None:
        job.progressed.connect(self._on_progressed)
        job.failed.connect(self._on_failed)
        job.finished.connect(self._on_job_finished)
        self.job = job
        self._set_busy(text)
        self._update_buttons()
        job.start()

    def _set_busy(self, text: str | None) -> None:
        self.busy_bar.setVisible(text is not None)
        self.busy_label.setVisible(text is not None)
        self.busy_label.setText(text or "")
        self.panel.heatmap_choice.setEnabled(text is None)

    def _on_progressed(self, p: Progress) -> None:
        step = f"Step {p.done + 1} of {p.total}: " if p.total > 1 and p.done < p.total else ""
        self._set_busy(f"{step}{p.message[:1].upper()}{p.message[1:]}…")

    def _on_heatmap(self, payload: tuple[bytes, GradCam]) -> None:
        if self.result is None:
            return
        png, info = payload
        self.result = self.result.with_heatmap(png, info)
        self.panel.show_heatmap(self.result, self._target(self.result))

    def _on_age_changed(self) -> None:
        r = self.result
        if r is None or r.prediction is None or r.prediction.age_months == self.age_months():
            return
        self.result = replace(r, prediction=r.prediction.with_age(self.age_months()))
        self.panel.show_checks(self.result)

    def wait_until_done(self, timeout_ms: int = 120_000) -> bool:
        """Block (running the event loop) until scoring is done; ``True`` if it is."""
        if self.job is None:
            return True
        loop = QEventLoop()
        self.job.finished.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        return self.job is None

    def _on_scored(self, result: ScreeningResult) -> None:
        if result.no_face:
            self.message.setText(NO_FACE)
            self._show_result(None)
            return
        self._show_result(result)
        p = result.prediction
        how = "your face box" if result.box else "the detected face"
        note = "" if p.face_status == "ok" else (
            f" <b>Check the crop:</b> {', '.join(r.replace('_', ' ') for r in p.face_reasons)}"
            " — draw a box around the face and score again if it is wrong.")
        self.message.setText(f"Scored with {how} by run {p.run}.{note}")

    def _on_failed(self, failure: JobFailure) -> None:
        heatmap_only = self.job is not None and self.job.title == "Grad-CAM"
        if heatmap_only and self.result is not None:  # keep the scores; show the old map
            self.panel.show_heatmap(self.result, self._target(self.result))
        else:
            self._show_result(None)
        what = "compute the Grad-CAM" if heatmap_only else "score the photo"
        self.message.setText(f"<b>Could not {what}:</b> {failure.message}"
                             + (f" — {failure.hint}" if failure.hint else ""))
        if not failure.user_error:
            log.error("screening failed: %s\n%s", failure.message, failure.traceback)

    def _on_job_finished(self) -> None:
        self.job = None
        self._set_busy(None)
        self._update_buttons()

    def _target(self, result: ScreeningResult) -> str:
        p = result.prediction
        return load_study(self._ws, p.study).protocol.groups.label(p.positive_group) \
            if p is not None else ""

    def _show_result(self, result: ScreeningResult | None) -> None:
        self.result = result
        if result is not None and result.prediction is None:
            result = None
        self.panel.show_result(result, self._target(result) if result is not None else "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        idle = self.job is None
        has_run = bool(self.run_combo.currentText())
        self.open_button.setEnabled(idle and has_run)
        self.score_button.setEnabled(idle and has_run and self.photo is not None)
        self.score_button.setText("Score with this box" if self.canvas.box else "Score")
        self.save_button.setEnabled(idle and self.result is not None)
        self.clear_button.setEnabled(idle and self.photo is not None)

    # -- saving, clearing, shutdown --------------------------------------------------------
    def _on_save_clicked(self) -> None:
        if self.result is None:
            return
        stem = self.photo.stem if self.photo else "result"
        path = save_file(self, "Save the screening result", f"{stem}-screening.json",
                         "JSON file (*.json)")
        if path:
            self.save_result(path)

    def save_result(self, path: Path) -> list[Path]:
        """Write the result (JSON, Grad-CAM and crop PNGs) at ``path``; the files written."""
        if self.result is None:
            raise UserError("there is no result to save")
        try:
            files = save_screening(self.result, path)
        except OSError as exc:
            self.message.setText(f"<b>Cannot save:</b> {exc}")
            return []
        self.message.setText(f"Saved {', '.join(f.name for f in files)} in {files[0].parent}.")
        return files

    def clear(self) -> None:
        """Forget the photo and its result."""
        self.photo = None
        self.canvas.set_photo(None, (1, 1))
        self._show_result(None)
        self.message.setText("Open a photo from outside the study to score it.")

    def shutdown(self, ms: int = 30_000) -> None:
        """Cancel and wait for a scoring in progress (before the window closes)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait(ms)


def show_example(view: ScreeningWidget, study: str, folder: Path, *, seed: int = 4) -> bool:
    """Score a newly drawn synthetic face (not in any study) for screenshots and previews.

    The photo is written into ``folder`` (outside the workspace). When face detection
    misses the synthetic face, the generator's own face box is used, as a user would draw
    it. Returns ``False`` when the study has no finished run.
    """
    import numpy as np

    from wbsdesk.services.synthetic_faces import draw_subject

    view.reload(study)
    if not view.run_combo.currentText():
        return False
    _, face = draw_subject("wbs", np.random.default_rng(seed), sex="F", age_months=40)
    path = Path(folder) / "new-photo.jpg"
    face.image.save(path, "JPEG", quality=92)
    view.open_photo(path)
    view.wait_until_done()
    if view.result is None:
        view.canvas.set_markup(face.bbox, [])
        view.score()
        view.wait_until_done()
    return view.result is not None
