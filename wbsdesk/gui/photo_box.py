"""A photo on which the user drags a face box (the manual fallback when no face is found)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class PhotoBoxWidget(QWidget):
    """A photo, scaled to fit, on which the user can drag a face box (photo pixels)."""

    box_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 240)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.image: QImage | None = None
        self._box: QRectF | None = None
        self._anchor: QPointF | None = None

    def set_image(self, image: QImage | None) -> None:
        """Show ``image`` (upright) and forget the box."""
        self.image = image
        self.set_box(None)

    def set_box(self, box: tuple[float, float, float, float] | None) -> None:
        """Set the face box ``(x, y, w, h)`` in photo pixels (None: no box)."""
        self._box = QRectF(*box) if box is not None else None
        self.update()
        self.box_changed.emit()

    def box(self) -> tuple[float, float, float, float] | None:
        """The drawn box ``(x, y, w, h)`` in photo pixels, or None."""
        b = self._box
        if b is None or b.width() < 4 or b.height() < 4:
            return None
        return (round(b.x(), 1), round(b.y(), 1), round(b.width(), 1), round(b.height(), 1))

    def _scale_offset(self) -> tuple[float, QPointF]:
        img = self.image
        s = min(self.width() / img.width(), self.height() / img.height())
        return s, QPointF((self.width() - s * img.width()) / 2,
                          (self.height() - s * img.height()) / 2)

    def to_photo(self, p: QPointF) -> QPointF:
        """Widget position -> photo pixel (clamped to the photo)."""
        s, off = self._scale_offset()
        x = min(max((p.x() - off.x()) / s, 0.0), float(self.image.width()))
        y = min(max((p.y() - off.y()) / s, 0.0), float(self.image.height()))
        return QPointF(x, y)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.image is not None and event.button() == Qt.MouseButton.LeftButton:
            self._anchor = self.to_photo(event.position())
            self._box = QRectF(self._anchor, self._anchor)
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._anchor is not None:
            self._box = QRectF(self._anchor, self.to_photo(event.position())).normalized()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._anchor is not None:
            self._anchor = None
            if self.box() is None:
                self._box = None
            self.update()
            self.box_changed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(90, 90, 90))
        if self.image is None:
            p.setPen(QColor(235, 235, 235))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Open a photo to score it")
        else:
            s, off = self._scale_offset()
            target = QRectF(off.x(), off.y(), s * self.image.width(), s * self.image.height())
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(target, self.image)
            if self._box is not None:
                b = self._box
                p.setPen(QPen(QColor("#ffd400"), 2))
                p.drawRect(QRectF(off.x() + s * b.x(), off.y() + s * b.y(), s * b.width(),
                                  s * b.height()))
        p.end()
