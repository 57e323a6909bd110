"""A run's progress from its units' reports: steps done, unit states and an honest ETA.

:class:`RunTracker` receives what each unit reports (wherever it runs: in this process, in
a worker process, on a Ray node) and passes one
:class:`~wbsdesk.core.jobs.Progress` with a :class:`~wbsdesk.core.train_events.TrainEvent`
on, at most a few times a second plus once at every epoch end and unit change. The ETA is
the :func:`~wbsdesk.core.scheduling.makespan` of the remaining units on the run's workers,
with each architecture's seconds per step as measured so far in this run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from wbsdesk.core.jobs import Progress, ProgressFn, Throttle
from wbsdesk.core.scheduling import UnitPlan, makespan
from wbsdesk.core.train_events import TrainEvent

__all__ = ["RunTracker", "UnitReporter"]


@dataclass
class _Unit:
    plan: UnitPlan
    done_steps: int
    start_steps: int
    state: str
    epoch: int = 0
    step: int = 0
    seconds: float = 0.0
    worker: str = ""


class RunTracker:
    """Progress of one run's units (not thread-safe: one driver thread reports).

    Parameters
    ----------
    units : sequence of UnitPlan
        Every unit of the run, in the order the scheduler takes them; those already done
        count as done (``skipped``).
    workers : int
        Units trained at once (for the ETA).
    progress : callable
        Receives the reports.
    clock : callable, optional
        Monotonic seconds (tests pass a fake one).
    per_second : float, optional
        Most reports a second between epoch ends and unit changes.
    """

    def __init__(self, units: Sequence[UnitPlan], *, workers: int, progress: ProgressFn,
                 clock: Callable[[], float] = time.monotonic, per_second: float = 4.0) -> None:
        self._units = {u.key: _Unit(u, u.epochs_done * u.steps_per_epoch,
                                    u.epochs_done * u.steps_per_epoch,
                                    "skipped" if u.state == "done" else "queued")
                       for u in units}
        self._order = [u.key for u in units]
        self.workers = max(1, workers)
        self._raw = progress
        self._throttled = Throttle(progress, per_second=per_second, clock=clock)
        self.total = sum(u.steps for u in units)
        self.folds = len({u.fold for u in units})
        self.epochs = max((u.epochs for u in units), default=0)

    # -- what the units report -------------------------------------------------------------
    def stage(self, stage: str) -> None:
        """A run-wide stage (``"preparing"``, ``"decoding"``, ``"done"``)."""
        self._send(TrainEvent(stage, folds=self.folds, epochs=self.epochs,
                              units_done=self.units_done, units_total=len(self._units),
                              eta_seconds=self.eta()), force=True)

    def started(self, key: tuple[str, int], worker: str = "") -> None:
        """A unit began (or resumed) training."""
        u = self._units[key]
        u.state, u.worker, u.seconds = "running", worker, 0.0
        u.start_steps = u.done_steps
        u.epoch, u.step = u.done_steps // max(1, u.plan.steps_per_epoch) + 1, 0
        self._emit(u, force=True)

    def update(self, key: tuple[str, int], *, epoch: int, step: int, seconds: float,
               loss: float | None = None) -> None:
        """A unit is at ``step`` of ``epoch`` (1-based) after ``seconds`` of training in
        this call; ``loss`` ends the epoch (reported at once, never throttled)."""
        u = self._units[key]
        spe = u.plan.steps_per_epoch
        u.epoch, u.step, u.seconds = epoch, step, seconds
        u.done_steps = min(u.plan.steps, (epoch - 1) * spe + step)
        self._emit(u, loss=loss, force=loss is not None)

    def finished(self, key: tuple[str, int]) -> None:
        """A unit wrote its ``done.json``."""
        u = self._units[key]
        u.state, u.done_steps = "finished", u.plan.steps
        self._emit(u, force=True)

    def failed(self, key: tuple[str, int], detail: str) -> None:
        """A unit stopped with an error (the others go on)."""
        u = self._units[key]
        u.state = "failed"
        self._emit(u, detail=detail, force=True)

    def cancelled(self, key: tuple[str, int]) -> None:
        """A unit stopped because the run was cancelled."""
        u = self._units[key]
        u.state = "cancelled"
        self._emit(u, force=True)

    def skip_reported(self) -> None:
        """Report every unit that was done before this call (so importers see them)."""
        for key in self._order:
            if self._units[key].state == "skipped":
                self._emit(self._units[key], force=True)

    # -- what it tells ---------------------------------------------------------------------
    @property
    def done(self) -> int:
        """Training steps done (all units)."""
        return sum(u.done_steps for u in self._units.values())

    @property
    def units_done(self) -> int:
        """Units finished now or before."""
        return sum(u.state in ("finished", "skipped") for u in self._units.values())

    def state(self, key: tuple[str, int]) -> str:
        """A unit's state (see :data:`~wbsdesk.core.train_events.UNIT_STATES`)."""
        return self._units[key].state

    def seconds_per_step(self) -> dict[str, float]:
        """Measured seconds per training step, per architecture (two steps or more)."""
        secs: dict[str, float] = {}
        steps: dict[str, int] = {}
        for u in self._units.values():
            ran = u.done_steps - u.start_steps
            if u.seconds > 0 and ran >= 2:
                secs[u.plan.arch] = secs.get(u.plan.arch, 0.0) + u.seconds
                steps[u.plan.arch] = steps.get(u.plan.arch, 0) + ran
        return {a: secs[a] / steps[a] for a in secs}

    def eta(self) -> float | None:
        """Seconds until the run ends (None until a unit has run two steps)."""
        rates = self.seconds_per_step()
        if not rates:
            return None
        mean = sum(rates.values()) / len(rates)
        running, pending = [], []
        for key in self._order:
            u = self._units[key]
            left = (u.plan.steps - u.done_steps) * rates.get(u.plan.arch, mean)
            if u.state == "running":
                running.append(left)
            elif u.state == "queued":
                pending.append(left)
        return makespan(running, pending, self.workers)

    def _emit(self, u: _Unit, *, loss: float | None = None, detail: str = "",
              force: bool = False) -> None:
        p = u.plan
        ev = TrainEvent("training", p.arch, p.fold, folds=self.folds, epoch=max(1, u.epoch),
                        epochs=p.epochs, step=u.step, steps=p.steps_per_epoch, loss=loss,
                        eta_seconds=self.eta(), state=u.state, units_done=self.units_done,
                        units_total=len(self._units), detail=detail, worker=u.worker)
        if u.state in ("finished", "skipped"):
            ev = replace(ev, epoch=p.epochs, step=p.steps_per_epoch)
        self._send(ev, force=force)

    def _send(self, ev: TrainEvent, *, force: bool) -> None:
        p = Progress(self.done, self.total, ev.line(), event=ev)
        (self._raw if force else self._throttled)(p)


