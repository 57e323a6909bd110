"""Setting up an aided study: choose the finished run the model's aid comes from, prepare it.

:class:`AidSetupWidget` sits in the Reading view above the readers of a study whose
protocol has an aided design (``sequential_aided``, ``crossover_aided``): it says which aid
the study's sessions show (run, model, heatmaps) or that none is prepared yet (and then no
session can start), and its "Choose run and prepare aid…" button opens
:class:`AidRunDialog`. There the admin picks a finished run, the ensemble or one
architecture, and heatmaps or not; a run that lacks an out-of-fold score for some photo to
read is refused at once, naming the photos, and so is a model or heatmap choice that the
protocol's sessions would refuse. The aid is then prepared by
:func:`wbsdesk.services.aid_jobs.prepare_aid_job` in a spawned process
(:class:`~wbsdesk.gui.runners.ProcessJob`: Grad-CAM loads the models) with a progress bar
and Cancel; nothing is stored when it fails or is cancelled.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.jobs import Progress
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.gui.runners import ProcessJob, describe
from wbsdesk.services.aid_jobs import AidOptions, aid_coverage, aid_options, prepare_aid_job
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["AidRunDialog", "AidSetupWidget"]

#: Designs that show the model's aid.
AIDED_DESIGNS = ("sequential_aided", "crossover_aided")
ENSEMBLE = "ensemble"
REFUSED = "#b00020"


def aid_text(summary: dict[str, Any]) -> str:
    """One line on a prepared aid (run, model, photos, heatmaps)."""
    archs = ", ".join(summary["architectures"])
    return (f"run <b>{html.escape(summary['run'])}</b>, {html.escape(summary['model'])} "
            f"({html.escape(archs)}), {summary['photos']} photos, "
            + ("with heatmaps" if summary["heatmaps"] else "probabilities only")
            + f"; prepared {html.escape(summary['created_at'][:16].replace('T', ' '))}")


class AidRunDialog(QDialog):
    """Choose the run, the model and heatmaps of a study's aid (checked as you choose)."""

    def __init__(self, ws: Workspace, options: AidOptions,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = ws
        self.options = options
        self.setWindowTitle(f"Model aid of {options.study}")
        self.run_combo = QComboBox()
        for r in options.runs:
            self.run_combo.addItem(f"{r.name}  ({', '.join(r.archs)}; "
                                   f"{r.started_at[:10]})", r.name)
        self.model_combo = QComboBox()
        self.heat_box = QCheckBox("Grad-CAM heatmaps (the reader toggles them with H)")
        self.check = QLabel()
        self.check.setWordWrap(True)
        self.check.setMinimumWidth(440)
        intro = QLabel(
            "Each photo's aid is the probability (and heatmap) from the fold models that did "
            "<b>not</b> train on it, computed now and stored, so showing it costs no model "
            f"time. The protocol's sessions show the <b>{html.escape(options.model)}</b> "
            + ("with heatmaps." if options.heatmaps else "without heatmaps."))
        intro.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton("Prepare aid",
                                                QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Finished run", self.run_combo)
        form.addRow("Model", self.model_combo)
        form.addRow("", self.heat_box)
        v = QVBoxLayout(self)
        v.addWidget(intro)
        v.addLayout(form)
        v.addWidget(self.check)
        v.addWidget(self.buttons)
        self.heat_box.setChecked(options.heatmaps)
        self.run_combo.currentIndexChanged.connect(self._on_run_changed)
        self.model_combo.currentIndexChanged.connect(lambda _: self._check())
        self.heat_box.toggled.connect(lambda _: self._check())
        self._on_run_changed()

    def choice(self) -> tuple[str, str, bool]:
        """(run, model, heatmaps) as chosen."""
        return (self.run_combo.currentData() or "", self.model_combo.currentData() or "",
                self.heat_box.isChecked())

    def _on_run_changed(self) -> None:
        run = next((r for r in self.options.runs if r.name == self.run_combo.currentData()),
                   None)
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        if run is not None:
            for m in (ENSEMBLE, *run.archs):
                label = ("ensemble (mean of the architectures)" if m == ENSEMBLE else m)
                self.model_combo.addItem(label + ("  — the protocol's" if m ==
                                                  self.options.model else ""), m)
            at = self.model_combo.findData(self.options.model)
            self.model_combo.setCurrentIndex(max(at, 0))
        self.model_combo.blockSignals(False)
        self._check()

    def refusal(self) -> str | None:
        """Why the choice cannot be prepared (or used by the sessions), or None."""
        run, model, heatmaps = self.choice()
        if not self.options.runs:
            return (f"Study {self.options.study!r} has no finished run: train one first "
                    "(Training view).")
        if model != self.options.model:
            return (f"The protocol's sessions show the {self.options.model} aid; an aid of "
                    f"{model} would be refused when a session starts.")
        if self.options.heatmaps and not heatmaps:
            return ("The protocol shows heatmaps ([reading] aid lists \"heatmap\"): an aid "
                    "without them would be refused when a session starts.")
        return aid_coverage(self._ws, self.options.study, run, model)

    def _check(self) -> None:
        why = self.refusal()
        self.ok_button.setEnabled(why is None)
        if why is None:
            run, _model, heatmaps = self.choice()
            self.check.setText(f"Run {html.escape(run)} has an out-of-fold score of every "
                               "photo to read." + (" Heatmaps take a few seconds per photo "
                                                   "and model on a CPU." if heatmaps else ""))
            self.check.setStyleSheet("")
        else:
            self.check.setText(f"<b>Cannot prepare:</b> {html.escape(why)}")
            self.check.setStyleSheet(f"color: {REFUSED}")


class AidSetupWidget(QWidget):
    """The aid of the selected study, and preparing one in the background.

    Signals
    -------
    error(object)
        A failed preparation (a :class:`~wbsdesk.gui.process_entry.JobFailure`).
    prepared(dict)
        The new aid's summary.
    """

    error = Signal(object)
    prepared = Signal(dict)

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = ws
        self.study = ""
        self.job: ProcessJob | None = None
        self.outcome: tuple[str, Any] | None = None
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.button = QPushButton("Choose run and prepare aid…")
        self.button.setToolTip("Pick the finished run whose out-of-fold scores (and heatmaps) "
                               "the aided reads show")
        self.button.clicked.connect(self.open_dialog)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.hide()  # shown with the first word it has to say
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        top = QHBoxLayout()
        top.addWidget(self.label, 1)
        top.addWidget(self.button)
        progress = QHBoxLayout()
        progress.addWidget(self.bar, 1)
        progress.addWidget(self.cancel_button)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addLayout(top)
        v.addLayout(progress)
        v.addWidget(self.status)

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def set_study(self, study: str) -> None:
        """Show the aid of ``study`` (the widget hides itself for a blind design)."""
        if study != self.study and self.job is None:
            self._say("")  # what was said of another study
        self.study = study
        if not study:
            self.hide()
            return
        opts = aid_options(self._ws, study)
        self.setVisible(opts.design in AIDED_DESIGNS)
        self.button.setEnabled(self.job is None)
        design = opts.design.replace("_", " ")
        if opts.current is None:
            self.label.setText(f"<b>Model aid</b> ({html.escape(design)}): <span style='color:"
                               f"{REFUSED}'>none prepared yet; no session can start until "
                               "one is.</span>")
        else:
            self.label.setText(f"<b>Model aid</b> ({html.escape(design)}): "
                               + aid_text(opts.current))

    def open_dialog(self) -> AidRunDialog | None:
        """Ask for the run and start preparing (returns the dialog, after it closed)."""
        if not self.study or self.job is not None:
            return None
        dialog = self.make_dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.start(*dialog.choice())
        return dialog

    def make_dialog(self) -> AidRunDialog:
        """The run dialog of the selected study."""
        return AidRunDialog(self._ws, aid_options(self._ws, self.study), self)

    def start(self, run: str, model: str, heatmaps: bool) -> ProcessJob:
        """Prepare the aid from ``run`` in a spawned process (the progress shows here)."""
        self.outcome = None
        job = ProcessJob(prepare_aid_job, str(self._ws.root), self.study, run, model=model,
                         heatmaps=heatmaps, title=f"Preparing the aid of {self.study}")
        job.progressed.connect(self._on_progressed)
        job.succeeded.connect(lambda s: self._set_outcome("ok", s))
        job.failed.connect(lambda f: self._set_outcome("error", f))
        job.cancelled.connect(lambda: self._set_outcome("cancelled", None))
        job.finished.connect(self._on_finished)
        self.job = job
        self.button.setEnabled(False)
        self.bar.setValue(0)
        self.bar.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self._say(f"Preparing the aid from run {html.escape(run)} ({model}"
                            + (", with heatmaps" if heatmaps else "") + "): starting…")
        log.info("preparing the aid of %s from run %s (%s, heatmaps %s)", self.study, run,
                 model, heatmaps)
        job.start()
        return job

    def cancel(self) -> None:
        """Ask the preparation to stop (never blocks); nothing is stored."""
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self._say("Stopping…")

    def running(self) -> bool:
        """Whether an aid is being prepared."""
        return self.job is not None

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the job has ended and its outcome is shown (tests, closing)."""
        return self.job.wait(ms) if self.job is not None else True

    def shutdown(self) -> None:
        """Cancel and wait for a running preparation (window closing)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()

    def _on_progressed(self, p: Progress) -> None:
        if p.total:
            self.bar.setValue(round(1000 * p.done / p.total))
        if self.cancel_button.isEnabled():
            self._say(f"Preparing the aid: {html.escape(describe(p))}")

    def _set_outcome(self, kind: str, payload: Any) -> None:
        self.outcome = (kind, payload)

    def _on_finished(self) -> None:
        self.job = None
        self.bar.hide()
        self.cancel_button.hide()
        kind, payload = self.outcome or ("error", JobFailure("the aid job ended unexpectedly"))
        if kind == "ok":
            self._say(f"Aid prepared: {aid_text(payload)}.")
            self.prepared.emit(payload)
        elif kind == "cancelled":
            self._say("Cancelled; the study's aid is unchanged.")
        else:
            self._say(f"<b>Not prepared:</b> {html.escape(payload.message)}")
            self.error.emit(payload)
        self.set_study(self.study)
