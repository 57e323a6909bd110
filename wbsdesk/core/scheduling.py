"""Units of work and how a run is scheduled: pure arithmetic, no torch, no I/O.

A cross-validation run is a set of independent **units**, one per (architecture, fold).
Each unit trains one model with its own seed, the run's batch size and schedule, and writes
its own folder (checkpoint, ``oof.csv``, ``done.json``), so units can run in any order, in
several processes, on several GPUs or on a Ray cluster with the same result.

This module holds the parts every front end shares: the unit list of a run
(:func:`plan_units`), how many units this machine trains at once (:func:`choose_workers`),
which device each worker uses (:func:`assign_devices`) and how long the remaining units
take on that many workers (:func:`makespan`, used by the live ETA and by the set-up's
time estimate alike).
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from wbsdesk.core.architectures import arch_label
from wbsdesk.errors import UserError

__all__ = ["UnitPlan", "UnitsFailedError", "assign_devices", "choose_workers", "makespan",
           "n_batches", "parse_devices", "plan_units", "threads_per_worker"]


def n_batches(n: int, batch_size: int) -> int:
    """Batches the training loop runs over ``n`` samples (a lone last sample is dropped,
    as :func:`wbsdesk.ml.train.batch_slices` does).

    Examples
    --------
    >>> n_batches(33, 16), n_batches(34, 16), n_batches(0, 16), n_batches(1, 16)
    (2, 3, 0, 1)
    """
    if n <= 0:
        return 0
    full, rest = divmod(n, batch_size)
    if rest == 0:
        return full - (1 if batch_size == 1 and n > 1 else 0)
    return full + (1 if rest > 1 or n == 1 else 0)


@dataclass(frozen=True)
class UnitPlan:
    """One unit of a run: an architecture trained and tested on one fold.

    ``epochs_done`` is what the run folder holds already; ``finished`` says the unit wrote
    its ``done.json``. ``state`` is ``"pending"``, ``"started"`` (a resumable checkpoint)
    or ``"done"``.
    """

    arch: str
    fold: int
    n_train: int
    n_test: int
    steps_per_epoch: int
    epochs: int
    epochs_done: int = 0
    finished: bool = False

    @property
    def key(self) -> tuple[str, int]:
        """``(arch, fold)``."""
        return (self.arch, self.fold)

    @property
    def state(self) -> str:
        """``"pending"``, ``"started"`` or ``"done"``."""
        if self.finished:
            return "done"
        return "started" if self.epochs_done else "pending"

    @property
    def steps(self) -> int:
        """Training batches of the whole unit."""
        return self.steps_per_epoch * self.epochs

    @property
    def steps_left(self) -> int:
        """Training batches still to run."""
        return 0 if self.finished else self.steps_per_epoch * max(0, self.epochs
                                                                   - self.epochs_done)

    def as_dict(self) -> dict[str, Any]:
        """Plain form (``train --plan --json``)."""
        return {**asdict(self), "state": self.state, "steps": self.steps}


def plan_units(archs: Sequence[str], folds: Sequence[int], *, epochs: int, batch_size: int,
               copies: int = 1, done: dict[tuple[str, int], int] | None = None,
               finished: Collection[tuple[str, int]] = ()) -> list[UnitPlan]:
    """The units of a run, architecture by architecture, fold by fold.

    Parameters
    ----------
    archs : sequence of str
    folds : sequence of int
        The fold of every photo (1..k).
    epochs, batch_size : int, keyword-only
    copies : int, keyword-only
        Augmented copies of each training photo per epoch.
    done : dict, optional, keyword-only
        ``(arch, fold)`` -> epochs the run folder holds already.
    finished : collection, optional, keyword-only
        The ``(arch, fold)`` units that wrote their ``done.json``.

    Examples
    --------
    >>> [(u.arch, u.fold, u.n_train, u.steps_per_epoch)
    ...  for u in plan_units(["resnet18"], [1, 2, 2, 1, 2], epochs=3, batch_size=2)]
    [('resnet18', 1, 3, 1), ('resnet18', 2, 2, 1)]
    """
    done = done or {}
    numbers = sorted(set(folds))
    out = []
    for arch in archs:
        for k in numbers:
            n_test = sum(1 for f in folds if f == k)
            n_train = len(folds) - n_test
            out.append(UnitPlan(arch=arch, fold=k, n_train=n_train, n_test=n_test,
                                steps_per_epoch=n_batches(n_train * copies, batch_size),
                                epochs=epochs,
                                epochs_done=epochs if (arch, k) in finished
                                else min(epochs, done.get((arch, k), 0)),
                                finished=(arch, k) in finished))
    return out


def makespan(running: Sequence[float], pending: Sequence[float], workers: int) -> float:
    """Seconds until the last unit ends when ``workers`` train the units, each taking the
    next pending unit (in order) as soon as it is free.

    Parameters
    ----------
    running : sequence of float
        Seconds left of the units being trained now (one per busy worker).
    pending : sequence of float
        Seconds of each unit still waiting, in the order the scheduler takes them.
    workers : int

    Examples
    --------
    >>> makespan([], [10, 10, 10, 10], 2), makespan([5], [10, 10], 2)
    (20.0, 15.0)
    >>> makespan([], [10, 10, 10], 1)
    30.0
    """
    workers = max(1, workers, len(running))
    free = [float(s) for s in running] + [0.0] * (workers - len(running))
    heapq.heapify(free)
    for s in pending:
        heapq.heappush(free, heapq.heappop(free) + float(s))
    return max(free, default=0.0)


#: Fewest CPU threads a CPU worker gets (one thread per unit spends most of its time in
#: small GEMMs that two threads do almost twice as fast).
MIN_THREADS_PER_WORKER = 2


def choose_workers(*, n_units: int, cores: int, memory_bytes: int | None,
                   unit_bytes: int | None, gpus: int = 0, per_gpu: int = 1,
                   requested: int | None = None) -> int:
    """How many units this machine trains at once.

    On GPUs: ``per_gpu`` units on each GPU. On the CPU: one worker per
    :data:`MIN_THREADS_PER_WORKER` cores. Never more than the units, nor than the memory
    holds (``memory_bytes`` available / ``unit_bytes`` per unit, unknown = no limit), and
    at least one. ``requested`` (``--workers``) overrides the core count but not memory.

    Examples
    --------
    >>> choose_workers(n_units=10, cores=2, memory_bytes=16 << 30, unit_bytes=1 << 30)
    1
    >>> choose_workers(n_units=10, cores=16, memory_bytes=16 << 30, unit_bytes=3 << 30)
    5
    >>> choose_workers(n_units=25, cores=16, memory_bytes=None, unit_bytes=None, gpus=2)
    2
    """
    if requested is not None:
        want = requested
    elif gpus:
        want = gpus * per_gpu
    else:
        want = cores // MIN_THREADS_PER_WORKER
    if memory_bytes is not None and unit_bytes:
        want = min(want, memory_bytes // unit_bytes)
    return int(max(1, min(want, n_units)))


_CUDA = re.compile(r"^cuda:(\d+)$")


def parse_devices(text: str | None) -> tuple[str, ...]:
    """``"cuda:0,cuda:1"`` -> ``("cuda:0", "cuda:1")`` (empty for None or "").

    Examples
    --------
    >>> parse_devices("cuda:0, cuda:1")
    ('cuda:0', 'cuda:1')
    """
    if not text:
        return ()
    out = tuple(d.strip() for d in text.split(",") if d.strip())
    bad = [d for d in out if not _CUDA.match(d)]
    if bad:
        raise UserError(f"--devices: {bad[0]!r} is not a GPU name",
                        hint="name GPUs as cuda:0,cuda:1 (see nvidia-smi for their numbers)")
    if len(set(out)) != len(out):
        raise UserError("--devices names a GPU twice")
    return out


def assign_devices(workers: int, visible: Sequence[str],
                   chosen: Sequence[str] = ()) -> list[str]:
    """The device of each worker: spread round-robin over the ``chosen`` GPUs (default:
    every ``visible`` one); ``"cpu"`` for every worker when there is no GPU.

    Raises
    ------
    UserError
        A chosen GPU that is not visible (naming the visible ones).

    Examples
    --------
    >>> assign_devices(3, ["cuda:0", "cuda:1"])
    ['cuda:0', 'cuda:1', 'cuda:0']
    >>> assign_devices(2, [])
    ['cpu', 'cpu']
    >>> assign_devices(2, ["cuda:0", "cuda:1", "cuda:2"], ["cuda:2"])
    ['cuda:2', 'cuda:2']
    """
    missing = [d for d in chosen if d not in visible]
    if missing:
        have = ", ".join(visible) if visible else "none"
        raise UserError(f"--devices: {', '.join(missing)} is not a visible GPU "
                        f"(visible: {have})",
                        hint="check CUDA_VISIBLE_DEVICES and nvidia-smi")
    pool = list(chosen or visible)
    if not pool:
        return ["cpu"] * workers
    return [pool[i % len(pool)] for i in range(workers)]


def threads_per_worker(cores: int, workers: int) -> int:
    """CPU threads for each of ``workers`` processes sharing ``cores``.

    Examples
    --------
    >>> threads_per_worker(16, 5), threads_per_worker(2, 4)
    (3, 1)
    """
    return max(1, math.floor(cores / max(1, workers)))


class UnitsFailedError(UserError):
    """Some units of a run failed; the others finished (or were done before).

    ``failures`` lists ``(arch, fold, why)``. The run stays resumable: a resume trains only
    the units that are not finished.
    """

    def __init__(self, failures: Sequence[tuple[str, int, str]], *,
                 hint: str | None = None) -> None:
        self.failures = [(str(a), int(k), str(why)) for a, k, why in failures]
        lines = "; ".join(f"{arch_label(a)} fold {k}: {why}" for a, k, why in self.failures)
        n = len(self.failures)
        super().__init__(f"{n} unit{'s' if n != 1 else ''} of the run failed: {lines}",
                         hint=hint or "the units that finished are kept; fix the cause and "
                         "resume the run to train only the others")

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (job processes)
        return (self.__class__, (self.failures,), dict(self.__dict__))
