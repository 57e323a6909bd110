"""Wizard pages 4-6: training set-up, training, and the summary of the new run.

Pages 4 and 5 are thin wrappers around the training widgets
(:class:`~wbsdesk.gui.training_setup.TrainingSetupPanel` and
:class:`~wbsdesk.gui.training_panel.TrainingPanel`), made when the page is first shown.
Page 6 computes the comparison of the run off the GUI thread and shows Table 4 and the
ROC plot as the Dashboard draws them, with a button that opens the Dashboard.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget, QWizard

from wbsdesk.core.training_request import TrainRequest
from wbsdesk.gui.dashboard import DashboardInputs, compute_comparison
from wbsdesk.gui.roc_plot import RocPlotWidget
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.gui.tables import fit_height, make_result_table
from wbsdesk.gui.wizard_common import WizardPageBase
from wbsdesk.services.result_tables import table_map
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)


class SetupPage(WizardPageBase):
    """Page 4: architectures, epochs, device and weights (the training set-up panel)."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(
            ws, "Training set-up",
            "Choose which networks to train and for how long. The protocol's choices are "
            "filled in; the defaults are a good start. Training starts when you press "
            "'Start training'.")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Start training")
        self.panel: Any = None
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(self.message)

    def _ensure_panel(self) -> Any:
        if self.panel is None:
            from wbsdesk.gui.training_setup import TrainingSetupPanel

            self.panel = TrainingSetupPanel(self.ws, self)
            self.panel.changed.connect(self.completeChanged)
            self._layout.insertWidget(0, self.panel, 1)
        return self.panel

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self._ensure_panel().set_study(self.study)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.panel is not None and bool(self.panel.is_ready())

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        self.wizard().training_request = self.panel.request()
        return True


class TrainingPage(WizardPageBase):
    """Page 5: the cross-validation runs (started on entry); Next when it has finished."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(
            ws, "Training",
            "The networks are trained and tested fold by fold; this takes minutes to hours. "
            "'Cancel training' stops the run: it is kept, and you can resume it later from "
            "the Training view.")
        self.panel: Any = None
        self.run_name: str | None = None
        self.stopped_run: str | None = None
        self.autostart = True
        self.resume_button = QPushButton("Resume now")
        self.retry_button = QPushButton("Try again")
        for b in (self.resume_button, self.retry_button):
            b.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.resume_button, self.retry_button):
            buttons.addWidget(b)
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(self.message)
        self._layout.addLayout(buttons)
        self.resume_button.clicked.connect(lambda: self.start(resume=self.stopped_run))
        self.retry_button.clicked.connect(lambda: self.start())

    def _ensure_panel(self) -> Any:
        if self.panel is None:
            from wbsdesk.gui.training_panel import TrainingPanel

            self.panel = TrainingPanel(self.ws, self)
            self.panel.finished.connect(self._on_finished)
            self.panel.failed.connect(self._on_failed)
            self.panel.cancelled.connect(self._on_cancelled)
            for signal in (self.panel.run_started, self.panel.finished, self.panel.failed,
                           self.panel.cancelled):
                signal.connect(self._notify_changed)
            self._layout.insertWidget(0, self.panel, 1)
        return self.panel

    def running(self) -> bool:
        """Whether training is running."""
        return self.panel is not None and bool(self.panel.running())

    def _notify_changed(self, *_: Any) -> None:
        wiz = self.wizard()
        if wiz is not None and hasattr(wiz, "notify_changed"):
            wiz.notify_changed()

    def start(self, resume: str | None = None) -> None:
        """Start (or resume) the run with the set-up page's choices."""
        panel = self._ensure_panel()
        if panel.running():
            return
        request = getattr(self.wizard(), "training_request", None) or TrainRequest(self.study)
        if resume is not None:
            request = TrainRequest(self.study, resume=resume)
        self.message.show_text("info", "Resuming the training run…" if resume else
                               "Training has started. You can leave this window open and "
                               "come back later.")
        for b in (self.resume_button, self.retry_button):
            b.hide()
        panel.start(request)
        self.completeChanged.emit()

    def stop(self) -> None:
        """Stop the run (it stays resumable), as the panel's Cancel button does."""
        if self.running():
            self.panel.cancel()

    def _on_finished(self, run: str) -> None:
        self.show_finished(run)

    def show_finished(self, run: str) -> None:
        """The run ``run`` is done: remember it and let the user go on."""
        self.run_name = run
        self.wizard().run = run
        self.message.show_text("ok", f"<b>Training finished</b> (run {run}). Press "
                               "<i>Next</i> for the results.", rich=True)
        self.completeChanged.emit()

    def _on_failed(self, text: str) -> None:
        self.retry_button.show()
        failure = getattr(self.panel, "failure", None)
        self.message.show_error(failure if failure is not None else
                                f"Training stopped with an error: {text}")
        self.completeChanged.emit()

    def _on_cancelled(self, run: str) -> None:
        self.stopped_run = run or None
        self.retry_button.setVisible(not run)
        self.resume_button.setVisible(bool(run))
        where = (f" Run <b>{run}</b> is kept: resume it later from the Training view (or "
                 f"with <tt>wbsdesk train {self.study} --resume {run}</tt>), or press "
                 "<i>Resume now</i>." if run else "")
        self.message.show_text("warn", f"<b>Training stopped.</b>{where}", rich=True)
        self.completeChanged.emit()

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self._ensure_panel()
        if self.autostart and self.run_name is None and not self.running():
            self.start()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.run_name is not None and not self.running()


