"""Typed training progress: one :class:`TrainEvent` per report, rendered by every front end.

The training engine (:func:`wbsdesk.ml.cv.run_cv`) reports where it is as a
:class:`TrainEvent` carried in :attr:`wbsdesk.core.jobs.Progress.event`: the architecture,
fold, epoch, step, the epoch's mean loss once the epoch has ended, the ETA and the state of
the unit of work (one architecture on one fold). The CLI, the GUI and the logs render the
event's fields; nothing parses text. :meth:`TrainEvent.line` is the one text form (for log
files and ``Progress.message``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wbsdesk.core.architectures import arch_label

__all__ = ["UNIT_STATES", "TrainEvent", "format_eta"]

#: The states of a unit (architecture x fold): waiting, training, done in this run, done
#: before this call (resumed run), stopped with an error, stopped by a cancel.
UNIT_STATES = ("queued", "running", "finished", "skipped", "failed", "cancelled")


def format_eta(seconds: float | None) -> str:
    """An ETA for people.

    Examples
    --------
    >>> format_eta(None), format_eta(42), format_eta(185), format_eta(3 * 3600 + 120)
    ('ETA --', 'ETA 42 s', 'ETA 3 min 05 s', 'ETA 3 h 02 min')
    """
    if seconds is None or not math.isfinite(seconds):
        return "ETA --"
    s = max(0, round(seconds))
    if s < 60:
        return f"ETA {s} s"
    if s < 3600:
        return f"ETA {s // 60} min {s % 60:02d} s"
    return f"ETA {s // 3600} h {s % 3600 // 60:02d} min"


@dataclass(frozen=True)
class TrainEvent:
    """Where a training run is.

    Attributes
    ----------
    stage : str
        ``"preparing"``, ``"decoding"`` (crops into memory), ``"training"`` (a unit's
        batches; see ``state``) or ``"done"``.
    arch, fold : str or None, int or None
        The unit this event is about (None for run-wide stages).
    folds : int
        Folds in the run.
    epoch, epochs : int
        The epoch being trained (1-based) and epochs per fold.
    step, steps : int
        Batches of this epoch completed, and batches per epoch.
    loss : float or None
        The epoch's mean training loss: set once, when the epoch has ended.
    eta_seconds : float or None
        Seconds until the whole run ends (None while it is not measured yet).
    state : str or None
        The unit's state, one of :data:`UNIT_STATES`.
    units_done, units_total : int
        Units finished (now or before) and units in the run.
    detail : str
        Why a unit failed (``state == "failed"``); empty otherwise.
    worker : str
        Where the unit runs (``"cpu"``, ``"cuda:1"``, ``"ray"``; empty when in-process).
    """

    stage: str
    arch: str | None = None
    fold: int | None = None
    folds: int = 0
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    loss: float | None = None
    eta_seconds: float | None = None
    state: str | None = None
    units_done: int = 0
    units_total: int = 0
    detail: str = ""
    worker: str = ""

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in UNIT_STATES:
            raise ValueError(f"unknown unit state {self.state!r}")

    @property
    def epoch_ended(self) -> bool:
        """Whether this event reports a finished epoch (its loss is set)."""
        return self.loss is not None and self.arch is not None

    @property
    def unit_changed(self) -> bool:
        """Whether a unit has just finished, been skipped, failed or stopped."""
        return self.state in ("finished", "skipped", "failed", "cancelled")

    def where(self) -> str:
        """Where the run is, for people.

        Examples
        --------
        >>> TrainEvent("training", "resnet18", 2, folds=5, epoch=7, epochs=100,
        ...            state="running").where()
        'ResNet-18 · fold 2 of 5 · epoch 7 of 100'
        >>> TrainEvent("decoding").where()
        'Decoding crops'
        """
        if self.arch is None:
            return {"preparing": "Preparing", "decoding": "Decoding crops",
                    "done": "Done"}.get(self.stage, self.stage.capitalize())
        unit = f"{arch_label(self.arch)} · fold {self.fold} of {self.folds}"
        if self.state == "failed":
            return f"{unit} · failed"
        if self.state in ("finished", "skipped"):
            return f"{unit} · done"
        return f"{unit} · epoch {self.epoch} of {self.epochs}"

    def eta_text(self) -> str:
        """E.g. ``"ETA 3 min 05 s"`` (``"ETA --"`` while not measured)."""
        return format_eta(self.eta_seconds)

    def line(self) -> str:
        """The event as one line of text (log files and ``Progress.message``).

        Examples
        --------
        >>> TrainEvent("training", "resnet18", 2, folds=5, epoch=7, epochs=100, loss=0.1234,
        ...            eta_seconds=185, state="running").line()
        'resnet18 fold 2/5 epoch 7/100 loss 0.1234 · ETA 3 min 05 s'
        >>> TrainEvent("training", "vgg16", 1, folds=5, state="failed", units_done=3,
        ...            units_total=25, detail="out of memory").line()
        'vgg16 fold 1/5 failed: out of memory (3/25 units done) · ETA --'
        """
        if self.arch is None:
            head = self.stage
        else:
            head = f"{self.arch} fold {self.fold}/{self.folds}"
            if self.state == "failed":
                head += f" failed: {self.detail}"
            elif self.state in ("finished", "skipped", "cancelled"):
                head += f" {self.state}"
            else:
                head += f" epoch {self.epoch}/{self.epochs}"
                if self.loss is not None:
                    head += f" loss {self.loss:.4f}"
            if self.unit_changed:
                head += f" ({self.units_done}/{self.units_total} units done)"
        return f"{head} · {self.eta_text()}"
