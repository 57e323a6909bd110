"""The manual crop tool: drag a face box on the photo, click 5 landmarks, preview, apply.

Coordinates given to and taken from the tool are in the *upright* photo's full-resolution
pixels (EXIF orientation applied), as :func:`wbsdesk.services.faces.set_manual_crop`
expects. The photo is drawn scaled (:class:`~wbsdesk.gui.crop_canvas.PhotoMarkupWidget`).

A press-drag-release draws a new box (and clears the landmarks); a click inside the photo
then places the next landmark, in the order of
:data:`~wbsdesk.services.face_review.LANDMARK_NAMES`. Landmarks are optional: without them
the typical layout inside the box is used. The preview shows the crops the box would give
(computed off the GUI thread, nothing stored); Apply stores them.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.gui.crop_canvas import PhotoMarkupWidget, load_upright, show_image
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.wizard_common import InlineMessage, pil_to_qimage
from wbsdesk.services.face_review import LANDMARK_NAMES, FaceEntry
from wbsdesk.services.study_jobs import apply_crop_job, preview_crop_job
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

PREVIEW_PX = 200


def _crop_label(caption: str) -> tuple[QWidget, QLabel]:
    box = QWidget()
    v = QVBoxLayout(box)
    v.setContentsMargins(0, 0, 0, 0)
    image = QLabel()
    image.setFixedSize(PREVIEW_PX, PREVIEW_PX)
    image.setAlignment(Qt.AlignmentFlag.AlignCenter)
    image.setStyleSheet("background:#606060; color:#e0e0e0;")
    image.setText("—")
    text = QLabel(caption)
    text.setWordWrap(True)
    text.setMaximumWidth(PREVIEW_PX)
    v.addWidget(image)
    v.addWidget(text)
    return box, image


class CropToolWidget(QWidget):
    """Crop one photo by hand: box, optional landmarks, preview of both crops, apply.

    Signals
    -------
    applied(int)
        The manual crop of this photo id was stored.
    closed()
        The user left the tool (after applying, or without).
    preview_ready()
        The preview crops on show match the markup.
    """

    applied = Signal(int)
    closed = Signal()
    preview_ready = Signal()

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.study = ""
        self.entry: FaceEntry | None = None
        self.job: ThreadJob | None = None
        self._pending = False
        self.preview: Any = None
        self.title = QLabel()
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.canvas = PhotoMarkupWidget(interactive=True)
        self.legend = QLabel("Green: the face box. Numbered dots: the five points. Dashed: "
                             "what the reader crop will show.")
        self.legend.setStyleSheet("color:#555555;")
        reader_box, self.reader_label = _crop_label("Reader crop: what the physicians see")
        model_box, self.model_label = _crop_label("Model crop: what the CNN sees")
        self.message = InlineMessage()
        self.undo_button = QPushButton("Undo last point")
        self.clear_button = QPushButton("Start over")
        self.apply_button = QPushButton("Apply this crop")
        self.apply_button.setDefault(True)
        self.cancel_button = QPushButton("Back to the review")
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>Preview</b>"))
        side.addWidget(reader_box)
        side.addWidget(model_box)
        side.addStretch(1)
        body = QGridLayout()
        body.addWidget(self.canvas, 0, 0)
        body.addLayout(side, 0, 1)
        body.setColumnStretch(0, 1)
        buttons = QHBoxLayout()
        for b in (self.undo_button, self.clear_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.apply_button)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.title)
        v.addWidget(self.prompt)
        v.addLayout(body, 1)
        v.addWidget(self.legend)
        v.addWidget(self.message)
        v.addLayout(buttons)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.request_preview)
        self.canvas.box_drawn.connect(lambda _: self._on_markup_changed())
        self.canvas.landmark_added.connect(lambda _: self._on_markup_changed())
        self.undo_button.clicked.connect(self.undo_landmark)
        self.clear_button.clicked.connect(self.clear)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button.clicked.connect(self.closed)
        self._update_state()

    # -- the photo and its markup ----------------------------------------------------------
    def open(self, study: str, entry: FaceEntry) -> None:
        """Start on ``entry``'s photo, with its current box and landmarks if it has any."""
        self.study, self.entry = study, entry
        self.message.clear_message()
        self.title.setText(f"<b>Crop by hand: {entry.subject}</b> ({entry.photo})")
        try:
            image, full = load_upright(entry.photo_path)
        except OSError as exc:
            self.canvas.set_photo(None, (1, 1))
            self.message.show_error(str(exc))
            return
        self.canvas.set_photo(image, full)
        if entry.bbox is not None:
            self.canvas.set_markup(entry.bbox, entry.landmarks or [])
        self._show_preview(None)
        self._on_markup_changed()

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        """The face box ``(x, y, w, h)`` in photo pixels, or ``None``."""
        return self.canvas.box

    @property
    def landmarks(self) -> list[tuple[float, float]]:
        """The landmarks placed so far (photo pixels)."""
        return list(self.canvas.landmarks)

    def set_box(self, x: float, y: float, w: float, h: float) -> None:
        """Place the face box (photo pixels), as dragging it does; clears the landmarks."""
        self.canvas.set_markup((x, y, w, h), [])
        self._on_markup_changed()

    def add_landmark(self, x: float, y: float) -> None:
        """Place the next landmark (photo pixels), as clicking does."""
        if self.canvas.box is None or len(self.canvas.landmarks) >= len(LANDMARK_NAMES):
            return
        self.canvas.landmarks.append((float(x), float(y)))
        self.canvas.update()
        self._on_markup_changed()

    def undo_landmark(self) -> None:
        """Remove the last landmark."""
        if self.canvas.landmarks:
            self.canvas.landmarks.pop()
            self.canvas.update()
            self._on_markup_changed()

    def clear(self) -> None:
        """Remove the box and the landmarks."""
        self.canvas.set_markup(None, [])
        self._show_preview(None)
        self._on_markup_changed()

    def markup_ready(self) -> bool:
        """A box, and either no landmarks or all five."""
        n = len(self.canvas.landmarks)
        return self.canvas.box is not None and n in (0, len(LANDMARK_NAMES))

    def _flat_landmarks(self) -> list[float] | None:
        lm = self.canvas.landmarks
        return [v for pt in lm for v in pt] if len(lm) == len(LANDMARK_NAMES) else None

    def _on_markup_changed(self) -> None:
        self.preview = None
        self._update_state()
        if self.markup_ready():
            self._debounce.start()

    def _update_state(self) -> None:
        n = len(self.canvas.landmarks)
        if self.canvas.box is None:
            text = ("Drag a box around the face: from the middle of the forehead to the chin, "
                    "cheek to cheek.")
        elif n < len(LANDMARK_NAMES):
            text = (f"Optional, for a better model crop: click the <b>{LANDMARK_NAMES[n]}</b> "
                    f"(point {n + 1} of 5). Or apply now: the box alone gives an upright "
                    "crop. Drag again to redraw the box.")
        else:
            text = ("Box and five points placed. Check the preview, then apply (or drag "
                    "on the photo to draw a new box).")
        self.prompt.setText(text)
        busy = self.job is not None
        self.undo_button.setEnabled(n > 0 and not busy)
        self.clear_button.setEnabled(self.canvas.box is not None and not busy)
        self.apply_button.setEnabled(self.markup_ready() and not busy and self.entry is not None)

    # -- preview and apply (worker thread, own connection) ---------------------------------
    def preview_now(self) -> None:
        """Compute the preview at once (instead of shortly after the last change)."""
        self._debounce.stop()
        self.request_preview()

    def request_preview(self) -> None:
        """Compute the preview crops of the current markup (off the GUI thread)."""
        if self.entry is None or not self.markup_ready():
            return
        if self.job is not None:
            self._pending = True
            return
        box, lm = self.canvas.box, self._flat_landmarks()
        job = ThreadJob(preview_crop_job, str(self.ws.root), self.study, self.entry.photo_id,
                        box=box, landmarks=lm, title="Crop preview")
        job.succeeded.connect(lambda res: self._on_preview(res, box, lm))
        self._start(job)

    def _on_preview(self, res: Any, box: Any, lm: Any) -> None:
        if box != self.canvas.box or lm != self._flat_landmarks():
            return  # the markup changed meanwhile; a newer preview follows
        self.message.clear_message()
        self.preview = res
        self._show_preview(res)
        self.canvas.window_rect = res.reader_window
        self.canvas.update()
        self.preview_ready.emit()

    def _show_preview(self, res: Any) -> None:
        show_image(self.reader_label, None if res is None else pil_to_qimage(res.reader_crop))
        show_image(self.model_label, None if res is None else pil_to_qimage(res.model_crop))

    def apply(self) -> None:
        """Store the manual crop of the current markup (audited); emits ``applied``."""
        if self.entry is None or not self.markup_ready() or self.job is not None:
            return
        photo_id = self.entry.photo_id
        job = ThreadJob(apply_crop_job, str(self.ws.root), self.study, photo_id,
                        box=self.canvas.box, landmarks=self._flat_landmarks(),
                        title="Manual crop")
        job.succeeded.connect(lambda _: self.applied.emit(photo_id))
        self._start(job)

    def _start(self, job: ThreadJob) -> None:
        job.failed.connect(self.message.show_error)
        job.finished.connect(self._on_finished)
        self.job = job
        self._update_state()
        job.start()

    def _on_finished(self) -> None:
        self.job = None
        self._update_state()
        if self._pending:
            self._pending = False
            self.request_preview()

    def shutdown(self) -> None:
        """Stop a running preview or apply and wait for its thread."""
        self._debounce.stop()
        self._pending = False
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