class SummaryPage(WizardPageBase):
    """Page 6: Table 4 and the ROC plot of the new run, and a way to the Dashboard."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(
            ws, "Results",
            "How the networks did on the photos they never saw in training (out-of-fold). "
            "The Dashboard holds every table, and compares the models with the physicians "
            "once they have read the photos.")
        self.table_title = QLabel()
        self.table_holder = QVBoxLayout()
        self.table: Any = None
        self.table_note = QLabel()
        self.table_note.setWordWrap(True)
        self.table_note.setStyleSheet("color:#555555;")
        self.table_note.setTextFormat(Qt.TextFormat.PlainText)  # footnotes are plain words
        self.roc = RocPlotWidget()
        self.roc.setMinimumHeight(260)
        self.dashboard_button = QPushButton("Open the Dashboard")
        self.comparison: Any = None
        self.job: ThreadJob | None = None
        holder = QWidget()
        holder.setLayout(self.table_holder)
        self.table_holder.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.dashboard_button)
        v = QVBoxLayout(self)
        v.addWidget(self.message)
        v.addWidget(self.roc, 1)
        v.addWidget(self.table_title)
        v.addWidget(holder)
        v.addWidget(self.table_note)
        v.addLayout(buttons)
        self.dashboard_button.clicked.connect(self.open_dashboard)

    @property
    def run(self) -> str | None:
        """The run shown (the one the wizard trained)."""
        return getattr(self.wizard(), "run", None)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self.dashboard_button.setEnabled(self._main_window() is not None)
        if not self.dashboard_button.isEnabled():
            self.dashboard_button.setToolTip("Open the Dashboard from the main window")
        self.load()

    def load(self) -> None:
        """Compute the comparison of the run (off the GUI thread) and show it."""
        if not self.run or self.job is not None:
            if not self.run:
                self.message.show_text("warn", "There is no finished training run to show.")
            return
        self.message.show_text("info", "Computing the results…")
        key = DashboardInputs(self.study, self.run, include_simulated=False, controls="all")
        self.job = ThreadJob(compute_comparison, self.ws.root, key, title="Results")
        self.run_job(self.job, on_ok=self._show, on_done=self._on_done)

    def _on_done(self) -> None:
        self.job = None

    def _show(self, comp: Any) -> None:
        self.comparison = comp
        table4 = table_map(comp)["table4"]
        if self.table is not None:
            self.table_holder.removeWidget(self.table)
            self.table.deleteLater()
        self.table = make_result_table(table4)
        fit_height(self.table)
        self.table_holder.addWidget(self.table)
        self.table_title.setText(f"<b>{html.escape(table4.title)}</b>")
        self.table_note.setText(" ".join(table4.footnotes()))
        self.roc.show_comparison(comp)
        self.roc.rating_box.setVisible(bool(comp.readers))
        c = comp.counts
        readers = ("" if c["readers"] else "<br>No physician has read these photos yet: when "
                   "they have (Reading view), the Dashboard compares them with the models.")
        synthetic = " <b>Synthetic data</b> — not patients." if comp.synthetic else ""
        warning = getattr(comp.audit, "warning", None)  # the trivial baseline nearly matches
        self.message.show_text(
            "warn" if warning else "ok",
            (f"<b>{html.escape(warning)}</b><br>" if warning else "")
            + f"Run <b>{comp.run}</b>: {c['positive']} target and {c['controls']} control "
            f"photos, {c['architectures']} network(s), {c['folds']} folds.{synthetic}"
            f"{readers}", rich=True)

    def _main_window(self) -> Any:
        """The main window the wizard was opened from (its parent, or the parent's window)."""
        wiz = self.wizard()
        parent = wiz.parentWidget() if wiz is not None else None
        window = parent.window() if parent is not None else None
        if window is not None and hasattr(window, "open_view") and hasattr(window, "dashboard"):
            return window
        return None

    def open_dashboard(self) -> bool:
        """Show the study in the main window's Dashboard and close the wizard."""
        window = self._main_window()
        if window is None:
            return False
        window.dashboard.reload(self.study)
        index = window.dashboard.run_combo.findData(self.run)
        if index >= 0:
            window.dashboard.run_combo.setCurrentIndex(index)
        opened = window.open_view("Dashboard")
        if opened:
            self.wizard().accept()
        return bool(opened)