class UnitReporter:
    """What the training loop of one unit calls (in-process: straight to a tracker).

    Subclasses relay the same calls from a worker process or a Ray task.
    """

    def __init__(self, tracker: RunTracker | None, key: tuple[str, int], *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._tracker = tracker
        self.key = key
        self._clock = clock
        self._t0 = clock()

    def begin(self, worker: str = "") -> None:
        """Training of the unit starts now (model built, checkpoint loaded)."""
        self._t0 = self._clock()
        if self._tracker is not None:
            self._tracker.started(self.key, worker)

    def batch(self, epoch: int, i: int, n: int) -> None:
        """Before batch ``i`` of ``n`` of ``epoch`` (both 0-based): ``i`` batches are done."""
        self.report(epoch + 1, i, self._clock() - self._t0, None)

    def epoch_end(self, epoch: int, n: int, loss: float) -> None:
        """Epoch ``epoch`` (0-based) ended with mean loss ``loss`` after ``n`` batches."""
        self.report(epoch + 1, n, self._clock() - self._t0, loss)

    def report(self, epoch: int, step: int, seconds: float, loss: float | None) -> None:
        """Pass a position on (override to relay it elsewhere)."""
        if self._tracker is not None:
            self._tracker.update(self.key, epoch=epoch, step=step, seconds=seconds, loss=loss)
