"""The Dashboard view (admin): CNN models vs. human readers on one study, inside the app.

Pick a study, a training run, whether simulated readers count, and the controls (all,
or one control group: a sub-analysis). The comparison is computed by
:func:`wbsdesk.services.analysis.build_comparison` in a :class:`~wbsdesk.gui.runners.ThreadJob`
(its own database connection) and cached by those inputs; this view only draws and
formats what the comparison holds:

* an interactive ROC plot (pyqtgraph): every model's pooled out-of-fold curve with its
  ± 1 SD band over folds, the ensemble in black, each reader's yes/no call as a large
  marker and (optionally) their rating curve; per-curve visibility, equal aspect, and a
  read-out of threshold, sensitivity and specificity near the mouse;
* the paper's tables (:mod:`wbsdesk.gui.dashboard_tables`), sortable and copyable as TSV;
* the "Disagreement triage" tab (:mod:`wbsdesk.gui.dashboard_triage`): the photos where
  readers and models disagree most, with thumbnails, reads, probabilities and Grad-CAM;
* export of the full report (HTML, PDF, CSVs; :func:`wbsdesk.services.reports.write_report`)
  and of the plot (PNG or SVG).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.errors import UserError
from wbsdesk.gui.dashboard_tables import TRIAGE_NOTE, comparison_tables, make_table, table_tsv
from wbsdesk.gui.dashboard_triage import TriageWidget
from wbsdesk.gui.report_render import MODEL_COLORS, READER_COLORS, READER_SYMBOLS
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.widgets import fill_study_combo
from wbsdesk.services.analysis import Comparison, build_comparison
from wbsdesk.services.reports import ReportFiles, write_report
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import list_runs
from wbsdesk.services.triage import disagreements
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

NO_RUN = "No training run yet — run `wbsdesk train` or the wizard."
#: How near (in plot units) the mouse must be to a curve point for the read-out.
HOVER_RADIUS = 0.04
#: Name of the disagreement-triage tab.
TRIAGE_TAB = "Disagreement triage"


@dataclass(frozen=True)
class DashboardInputs:
    """What a comparison depends on (the cache key)."""

    study: str
    run: str
    include_simulated: bool
    controls: str


def compute_comparison(root: Path, inputs: DashboardInputs, *, progress: Any,
                       cancel: CancelToken) -> Comparison:
    """Build the comparison for ``inputs`` with a private connection to the workspace.

    Parameters
    ----------
    root : Path
        The workspace folder (a worker thread needs its own database connection).
    inputs : DashboardInputs
    progress : callable, keyword-only
        Receives one :class:`~wbsdesk.core.jobs.Progress` before and after.
    cancel : CancelToken, keyword-only
        Checked before the (short) computation starts.

    Returns
    -------
    Comparison
        Its warnings are kept in ``Comparison.notes`` (and not issued again here).
    """
    progress(Progress(0, 1, "computing the comparison"))
    cancel.raise_if_cancelled()
    with open_workspace(root) as ws, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # they are in comp.notes; the view shows them
        comp = build_comparison(ws, inputs.study, run=inputs.run,
                                include_simulated=inputs.include_simulated,
                                controls=inputs.controls)
    progress(Progress(1, 1, "done"))
    return comp


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
        self.rating_box = QCheckBox("Readers' rating curves")
        self.rating_box.setChecked(True)
        self.aspect_box = QCheckBox("Equal aspect (square)")
        self.readout = QLabel("Point at a curve to read its threshold, sensitivity and "
                              "specificity.")
        self.readout.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>Curves</b>"))
        side.addWidget(self.curve_list, 1)
        side.addWidget(self.rating_box)
        side.addWidget(self.aspect_box)
        h = QHBoxLayout()
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(self.plot, 1)
        h.addLayout(side)
        self.curve_list.setFixedWidth(270)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(h, 1)
        v.addWidget(self.readout)
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
        readers = (f"readers: {n_read} photos every reader rated" if n_read
                   else "no reader has rated these photos yet")
        p.setTitle(f"<b>{roc.positive_label} vs. {roc.control_label}</b>"
                   f"{' (synthetic data)' if synthetic else ''}<br>"
                   f"<span style='font-size:9pt;color:#444'>models: {roc.n_pos + roc.n_neg} "
                   f"photos ({roc.n_pos} positive), out-of-fold, shaded ± 1 SD over "
                   f"{roc.n_folds} folds; {readers}</span>", color="#000000")
        p.addLegend(offset=(-8, -8), labelTextColor="k", labelTextSize="8pt",
                    brush=pg.mkBrush(255, 255, 255, 230), pen=pg.mkPen("#bbbbbb"),
                    verSpacing=-6)  # the legend made on first use is kept
        p.plot([0, 1], [0, 1], pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DashLine))
        colors = iter(MODEL_COLORS)
        for m in c.models:
            color = "#000000" if m.name == "ensemble" else next(colors)
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
                          name=f"{m.label}{' (mean of models)' if m.name == 'ensemble' else ''}"
                               f": AUC {m.roc.auc:.3f}")
            items.append(line)
            self._curves.append(_Curve(m.label, m.roc.fpr, m.roc.tpr, m.roc.thresholds,
                                       "probability", items))
            self._add_entry(m.label, items, color)
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
            self._add_entry(r.label, [rating, point], color)
        p.addItem(self.hover, ignoreBounds=True)
        self.hover.hide()
        self._on_rating_toggled(self.rating_box.isChecked())
        p.setXRange(0, 1, padding=0.02)
        p.setYRange(0, 1, padding=0.02)

    def _add_entry(self, label: str, items: list[Any], color: str) -> None:
        item = QListWidgetItem(label)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        item.setForeground(pg.mkColor(color))
        self.curve_list.addItem(item)
        self._entries[label] = items

    def curve_labels(self) -> list[str]:
        """The labels in the curve list (models, then readers)."""
        return [self.curve_list.item(i).text() for i in range(self.curve_list.count())]

    def set_curve_visible(self, label: str, visible: bool) -> None:
        """Show or hide one curve (as ticking it in the list does)."""
        for i in range(self.curve_list.count()):
            item = self.curve_list.item(i)
            if item.text() == label:
                item.setCheckState(Qt.CheckState.Checked if visible
                                   else Qt.CheckState.Unchecked)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        visible = item.checkState() == Qt.CheckState.Checked
        for it in self._entries.get(item.text(), []):
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

    def save(self, path: Path) -> Path:
        """Save the plot as shown: PNG, or SVG when ``path`` ends in ``.svg``."""
        path = Path(path)
        if path.suffix.lower() == ".svg":
            scene = self.plot.scene()
            source = self.plot.getPlotItem().sceneBoundingRect()
            gen = QSvgGenerator()
            gen.setFileName(str(path))
            gen.setSize(QSize(int(source.width()), int(source.height())))
            gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
            gen.setTitle("ROC curves")
            painter = QPainter(gen)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
            painter.end()
        elif not self.plot.grab().save(str(path), "PNG"):
            raise UserError(f"cannot write {path}")
        return path


class DashboardWidget(QWidget):
    """Models vs. readers on one study: pickers, ROC plot, tables and exports.

    Parameters
    ----------
    ws : Workspace
    study : str, optional
        The study to select first.

    Signals
    -------
    comparison_ready(Comparison)
        A comparison is on show (fresh or from the cache).
    """

    comparison_ready = Signal(object)

    def __init__(self, ws: Workspace, study: str | None = None) -> None:
        super().__init__()
        self._ws = ws
        self.cache: dict[DashboardInputs, Comparison] = {}
        self.comparison: Comparison | None = None
        self.job: ThreadJob | None = None
        self._pending: DashboardInputs | None = None
        self._shown: DashboardInputs | None = None
        self._active = False  # nothing is computed until the view is first opened

        self.study_combo = QComboBox()
        self.run_combo = QComboBox()
        self.sim_box = QCheckBox("Include simulated readers")
        self.sim_box.setToolTip("Simulated (demo) readers are marked '(sim)'")
        self.controls_combo = QComboBox()
        self.controls_combo.setToolTip("Sub-analysis: which control photos the positives "
                                       "are compared with. Every curve and table follows.")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.hide()
        top = QHBoxLayout()
        for label, w in (("Study", self.study_combo), ("Run", self.run_combo),
                         ("Compare with", self.controls_combo)):
            top.addWidget(QLabel(f"<b>{label}</b>"))
            top.addWidget(w, 1)
        top.addWidget(self.sim_box)
        top.addWidget(self.busy)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.roc = RocPlotWidget()
        self.tabs = QTabWidget()
        self.triage = TriageWidget(ws.root)
        self.triage_cache: dict[DashboardInputs, list[dict[str, Any]]] = {}
        self.table_note = QLabel()
        self.table_note.setWordWrap(True)
        self.copy_button = QPushButton("Copy table")
        self.copy_button.setToolTip("Put the table on show on the clipboard (tab-separated)")
        self.report_button = QPushButton("Save report (HTML, PDF, CSV)…")
        self.plot_button = QPushButton("Save plot (PNG/SVG)…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(self.plot_button)
        buttons.addWidget(self.report_button)
        lower = QWidget()
        lv = QVBoxLayout(lower)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.tabs, 1)
        lv.addWidget(self.table_note)
        lv.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.roc)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([430, 290])
        v = QVBoxLayout(self)
        v.addLayout(top)
        v.addWidget(self.message)
        v.addWidget(self.splitter, 1)

        self.study_combo.currentTextChanged.connect(self._on_study_changed)
        self.run_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.controls_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.sim_box.toggled.connect(lambda _: self.refresh())
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.copy_button.clicked.connect(self.copy_table)
        self.report_button.clicked.connect(self._on_save_report)
        self.plot_button.clicked.connect(self._on_save_plot)
        self._set_results_enabled(False)
        self.reload(study)

    # -- inputs ----------------------------------------------------------------------------
    def reload(self, study: str | None = None) -> None:
        """Reload the list of studies (selecting ``study`` if given)."""
        current = fill_study_combo(self.study_combo, self._ws,
                                   study or self.study_combo.currentText())
        self._on_study_changed(current)

    def _on_study_changed(self, name: str) -> None:
        for combo in (self.run_combo, self.controls_combo):
            combo.blockSignals(True)
            combo.clear()
        if name:
            groups = load_study(self._ws, name).protocol.groups
            self.controls_combo.addItem("All controls", "all")
            for g in groups.controls:
                self.controls_combo.addItem(f"{groups.label(g)} only", g)
            runs = [r for r in list_runs(self._ws, name) if r["status"] == "finished"]
            for r in reversed(runs):  # newest first
                self.run_combo.addItem(f"{r['run']}{' (demo)' if r['demo'] else ''}",
                                       r["run"])
        for combo in (self.run_combo, self.controls_combo):
            combo.blockSignals(False)
        self.refresh()

    def inputs(self) -> DashboardInputs | None:
        """The chosen inputs, or ``None`` without a study or a finished run."""
        study, run = self.study_combo.currentText(), self.run_combo.currentData()
        if not study or not run:
            return None
        return DashboardInputs(study, run, self.sim_box.isChecked(),
                               self.controls_combo.currentData() or "all")

    def set_controls(self, controls: str) -> None:
        """Choose the sub-analysis (``"all"`` or a control group)."""
        self.controls_combo.setCurrentIndex(self.controls_combo.findData(controls))

    # -- computing -------------------------------------------------------------------------
    def activate(self) -> None:
        """The view is on show: compute from now on (called when the view is opened)."""
        self._active = True
        self.refresh()

    def refresh(self) -> None:
        """Show the comparison for the chosen inputs (cached, or computed off the GUI thread)."""
        if not self._active:
            return
        key = self.inputs()
        if key is None:
            self._show_nothing(NO_RUN if self.study_combo.currentText() else "No study yet.")
            return
        if key in self.cache:
            self._show(key, self.cache[key])
            return
        if self.job is not None:  # one at a time; the latest request wins
            self._pending = key
            self.job.cancel()
            return
        self._start(key)

    def _start(self, key: DashboardInputs) -> None:
        job = ThreadJob(compute_comparison, self._ws.root, key, title="Comparison")
        job.succeeded.connect(lambda comp: self._on_succeeded(key, comp))
        job.failed.connect(self._on_failed)
        job.finished.connect(self._on_finished)
        self.job = job
        self.busy.show()
        self.message.setText("Computing the comparison…")
        job.start()

    def _on_succeeded(self, key: DashboardInputs, comp: Comparison) -> None:
        self.cache[key] = comp
        if key == self.inputs():
            self._show(key, comp)

    def _on_failed(self, failure: Any) -> None:
        hint = f" ({failure.hint})" if getattr(failure, "hint", None) else ""
        self._show_nothing(f"Cannot compare: {failure.message}{hint}")
        if not getattr(failure, "user_error", False):
            log.error("dashboard comparison failed:\n%s", failure.traceback)

    def _on_finished(self) -> None:
        self.job = None
        self.busy.hide()
        pending, self._pending = self._pending, None
        if pending is not None and pending == self.inputs():
            self.refresh()

    def wait_until_ready(self, ms: int = 60_000) -> None:
        """Block (running the event loop) until no comparison job runs (screenshots)."""
        while self.job is not None:
            loop = QEventLoop()
            self.job.finished.connect(loop.quit)
            QTimer.singleShot(ms, loop.quit)
            loop.exec()

    def shutdown(self) -> None:
        """Cancel a running job and wait for its thread (window closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
        self.triage.shutdown()

    # -- showing ---------------------------------------------------------------------------
    def _set_results_enabled(self, on: bool) -> None:
        for w in (self.copy_button, self.report_button, self.plot_button, self.roc,
                  self.tabs):
            w.setEnabled(on)

    def _show_nothing(self, message: str) -> None:
        self.comparison = self._shown = None
        self.message.setText(f"<b>{message}</b>")
        self.roc.clear()
        self.tabs.clear()
        self.table_note.clear()
        self._set_results_enabled(False)

    def _show(self, key: DashboardInputs, comp: Comparison) -> None:
        self.comparison, self._shown = comp, key
        self._set_results_enabled(True)
        lines = []
        if comp.synthetic:
            lines.append("<span style='color:#a0522d'><b>Synthetic demo data</b> — not "
                         "patients.</span>")
        if comp.simulated_included:
            lines.append("<span style='color:#a0522d'>Includes <b>simulated</b> readers "
                         "(sim).</span>")
        counts = comp.counts
        lines.append(f"Run <b>{comp.run}</b>: {counts['positive']} positive and "
                     f"{counts['controls']} control photos, {counts['architectures']} "
                     f"architecture(s), {counts['folds']} folds; {counts['readers']} "
                     f"reader(s) on {counts['paired_cases']} photos.")
        notes = list(comp.exclusions) + list(comp.notes)
        text = " ".join(lines)
        if notes:
            text += (f" <span style='color:#555'>{len(notes)} note(s) — hover for "
                     "details.</span>")
        self.message.setText(text)
        self.message.setToolTip("\n".join(notes))
        self.roc.show_comparison(comp)
        current = self.tabs.currentIndex()
        self.tabs.clear()
        self._specs = comparison_tables(comp)
        for spec in self._specs:
            self.tabs.addTab(make_table(spec), spec.tab)
        self._show_triage(key, comp)
        self.tabs.setCurrentIndex(max(current, 0))
        self._on_tab_changed(self.tabs.currentIndex())
        self.comparison_ready.emit(comp)

    def _show_triage(self, key: DashboardInputs, comp: Comparison) -> None:
        if key not in self.triage_cache:  # a few small queries: crops and response times
            self.triage_cache[key] = disagreements(self._ws, comp)
        archs = [m.name for m in comp.models if m.name != "ensemble"]
        self.triage.set_rows(comp.study, comp.run, self.triage_cache[key], archs,
                             {m.name: m.label for m in comp.models})
        self.tabs.addTab(self.triage, TRIAGE_TAB)

    def _on_tab_changed(self, index: int) -> None:
        specs = getattr(self, "_specs", [])
        if 0 <= index < len(specs):
            self.table_note.setText(f"<b>{specs[index].title}.</b> {specs[index].note}")
        elif index >= 0 and self.tabs.widget(index) is self.triage:
            self.table_note.setText(f"<b>{TRIAGE_TAB}.</b> {TRIAGE_NOTE}")

    def table(self, tab: str) -> Any:
        """The table widget of the tab called ``tab`` (e.g. ``"Table 4 · models"``)."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == tab:
                return self.tabs.widget(i)
        raise KeyError(tab)

    # -- copying and exporting -------------------------------------------------------------
    def copy_table(self) -> str:
        """Put the table on show on the clipboard as TSV; returns the text."""
        t = self.tabs.currentWidget()
        if t is self.triage:
            t = self.triage.table
        text = table_tsv(t) if t is not None else ""
        QGuiApplication.clipboard().setText(text)
        return text

    def export_report(self, out_dir: Path) -> ReportFiles:
        """Write the report (HTML, PDF, figure, CSVs) of the comparison on show."""
        from wbsdesk.gui.report_render import QtReportRenderer

        if self.comparison is None:
            raise UserError("nothing to export yet")
        files = write_report(self.comparison, Path(out_dir), renderer=QtReportRenderer())
        self.message.setText(f"Report written to {files.out_dir}")
        return files

    def export_plot(self, path: Path) -> Path:
        """Save the ROC plot as shown (PNG, or SVG for a ``.svg`` path)."""
        if self.comparison is None:
            raise UserError("nothing to export yet")
        return self.roc.save(Path(path))

    def _on_save_report(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the report",
                                                  str(self._ws.root / "reports"))
        if folder:
            self._guarded(self.export_report, Path(folder))

    def _on_save_plot(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the ROC plot",
                                              str(self._ws.root / "roc.png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self._guarded(self.export_plot, Path(path))

    def _guarded(self, fn: Any, arg: Path) -> None:
        try:
            fn(arg)
        except (UserError, OSError) as exc:
            self.message.setText(f"<b>Cannot save:</b> {exc}")
