"""A horizontal colour scale for Grad-CAM heatmaps: the same ramp the overlay is drawn in.

The colours come from :func:`wbsdesk.core.colormap.colour_ramp`, which the overlay
(:func:`wbsdesk.ml.explain.overlay`) uses too, so the bar cannot disagree with the picture.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from wbsdesk.core.colormap import colour_ramp

__all__ = ["ColourScaleWidget"]

_BAR_PX = 14


def ramp_image(width: int, height: int = _BAR_PX) -> QImage:
    """The colour ramp, low at the left, as a ``width`` x ``height`` image."""
    ramp = colour_ramp(max(2, width))
    rows = bytes(ramp.tobytes()) * height
    image = QImage(rows, ramp.shape[0], height, ramp.shape[0] * 3, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels (the bytes object goes away)


class ColourScaleWidget(QWidget):
    """A bar from "low" to "high" with what the colour means written under it.

    ``bar_rect()`` is where the ramp is drawn (tests read its colours).
    """

    def __init__(self, width: int = 240) -> None:
        super().__init__()
        self._width = width
        self._title = ""
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_title(self, text: str) -> None:
        """What the scale measures, e.g. ``contribution to “WBS”``."""
        self._title = text
        self.setToolTip(text)
        self.update()

    def bar_rect(self) -> QRect:
        """Where the colour ramp is drawn, in widget pixels."""
        fm = self.fontMetrics()
        row = max(_BAR_PX, fm.height())
        low_w = fm.horizontalAdvance("low") + 4
        high_w = fm.horizontalAdvance("high") + 4
        return QRect(low_w, (row - _BAR_PX) // 2, self._width - low_w - high_w, _BAR_PX)

    def title(self) -> str:
        """The text under the bar."""
        return self._title

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        """The bar with "low" and "high" beside it, and two lines of title."""
        line = self.fontMetrics().height()
        return QSize(self._width, max(_BAR_PX, line) + 2 * line + 6)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        """Draw "low", the bar, "high", and the title under them (wrapped)."""
        del event
        p = QPainter(self)
        line = self.fontMetrics().height()
        row = max(_BAR_PX, line)
        bar = self.bar_rect()
        low_w, high_w = bar.left(), self._width - bar.right() - 1
        p.drawImage(bar, ramp_image(bar.width()))
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawRect(bar.adjusted(0, 0, -1, -1))
        p.drawText(QRect(0, 0, low_w, row), Qt.AlignmentFlag.AlignLeft
                   | Qt.AlignmentFlag.AlignVCenter, "low")
        p.drawText(QRect(self._width - high_w, 0, high_w, row), Qt.AlignmentFlag.AlignRight
                   | Qt.AlignmentFlag.AlignVCenter, "high")
        p.drawText(QRect(0, row + 2, self._width, 2 * line + 4),
                   Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap, self._title)
        p.end()
