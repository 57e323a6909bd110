"""The Training view (admin): a study's runs, a new run, resuming one, and the running one.

Below the study's runs is one of three pages: the selected run's loss curves and AUCs, the
set-up of a new run (:class:`~wbsdesk.gui.training_setup.TrainingSetupPanel`), or the run in
progress (:class:`~wbsdesk.gui.training_panel.TrainingPanel`). One run trains at a time.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.architectures import arch_label, arch_labels
from wbsdesk.core.training_request import TrainRequest
from wbsdesk.errors import UserError
from wbsdesk.gui.loss_plot import LossPlotWidget
from wbsdesk.gui.tables import fill_table, make_table
from wbsdesk.gui.training_panel import TrainingPanel
from wbsdesk.gui.training_setup import TrainingSetupPanel
from wbsdesk.gui.widgets import fill_study_combo
from wbsdesk.services import training
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

RUN_COLUMNS = ["Run", "Status", "Architectures", "Units done", "Settings", "Started",
               "AUC (out-of-fold)"]
SETTINGS_COLUMN = RUN_COLUMNS.index("Settings")


def _local_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class TrainingViewWidget(QWidget):
    """A study's training runs; start, resume and watch one.

    Signals
    -------
    error(object)
        A failure for the window's error presenter.
    run_finished(str)
        A run trained here finished (its name).
    """

    error = Signal(object)
    run_finished = Signal(str)

    def __init__(self, ws: Workspace, study: str | None = None) -> None:
        super().__init__()
        self._ws = ws
        self.study = ""
        self._runs: list[dict[str, Any]] = []
        self.setup: TrainingSetupPanel | None = None

        self.study_combo = QComboBox()
        self.new_button = QPushButton("New run…")
        self.new_button.setToolTip("Choose architectures, epochs and device, then train")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected unfinished run from its last "
                                      "completed epoch")
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Study</b>"))
        top.addWidget(self.study_combo, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.resume_button)
        self.runs_table = make_table(RUN_COLUMNS)
        # the run's name and its AUCs (one line per architecture) whole, the settings take
        # the room left (elided if they must; whole in their tooltip and under the table):
        # every column fits the default 1200 x 760 window
        header = self.runs_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SETTINGS_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.runs_table.setWordWrap(False)
        self.empty = QLabel()
        self.empty.setWordWrap(True)

        self.details_label = QLabel()
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_plot = LossPlotWidget()
        details = QWidget()
        dv = QVBoxLayout(details)
        dv.setContentsMargins(0, 0, 0, 0)
        dv.addWidget(self.details_label)
        dv.addWidget(self.details_plot, 1)
        self.details_page = details

        self.setup_page = QWidget()
        self.setup_layout = QVBoxLayout(self.setup_page)
        self.setup_layout.setContentsMargins(0, 0, 0, 0)
        self.start_button = QPushButton("Start training")
        self.back_button = QPushButton("Back")
        sb = QHBoxLayout()
        sb.addStretch(1)
        sb.addWidget(self.back_button)
        sb.addWidget(self.start_button)
        self.setup_layout.addLayout(sb)

        self.panel = TrainingPanel(ws)
        self.pages = QStackedWidget()
        for page in (self.details_page, self.setup_page, self.panel):
            self.pages.addWidget(page)

        upper = QWidget()
        uv = QVBoxLayout(upper)
        uv.setContentsMargins(0, 0, 0, 0)
        uv.addLayout(top)
        uv.addWidget(self.runs_table, 1)
        uv.addWidget(self.empty)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(self.pages)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([220, 520])
        QVBoxLayout(self).addWidget(split)

        self.study_combo.currentTextChanged.connect(self._on_study_changed)
        self.runs_table.itemSelectionChanged.connect(self._on_run_selected)
        self.new_button.clicked.connect(self.new_run)
        self.resume_button.clicked.connect(lambda: self.resume())
        self.back_button.clicked.connect(self._show_details)
        self.start_button.clicked.connect(self.start_training)
        self.panel.run_started.connect(lambda run: self.refresh_runs(select=run))
        self.panel.unit_done.connect(lambda run: self.refresh_runs(select=run))
        self.panel.finished.connect(self._on_finished)
        self.panel.cancelled.connect(self._on_stopped)
        self.panel.failed.connect(self._on_failed)
        self.reload(study)

    # -- studies and runs ------------------------------------------------------------------
    def reload(self, study: str | None = None) -> None:
        """Reload the studies (selecting ``study`` if given) and the runs."""
        name = fill_study_combo(self.study_combo, self._ws, study or self.study or None)
        self._on_study_changed(name)

    def activate(self) -> None:
        """The view is shown: refresh the runs (their status may have changed)."""
        self.reload(self.study or None)

    def _on_study_changed(self, name: str) -> None:
        self.study = name
        if self.setup is not None and name and name != self.setup.study:
            self.setup.set_study(name)
        self.refresh_runs()

    def refresh_runs(self, select: str | None = None) -> None:
        """Reload the study's runs and select ``select`` (default: the one selected, or the
        newest)."""
        keep = select or self.selected_run()
        self._runs = training.list_runs(self._ws, self.study) if self.study else []
        rows = []
        for r in self._runs:
            aucs: dict[str, float] = {}
            if r["status"] == "finished":
                try:
                    aucs = training.run_aucs(self._ws, self.study, r["run"])
                except UserError as exc:
                    log.info("no AUC for run %s: %s", r["run"], exc)
            rows.append([r["run"], self._status_text(r),
                         "\n".join(arch_label(a) for a in r["archs"]),
                         f"{r['folds_done']} of {r['folds_total']}", r["settings"]["text"],
                         _local_time(r["started_at"]),
                         "\n".join(f"{arch_label(a)} {v:.3f}" for a, v in aucs.items())])
        self.runs_table.blockSignals(True)
        fill_table(self.runs_table, rows)
        for i in range(len(rows)):
            self.runs_table.item(i, SETTINGS_COLUMN).setToolTip(rows[i][SETTINGS_COLUMN])
        self.runs_table.resizeRowsToContents()
        self.runs_table.blockSignals(False)
        names = [r["run"] for r in self._runs]
        self.empty.setText("" if rows or not self.study else
                           "No training runs for this study yet. Press “New run…” to set one "
                           "up.")
        if names:
            self.runs_table.selectRow(names.index(keep) if keep in names else len(names) - 1)
        self._on_run_selected()

    def _status_text(self, r: dict[str, Any]) -> str:
        status = r["status"]
        if status == "running" and not (self.panel.running() and self.panel.run_name == r["run"]):
            return "running in another process" if r["in_use"] else "interrupted (resumable)"
        if status in ("cancelled", "failed"):
            return f"{status} (resumable)"
        return status

    def selected_run(self) -> str | None:
        """The name of the run selected in the table."""
        sel = self.runs_table.selectionModel().selectedRows()
        return self._runs[sel[0].row()]["run"] if sel and self._runs else None

    def _selected_info(self) -> dict[str, Any] | None:
        name = self.selected_run()
        return next((r for r in self._runs if r["run"] == name), None)

    def _on_run_selected(self) -> None:
        self._update_buttons()
        if self.pages.currentWidget() is not self.setup_page:
            self._show_details()

    def _update_buttons(self) -> None:
        busy = self.panel.running()
        info = self._selected_info()
        self.new_button.setEnabled(bool(self.study) and not busy)
        self.resume_button.setEnabled(not busy and info is not None and not info["in_use"]
                                      and info["status"] in training.RESUMABLE_STATUSES)
        self.study_combo.setEnabled(not busy)
        self.study_combo.setToolTip("Wait for the running training to end" if busy else "")

    def _show_details(self) -> None:
        if self.panel.running():
            self.pages.setCurrentWidget(self.panel)
            return
        self.pages.setCurrentWidget(self.details_page)
        info = self._selected_info()
        if info is None:
            self.details_plot.clear()
            self.details_label.setText("")
            return
        run = info["run"]
        self.details_plot.set_losses(training.run_losses(self._ws, self.study, run))
        self.details_plot.set_title(f"Training loss · {run}")
        what = {"finished": "Finished", "cancelled": "Cancelled: press Resume to continue it",
                "failed": "Failed: press Resume to try again from its last epoch",
                "running": "Interrupted: press Resume to continue it"}[info["status"]]
        if info["in_use"]:
            what = ("Being trained by another process (for example the command line); "
                    "Resume is possible once it stops")
        demo = " · the demo's quick run (not a result)" if info["demo"] else ""
        self.details_label.setText(
            f"<b>{run}</b> — {what}. {arch_labels(info['archs'])}, {info['folds_done']} of "
            f"{info['folds_total']} units (architecture × fold) done, device "
            f"{info['device']}{demo}.<br>Settings: {html.escape(info['settings']['text'])}")

    # -- new run, resume -------------------------------------------------------------------
    def new_run(self) -> TrainingSetupPanel | None:
        """Show the set-up of a new run of the selected study."""
        if not self.study or self.panel.running():
            return None
        if self.setup is None:
            self.setup = TrainingSetupPanel(self._ws)
            self.setup.changed.connect(self._on_setup_changed)
            self.setup_layout.insertWidget(0, self.setup, 1)
        self.setup.set_study(self.study)
        self.pages.setCurrentWidget(self.setup_page)
        self._on_setup_changed()
        return self.setup

    def _on_setup_changed(self) -> None:
        ready = self.setup is not None and self.setup.is_ready()
        self.start_button.setEnabled(ready and not self.panel.running())

    def start_training(self) -> bool:
        """Start a new run with the set-up's choices; ``True`` if it started."""
        if self.setup is None or not self.setup.is_ready() or self.panel.running():
            return False
        try:
            self.panel.start(self.setup.request())
        except UserError as exc:
            self.error.emit(exc)
            return False
        self._started()
        return True

    def resume(self, run: str | None = None, study: str | None = None) -> bool:
        """Resume ``run`` (default: the selected one) of ``study``; ``True`` if it started."""
        if study and study != self.study:
            self.reload(study)
        run = run or self.selected_run()
        if run is None or self.panel.running():
            return False
        try:
            self.panel.start(TrainRequest(self.study, resume=run))
        except UserError as exc:
            self.error.emit(exc)
            return False
        self._started()
        return True

    def _started(self) -> None:
        self.pages.setCurrentWidget(self.panel)
        self.refresh_runs(select=self.panel.run_name)

    def _on_finished(self, run: str) -> None:
        self.refresh_runs(select=run)
        self.run_finished.emit(run)

    def _on_stopped(self, run: str) -> None:
        self.refresh_runs(select=run or None)

    def _on_failed(self, message: str) -> None:
        self.refresh_runs(select=self.panel.run_name)
        if self.panel.failure is not None:
            self.error.emit(self.panel.failure)

    # -- shutdown --------------------------------------------------------------------------
    def running(self) -> bool:
        """Whether a training run is in progress."""
        return self.panel.running()

    def shutdown(self, ms: int = 60_000) -> bool:
        """Cancel training and the set-up's jobs and wait for them; ``True`` if all ended."""
        self.panel.cancel()
        if self.setup is not None:
            self.setup.shutdown()
        return self.panel.wait(ms)
