"""A running training run: overall progress and ETA, where it is, live loss curves, Cancel.

:class:`TrainingPanel` runs :func:`wbsdesk.services.training.train` with a
:class:`~wbsdesk.core.training_request.TrainRequest` in a spawned process
(:class:`~wbsdesk.gui.runners.ProcessJob`; the window never loads torch). The run's name is
chosen before the process starts, so a cancelled run can be named (and resumed) at once.
Every report carries a typed :class:`~wbsdesk.core.train_events.TrainEvent`; the labels and
the loss plot render its fields (nothing is parsed). A resumed run first shows the losses
its folder already holds. The panel stays local: the GUI never trains on a Ray cluster.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from wbsdesk.core.jobs import Progress
from wbsdesk.core.train_events import TrainEvent
from wbsdesk.core.training_request import TrainRequest
from wbsdesk.errors import UserError
from wbsdesk.gui.loss_plot import LossPlotWidget
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.gui.runners import ProcessJob
from wbsdesk.services import training
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

#: Seconds a cancelled training process gets to finish its batch and mark the run cancelled.
CANCEL_GRACE_S = 60.0


def event_texts(ev: TrainEvent) -> tuple[str, str]:
    """What the panel's two labels say for an event: ``(where, eta)``.

    Examples
    --------
    >>> event_texts(TrainEvent("training", "resnet18", 2, folds=5, epoch=7, epochs=100,
    ...                        state="running", units_done=1, units_total=10))
    ('ResNet-18 · fold 2 of 5 · epoch 7 of 100 — 1 of 10 units done', 'ETA: measuring…')
    """
    where = ev.where()
    if ev.units_total:
        where += f" — {ev.units_done} of {ev.units_total} units done"
    eta = "ETA: measuring…" if ev.eta_seconds is None else ev.eta_text()
    return where, eta


class TrainingPanel(QWidget):
    """Runs one training run (new or resumed) and shows how it goes.

    Parameters
    ----------
    ws : Workspace
    parent : QWidget, optional

    Signals
    -------
    finished(str)
        The run finished; its name.
    failed(str)
        The run stopped with an error; the message (the whole failure is :attr:`failure`).
    cancelled(str)
        The user cancelled; the run's name ("" if it had not been created yet). It stays
        resumable.
    run_started(str)
        The run is recorded in the workspace and training has begun (its first report).
    unit_done(str)
        A unit (architecture x fold) finished or failed; it is in the workspace already.
    """

    run_started = Signal(str)
    unit_done = Signal(str)
    finished = Signal(str)
    failed = Signal(str)
    cancelled = Signal(str)

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = ws
        self.job: ProcessJob | None = None
        self.study = ""
        self.run_name = ""
        self.failure: JobFailure | None = None
        self.report: dict[str, Any] | None = None
        self._outcome: tuple[str, Any] | None = None
        self._reported = False

        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p %")
        self.where_label = QLabel()
        self.eta_label = QLabel()
        self.loss_plot = LossPlotWidget()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setToolTip("Stop after the current batch; the run can be resumed")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.where_label, 1)
        row.addWidget(self.eta_label)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.cancel_button)
        v = QVBoxLayout(self)
        v.addWidget(self.title)
        v.addWidget(self.bar)
        v.addLayout(row)
        v.addWidget(self.loss_plot, 1)
        v.addLayout(bottom)

    # -- control ---------------------------------------------------------------------------
    def start(self, request: TrainRequest) -> None:
        """Start the run ``request`` asks for (new, or ``request.resume``) in a process.

        Raises
        ------
        UserError
            If this panel is already running a training, or the request names a Ray
            cluster (the app trains on this computer only).
        """
        if self.running():
            raise UserError("a training run is already running",
                            hint="wait for it, or cancel it first")
        if request.ray_address is not None:
            raise UserError("the app trains on this computer only",
                            hint="train on a Ray cluster with 'wbsdesk train NAME --ray ...'")
        study = request.study
        self.study, self.failure, self.report, self._outcome = study, None, None, None
        self._reported = False
        self.loss_plot.clear()
        if request.resume is not None:
            self.run_name = request.resume
            self.loss_plot.set_losses(training.run_losses(self._ws, study, request.resume))
            verb = "Resuming"
        else:
            self.run_name = request.run_name or training.new_run_name(self._ws, study)
            request = replace(request, run_name=self.run_name)
            verb = "Training"
        self.loss_plot.set_title(f"Training loss · {self.run_name}")
        self.title.setText(f"<b>{verb} run {self.run_name}</b> of study <b>{study}</b>")
        self.bar.setValue(0)
        self.where_label.setText("Starting: loading the training libraries (a few seconds)…")
        self.eta_label.setText("")
        self.message.setText("")
        job = ProcessJob(training.train_job, self._ws.root, request,
                         title=f"Training {study}", grace_s=CANCEL_GRACE_S)
        job.progressed.connect(self._on_progressed)
        job.succeeded.connect(lambda r: self._set_outcome("ok", r))
        job.failed.connect(lambda f: self._set_outcome("error", f))
        job.cancelled.connect(lambda: self._set_outcome("cancelled", None))
        job.finished.connect(self._on_job_finished)
        self.job = job
        self.cancel_button.setEnabled(True)
        log.info("starting training run %s of %s (%s)", self.run_name, study,
                 request.as_dict())
        job.start()

    def cancel(self) -> None:
        """Ask the run to stop after the current batch (never blocks); it stays resumable."""
        if self.job is None:
            return
        self.job.cancel()
        self.cancel_button.setEnabled(False)
        self.where_label.setText("Stopping after the current batch…")

    def running(self) -> bool:
        """Whether a training process is running."""
        return self.job is not None

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the process has ended and its outcome is shown; ``True`` if it did."""
        return self.job.wait(ms) if self.job is not None else True

    # -- slots -----------------------------------------------------------------------------
    def _on_progressed(self, p: Progress) -> None:
        if not self._reported:
            self._reported = True
            self.run_started.emit(self.run_name)
        if p.total:
            self.bar.setValue(round(1000 * p.done / p.total))
        ev = p.event
        if ev is None:
            return
        where, eta = event_texts(ev)
        if self.cancel_button.isEnabled():
            self.where_label.setText(where)
        self.eta_label.setText(eta)
        if ev.epoch_ended and ev.arch is not None and ev.loss is not None:
            self.loss_plot.add_point(ev.arch, ev.fold or 1, ev.epoch, ev.loss)
        if ev.state in ("finished", "failed"):
            self.unit_done.emit(self.run_name)

    def _set_outcome(self, kind: str, payload: Any) -> None:
        self._outcome = (kind, payload)

    def _on_job_finished(self) -> None:
        self.job = None
        self.cancel_button.setEnabled(False)
        kind, payload = self._outcome or ("error", JobFailure("the training ended unexpectedly"))
        run = self.run_name
        if kind == "ok":
            self.report = payload
            self.bar.setValue(1000)
            self.where_label.setText("Finished")
            self.eta_label.setText("")
            self.message.setText(f"Run {run} finished in {payload.get('seconds', 0):.0f} s on "
                                 f"{payload.get('device', '?')}.")
            self.finished.emit(run)
        elif kind == "cancelled":
            exists = self._ws.store.run(run) is not None
            self.where_label.setText("Cancelled")
            self.eta_label.setText("")
            self.message.setText(
                f"Cancelled. Run {run} keeps every finished epoch; press Resume (Training or "
                "Studies view) to continue it." if exists else
                "Cancelled before the run started; nothing was kept.")
            self.cancelled.emit(run if exists else "")
        else:
            self.failure = payload
            self.where_label.setText("Stopped")
            self.message.setText(f"<b>Training stopped:</b> {payload.message}"
                                 + (f" — {payload.hint}" if payload.hint else ""))
            self.failed.emit(payload.message)
