"""The photo canvas of the review and the crop tool: a photo drawn to fit, with its markup.

:class:`PhotoMarkupWidget` draws an upright photo (EXIF orientation applied, decoded at a
reduced size by :func:`load_upright`) with a face box, numbered landmarks and the reader
crop's window on top; interactive, it turns a drag into a new box and a click into the next
landmark. Coordinates in and out are the upright photo's full-resolution pixels;
:meth:`~PhotoMarkupWidget.photo_to_widget` and :meth:`~PhotoMarkupWidget.widget_to_photo`
convert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageIOHandler,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from wbsdesk.gui.image_files import image_reader
from wbsdesk.services.face_review import LANDMARK_NAMES

BOX_COLOR = QColor(40, 200, 90)
LANDMARK_COLORS = [QColor(c) for c in ("#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b")]
#: A press and release further apart than this (widget pixels) is a drag, not a click.
DRAG_PX = 6


def load_upright(path: Path, max_side: int = 1400) -> tuple[QImage, tuple[int, int]]:
    """Decode a photo upright (EXIF orientation), at most ``max_side`` px on its long side.

    Returns
    -------
    image : QImage
    full_size : (int, int)
        The upright photo's full-resolution ``(width, height)``.
    """
    reader = image_reader(path)  # OSError when the format is not allowed
    reader.setAutoTransform(True)
    size = reader.size()
    rotated = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
    full = (size.height(), size.width()) if rotated else (size.width(), size.height())
    longest = max(size.width(), size.height())
    if longest > max_side > 0:
        k = max_side / longest
        reader.setScaledSize(QSize(max(1, round(size.width() * k)),
                                   max(1, round(size.height() * k))))
    img = reader.read()
    if img.isNull():
        raise OSError(f"cannot read {path}: {reader.errorString()}")
    if full[0] <= 0:
        full = (img.width(), img.height())
    return img, full


class PhotoMarkupWidget(QWidget):
    """A photo drawn to fit, with a face box and numbered landmarks on top.

    Signals
    -------
    box_drawn(tuple)
        A new box ``(x, y, w, h)`` was dragged (photo pixels).
    landmark_added(int)
        Landmark number ``i`` (0-based) was placed.
    """

    box_drawn = Signal(object)
    landmark_added = Signal(int)

    def __init__(self, *, interactive: bool = False, max_landmarks: int = len(LANDMARK_NAMES),
                 placeholder: str = "No photo selected", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.interactive = interactive
        #: Clicks after the box place landmarks, up to this many (0: a box only).
        self.max_landmarks = max_landmarks
        self.placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 240)
        self.image: QImage | None = None
        self.full_size = (1, 1)
        self.box: tuple[float, float, float, float] | None = None
        self.landmarks: list[tuple[float, float]] = []
        self.window_rect: tuple[float, float, float] | None = None
        self._press: QPointF | None = None
        self._drag: QPointF | None = None
        if interactive:
            self.setCursor(Qt.CursorShape.CrossCursor)
            self.setMouseTracking(False)

    def set_photo(self, image: QImage | None, full_size: tuple[int, int]) -> None:
        """Show ``image`` (a scaled copy of a photo of ``full_size``); clears the markup."""
        self.image, self.full_size = image, full_size
        self.box, self.landmarks, self.window_rect = None, [], None
        self.update()

    def set_markup(self, box: Any, landmarks: Any, window: Any = None) -> None:
        """Draw ``box`` ``(x, y, w, h)``, landmarks ``[(x, y), ...]`` and a reader window."""
        self.box = None if box is None else tuple(float(v) for v in box)
        self.landmarks = [(float(x), float(y)) for x, y in (landmarks or [])]
        self.window_rect = None if window is None else tuple(float(v) for v in window)
        self.update()

    # -- coordinates -----------------------------------------------------------------------
    def _fit(self) -> tuple[float, float, float]:
        """(scale photo px -> widget px, x offset, y offset)."""
        fw, fh = self.full_size
        k = min(self.width() / max(fw, 1), self.height() / max(fh, 1))
        return k, (self.width() - fw * k) / 2, (self.height() - fh * k) / 2

    def photo_to_widget(self, x: float, y: float) -> QPointF:
        """Widget position of photo pixel ``(x, y)``."""
        k, ox, oy = self._fit()
        return QPointF(ox + x * k, oy + y * k)

    def widget_to_photo(self, p: QPointF) -> tuple[float, float]:
        """Photo pixel under widget position ``p``, clamped to the photo."""
        k, ox, oy = self._fit()
        fw, fh = self.full_size
        x = min(max((p.x() - ox) / k, 0.0), float(fw))
        y = min(max((p.y() - oy) / k, 0.0), float(fh))
        return x, y

    # -- mouse -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.interactive and self.image is not None and (
                event.button() == Qt.MouseButton.LeftButton):
            self._press = self._drag = event.position()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._press is not None:
            self._drag = event.position()
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        start, self._press, self._drag = self._press, None, None
        if start is None:
            return
        end = event.position()
        if abs(end.x() - start.x()) + abs(end.y() - start.y()) >= DRAG_PX:
            (x0, y0), (x1, y1) = self.widget_to_photo(start), self.widget_to_photo(end)
            box = (min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
            self.box, self.landmarks, self.window_rect = box, [], None
            self.box_drawn.emit(box)
        elif self.box is not None and len(self.landmarks) < self.max_landmarks:
            self.landmarks.append(self.widget_to_photo(end))
            self.landmark_added.emit(len(self.landmarks) - 1)
        self.update()

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(70, 70, 70))
        if self.image is None:
            p.setPen(QColor(220, 220, 220))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            p.end()
            return
        k, ox, oy = self._fit()
        fw, fh = self.full_size
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(QRectF(ox, oy, fw * k, fh * k), self.image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.window_rect is not None:
            x, y, side = self.window_rect
            p.setPen(QPen(QColor(255, 255, 255, 200), 1, Qt.PenStyle.DashLine))
            p.drawRect(QRectF(self.photo_to_widget(x, y), self.photo_to_widget(x + side,
                                                                               y + side)))
        if self.box is not None:
            x, y, w, h = self.box
            p.setPen(QPen(BOX_COLOR, 2))
            p.drawRect(QRectF(self.photo_to_widget(x, y), self.photo_to_widget(x + w, y + h)))
        for i, (x, y) in enumerate(self.landmarks):
            c = self.photo_to_widget(x, y)
            p.setPen(QPen(QColor("white"), 1.5))
            p.setBrush(LANDMARK_COLORS[i % len(LANDMARK_COLORS)])
            p.drawEllipse(c, 5, 5)
            p.drawText(c + QPointF(7, -5), str(i + 1))
        if self._press is not None and self._drag is not None:
            p.setPen(QPen(BOX_COLOR, 1, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self._press, self._drag).normalized())
        p.end()


def show_image(label: QLabel, image: QImage | None) -> None:
    """Put ``image`` scaled to fit on ``label`` (or a dash when there is none)."""
    if image is None or image.isNull():
        label.setPixmap(QPixmap())
        label.setText("—")
        return
    label.setPixmap(QPixmap.fromImage(image).scaled(
        label.size(), Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation))
