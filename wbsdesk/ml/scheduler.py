"""The local scheduler: several units of a run at once, in worker processes, over the GPUs.

:func:`local_slots` decides how many units this machine trains at once and where: one per
visible GPU (or per GPU named in ``spec.devices``), or on the CPU one per
:data:`~wbsdesk.core.scheduling.MIN_THREADS_PER_WORKER` cores, never more than memory holds
(:func:`probe_machine`, :func:`unit_bytes`) nor more than there are units. One slot on the
CPU (or the first GPU) trains in this process, as before; otherwise :func:`run_in_workers`
starts one ``spawn`` process per slot, hands each the next unit as soon as it is free, and
relays what they report to the run's tracker.

A unit that fails (out of memory, a bad weight file) is reported as failed, naming its
architecture and fold; its worker takes the next unit. A worker that dies (killed, or the
kernel's out-of-memory killer) fails its unit; the run's other units go on. Workers stop
when the driver dies (:func:`~wbsdesk.core.jobs.watch_parent`), ignore Ctrl-C (the driver
cancels them) and write only their unit's folder, atomically, so a resume after ``kill -9``
of any of them trains only what is not finished.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from wbsdesk.core.jobs import CancelToken, watch_parent
from wbsdesk.core.run_progress import RunTracker, UnitReporter
from wbsdesk.core.scheduling import (
    UnitPlan,
    assign_devices,
    choose_workers,
    threads_per_worker,
)
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.ml.cvspec import CVSpec, FoldResult, fold_dir
from wbsdesk.ml.failures import describe_failure
from wbsdesk.ml.train import ExecPlan

__all__ = ["MachineInfo", "PipeReporter", "Slot", "local_slots", "probe_machine",
           "run_in_workers", "unit_bytes"]

log = logging.getLogger(__name__)

#: Seconds a cancelled worker gets to finish its batch before it is terminated.
STOP_GRACE_S = 30.0
#: Least seconds between two position reports of a worker (epoch ends always go).
REPORT_EVERY_S = 0.25


@dataclass(frozen=True)
class Slot:
    """Where one worker trains: ``device`` (``"cpu"``, ``"cuda:1"``) with ``threads`` CPU
    threads; ``inline`` = in the driver's own process."""

    index: int
    device: str
    threads: int
    inline: bool = False


@dataclass(frozen=True)
class MachineInfo:
    """What :func:`probe_machine` found: cores, available memory (None = unknown) and the
    visible GPUs with their free memory."""

    cores: int
    memory_bytes: int | None
    gpus: tuple[str, ...] = ()
    gpu_free_bytes: tuple[int, ...] = ()


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # Windows: unknown
        return None


