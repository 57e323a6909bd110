"""The photo on the reading screen: neutral grey, the crop large and centred, a time bar.

Crops are decoded and scaled off the GUI thread (:class:`LoadTask`), so that showing
the next photo only paints an image that is ready.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from wbsdesk.gui.image_files import read_image

GREY = QColor(102, 102, 102)     # neutral grey: the screen, and the photo's place when hidden
BAR_SHOW = QColor(235, 235, 235)
BAR_WAIT = QColor(160, 160, 160)


def load_image(path: Path, side: int) -> QImage:
    """Decode a crop and scale it to fit ``side`` x ``side`` (at most 2x its own size)."""
    img = read_image(path)  # allowed formats only; OSError otherwise
    longest = max(img.width(), img.height())
    target = min(side, 2 * longest)
    if target != longest:
        img = img.scaled(QSize(target, target), Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    return img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


class LoaderSignals(QObject):
    """Results of background loads: ``loaded(position, side, image)`` or ``failed``."""

    loaded = Signal(int, int, QImage)   # position, side, image
    failed = Signal(int, int, str)


class LoadTask(QRunnable):
    """Decode one crop at one size in a thread-pool thread."""

    def __init__(self, signals: LoaderSignals, position: int, path: Path, side: int) -> None:
        super().__init__()
        self._signals, self._position, self._path, self._side = signals, position, path, side

    def run(self) -> None:
        try:
            img = load_image(self._path, self._side)
        except Exception as exc:  # reported; the GUI thread loads it again when needed
            self._signals.failed.emit(self._position, self._side, str(exc))
            return
        self._signals.loaded.emit(self._position, self._side, img)


class PhotoCanvasWidget(QWidget):
    """Neutral grey with the current photo large and centred (or nothing, when hidden)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Photo")
        self._image: QImage | None = None

    def photo_side(self) -> int:
        """The side of the square the photo is drawn in."""
        return max(64, min(self.width(), self.height()) - 16)

    def set_image(self, image: QImage | None) -> None:
        """Show ``image`` (``None``: grey only); call ``repaint()`` to paint it now."""
        self._image = image

    @property
    def showing(self) -> bool:
        """Whether a photo is on screen."""
        return self._image is not None

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), GREY)
        img = self._image
        if img is not None:
            side = self.photo_side()
            w, h = img.width(), img.height()
            if max(w, h) > side:  # the window shrank since the image was prepared
                scale = side / max(w, h)
                w, h = int(w * scale), int(h * scale)
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            target = QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)
            p.drawImage(target, img)
        p.end()


class TimeBarWidget(QWidget):
    """A thin bar: the share of the display time (or response window) that is left."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(6)
        self.setAccessibleName("Time left")
        self.fraction = 0.0
        self.color = BAR_SHOW
        self.idle = False

    def set_idle(self, idle: bool) -> None:
        """Idle: plain grey (start, pause and summary pages), keeping its height."""
        if idle != self.idle:
            self.idle = idle
            self.update()

    def set_state(self, fraction: float, color: QColor) -> None:
        """Fill ``fraction`` (0..1) of the width in ``color``."""
        if abs(fraction - self.fraction) > 0.002 or color != self.color:
            self.fraction, self.color = fraction, color
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), GREY if self.idle else GREY.darker(115))
        w = round(self.width() * self.fraction)
        if w > 0 and not self.idle:
            p.fillRect(QRect((self.width() - w) // 2, 0, w, self.height()), self.color)
        p.end()
