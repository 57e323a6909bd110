"""The Dashboard view (admin): CNN models vs. human readers on one study, inside the app.

Pick a study, a training run (and, if you like, a second run shown beside it: both runs'
models labelled by run, and an ensemble across them), whether simulated readers count
(ticked by default for a synthetic demo study, whose readers are all simulated; off for a
real one), and the controls (all, or one control group: a sub-analysis). The comparison
is computed by :func:`wbsdesk.services.analysis_runs.build_runs_comparison` in a
:class:`~wbsdesk.gui.runners.ThreadJob` (its own database connection) and cached by those
inputs; this view only draws and formats what the comparison holds:

* a banner when the data are synthetic or simulated readers are included, and every
  caveat of the comparison (readers left out, undefined values, missing reads) as text
  under it, not in a tooltip;

* the interactive ROC plot (:mod:`wbsdesk.gui.roc_plot`);
* every table of the comparison (:mod:`wbsdesk.services.result_tables`, shown by
  :func:`wbsdesk.gui.tables.make_result_table`), sortable and copyable as TSV;
* the "Disagreement triage" tab (:mod:`wbsdesk.gui.dashboard_triage`): the photos where
  readers and models disagree most, with thumbnails, reads, probabilities and Grad-CAM;
* export of the full report (HTML, PDF, CSVs; :func:`wbsdesk.services.reports.write_report`)
  and of the plot (PNG or SVG).
"""

from __future__ import annotations

import html
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.architectures import split_run_model
from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.errors import UserError
from wbsdesk.gui.dashboard_agreement import AGREEMENT_TAB, AgreementTabWidget
from wbsdesk.gui.dashboard_aided import AIDED_TAB, AidedTabWidget, has_aided_sessions
from wbsdesk.gui.dashboard_audit import AUDIT_TAB, AuditTabWidget
from wbsdesk.gui.dashboard_notes import NotesLabel
from wbsdesk.gui.dashboard_triage import TriageWidget
from wbsdesk.gui.file_dialogs import existing_folder, save_file
from wbsdesk.gui.roc_plot import RocPlotWidget
from wbsdesk.gui.run_compare import CompareRunCombo
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.tables import make_result_table, table_tsv
from wbsdesk.gui.widgets import fill_study_combo
from wbsdesk.services.agreement import attach_agreement
from wbsdesk.services.analysis import Comparison
from wbsdesk.services.analysis_runs import build_runs_comparison, runs_settings_html
from wbsdesk.services.report_audit import attach_audit
from wbsdesk.services.reports import ReportFiles, write_report
from wbsdesk.services.result_tables import GUI_ORDER, TRIAGE_NOTE, table_map
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import list_runs
from wbsdesk.services.triage import disagreements
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

NO_RUN = "No training run yet — run `wbsdesk train` or the wizard."
BANNER_STYLE = ("QLabel { background:#fff1e0; border:1px solid #e0b080; color:#5a2d00; "
                "border-radius:3px; padding:3px 6px; }")
#: Name of the disagreement-triage tab.
TRIAGE_TAB = "Disagreement triage"