def probe_machine(device: str) -> MachineInfo:
    """Cores, available memory and (when ``device`` is CUDA) the visible GPUs."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    gpus: tuple[str, ...] = ()
    free: tuple[int, ...] = ()
    if device == "cuda" and torch.cuda.is_available():
        gpus = tuple(f"cuda:{i}" for i in range(torch.cuda.device_count()))
        free = tuple(int(torch.cuda.mem_get_info(i)[0]) for i in range(len(gpus)))
    return MachineInfo(cores=cores, memory_bytes=_available_memory(), gpus=gpus,
                       gpu_free_bytes=free)


#: Activation memory of one 224 px image in training (fp32, forward kept for backward): a
#: deliberately high figure (VGG-16 needs about this much; ResNet-18 a quarter).
_ACTIVATION_BYTES_224 = 120 << 20
#: A process with torch loaded, before any model.
_PROCESS_BYTES = 400 << 20


def unit_bytes(spec: CVSpec, *, device: str) -> int:
    """Memory one unit needs at most (the largest architecture of the run): parameters with
    their gradients, momentum and checkpoint copy, activations of a batch, the decoded
    crops, and (on the CPU) the process itself."""
    from wbsdesk.ml.registry import arch_spec

    params = 0
    for arch in spec.archs:
        with torch.device("meta"):
            model = arch_spec(arch).builder()
        params = max(params, sum(p.numel() for p in model.parameters()))
    activations = spec.batch_size * _ACTIVATION_BYTES_224 * (spec.input_px / 224) ** 2
    crops = len(spec.photo_ids) * 3 * spec.input_px ** 2
    total = params * 4 * 4 + int(activations) + crops
    return total + (_PROCESS_BYTES if device == "cpu" else 0)


def local_slots(spec: CVSpec, plan: ExecPlan, *, n_units: int,
                machine: MachineInfo | None = None) -> list[Slot]:
    """The worker slots this machine trains ``n_units`` units with.

    ``spec.workers`` None = chosen here (:func:`~wbsdesk.core.scheduling.choose_workers`;
    a deterministic run then trains one unit at a time, so its thread count never
    changes); ``spec.devices`` picks GPUs. ``machine`` defaults to :func:`probe_machine`.
    """
    if spec.devices and plan.device != "cuda":
        raise UserError(f"--devices names {', '.join(spec.devices)}, but this run trains on "
                        "the CPU (no usable CUDA GPU was found)",
                        hint="leave out --devices, or train on a machine with those GPUs")
    machine = machine or probe_machine(plan.device)
    pool = machine.gpus if plan.device == "cuda" else ()
    chosen = tuple(spec.devices) if plan.device == "cuda" else ()
    if plan.device == "cuda" and not pool:  # CUDA without device enumeration (tests)
        pool = ("cuda:0",)
    requested = spec.workers
    if requested is None and spec.deterministic:
        requested = 1
    n_dev = len(chosen or pool)
    if plan.device == "cuda" and machine.gpu_free_bytes:
        free = dict(zip(machine.gpus, machine.gpu_free_bytes, strict=True))
        memory = sum(free.get(d, 0) for d in (chosen or pool)) or None
    else:
        memory = machine.memory_bytes
    need = unit_bytes(spec, device="cuda" if plan.device == "cuda" else "cpu")
    workers = choose_workers(n_units=max(1, n_units), cores=machine.cores, memory_bytes=memory,
                             unit_bytes=need, gpus=n_dev if plan.device == "cuda" else 0,
                             requested=requested)
    devices = assign_devices(workers, pool, chosen)
    threads = spec.num_threads or threads_per_worker(machine.cores, workers)
    if workers == 1 and devices[0] in ("cpu", "cuda:0"):
        return [Slot(0, devices[0], plan.num_threads, inline=True)]
    return [Slot(i, d, threads) for i, d in enumerate(devices)]


class _StopToken(CancelToken):
    """A worker's cancel token: the driver stops a busy worker by sending it anything.

    A busy worker receives no task, so any message is "stop"; reading a pipe takes no lock
    that a killed process could leave held.
    """

    def __init__(self, conn: Any) -> None:
        super().__init__()
        self._conn = conn

    @property
    def cancelled(self) -> bool:
        if not super().cancelled and self._conn.poll():
            self._conn.recv()
            self.cancel()
        return super().cancelled

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled()


class PipeReporter(UnitReporter):
    """Relays a unit's positions to the driver through ``send``, at most every
    :data:`REPORT_EVERY_S` seconds and at every epoch end."""

    def __init__(self, send: Any, key: tuple[str, int]) -> None:
        super().__init__(None, key)
        self._send = send
        self._last = float("-inf")

    def begin(self, worker: str = "") -> None:
        super().begin(worker)
        self._send(("started", self.key, worker))

    def report(self, epoch: int, step: int, seconds: float, loss: float | None) -> None:
        now = time.monotonic()
        if loss is not None or now - self._last >= REPORT_EVERY_S:
            self._last = now
            self._send(("update", self.key, epoch, step, seconds, loss))


def _worker_main(slot: Slot, spec: CVSpec, plan: ExecPlan,
                 weight_files: dict[str, Path | None], tasks: Any, out: Any) -> None:
    """A worker process: train the units the driver sends until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the driver, which cancels
    watch_parent(lambda: os._exit(70))  # the driver died: stop writing into the run
    from wbsdesk.ml.cv import _run_fold
    from wbsdesk.ml.data import decode_crops
    from wbsdesk.ml.train import execution_context

    device = "cpu"
    if slot.device.startswith("cuda"):
        torch.cuda.set_device(int(slot.device.partition(":")[2] or 0))
        device = "cuda"
    mine = replace(plan, device=device, num_threads=slot.threads)
    images = None
    with execution_context(mine):
        while True:
            try:
                task = tasks.recv()
            except EOFError:  # the driver is gone
                return
            if task is None or task == "stop":
                return
            token = _StopToken(tasks)
            key = (str(task[0]), int(task[1]))
            try:
                if images is None:
                    images = decode_crops(spec.crop_paths, size=spec.input_px,
                                          cancel=token).to(device)
                res = _run_fold(spec, mine, key[0], key[1], images, weight_files[key[0]],
                                PipeReporter(out.send, key), token, worker=slot.device)
            except Cancelled:
                out.send(("cancelled", key))
                return
            except Exception as exc:
                out.send(("failed", key, describe_failure(exc, slot.device)))
                if device == "cuda":
                    torch.cuda.empty_cache()
                continue
            out.send(("finished", key, res))


@dataclass
class _Worker:
    slot: Slot
    proc: Any
    tasks: Any  # the driver's end of the task pipe
    out: Any  # the driver's end of the report pipe
    unit: tuple[str, int] | None = None


