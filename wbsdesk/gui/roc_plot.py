"""The interactive ROC plot of a comparison (pyqtgraph), shared by the Dashboard and wizard.

Every model's pooled out-of-fold curve with its ± 1 SD band over folds, the ensemble in
black, each reader's yes/no call as a large marker and (optionally) their rating curve;
per-curve visibility, equal aspect, and a read-out of threshold, sensitivity and
specificity near the mouse; export to PNG or SVG.

The legend is the curve list *beside* the plot (a sample of each line or marker, the name,
the AUCs and, for a simulated reader, the word "simulated"), so nothing covers the curves;
an exported plot gets the same legend to the right of the axes. Architectures are drawn in
their one colour (:func:`wbsdesk.core.architectures.model_color`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.architectures import model_color
from wbsdesk.errors import UserError
from wbsdesk.gui.report_render import BASELINE_COLOR, READER_COLORS, READER_SYMBOLS
from wbsdesk.services.analysis import Comparison

#: How near (in plot units) the mouse must be to a curve point for the read-out.
HOVER_RADIUS = 0.04
#: Width of the curve list (the legend) beside the plot, in px.
LEGEND_WIDTH = 310
#: Data role of a curve-list item holding the curve's label (the item shows more text).
LABEL_ROLE = Qt.ItemDataRole.UserRole + 7


def legend_icon(color: str, *, symbol: str | None = None, dashed: bool = False,
                width: float = 2.0) -> QIcon:
    """A legend sample: a line in ``color`` (dashed for rating curves), with ``symbol``
    (a pyqtgraph symbol name) on top for a reader's yes/no marker."""
    from pyqtgraph.graphicsItems.ScatterPlotItem import drawSymbol

    pix = QPixmap(24, 18)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = pg.mkPen(color, width=width,
                   style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    painter.setPen(pen)
    painter.drawLine(QPointF(1, 9), QPointF(23, 9))
    if symbol is not None:
        painter.translate(12, 9)
        drawSymbol(painter, symbol, 11, pg.mkPen("k", width=1), pg.mkBrush(color))
    painter.end()
    return QIcon(pix)


@dataclass
class _Curve:
    """A drawn curve the mouse read-out knows about."""

    label: str
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    what: str  # "probability" or "rating"
    items: list[Any]


class RocPlotWidget(QWidget):
    """The interactive ROC plot with its curve list, equal-aspect box and read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.plot = pg.PlotWidget(background="w")
        p = self.plot.getPlotItem()
        p.showGrid(x=True, y=True, alpha=0.15)
        for side, label in (("bottom", "1 − specificity (false-positive rate)"),
                            ("left", "sensitivity (true-positive rate)")):
            p.setLabel(side, label, color="#000000")
            p.getAxis(side).setTextPen("k")
            p.getAxis(side).setPen("k")
        p.setXRange(0, 1, padding=0.02)
        p.setYRange(0, 1, padding=0.02)
        self.curve_list = QListWidget()
        self.curve_list.setToolTip("Tick to show, untick to hide a curve")
        self.curve_list.setWordWrap(True)
        self.curve_list.setIconSize(QSize(24, 18))
        self.curve_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rating_box = QCheckBox("Readers' rating curves")
        self.rating_box.setChecked(True)
        self.aspect_box = QCheckBox("Equal aspect")
        self.aspect_box.setToolTip("A square plot: one unit is as long on both axes")
        self.readout = QLabel("Point at a curve to read its threshold, sensitivity and "
                              "specificity.")
        self.readout.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>Curves and AUCs</b> (tick to show)"))
        side.addWidget(self.curve_list, 1)
        self.curve_list.setFixedWidth(LEGEND_WIDTH)
        # the check boxes sit under the plot, beside the read-out, and the curve list runs
        # down beside them too: it keeps the room of the plot and that row for its entries
        # (a study has 8 or more; the demo's must all show at the default 1200 x 760)
        below = QHBoxLayout()
        below.addWidget(self.readout, 1)
        below.addWidget(self.rating_box)
        below.addWidget(self.aspect_box)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.plot, 0, 0)
        grid.addLayout(side, 0, 1, 2, 1)
        grid.addLayout(below, 1, 0)
        grid.setRowStretch(0, 1)
        grid.setColumnStretch(0, 1)
        self._curves: list[_Curve] = []
        self._rating_items: list[Any] = []
        self._entries: dict[str, list[Any]] = {}
        self.hover = pg.TextItem("", color="k", fill=pg.mkBrush(255, 255, 255, 230),
                                 border=pg.mkPen("#888888"), anchor=(0, 1))
        self.hover.setZValue(100)
        self.curve_list.itemChanged.connect(self._on_item_changed)
        self.rating_box.toggled.connect(self._on_rating_toggled)
        self.aspect_box.toggled.connect(self._on_aspect_toggled)
        self._mouse = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30,
                                     slot=self._on_mouse_moved)

    def clear(self) -> None:
        """Remove every curve."""
        p = self.plot.getPlotItem()
        p.clear()  # also takes the curves out of the legend
        self.curve_list.blockSignals(True)
        self.curve_list.clear()
        self.curve_list.blockSignals(False)
        self._curves, self._rating_items, self._entries = [], [], {}

    def show_comparison(self, c: Comparison) -> None:
        """Draw the ROC curves of a comparison."""
        self.clear()
        p = self.plot.getPlotItem()
        roc = c.roc_data
        synthetic = roc.synthetic and "synthetic" not in roc.positive_label.lower()
        n_read = roc.paired_pos + roc.paired_neg
        readers = (f"readers: the {n_read} photos all rated" if n_read
                   else "no reader has rated these photos")
        p.setTitle(f"<b>{roc.positive_label} vs. {roc.control_label}</b>"
                   f"{' (synthetic data)' if synthetic else ''}<br>"
                   f"<span style='font-size:9pt;color:#444'>models: {roc.n_pos + roc.n_neg} "
                   f"photos ({roc.n_pos} positive), out-of-fold, band ± 1 SD over "
                   f"{roc.n_folds} folds; {readers}</span>", color="#000000")
        p.plot([0, 1], [0, 1], pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DashLine))
        mean = "mean of the runs' ensembles" if roc.runs else "mean of the models"
        for m in c.models:
            color = model_color(m.name, roc.runs)
            items = []
            if m.name != "ensemble":
                fill = pg.mkColor(color)
                fill.setAlpha(45)
                low = pg.PlotCurveItem(m.band.fpr, m.band.low, pen=None)
                high = pg.PlotCurveItem(m.band.fpr, m.band.high, pen=None)
                band = pg.FillBetweenItem(low, high, brush=pg.mkBrush(fill))
                p.addItem(band)
                items.append(band)
            line = p.plot(m.roc.fpr, m.roc.tpr,
                          pen=pg.mkPen(color, width=3.0 if m.name == "ensemble" else 2.0),
                          name=f"{m.label}{f' ({mean})' if m.name == 'ensemble' else ''}"
                               f": AUC {m.roc.auc:.3f}")
            items.append(line)
            self._curves.append(_Curve(m.label, m.roc.fpr, m.roc.tpr, m.roc.thresholds,
                                       "probability", items))
            # the name and AUC on one line (the ensemble says what it is on a second):
            # the list keeps room for every reader
            what = f"\n{mean}" if m.name == "ensemble" else ""
            self._add_entry(m.label, f"AUC {m.roc.auc:.3f}{what}", items, color,
                            legend_icon(color, width=3.0 if m.name == "ensemble" else 2.0),
                            one_line=True)
        base = c.audit.baseline_model if c.audit is not None else None
        if base is not None:  # the audit's trivial baseline: grey and dashed, not a CNN
            line = p.plot(base.roc.fpr, base.roc.tpr,
                          pen=pg.mkPen(BASELINE_COLOR, width=2.0, style=Qt.PenStyle.DashLine),
                          name=f"{base.label}: AUC {base.roc.auc:.3f}")
            self._curves.append(_Curve(base.label, base.roc.fpr, base.roc.tpr,
                                       base.roc.thresholds, "probability", [line]))
            # one line: the list keeps room for every model and reader at 1200 x 760
            self._add_entry(base.label, f"AUC {base.roc.auc:.3f}", [line], BASELINE_COLOR,
                            legend_icon(BASELINE_COLOR, dashed=True, width=2.0),
                            one_line=True, tip="Not a CNN: a logistic regression on capture "
                            "statistics, an 8×8 thumbnail and colour histograms, on the same "
                            "folds (see the Audit tab).")
        for i, r in enumerate(c.readers):
            color = READER_COLORS[i % len(READER_COLORS)]
            symbol = READER_SYMBOLS[i % len(READER_SYMBOLS)]
            rating = p.plot(r.rating_roc.fpr, r.rating_roc.tpr,
                            pen=pg.mkPen(color, width=1.6, style=Qt.PenStyle.DashLine),
                            symbol=symbol, symbolSize=5, symbolBrush=color, symbolPen=None)
            point = p.plot([float(r.binary_roc.fpr[1])], [float(r.binary_roc.tpr[1])],
                           pen=None, symbol=symbol, symbolSize=14, symbolBrush=color,
                           symbolPen=pg.mkPen("k", width=1.2),
                           name=f"{r.label}: yes/no AUC {r.binary_roc.auc:.3f}, rating "
                                f"{r.rating_roc.auc:.3f}")
            self._rating_items.append(rating)
            self._curves.append(_Curve(r.label, r.rating_roc.fpr, r.rating_roc.tpr,
                                       r.rating_roc.thresholds, "rating", [rating]))
            self._curves.append(_Curve(f"{r.label} (yes/no call)", r.binary_roc.fpr[1:2],
                                       r.binary_roc.tpr[1:2], np.array([np.nan]), "yes/no",
                                       [point]))
            shown = r.label.removesuffix(" (sim)") if r.simulated else r.label
            self._add_entry(r.label, f"{r.kind} · yes/no {r.binary_roc.auc:.3f} · rating "
                                     f"{r.rating_roc.auc:.3f}", [rating, point], color,
                            legend_icon(color, symbol=symbol, dashed=True, width=1.6),
                            shown=shown)
        p.addItem(self.hover, ignoreBounds=True)
        self.hover.hide()
        self._on_rating_toggled(self.rating_box.isChecked())
        p.setXRange(0, 1, padding=0.02)
        p.setYRange(0, 1, padding=0.02)

    def _add_entry(self, label: str, detail: str, items: list[Any], color: str,
                   icon: QIcon, *, shown: str | None = None, one_line: bool = False,
                   tip: str = "") -> None:
        sep = " · " if one_line else "\n"
        item = QListWidgetItem(icon, f"{shown or label}{sep}{detail}")
        if tip:
            item.setToolTip(tip)
        item.setData(LABEL_ROLE, label)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        item.setForeground(pg.mkColor("#000000" if color == "#000000" else color))
        self.curve_list.addItem(item)
        self._entries[label] = items

    def curve_labels(self) -> list[str]:
        """The curves' labels in the list (models, then readers)."""
        return [self.curve_list.item(i).data(LABEL_ROLE)
                for i in range(self.curve_list.count())]

    def legend_texts(self) -> list[str]:
        """What the legend beside the plot says, one entry per curve (name, then AUCs)."""
        return [self.curve_list.item(i).text() for i in range(self.curve_list.count())]

    def set_curve_visible(self, label: str, visible: bool) -> None:
        """Show or hide one curve (as ticking it in the list does)."""
        for i in range(self.curve_list.count()):
            item = self.curve_list.item(i)
            if item.data(LABEL_ROLE) == label:
                item.setCheckState(Qt.CheckState.Checked if visible
                                   else Qt.CheckState.Unchecked)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        visible = item.checkState() == Qt.CheckState.Checked
        for it in self._entries.get(item.data(LABEL_ROLE), []):
            show = visible and (it not in self._rating_items or self.rating_box.isChecked())
            it.setVisible(show)

    def _on_rating_toggled(self, on: bool) -> None:
        for i in range(self.curve_list.count()):
            self._on_item_changed(self.curve_list.item(i))

    def _on_aspect_toggled(self, on: bool) -> None:
        p = self.plot.getPlotItem()
        p.setAspectLocked(on, ratio=1.0)
        p.setXRange(0, 1, padding=0.02)
        p.setYRange(0, 1, padding=0.02)

    def readout_at(self, x: float, y: float) -> str:
        """The read-out for the visible curve point nearest to (x, y), or ''."""
        best, best_d = None, HOVER_RADIUS
        for c in self._curves:
            if not any(it.isVisible() for it in c.items):
                continue
            d = np.hypot(c.fpr - x, c.tpr - y)
            k = int(np.argmin(d))
            if d[k] < best_d:
                best, best_d = (c, k), float(d[k])
        if best is None:
            return ""
        c, k = best
        sens, spec = 100 * float(c.tpr[k]), 100 * (1 - float(c.fpr[k]))
        t = float(c.thresholds[k])
        if c.what == "yes/no":
            rule = "answered yes"
        elif not np.isfinite(t):
            rule = "nobody called positive"
        elif c.what == "rating":
            rule = f"rating ≥ {t:g}"
        else:
            rule = f"probability ≥ {t:.3f}"
        return f"{c.label}: {rule} → sensitivity {sens:.1f}%, specificity {spec:.1f}%"

    def _on_mouse_moved(self, args: Any) -> None:
        pos = args[0]
        vb = self.plot.getPlotItem().vb
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        pt = vb.mapSceneToView(pos)
        text = self.readout_at(pt.x(), pt.y())
        if text:
            self.hover.setText(text)
            self.hover.setAnchor((1, 1) if pt.x() > 0.5 else (0, 1))
            self.hover.setPos(pt.x(), pt.y())
            self.hover.show()
            self.readout.setText(text)
        else:
            self.hover.hide()

    @contextmanager
    def _legend_beside(self) -> Iterator[QRectF]:
        """Put a legend of the visible curves right of the axes (for an export); yields the
        scene rectangle to render, and puts everything back afterwards."""
        p = self.plot.getPlotItem()
        legend = pg.LegendItem(labelTextColor="k", labelTextSize="8pt", verSpacing=-6,
                               brush=pg.mkBrush("w"), pen=pg.mkPen("#bbbbbb"))
        for item in p.listDataItems():
            if item.name() and item.isVisible():
                legend.addItem(item, item.name())
        hover = self.hover.isVisible()
        self.hover.hide()
        old = QRectF(p.geometry())
        if legend.items:
            size = legend.boundingRect().size()
            legend.setMaximumSize(size)
            p.layout.addItem(legend, 2, 3)
            p.layout.setAlignment(legend, Qt.AlignmentFlag.AlignVCenter)
            width = size.width() + 10
            p.setGeometry(QRectF(old.x(), old.y(), old.width() + width, old.height()))
            p.layout.activate()
        try:
            yield p.sceneBoundingRect()
        finally:
            if legend.items:
                p.layout.removeItem(legend)
            if legend.scene() is not None:
                legend.scene().removeItem(legend)
            p.setGeometry(old)
            p.layout.activate()
            self.hover.setVisible(hover)

    def save(self, path: Path) -> Path:
        """Save the plot as shown, its legend beside the axes: PNG (at twice the screen's
        pixels), or SVG when ``path`` ends in ``.svg``."""
        path = Path(path)
        svg = path.suffix.lower() == ".svg"
        with self._legend_beside() as source:
            target = QRectF(0, 0, source.width(), source.height())
            if svg:
                out: Any = QSvgGenerator()
                out.setFileName(str(path))
                out.setSize(QSize(int(source.width()), int(source.height())))
                out.setViewBox(target)
                out.setTitle("ROC curves")
            else:
                out = QImage(int(source.width()) * 2, int(source.height()) * 2,
                             QImage.Format.Format_ARGB32)
                out.setDevicePixelRatio(2)
                out.fill(Qt.GlobalColor.white)
            painter = QPainter(out)
            painter.setRenderHints(QPainter.RenderHint.Antialiasing
                                   | QPainter.RenderHint.TextAntialiasing)
            self.plot.scene().render(painter, target, source)
            painter.end()
        if not svg and not out.save(str(path), "PNG"):
            raise UserError(f"cannot write {path}")
        return path
