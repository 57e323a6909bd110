"""The dashboard's "Aided vs unaided" tab: design, aid, harmed readers, slope chart, tables.

Computed off the GUI thread (:class:`~wbsdesk.gui.runners.ThreadJob`, a private database
connection) by :func:`wbsdesk.services.analysis_aided.build_aided_comparison`; the tables
are :func:`wbsdesk.services.report_aided.aided_tables`, the numbers of the report section
and of ``wbsdesk aid compare``.
"""

from __future__ import annotations

import html
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.services.analysis_aided import AidedComparison, build_aided_comparison
from wbsdesk.services.report_aided import aided_header, aided_tables
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

#: The tab's name in the dashboard.
AIDED_TAB = "Aided vs unaided"
HARMED = "#c62828"
READER = "#1f4e99"
_TITLES = {"aided_modalities": "Modalities (OR/Hillis)", "aided_readers": "Readers",
           "aided_changes": "Changed reads", "aided_decisions": "Changed decisions",
           "aided_timing": "Time per read"}


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


def _text(key: str, v: Any) -> str:
    if isinstance(v, bool):
        return ("HARMED" if v else "") if key == "Harmed" else ("yes" if v else "no")
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        if key == "p":
            return "< 0.001" if v < 0.001 else f"{v:.3f}"
        return f"{v:.1f}" if key == "df2" else f"{v:.3f}"
    return str(v)


def fill_rows(table: QTableWidget, rows: list[dict[str, Any]]) -> None:
    """Put plain rows into a read-only table (headers from the first row)."""
    table.clear()
    headers = list(rows[0]) if rows else []
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(rows))
    for i, r in enumerate(rows):
        for j, (k, v) in enumerate(r.items()):
            item = QTableWidgetItem(_text(k, v))
            if k == "Harmed" and v:
                item.setForeground(pg.mkColor(HARMED))
            if isinstance(v, int | float) and not isinstance(v, bool):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(i, j, item)
    table.resizeColumnsToContents()


class SlopePlotWidget(pg.PlotWidget):
    """Each reader's AUC, unaided (x = 0) to aided (x = 1); harmed readers in red."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumSize(320, 240)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        ax = self.getAxis("bottom")
        ax.setTicks([[(0, "Unaided"), (1, "Aided")]])
        self.setLabel("left", "AUC")
        self.setXRange(-0.15, 1.45, padding=0)
        self.lines: list[tuple[str, float, float, bool]] = []

    def show_comparison(self, comp: AidedComparison) -> None:
        """Draw one line per reader."""
        self.clear()
        self.lines = []
        lo = min([0.5] + [v for r in comp.readers for v in (r.auc_unaided, r.auc_aided)])
        self.setYRange(math.floor(lo * 10) / 10, 1.0, padding=0.02)
        for r in comp.readers:
            colour = HARMED if r.harmed else READER
            self.plot([0, 1], [r.auc_unaided, r.auc_aided], pen=pg.mkPen(colour, width=2),
                      symbol="o", symbolSize=7, symbolBrush=colour, symbolPen=colour)
            label = pg.TextItem(r.reader[:22], color=colour, anchor=(0, 0.5))
            label.setPos(1.03, r.auc_aided)
            self.addItem(label)
            self.lines.append((r.reader, r.auc_unaided, r.auc_aided, r.harmed))


class AidedTabWidget(QWidget):
    """The "Aided vs unaided" tab of one study (call :meth:`show_study`)."""

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = ws
        self.comparison: AidedComparison | None = None
        self.job: ThreadJob | None = None
        self._key: tuple[str, bool] | None = None
        self.cache: dict[tuple[str, bool], AidedComparison] = {}
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.plot = SlopePlotWidget()
        self.modalities = self._table()
        self.tables = QTabWidget()
        self.sub: dict[str, QTableWidget] = {"aided_modalities": self.modalities}
        for name in ("aided_readers", "aided_changes", "aided_decisions", "aided_timing"):
            self.sub[name] = self._table()
            self.tables.addTab(self.sub[name], _TITLES[name])
        self.modalities.setMinimumHeight(140)
        self.tables.setMinimumHeight(190)
        top = QHBoxLayout()
        top.addWidget(self.plot, 2)
        right = QVBoxLayout()
        caption = QLabel("<b>Unaided vs aided</b>: reader averages, aided − unaided "
                         "(Obuchowski–Rockette, Hillis df, random readers and cases)")
        caption.setWordWrap(True)
        right.addWidget(caption)
        right.addWidget(self.modalities, 1)
        top.addLayout(right, 3)
        content = QWidget()
        v = QVBoxLayout(content)
        v.setContentsMargins(4, 4, 4, 4)
        v.addWidget(self.header)
        v.addLayout(top, 3)
        v.addWidget(self.tables, 2)
        v.addWidget(self.notes)
        # scrolls rather than squeezing the chart and tables into each other
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    @staticmethod
    def _table() -> QTableWidget:
        t = QTableWidget()
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.verticalHeader().setVisible(False)
        return t

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

    def _on_failed(self, failure: Any) -> None:
        self.comparison = None
        hint = f" ({failure.hint})" if getattr(failure, "hint", None) else ""
        self.header.setText(f"<b>Cannot compare unaided and aided reads:</b> "
                            f"{html.escape(failure.message)}{html.escape(hint)}")
        self.plot.clear()
        self.notes.clear()
        for t in self.sub.values():
            t.clear()
            t.setRowCount(0)
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
        items = aided_header(comp)
        shown = [f"<b>{html.escape(k)}:</b> {html.escape(v)}" for k, v in items
                 if k != "Harmed readers"]
        harmed = ", ".join(comp.harmed) or "none"
        colour = HARMED if comp.harmed else "#1a1a1a"
        banner = ("<span style='background:#fff1e0;color:#5a2d00'><b>SIMULATED readers</b> — "
                  "computer-made reads, not physicians.</span><br>" if comp.simulated else "")
        self.header.setText(banner + " · ".join(shown) + "<br><b>Harmed readers:</b> "
                            f"<span style='color:{colour}'>{html.escape(harmed)}</span>")
        self.notes.setText(" ".join(f"<i>{html.escape(n)}</i>" for n in comp.notes))
        self.plot.show_comparison(comp)
        for name, rows in aided_tables(comp).items():
            fill_rows(self.sub[name], rows)

    def shutdown(self) -> None:
        """Wait for a running comparison (window closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