def run_in_workers(spec: CVSpec, plan: ExecPlan, todo: list[UnitPlan], slots: list[Slot],
                   weight_files: dict[str, Path | None], tracker: RunTracker,
                   cancel: CancelToken) -> tuple[list[FoldResult], list[tuple[str, int, str]]]:
    """Train ``todo`` in one worker process per slot; ``(results, failures)``.

    Each worker has its own pair of pipes (nothing shared that a killed worker could leave
    locked). A unit goes to the next free worker; a worker that dies fails the unit it had.

    Raises
    ------
    Cancelled
        Once every busy worker has stopped (or :data:`STOP_GRACE_S` passed), when
        ``cancel`` was set.
    """
    ctx = multiprocessing.get_context("spawn")
    pending = deque(u.key for u in todo)
    results: list[FoldResult] = []
    failures: list[tuple[str, int, str]] = []
    workers: dict[int, _Worker] = {}
    for slot in slots:
        task_recv, task_send = ctx.Pipe(duplex=False)
        out_recv, out_send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker_main, name=f"wbsdesk-unit-worker-{slot.index}",
                           args=(slot, spec, plan, weight_files, task_recv, out_send))
        proc.start()
        task_recv.close()
        out_send.close()
        workers[slot.index] = _Worker(slot, proc, task_send, out_recv)
    log.info("training %d units in %d worker processes (%s)", len(todo), len(slots),
             ", ".join(f"{s.device} x{s.threads} threads" for s in slots))

    def handle(w: _Worker, msg: tuple[Any, ...]) -> None:
        kind, key = msg[0], msg[1]
        if kind == "started":
            tracker.started(key, msg[2])
        elif kind == "update":
            tracker.update(key, epoch=msg[2], step=msg[3], seconds=msg[4], loss=msg[5])
        elif kind == "finished":
            results.append(msg[2])
            tracker.finished(key)
        elif kind == "failed":
            failures.append((key[0], key[1], msg[2]))
            tracker.failed(key, msg[2])
        elif kind == "cancelled":
            tracker.cancelled(key)
        if kind in ("finished", "failed", "cancelled"):
            w.unit = None

    def read(w: _Worker) -> bool:
        """Handle what ``w`` sent; False once its pipe is closed (the process ended)."""
        try:
            while w.out.poll():
                handle(w, w.out.recv())
        except (EOFError, OSError):
            return False
        return True

    def step(timeout: float) -> None:
        conns = [w.out for w in workers.values()] + [w.proc.sentinel for w in workers.values()]
        multiprocessing.connection.wait(conns, timeout)
        for index, w in list(workers.items()):
            alive = read(w)
            if not alive or not w.proc.is_alive():
                w.proc.join(1)
                if not w.proc.is_alive():
                    read(w)
                    del workers[index]
                    _bury(w, spec, results, failures, tracker)

    ended = False
    try:
        while pending or any(w.unit for w in workers.values()):
            if cancel.cancelled:
                break
            for w in workers.values():
                if w.unit is None and pending:
                    w.unit = pending.popleft()
                    with contextlib.suppress(OSError):  # it died: step() accounts for it
                        w.tasks.send(w.unit)
            step(0.2)
            if not workers:
                while pending:
                    key = pending.popleft()
                    why = "no worker process was left to train it"
                    failures.append((key[0], key[1], why))
                    tracker.failed(key, why)
        if cancel.cancelled:
            _stop_busy(workers)
            deadline = time.monotonic() + STOP_GRACE_S
            while any(w.unit for w in workers.values()) and time.monotonic() < deadline:
                step(0.2)
            for key in pending:
                tracker.cancelled(key)
            raise Cancelled()
        ended = True
    finally:
        if not ended:  # cancelled, or the driver itself failed: stop the busy workers too
            _stop_busy(workers)
        for w in workers.values():
            with contextlib.suppress(OSError):
                w.tasks.send(None)
        for w in workers.values():
            w.proc.join(10)
            if w.proc.is_alive():
                w.proc.terminate()
                w.proc.join(5)
            w.tasks.close()
            w.out.close()
    return results, failures


def _stop_busy(workers: dict[int, _Worker]) -> None:
    for w in workers.values():
        if w.unit is not None:
            with contextlib.suppress(OSError):
                w.tasks.send("stop")


def _bury(w: _Worker, spec: CVSpec, results: list[FoldResult],
          failures: list[tuple[str, int, str]], tracker: RunTracker) -> None:
    """A worker process ended on its own: account for the unit it had."""
    key = w.unit
    w.tasks.close()
    w.out.close()
    if key is None:
        return
    if (fold_dir(spec.run_dir, *key) / "done.json").is_file():
        from wbsdesk.ml.cv import _finished_result

        results.append(_finished_result(spec, *key))
        tracker.finished(key)
        return
    code = w.proc.exitcode
    why = (f"the worker process training it on {w.slot.device} ended unexpectedly (exit code "
           f"{code}{', killed' if code is not None and code < 0 else ''})")
    log.warning("%s fold %d: %s", key[0], key[1], why)
    failures.append((key[0], key[1], why))
    tracker.failed(key, why)
