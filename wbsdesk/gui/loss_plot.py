"""Training-loss curves: mean training loss per epoch, one line per architecture and fold.

Each architecture is drawn in its one colour and named by its display name
(:mod:`wbsdesk.core.architectures`), as in the Dashboard's ROC plot. Epoch ticks are whole
numbers, also before the first epoch ends, and the legend is hidden while it would be empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from wbsdesk.core.architectures import arch_color, arch_label

#: Line styles that tell the folds of one architecture apart (colour = architecture).
FOLD_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
               Qt.PenStyle.DashDotLine, Qt.PenStyle.DashDotDotLine)
#: The epochs the empty plot spans (before the first loss arrives).
EMPTY_EPOCHS = (1, 10)


class EpochAxis(pg.AxisItem):
    """A bottom axis with whole-number ticks only (there is no epoch 2.5)."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802, N803
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size)
                  if spacing >= 1]
        levels = [(sp, vs) for sp, vs in levels if vs]
        if levels:
            return levels
        return [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]


class LossPlotWidget(QWidget):
    """Epoch losses as they arrive (:meth:`add_point`) or all at once (:meth:`set_losses`).

    Colour marks the architecture (one legend entry each), line style the fold.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w",
                                  axisItems={"bottom": EpochAxis(orientation="bottom")})
        p = self.plot.getPlotItem()
        p.showGrid(x=True, y=True, alpha=0.15)
        for side, label in (("bottom", "epoch"), ("left", "mean training loss")):
            p.setLabel(side, label, color="#000000")
            p.getAxis(side).setTextPen("k")
            p.getAxis(side).setPen("k")
        p.getAxis("left").enableAutoSIPrefix(False)
        self.legend = p.addLegend(offset=(-8, 8), labelTextColor="k", labelTextSize="8pt",
                                  brush=pg.mkBrush(255, 255, 255, 230),
                                  pen=pg.mkPen("#bbbbbb"))
        self.plot.setMinimumHeight(180)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.plot, 1)
        self.caption = QLabel("Colour: architecture · line style: fold (solid = fold 1, "
                              "dashed = 2, dotted = 3, …) · mean training loss per epoch")
        self.caption.setStyleSheet("color: #444;")
        v.addWidget(self.caption)
        self._data: dict[tuple[str, int], dict[int, float]] = {}
        self._items: dict[tuple[str, int], Any] = {}
        self._archs: list[str] = []
        self.clear()

    def clear(self) -> None:
        """Remove every curve (an empty plot spans epochs 1 to 10, without a legend)."""
        p = self.plot.getPlotItem()
        for item in self._items.values():
            p.removeItem(item)
        self.legend.clear()
        self.legend.hide()
        self._data, self._items, self._archs = {}, {}, []
        p.getAxis("bottom").setTickSpacing()
        p.setXRange(*EMPTY_EPOCHS, padding=0.02)
        p.setYRange(0, 1, padding=0.02)
        p.enableAutoRange()  # data arriving later sets the range again
        p.setTitle("")

    def set_title(self, text: str) -> None:
        """A short title above the plot."""
        self.plot.getPlotItem().setTitle(text, color="#000000", size="10pt")

    def set_losses(self, losses: Mapping[str, Mapping[int, Sequence[float]]]) -> None:
        """Show ``{arch: {fold: [loss of epoch 1, ...]}}`` (replacing what is shown)."""
        self.clear()
        for arch, folds in losses.items():
            for fold, values in sorted(folds.items()):
                for epoch, loss in enumerate(values, start=1):
                    self._store(arch, fold, epoch, loss)
                self._redraw(arch, fold)

    def add_point(self, arch: str, fold: int, epoch: int, loss: float) -> None:
        """Add (or replace) one epoch's loss and redraw that curve."""
        self._store(arch, fold, epoch, loss)
        self._redraw(arch, fold)

    def points(self) -> dict[tuple[str, int], list[tuple[int, float]]]:
        """What is plotted: ``{(arch, fold): [(epoch, loss), ...]}``."""
        return {k: sorted(v.items()) for k, v in self._data.items()}

    def _store(self, arch: str, fold: int, epoch: int, loss: float) -> None:
        if arch not in self._archs:
            self._archs.append(arch)
        self._data.setdefault((arch, fold), {})[epoch] = float(loss)

    def _redraw(self, arch: str, fold: int) -> None:
        key = (arch, fold)
        pts = sorted(self._data[key].items())
        xs, ys = [e for e, _ in pts], [v for _, v in pts]
        item = self._items.get(key)
        if item is None:
            color = arch_color(arch)
            first = not any(a == arch for a, _ in self._items)
            pen = pg.mkPen(color, width=2, style=FOLD_STYLES[(fold - 1) % len(FOLD_STYLES)])
            item = self.plot.getPlotItem().plot(
                xs, ys, pen=pen, symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None,
                name=arch_label(arch) if first else None)
            self._items[key] = item
            self.legend.show()
        else:
            item.setData(xs, ys)
        self._epoch_ticks()

    def _epoch_ticks(self) -> None:
        """Whole-number epoch ticks, about ten of them."""
        last = max((max(v) for v in self._data.values() if v), default=1)
        step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 10**9)
                    if last / s <= 12)
        self.plot.getPlotItem().getAxis("bottom").setTickSpacing(step, step)
