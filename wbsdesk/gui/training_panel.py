"""A running training run: overall progress and ETA, where it is, live loss curves, Cancel.

:class:`TrainingPanel` runs :func:`wbsdesk.services.training.train` in a spawned process
(:class:`~wbsdesk.gui.runners.ProcessJob`; the window never loads torch). The run's name is
chosen before the process starts, so a cancelled run can be named (and resumed) at once.
The training loop's progress messages (``"resnet18 fold 2/5 epoch 7/100 loss 0.1234 · ETA
3 min 05 s"``) are parsed by :func:`parse_progress` for the labels and the loss plot; a
resumed run first shows the losses its folder already holds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from wbsdesk.core.architectures import arch_label
from wbsdesk.core.jobs import Progress
from wbsdesk.errors import UserError
from wbsdesk.gui.loss_plot import LossPlotWidget
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.gui.runners import ProcessJob
from wbsdesk.services import training
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

_MESSAGE = re.compile(r"^(?P<arch>\S+) fold (?P<fold>\d+)/(?P<folds>\d+) "
                      r"epoch (?P<epoch>\d+)/(?P<epochs>\d+)(?: loss (?P<loss>\S+))?$")
#: Seconds a cancelled training process gets to finish its batch and mark the run cancelled.
CANCEL_GRACE_S = 60.0


@dataclass(frozen=True)
class TrainingStatus:
    """One progress message of the training loop, taken apart."""

    arch: str | None
    fold: int | None
    folds: int | None
    epoch: int | None
    epochs: int | None
    loss: float | None
    eta: str
    stage: str

    def where(self) -> str:
        """E.g. ``"ResNet-18 · fold 2 of 5 · epoch 7 of 100"`` (or the stage)."""
        if self.arch is None:
            return self.stage[:1].upper() + self.stage[1:]
        return (f"{arch_label(self.arch)} · fold {self.fold} of {self.folds} · "
                f"epoch {self.epoch} of {self.epochs}")


def parse_progress(message: str) -> TrainingStatus:
    """Take a training progress message apart.

    Examples
    --------
    >>> s = parse_progress("resnet18 fold 2/5 epoch 7/100 loss 0.1234 · ETA 3 min 05 s")
    >>> s.arch, s.fold, s.epoch, s.loss, s.eta
    ('resnet18', 2, 7, 0.1234, 'ETA 3 min 05 s')
    >>> parse_progress("decoding crops · ETA --").where()
    'Decoding crops'
    """
    head, _, tail = message.partition(" · ")
    eta = tail if tail.startswith("ETA") else ""
    m = _MESSAGE.match(head.strip())
    if m is None:
        return TrainingStatus(None, None, None, None, None, None, eta, head.strip() or "working")
    loss = m["loss"]
    try:
        value = float(loss) if loss is not None else None
    except ValueError:
        value = None
    return TrainingStatus(m["arch"], int(m["fold"]), int(m["folds"]), int(m["epoch"]),
                          int(m["epochs"]), value, eta, "training")


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
    """

    run_started = Signal(str)
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
    def start(self, study: str, *, archs: list[str] | None = None, epochs: int | None = None,
              device: str = "auto", weights: str | None = None,
              resume: str | None = None) -> None:
        """Start a new run of ``study`` (or ``resume`` an unfinished one) in a process.

        Raises
        ------
        UserError
            If this panel is already running a training.
        """
        if self.running():
            raise UserError("a training run is already running",
                            hint="wait for it, or cancel it first")
        self.study, self.failure, self.report, self._outcome = study, None, None, None
        self._reported = False
        self.loss_plot.clear()
        if resume is not None:
            self.run_name = resume
            options: dict[str, Any] = {"resume": resume}
            self.loss_plot.set_losses(training.run_losses(self._ws, study, resume))
            verb = "Resuming"
        else:
            self.run_name = training.new_run_name(self._ws, study)
            options = {"archs": list(archs) if archs else None, "epochs": epochs,
                       "device": device, "weights": weights, "run_name": self.run_name}
            verb = "Training"
        self.loss_plot.set_title(f"Training loss · {self.run_name}")
        self.title.setText(f"<b>{verb} run {self.run_name}</b> of study <b>{study}</b>")
        self.bar.setValue(0)
        self.where_label.setText("Starting: loading the training libraries (a few seconds)…")
        self.eta_label.setText("")
        self.message.setText("")
        job = ProcessJob(training.train_job, self._ws.root, study, title=f"Training {study}",
                         grace_s=CANCEL_GRACE_S, **options)
        job.progressed.connect(self._on_progressed)
        job.succeeded.connect(lambda r: self._set_outcome("ok", r))
        job.failed.connect(lambda f: self._set_outcome("error", f))
        job.cancelled.connect(lambda: self._set_outcome("cancelled", None))
        job.finished.connect(self._on_job_finished)
        self.job = job
        self.cancel_button.setEnabled(True)
        log.info("starting training run %s of %s (%s)", self.run_name, study, options)
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
        s = parse_progress(p.message)
        if self.cancel_button.isEnabled():
            self.where_label.setText(s.where())
        self.eta_label.setText(s.eta.replace("ETA --", "ETA: measuring…"))
        if s.loss is not None and s.arch is not None:
            self.loss_plot.add_point(s.arch, s.fold or 1, s.epoch or 1, s.loss)

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
