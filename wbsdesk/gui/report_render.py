"""Drawing the report's ROC figure (pyqtgraph) and printing the report PDF (Qt), offscreen.

This is where the figure of ``wbsdesk report`` lives: :func:`render_roc_figure` draws the
plot-ready :class:`~wbsdesk.services.analysis_roc.RocData` of a comparison, like Figure 2
of Liu et al. (2021):

* left panel, "CNN models": every architecture's pooled out-of-fold ROC curve with a
  shaded band (mean ± 1 SD of the per-fold curves), the ensemble in black;
* right panel, "Readers" (only when there are readers): the ensemble (else the only
  architecture) on the photos every reader rated -- its curve and legend AUC are of those
  photos, like the readers' -- each reader's rating curve (dashed, through the rating
  levels) and yes/no operating point (a filled marker labelled with the reader's name;
  simulated readers end in "(sim)").

Both panels: x = 1 − specificity, y = sensitivity, the diagonal chance line, a legend with
the AUC of every curve, colour-blind-safe colours (each architecture's own Okabe–Ito colour
from :mod:`wbsdesk.core.architectures`, the same as in the app; Tol's "muted" for readers)
plus distinct marker shapes for readers.

The scene is rendered into a PNG at ``PNG_SCALE`` times its size through the image's
device pixel ratio (pyqtgraph's ``ImageExporter`` scales the painter instead, which leaves
the legend, whose items ignore view transformations, at half size), and into an SVG with
``QSvgGenerator``: pyqtgraph's own ``SVGExporter`` fails with this Qt ("not enough values
to unpack" in ``correctCoordinates``, pyqtgraph issue #3485). The PNG says it is 300 dpi
(the PDF report places it at that resolution, or denser); the PDF itself is laid out by
:mod:`wbsdesk.services.report_pdf` (reportlab).

:class:`QtReportRenderer` is the figure renderer of :func:`wbsdesk.services.reports.write_report`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from wbsdesk.core.architectures import model_color
from wbsdesk.core.formatting import fmt_number
from wbsdesk.services.analysis_roc import RocData

log = logging.getLogger(__name__)

#: Logical size of one panel (px); the PNG is exported at ``PNG_SCALE`` times this.
PANEL_PX = (620, 620)
TITLE_PX = 40
MARGIN_PX = 6
PNG_SCALE = 2
#: Resolution the PNG declares (the PDF report's).
PNG_DPI = 300
READER_COLORS = ("#882255", "#117733", "#332288", "#AA4499", "#44AA99", "#999933",
                 "#CC6677", "#88CCEE")
READER_SYMBOLS = ("o", "s", "t", "d", "star", "p", "h", "t1")


def figure_size(roc: RocData) -> tuple[int, int]:
    """Logical (width, height) of the figure in px: one or two panels plus the title."""
    if roc.readers:
        return 2 * PANEL_PX[0], PANEL_PX[1] + TITLE_PX
    return PANEL_PX[0], PANEL_PX[1] + 2 * TITLE_PX  # the heading takes two lines


def _app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def _panel(layout: Any, title: str, subtitle: str) -> Any:
    import pyqtgraph as pg
    from PySide6.QtGui import QFont

    plot = layout.addPlot()
    plot.setTitle(f"<b>{title}</b><br><span style='font-size:10pt; color:#444444'>"
                  f"{subtitle}</span>", color="#000000", size="12pt")
    plot.setFixedWidth(PANEL_PX[0] - 2 * MARGIN_PX)
    plot.disableAutoRange()
    plot.setXRange(-0.02, 1.02, padding=0)
    plot.setYRange(-0.02, 1.02, padding=0)
    plot.setMouseEnabled(False, False)
    plot.hideButtons()
    plot.showGrid(x=True, y=True, alpha=0.15)
    font = QFont()
    font.setPointSize(10)
    for side, label in (("bottom", "1 − specificity (false-positive rate)"),
                        ("left", "sensitivity (true-positive rate)")):
        axis = plot.getAxis(side)
        axis.setTickFont(font)
        axis.setTextPen("k")
        axis.setPen("k")
        axis.setTicks([[(v / 5, f"{v / 5:.1f}") for v in range(6)]])
        plot.setLabel(side, label, **{"font-size": "11pt", "color": "#000000"})
    plot.plot([0, 1], [0, 1], pen=pg.mkPen("#888888", width=1.5, style=_dash()))
    legend = plot.addLegend(offset=(-6, -6), labelTextSize="9pt", labelTextColor="k",
                            brush=pg.mkBrush(255, 255, 255, 235), pen=pg.mkPen("#bbbbbb"),
                            verSpacing=-5)
    return plot, legend


#: The trivial baseline's curve (the confound audit's logistic regression).
BASELINE_COLOR = "#6E6E6E"


def _dash() -> Any:
    from PySide6.QtCore import Qt

    return Qt.PenStyle.DashLine


def _model_curves(plot: Any, models: Any, *, bands: bool, suffix: str = "",
                  runs: tuple[str, ...] = ()) -> None:
    import numpy as np
    import pyqtgraph as pg

    for m in models:
        color = model_color(m.name, runs)
        if bands and not m.ensemble and m.band is not None and np.isfinite(m.band.low).all():
            c = pg.mkColor(color)
            c.setAlpha(40)
            low = pg.PlotCurveItem(m.band.fpr, m.band.low, pen=None)
            high = pg.PlotCurveItem(m.band.fpr, m.band.high, pen=None)
            plot.addItem(pg.FillBetweenItem(low, high, brush=pg.mkBrush(c)))
        width = 3.0 if m.ensemble else 2.0
        mean = " (mean of the runs' ensembles)" if runs else " (mean of models)"
        name = (f"{m.label}{mean if m.ensemble else ''}{suffix}: "
                f"AUC {fmt_number(m.auc)}")
        if getattr(m, "baseline", False):  # the audit's trivial baseline: grey, dashed
            plot.plot(m.fpr, m.tpr, pen=pg.mkPen(BASELINE_COLOR, width=2.0, style=_dash()),
                      name=f"{m.label} (capture, thumbnail): AUC {fmt_number(m.auc)}")
            continue
        plot.plot(m.fpr, m.tpr, pen=pg.mkPen(color, width=width), name=name)


def _label_heights(points: list[float], gap: float = 0.05) -> list[float]:
    """Heights of labels just above the given points, pushed apart to at least ``gap``."""
    order = sorted(range(len(points)), key=lambda i: -points[i])
    out = [0.0] * len(points)
    prev = None
    for i in order:
        h = points[i] + 0.015
        if prev is not None:
            h = min(h, prev - gap)
        out[i] = prev = h
    return out


def _readers(plot: Any, roc: RocData) -> None:
    import pyqtgraph as pg

    heights = _label_heights([r.point_tpr for r in roc.readers])
    for i, r in enumerate(roc.readers):
        color = READER_COLORS[i % len(READER_COLORS)]
        symbol = READER_SYMBOLS[i % len(READER_SYMBOLS)]
        plot.plot(r.rating_fpr, r.rating_tpr, pen=pg.mkPen(color, width=1.8, style=_dash()),
                  symbol=symbol, symbolSize=5, symbolBrush=color, symbolPen=None,
                  name=f"{r.label}: rating AUC {fmt_number(r.rating_auc)}, yes/no "
                       f"{fmt_number(r.binary_auc)}")
        plot.plot([r.point_fpr], [r.point_tpr], pen=None, symbol=symbol, symbolSize=15,
                  symbolBrush=color, symbolPen=pg.mkPen("k", width=1.2))
        right = r.point_fpr < 0.5
        label = pg.TextItem(r.label, color=color, anchor=(0, 0.5) if right else (1, 0.5))
        font = label.textItem.font()
        font.setPointSize(10)
        font.setBold(True)
        label.setFont(font)
        label.setPos(r.point_fpr + (0.025 if right else -0.025), heights[i])
        plot.addItem(label)


def _build(roc: RocData, title: str) -> Any:
    import pyqtgraph as pg
    from PySide6.QtCore import QRectF

    width, height = figure_size(roc)
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground("w")
    widget.resize(width, height)
    layout = widget.ci
    layout.setContentsMargins(MARGIN_PX, MARGIN_PX, MARGIN_PX, MARGIN_PX)
    layout.setSpacing(2 * MARGIN_PX)
    synthetic = roc.synthetic and "synthetic" not in title.lower()
    head = f"{title}{'  (synthetic data)' if synthetic else ''}"
    if not roc.readers:  # one panel is too narrow for the heading on one line
        head = head.replace(" vs. ", "<br>vs. ", 1)
    layout.addLabel(head, colspan=2 if roc.readers else 1, color="#000000", size="14pt",
                    bold=True)
    layout.nextRow()
    left, _ = _panel(layout, f"CNN models, out-of-fold ({roc.n_pos + roc.n_neg} photos, "
                             f"{roc.n_pos} positive)",
                     f"lines: all folds pooled; shaded: ± 1 SD over {roc.n_folds} folds")
    _model_curves(left, roc.models, bands=True, runs=roc.runs)
    if roc.readers:
        ref = roc.reference
        right, _ = _panel(layout, f"Readers vs. {ref.label if ref else 'models'} "
                                  f"({roc.paired_pos + roc.paired_neg} photos, "
                                  f"{roc.paired_pos} positive)",
                          "photos rated by every reader; dashed: rating levels; "
                          "large marker: yes/no call")
        if ref is not None:  # on the same paired photos as the readers
            _model_curves(right, [ref], bands=False, suffix=", same photos", runs=roc.runs)
        _readers(right, roc)
    layout.setGeometry(QRectF(0, 0, width, height))
    return widget


def render_roc_figure(roc: RocData, *, png: Path, svg: Path, title: str) -> tuple[int, int]:
    """Draw the ROC figure offscreen into a PNG and an SVG.

    Parameters
    ----------
    roc : RocData
        From :attr:`Comparison.roc_data <wbsdesk.services.analysis.Comparison>`.
    png, svg : Path, keyword-only
        Output files (replaced).
    title : str, keyword-only
        The figure's heading, e.g. "WBS vs. all controls".

    Returns
    -------
    tuple of int
        The PNG's (width, height) in pixels: :func:`figure_size` times ``PNG_SCALE``.
    """
    from PySide6.QtCore import QCoreApplication, QEvent, QRectF, QSize, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgGenerator

    _app()
    widget = _build(roc, title)
    try:
        width, height = figure_size(roc)
        scene, source = widget.scene(), widget.ci.sceneBoundingRect()
        target = QRectF(0, 0, width, height)
        # like pyqtgraph's ImageExporter, but through the device pixel ratio, so that the
        # legend and labels (which ignore view transformations) scale with everything else
        image = QImage(width * PNG_SCALE, height * PNG_SCALE, QImage.Format.Format_ARGB32)
        image.setDevicePixelRatio(PNG_SCALE)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing
                               | QPainter.RenderHint.TextAntialiasing)
        scene.render(painter, target, source)
        painter.end()
        # declared only now: the device's resolution scales point-sized fonts while painting
        image.setDotsPerMeterX(round(PNG_DPI / 0.0254))
        image.setDotsPerMeterY(round(PNG_DPI / 0.0254))
        if not image.save(str(png), "PNG"):
            raise OSError(f"cannot write {png}")
        gen = QSvgGenerator()
        gen.setFileName(str(svg))
        gen.setSize(QSize(width, height))
        gen.setViewBox(target)
        gen.setTitle(title)
        gen.setDescription("ROC curves drawn by wbsdesk")
        painter = QPainter(gen)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scene.render(painter, target, source)
        painter.end()
    finally:
        widget.close()
        widget.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    log.info("drew the ROC figure into %s and %s", png, svg)
    return width * PNG_SCALE, height * PNG_SCALE


class QtReportRenderer:
    """The :class:`~wbsdesk.services.reports.ReportRenderer` of the desktop package."""

    def figure(self, roc: RocData, *, png: Path, svg: Path, title: str) -> None:
        """Draw the ROC figure (see :func:`render_roc_figure`)."""
        render_roc_figure(roc, png=png, svg=svg, title=title)

    def versions(self) -> dict[str, str]:
        """Versions of PySide6, Qt and pyqtgraph."""
        import pyqtgraph
        import PySide6
        from PySide6.QtCore import qVersion

        return {"PySide6": PySide6.__version__, "Qt": qVersion(),
                "pyqtgraph": pyqtgraph.__version__}
