"""Training-loss curves: mean training loss per epoch, one line per architecture and fold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from wbsdesk.gui.report_render import MODEL_COLORS

#: Line styles that tell the folds of one architecture apart (colour = architecture).
FOLD_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine,
               Qt.PenStyle.DashDotLine, Qt.PenStyle.DashDotDotLine)


class LossPlotWidget(QWidget):
    """Epoch losses as they arrive (:meth:`add_point`) or all at once (:meth:`set_losses`).

    Colour marks the architecture (one legend entry each), line style the fold.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
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

    def clear(self) -> None:
        """Remove every curve."""
        for item in self._items.values():
            self.plot.getPlotItem().removeItem(item)
        self.legend.clear()
        self._data, self._items, self._archs = {}, {}, []
        self.plot.getPlotItem().getAxis("bottom").setTickSpacing()
        self.plot.getPlotItem().setTitle("")

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
            color = MODEL_COLORS[self._archs.index(arch) % len(MODEL_COLORS)]
            first = not any(a == arch for a, _ in self._items)
            pen = pg.mkPen(color, width=2, style=FOLD_STYLES[(fold - 1) % len(FOLD_STYLES)])
            item = self.plot.getPlotItem().plot(
                xs, ys, pen=pen, symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None,
                name=arch if first else None)
            self._items[key] = item
        else:
            item.setData(xs, ys)
        self._epoch_ticks()

    def _epoch_ticks(self) -> None:
        """Whole-number epoch ticks, about ten of them."""
        last = max((max(v) for v in self._data.values() if v), default=1)
        step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 10**9)
                    if last / s <= 12)
        self.plot.getPlotItem().getAxis("bottom").setTickSpacing(step, step)