@dataclass(frozen=True)
class DashboardInputs:
    """What a comparison depends on (the cache key)."""

    study: str
    run: str
    include_simulated: bool
    controls: str
    #: Other runs shown beside ``run`` (their models labelled by run, an ensemble across).
    compare: tuple[str, ...] = ()


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
        comp = build_runs_comparison(ws, inputs.study, (inputs.run, *inputs.compare),
                                     include_simulated=inputs.include_simulated,
                                     controls=inputs.controls)
        comp = attach_audit(ws, comp, cancel=cancel)  # calibration, subgroups, confounds
        comp = attach_agreement(ws, comp)  # intra- and inter-reader agreement
    progress(Progress(1, 1, "done"))
    return comp


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
        self._closed = False  # set by shutdown()

        self.study_combo = QComboBox()
        self.run_combo = QComboBox()
        self.compare_combo = CompareRunCombo()
        self.sim_box = QCheckBox("Include simulated readers")
        self.sim_box.setToolTip("Computer-simulated readers (the demo's) are marked "
                                "'simulated'. On by default for a synthetic demo study only.")
        self._sim_choice: dict[str, bool] = {}  # the user's tick, per study
        self.controls_combo = QComboBox()
        self.controls_combo.setToolTip("Sub-analysis: which control photos the positives "
                                       "are compared with. Every curve and table follows.")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.hide()
        top = QHBoxLayout()
        for combo, chars in ((self.study_combo, 8), (self.run_combo, 14),
                             (self.controls_combo, 12)):
            # long study, run and group names elide rather than widen the window (the
            # busy bar shown while computing once pushed it past its 1200 px)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(chars)
        for label, w in (("Study", self.study_combo), ("Run", self.run_combo),
                         ("Compare with", self.controls_combo)):
            top.addWidget(QLabel(f"<b>{label}</b>"))
            top.addWidget(w, 1)
        top.addWidget(self.sim_box)
        top.addWidget(self.busy)
        self.plan_button = QPushButton("Plan a study…")
        self.plan_button.setToolTip("How many readers and cases a study needs (OR/Hillis)")
        top.addWidget(self.plan_button)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = NotesLabel()
        self.export_status = QLabel()
        self.export_status.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.roc = RocPlotWidget()
        self.tabs = QTabWidget()
        self.triage = TriageWidget(ws.root)
        self.aided = AidedTabWidget(ws)  # shown for a study with aided reads
        self.audit = AuditTabWidget()  # calibration, subgroups, confounds
        self.agreement = AgreementTabWidget()  # repeat reads and inter-reader agreement
        self.triage_cache: dict[DashboardInputs, list[dict[str, Any]]] = {}
        self.table_note = QLabel()
        self.table_note.setWordWrap(True)
        self.copy_button = QPushButton("Copy table")
        self.copy_button.setToolTip("Put the table on show on the clipboard (tab-separated)")
        self.report_button = QPushButton("Save report (HTML, PDF, CSV)…")
        self.plot_button = QPushButton("Save plot (PNG/SVG)…")
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.export_status, 1)
        buttons.addWidget(QLabel("Beside this run:"))
        buttons.addWidget(self.compare_combo)  # a second run's models and both runs' ensemble
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
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([400, 300])
        v = QVBoxLayout(self)
        v.addLayout(top)
        v.addWidget(self.banner)
        v.addWidget(self.message)
        v.addWidget(self.notes)
        v.addWidget(self.splitter, 1)

        self.study_combo.currentTextChanged.connect(self._on_study_changed)
        self.run_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.compare_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.controls_combo.currentIndexChanged.connect(lambda _: self.refresh())
        self.sim_box.toggled.connect(self._on_sim_toggled)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.copy_button.clicked.connect(self.copy_table)
        self.report_button.clicked.connect(self._on_save_report)
        self.plot_button.clicked.connect(self._on_save_plot)
        self.plan_button.clicked.connect(self._on_plan)
        self._set_results_enabled(False)
        self.reload(study)

    # -- inputs ----------------------------------------------------------------------------
    def reload(self, study: str | None = None) -> None:
        """Reload the list of studies (selecting ``study`` if given)."""
        current = fill_study_combo(self.study_combo, self._ws,
                                   study or self.study_combo.currentText())
        self._on_study_changed(current)

    def _on_study_changed(self, name: str) -> None:
        same = name == getattr(self, "_study", None)
        keep = (self.run_combo.currentData(), self.controls_combo.currentData()) if same \
            else (None, None)
        self._study = name
        for combo in (self.run_combo, self.controls_combo, self.sim_box):
            combo.blockSignals(True)
        for combo in (self.run_combo, self.controls_combo):
            combo.clear()
        if name:
            study = load_study(self._ws, name)
            groups = study.protocol.groups
            self.controls_combo.addItem("All controls", "all")
            for g in groups.controls:
                self.controls_combo.addItem(f"{groups.label(g)} only", g)
            runs = [r for r in list_runs(self._ws, name) if r["status"] == "finished"]
            for r in reversed(runs):  # newest first
                self.run_combo.addItem(f"{r['run']}{' (demo)' if r['demo'] else ''}",
                                       r["run"])
                self.run_combo.setItemData(self.run_combo.count() - 1,  # its settings
                                           r["settings"]["text"], Qt.ItemDataRole.ToolTipRole)
            self.compare_combo.fill(list(reversed(runs)),
                                    self.compare_combo.currentData() if same else None)
            for combo, data in zip((self.run_combo, self.controls_combo), keep, strict=True):
                if data is not None and combo.findData(data) >= 0:
                    combo.setCurrentIndex(combo.findData(data))
            # a synthetic demo's readers are all simulated: show the comparison it exists for
            self.sim_box.setChecked(self._sim_choice.get(name, study.synthetic))
        for combo in (self.run_combo, self.controls_combo, self.sim_box):
            combo.blockSignals(False)
        self.refresh()

    def _on_sim_toggled(self, on: bool) -> None:
        if self.study_combo.currentText():
            self._sim_choice[self.study_combo.currentText()] = on
        self.refresh()

    def inputs(self) -> DashboardInputs | None:
        """The chosen inputs, or ``None`` without a study or a finished run."""
        study, run = self.study_combo.currentText(), self.run_combo.currentData()
        if not study or not run:
            return None
        return DashboardInputs(study, run, self.sim_box.isChecked(),
                               self.controls_combo.currentData() or "all",
                               self.compare_combo.runs(run))

    def set_controls(self, controls: str) -> None:
        """Choose the sub-analysis (``"all"`` or a control group)."""
        self.controls_combo.setCurrentIndex(self.controls_combo.findData(controls))

    # -- computing -------------------------------------------------------------------------
    def activate(self) -> None:
        """The view is on show: reload the studies and runs (the wizard or a training may
        have added some) and compute from now on (called when the view is opened)."""
        self._active = True
        self.reload()

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
        if self._closed:  # queued from the job's thread after the window closed
            return
        self.cache[key] = comp
        if key == self.inputs():
            self._show(key, comp)

    def _on_failed(self, failure: Any) -> None:
        if self._closed:
            return
        hint = f" ({failure.hint})" if getattr(failure, "hint", None) else ""
        self._show_nothing(f"Cannot compare: {failure.message}{hint}")
        if not getattr(failure, "user_error", False):
            log.error("dashboard comparison failed:\n%s", failure.traceback)

    def _on_finished(self) -> None:
        self.job = None
        self.busy.hide()
        pending, self._pending = self._pending, None
        if pending is not None and not self._closed and pending == self.inputs():
            self.refresh()

    def wait_until_ready(self, ms: int = 60_000) -> None:
        """Block (running the event loop) until no comparison job runs (screenshots)."""
        while self.job is not None:
            loop = QEventLoop()
            self.job.finished.connect(loop.quit)
            QTimer.singleShot(ms, loop.quit)
            loop.exec()

    def _on_plan(self) -> None:
        """Open 'Plan a study' on this study's reads (with a finished run) or other inputs."""
        from wbsdesk.gui.plan_dialog import PlanDialog

        run = self.run_combo.currentData()
        self.plan_dialog = PlanDialog(
            self._ws, (self.study_combo.currentText() or None) if run else None, run=run,
            include_simulated=self.sim_box.isChecked(),
            controls=self.controls_combo.currentData() or "all", parent=self)
        self.plan_dialog.show()

    def shutdown(self) -> None:
        """Cancel a running job and wait for its thread (window closing)."""
        self._closed = True  # a result still queued must not reach the closed workspace
        if getattr(self, "plan_dialog", None) is not None:
            self.plan_dialog.close()  # waits for a plan being computed
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
        self.triage.shutdown()
        self.aided.shutdown()

    # -- showing ---------------------------------------------------------------------------
    def _set_results_enabled(self, on: bool) -> None:
        for w in (self.copy_button, self.report_button, self.plot_button, self.roc,
                  self.tabs):
            w.setEnabled(on)

    def _show_nothing(self, message: str) -> None:
        self.comparison = self._shown = None
        self.message.setText(f"<b>{message}</b>")
        self.banner.hide()
        self.notes.set_notes((), ())
        self.roc.clear()
        self.tabs.clear()
        self.table_note.clear()
        self._set_results_enabled(False)

    def _show(self, key: DashboardInputs, comp: Comparison) -> None:
        self.comparison, self._shown = comp, key
        self._set_results_enabled(True)
        banner = []
        if comp.synthetic:
            banner.append("<b>Synthetic demo data</b> — not patients.")
        if comp.simulated_included:
            n_sim = sum(r.simulated for r in comp.readers)
            banner.append(f"<b>{n_sim} simulated reader(s) included</b> — computer-made "
                          "reads, not physicians; each is marked 'simulated'.")
        if comp.audit is not None and comp.audit.warning:  # the whole text: Audit tab
            base = comp.audit.baseline_model.roc.auc
            near = ("beats" if base > max(m.roc.auc for m in comp.models)
                    else "comes within 0.05 AUC of")
            banner.append(f"<b>A trivial baseline (AUC {base:.3f}) {near} the best CNN</b>"
                          " — see the Audit tab.")
        self.banner.setText(" ".join(banner))
        self.banner.setVisible(bool(banner))
        counts = comp.counts
        self.message.setText(
            f"{runs_settings_html(comp)}: {counts['positive']} positive and {counts['controls']} "
            f"control photos, {counts['architectures']} architecture(s), {counts['folds']} "
            f"folds; {counts['readers']} reader(s) on {counts['paired_cases']} photos.")
        self.notes.set_notes(comp.exclusions, comp.notes)
        self.roc.show_comparison(comp)
        current = self.tabs.currentIndex()
        self.tabs.clear()
        tables = table_map(comp)
        self._specs = [tables[name] for name in GUI_ORDER]
        for table in self._specs:
            self.tabs.addTab(make_result_table(table), table.tab)
        self._show_triage(key, comp)
        self.audit.show_comparison(comp)
        self.tabs.addTab(self.audit, AUDIT_TAB)
        self.agreement.show_comparison(comp)
        self.tabs.addTab(self.agreement, AGREEMENT_TAB)
        if has_aided_sessions(self._ws, comp.study):
            self.aided.show_study(comp.study, include_simulated=key.include_simulated)
            self.tabs.addTab(self.aided, AIDED_TAB)
        self.tabs.setCurrentIndex(max(current, 0))
        self._on_tab_changed(self.tabs.currentIndex())
        self.comparison_ready.emit(comp)

    def _show_triage(self, key: DashboardInputs, comp: Comparison) -> None:
        if key not in self.triage_cache:  # a few small queries: crops and response times
            self.triage_cache[key] = disagreements(self._ws, comp)
        archs = [m.name for m in comp.models if split_run_model(m.name)[0] != "ensemble"]
        self.triage.set_rows(comp.study, comp.run, self.triage_cache[key], archs,
                             {m.name: m.label for m in comp.models})
        self.tabs.addTab(self.triage, TRIAGE_TAB)

    def _on_tab_changed(self, index: int) -> None:
        specs = getattr(self, "_specs", [])
        if 0 <= index < len(specs):
            t = specs[index]
            notes = ([t.empty_text] if not t.rows and t.empty_text else []) + t.footnotes()
            self.table_note.setText(f"<b>{html.escape(t.title)}.</b> "
                                    + html.escape(" ".join(notes)))
        elif index >= 0 and self.tabs.widget(index) is self.triage:
            self.table_note.setText(f"<b>{TRIAGE_TAB}.</b> {TRIAGE_NOTE}")
        elif index >= 0 and self.tabs.widget(index) is self.audit:
            self.table_note.setText(f"<b>{AUDIT_TAB}.</b> Calibration, subgroups and "
                                    "confounds of this comparison's cases (the report's audit "
                                    "section).")
        elif index >= 0 and self.tabs.widget(index) is self.agreement:
            self.table_note.setText(f"<b>{AGREEMENT_TAB}.</b> Each reader's first vs. repeat "
                                    "reads of the same photos, and the readers' agreement with "
                                    "each other (the report's agreement section).")
        elif index >= 0 and self.tabs.widget(index) is self.aided:
            self.table_note.setText(f"<b>{AIDED_TAB}.</b> The readers' unaided (blind) and "
                                    "aided reads of the study's aided sessions.")

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
        elif t is self.audit:  # the audit table on show in its own tabs
            t = self.audit.tables.currentWidget()
        if t is self.agreement:  # two tables, one after the other
            text = self.agreement.tsv()
        elif isinstance(t, QTableWidget):
            text = table_tsv(t)
        else:  # nothing, or an audit table without rows: its words
            text = t.text() + "\n" if isinstance(t, QLabel) else ""
        QGuiApplication.clipboard().setText(text)
        return text

    def export_report(self, out_dir: Path) -> ReportFiles:
        """Write the report (HTML, PDF, figure, CSVs) of the comparison on show."""
        from wbsdesk.gui.report_render import QtReportRenderer

        if self.comparison is None:
            raise UserError("nothing to export yet")
        from wbsdesk.services.report_aided import aided_report_section  # aided studies only

        aided = aided_report_section(self._ws, self.comparison.study,
                                     include_simulated=self.comparison.simulated_included)
        files = write_report(self.comparison, Path(out_dir), renderer=QtReportRenderer(),
                             sections=[aided[0]] if aided else [])
        self.export_status.setText(f"Report written to {files.out_dir}")
        return files

    def export_plot(self, path: Path) -> Path:
        """Save the ROC plot as shown (PNG, or SVG for a ``.svg`` path)."""
        if self.comparison is None:
            raise UserError("nothing to export yet")
        saved = self.roc.save(Path(path))
        self.export_status.setText(f"Plot saved to {saved}")
        return saved

    def _on_save_report(self) -> None:
        folder = existing_folder(self, "Folder for the report")
        if folder:
            self._guarded(self.export_report, folder)

    def _on_save_plot(self) -> None:
        path = save_file(self, "Save the ROC plot", "roc.png",
                         "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self._guarded(self.export_plot, path)

    def _guarded(self, fn: Any, arg: Path) -> None:
        try:
            fn(arg)
        except (UserError, OSError) as exc:
            self.export_status.setText(f"<b>Cannot save:</b> {html.escape(str(exc))}")
