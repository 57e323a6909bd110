"""The dashboard's "Aided vs unaided" tab: design, aid, harmed readers, slope chart, tables.

Computed off the GUI thread (:class:`~wbsdesk.gui.runners.ThreadJob`, a private database
connection) by :func:`wbsdesk.services.analysis_aided.build_aided_comparison`; the tables
are :func:`wbsdesk.services.result_tables_aided.aided_tables` shown by
:func:`~wbsdesk.gui.tables.make_result_table`, so they read as the report section, its CSV
files and ``wbsdesk aid compare`` do; the slope chart is laid out like the report's.
"""

from __future__ import annotations

import html
import logging
import warnings
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import (
    QLabel,
    QScrollArea,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.core.result_table import ResultTable
from wbsdesk.core.slope_chart import COLOURS, SlopeChart
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.tables import make_result_table, min_table_height
from wbsdesk.services.analysis_aided import AidedComparison, build_aided_comparison
from wbsdesk.services.report_aided import aided_chart
from wbsdesk.services.result_tables_aided import aided_tables, effect_sentence, harmed_text
from wbsdesk.services.table_render import shown_note
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

#: The tab's name in the dashboard.
AIDED_TAB = "Aided vs unaided"
#: The tables under the chart, one per tab (the modalities stand beside the chart).
SUB_TABLES = ("aided_readers", "aided_changes", "aided_decisions", "aided_timing")
#: Pixels the lines take at least, left of the reader labels.
LINE_PX = 170.0
#: Pixels a label takes beyond its text: the gap to the axis, the text box's margins, slack.
LABEL_PAD = 26.0


def has_aided_sessions(ws: Workspace, study: str) -> bool:
    """Whether a study has a session of an aided design (the tab is shown then)."""
    row = ws.store.study(study)
    return row is not None and any(s.design != "blind" for s in ws.store.sessions(row.id))


def compute_aided(root: Path, study: str, include_simulated: bool, *, progress: Any,
                  cancel: CancelToken) -> AidedComparison:
    """The aided comparison with a private connection (a job function)."""
    progress(Progress(0, 1, "comparing unaided and aided reads"))
    cancel.raise_if_cancelled()
    with open_workspace(root) as ws, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kept in comp.notes
        comp = build_aided_comparison(ws, study, include_simulated=include_simulated)
    progress(Progress(1, 1, "done"))
    return comp


class SlopePlotWidget(pg.PlotWidget):
    """Each reader's AUC, unaided (x = 0) to aided (x = 1), coloured by effect.

    The layout (axis, label positions moved apart) is
    :func:`wbsdesk.services.report_aided.aided_chart`, the report's. The room right of the
    aided axis is fitted to the longest label whenever the plot is resized, so no name is
    cut; in a plot too narrow for it, names are shortened in the middle.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumSize(360, 240)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        ax = self.getAxis("bottom")
        ax.setTicks([[(0, "Unaided"), (1, "Aided")]])
        self.setLabel("left", "AUC")
        self.comparison: AidedComparison | None = None
        self.chart: SlopeChart | None = None
        self.labels: list[pg.TextItem] = []
        self.lines: list[tuple[str, float, float, bool]] = []

    def show_comparison(self, comp: AidedComparison) -> None:
        """Draw one line per reader."""
        self.comparison = comp
        self.lines = [(r.reader, r.auc_unaided, r.auc_aided, r.harmed) for r in comp.readers]
        self._draw()

    def _label_font(self) -> QFont:
        return QFont(self.font())

    def _draw(self) -> None:
        comp = self.comparison
        self.clear()
        self.labels = []
        if comp is None:
            return
        vb = self.getPlotItem().vb
        height = max(vb.height(), 120.0)
        width = max(vb.width(), 200.0)
        metrics = QFontMetricsF(self._label_font())
        gap = (metrics.height() + 2) / height  # labels one line apart, at least
        chart = aided_chart(comp, label_gap=gap)
        self.chart = chart
        room = max(width - LINE_PX, 60.0)  # pixels left for the labels beside the lines
        texts = [line.label if metrics.horizontalAdvance(line.label) + LABEL_PAD <= room else
                 metrics.elidedText(line.label, Qt.TextElideMode.ElideMiddle,
                                    room - LABEL_PAD)
                 for line in chart.lines]
        label_px = max([metrics.horizontalAdvance(t) for t in texts], default=0.0) + LABEL_PAD
        left = 0.12
        margin = (1 + left) * label_px / max(width - label_px, 1.0)  # data units right of 1
        self.setXRange(-left, 1 + margin, padding=0)
        self.setYRange(chart.low, chart.high, padding=0.02)
        px = (1 + left + margin) / width  # one pixel in data units along x
        for line, text in zip(chart.lines, texts, strict=True):
            colour = line.colour
            self.plot([0, 1], [line.unaided, line.aided], pen=pg.mkPen(colour, width=2),
                      symbol="o", symbolSize=7, symbolBrush=colour, symbolPen=colour)
            if abs(line.label_y - line.aided) > 1e-9:  # moved apart: a short leader
                self.plot([1 + 4 * px, 1 + 9 * px], [line.aided, line.label_y],
                          pen=pg.mkPen(colour, width=1))
            label = pg.TextItem(text, color=colour, anchor=(0, 0.5))
            label.setFont(self._label_font())
            label.setToolTip(line.label)
            label.setPos(1 + 9 * px, line.label_y)
            self.addItem(label)
            self.labels.append(label)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if getattr(self, "comparison", None) is not None:  # (called while constructing)
            QTimer.singleShot(0, self._draw)  # after the view box has its new size


class AidedTabWidget(QWidget):
    """The "Aided vs unaided" tab of one study (call :meth:`show_study`)."""

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = ws
        self.comparison: AidedComparison | None = None
        self.tables_shown: dict[str, ResultTable] = {}
        self.job: ThreadJob | None = None
        self._key: tuple[str, bool] | None = None
        self.cache: dict[tuple[str, bool], AidedComparison] = {}
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.plot = SlopePlotWidget()
        self.tables = QTabWidget()
        self.table_notes = QLabel()
        self.table_notes.setWordWrap(True)
        self.modalities_box = QVBoxLayout()
        self.modalities_notes = QLabel()
        self.modalities_notes.setWordWrap(True)
        self.sub: dict[str, QTableWidget] = {}
        self.modalities_title = QLabel()
        self.modalities_title.setWordWrap(True)
        self.plot.setMinimumHeight(260)
        self.plot.setMaximumWidth(760)  # lines no longer than a reader can follow
        content = QWidget()
        v = QVBoxLayout(content)
        v.setContentsMargins(4, 4, 4, 4)
        v.addWidget(self.header)
        v.addWidget(self.summary)
        # the chart takes the whole width (room for the readers' names beside it); the
        # tables follow at their own width, one above the other, and the tab scrolls
        v.addWidget(self.plot)
        v.addWidget(self.modalities_title)
        v.addLayout(self.modalities_box)
        v.addWidget(self.modalities_notes)
        v.addWidget(self.tables)
        v.addWidget(self.table_notes)
        v.addWidget(self.notes)
        self.tables.currentChanged.connect(self._on_sub_tab)
        # scrolls rather than squeezing the chart and tables into each other
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def show_study(self, study: str, *, include_simulated: bool) -> None:
        """Show the aided comparison of ``study`` (cached, or computed off the GUI thread)."""
        key = (study, include_simulated)
        self._key = key
        if key in self.cache:
            self._show(self.cache[key])
            return
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
        self.header.setText("Comparing unaided and aided reads…")
        job = ThreadJob(compute_aided, self._ws.root, study, include_simulated,
                        title="Aided comparison")
        job.succeeded.connect(lambda comp: self._on_succeeded(key, comp))
        job.failed.connect(self._on_failed)
        job.finished.connect(self._on_finished)
        self.job = job
        job.start()

    def _on_succeeded(self, key: tuple[str, bool], comp: AidedComparison) -> None:
        self.cache[key] = comp
        if key == self._key:
            self._show(comp)

    def _clear_tables(self) -> None:
        self.tables.clear()
        for t in self.sub.values():
            t.setParent(None)
            t.deleteLater()
        self.sub = {}
        self.tables_shown = {}
        for label in (self.summary, self.notes, self.table_notes, self.modalities_notes,
                      self.modalities_title):
            label.clear()

    def _on_failed(self, failure: Any) -> None:
        self.comparison = None
        hint = f" ({failure.hint})" if getattr(failure, "hint", None) else ""
        self.header.setText(f"<b>Cannot compare unaided and aided reads:</b> "
                            f"{html.escape(failure.message)}{html.escape(hint)}")
        self.plot.comparison = None
        self.plot.clear()
        self._clear_tables()
        if not getattr(failure, "user_error", False):
            log.error("aided comparison failed:\n%s", failure.traceback)

    def _on_finished(self) -> None:
        self.job = None

    def wait_until_ready(self, ms: int = 60_000) -> None:
        """Run the event loop until the comparison job has finished (tests, screenshots)."""
        while self.job is not None:
            loop = QEventLoop()
            self.job.finished.connect(loop.quit)
            QTimer.singleShot(ms, loop.quit)
            loop.exec()

    def _show(self, comp: AidedComparison) -> None:
        self.comparison = comp
        self._clear_tables()
        tables = {t.name: t for t in aided_tables(comp)}
        self.tables_shown = tables
        design = tables["aided_design"]
        shown = [f"<b>{html.escape(k)}:</b> {html.escape(v)}" for k, v in design.texts()
                 if k != "Harmed readers"]
        colour = COLOURS["harmed"] if comp.harmed else "#1a1a1a"
        banner = ("<span style='background:#fff1e0;color:#5a2d00'><b>SIMULATED readers</b> — "
                  "computer-made reads, not physicians.</span><br>" if comp.simulated else "")
        self.header.setText(banner + " · ".join(shown) + "<br><b>Harmed readers:</b> "
                            f"<span style='color:{colour}'>"
                            f"{html.escape(harmed_text(comp))}</span>")
        level = f"{100 * comp.ci_level:g}% CI"
        self.summary.setText(" ".join(html.escape(effect_sentence(t, level))
                                      for t in comp.tests))
        self.notes.setText(" ".join(f"<i>{html.escape(shown_note(n))}</i>"
                                    for n in comp.notes))
        self.plot.show_comparison(comp)
        mod = tables["aided_modalities"]
        self.modalities_title.setText(f"<b>{html.escape(mod.title)}</b>")
        self.sub["aided_modalities"] = make_result_table(mod)
        self.sub["aided_modalities"].setMinimumHeight(
            min_table_height(self.sub["aided_modalities"], len(mod.rows)))
        self.modalities_box.addWidget(self.sub["aided_modalities"])
        self.modalities_notes.setText(html.escape(" ".join(mod.footnotes())))
        for name in SUB_TABLES:
            self.sub[name] = make_result_table(tables[name])
            self.sub[name].setMinimumHeight(
                min_table_height(self.sub[name], max(len(tables[name].rows), 4)))
            self.tables.addTab(self.sub[name], tables[name].tab)
        self._on_sub_tab(self.tables.currentIndex())

    def _on_sub_tab(self, index: int) -> None:
        if 0 <= index < len(SUB_TABLES) and SUB_TABLES[index] in self.tables_shown:
            t = self.tables_shown[SUB_TABLES[index]]
            self.table_notes.setText(f"<b>{html.escape(t.title)}.</b> "
                                     + html.escape(" ".join(t.footnotes())))

    def shutdown(self) -> None:
        """Wait for a running comparison (window closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
