"""The dashboard's "Audit" tab: the baseline warning, the reliability diagram, audit tables.

The comparison on show carries its audit (:func:`wbsdesk.services.report_audit.attach_audit`,
computed with the comparison off the GUI thread); this tab only draws it:

* the trivial baseline's warning in words, in red, when it comes within 0.05 AUC of the best
  CNN (else a line saying the CNNs are ahead), and why a part was not computed;
* the reliability diagram of the models (the report's :class:`ReliabilityChart` points,
  drawn with pyqtgraph) with a legend of ECE and Brier score beside it;
* every audit table (:func:`wbsdesk.services.report_audit.audit_tables`, shown by
  :func:`~wbsdesk.gui.tables.make_result_table`, so they read as the report and its CSVs),
  one inner tab each, with the table's footnotes under it.
"""

from __future__ import annotations

import html
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.result_table import ResultTable
from wbsdesk.gui.tables import make_result_table, min_table_height
from wbsdesk.services.report_audit_render import CHART_CAPTION, audit_content

__all__ = ["AUDIT_TAB", "WARNING_STYLE", "AuditTabWidget"]

#: Name of the dashboard tab.
AUDIT_TAB = "Audit"
#: Height (px) the tab asks for: the diagram, its legend and a few table rows.
ROOM = 280
WARNING_STYLE = ("QLabel { background:#fde2e1; border:1px solid #d08080; color:#6b0000; "
                 "border-radius:3px; padding:4px 6px; font-weight:bold; }")


class AuditTabWidget(QScrollArea):
    """Calibration, subgroups and confounds of the comparison on show."""

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumSize(220, 160)
        self.plot.setMaximumSize(300, 300)
        item = self.plot.getPlotItem()
        item.setLabel("bottom", "mean predicted probability (bin)")
        item.setLabel("left", "observed share of target photos")
        item.showGrid(x=True, y=True, alpha=0.15)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setStyleSheet("QLabel { font-size:8pt; }")
        self.legend.setWordWrap(True)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.tables = QTabWidget()
        self.tables.setUsesScrollButtons(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("QLabel { color:#444444; }")
        self._specs: list[ResultTable] = []
        self.sub: dict[str, QTableWidget] = {}
        # left: the reliability diagram and its legend; right: the warning and the tables
        left = QVBoxLayout()
        left.addWidget(self.plot)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.warning)
        right.addWidget(self.summary)
        right.addWidget(self.legend)
        right.addWidget(self.tables, 1)
        right.addWidget(self.note)
        inner = QWidget()
        row = QHBoxLayout(inner)
        row.addLayout(left)
        row.addLayout(right, 1)
        self.setWidget(inner)
        self.tables.currentChanged.connect(self._on_tab_changed)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._ask_for_room()

    def _ask_for_room(self) -> None:
        """Grow the pane holding this tab (a vertical splitter's lower part) to show the
        diagram and a table without scrolling, when the window allows."""
        w = self.parentWidget()
        while w is not None and not isinstance(w, QSplitter):
            w = w.parentWidget()
        if w is None or w.orientation() != Qt.Orientation.Vertical or self.height() >= ROOM:
            return
        sizes = w.sizes()
        grow = min(ROOM - self.height(), max(0, sizes[0] - 200))
        if grow > 0:
            w.setSizes([sizes[0] - grow, *sizes[1:-1], sizes[-1] + grow])

    def clear(self) -> None:
        """Show nothing."""
        self.warning.hide()
        self.summary.clear()
        self.legend.clear()
        self.plot.getPlotItem().clear()
        self.tables.clear()
        self.note.clear()
        self._specs, self.sub = [], {}

    def show_comparison(self, comp: Any) -> None:
        """Draw the audit of ``comp`` (nothing when none is attached)."""
        current = self.tables.currentIndex()
        self.clear()
        content = audit_content(comp)
        if content is None:
            self.summary.setText("<i>No audit was computed for this comparison.</i>")
            return
        if content.warning:
            self.warning.setText(content.warning)
            self.warning.show()
        # the report's first paragraph says what the audit holds; here each table's note does
        self.summary.setText("<br>".join(content.intro[1:]))
        self.summary.setVisible(len(content.intro) > 1)
        self._draw(content.chart)
        self._specs = list(content.tables)
        for t in self._specs:
            w = make_result_table(t) if t.rows else QLabel(html.escape(t.empty_text))
            if isinstance(w, QTableWidget):
                w.setMinimumHeight(min_table_height(w, rows=6))
                self.sub[t.name] = w
            self.tables.addTab(w, t.tab)
        self.tables.setCurrentIndex(max(0, min(current, self.tables.count() - 1)))
        self._on_tab_changed(self.tables.currentIndex())

    def _draw(self, chart: Any) -> None:
        p = self.plot.getPlotItem()
        p.plot([0, 1], [0, 1], pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DashLine))
        p.setXRange(0, 1, padding=0.02)
        p.setYRange(0, 1, padding=0.02)
        if chart is None:
            self.legend.setText("<i>No model to calibrate.</i>")
            return
        lines = [f"<b>Reliability diagram</b> (left; {chart.n_bins} equal bins), model · ECE · "
                 "Brier score:"]
        for label, color, points, ece, brier in chart.series:
            xs = [x for x, _, _ in points]
            ys = [y for _, y, _ in points]
            p.plot(xs, ys, pen=pg.mkPen(color, width=1.6), symbol="o", symbolSize=5,
                   symbolBrush=color, symbolPen=None)
            lines.append(f"<span style='color:{color}'>━━</span> {html.escape(label)} · "
                         f"{ece:.3f} · {brier:.3f}")
        self.legend.setText(" &nbsp; ".join(lines))
        self.legend.setToolTip(CHART_CAPTION)

    def _on_tab_changed(self, index: int) -> None:
        if 0 <= index < len(self._specs):
            t = self._specs[index]
            self.note.setText(f"<b>{html.escape(t.title)}.</b> "
                              + html.escape(" ".join(t.footnotes())))

    def table_names(self) -> list[str]:
        """The audit tables shown, in tab order."""
        return [t.name for t in self._specs]

    def select(self, name: str) -> None:
        """Show the inner tab of the table called ``name``."""
        self.tables.setCurrentIndex(self.table_names().index(name))
