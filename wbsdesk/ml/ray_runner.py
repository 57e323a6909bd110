"""Training a run's units as Ray tasks on a cluster (``wbsdesk train NAME --ray ADDRESS``).

Optional: needs ``pip install 'wbsdesk[cluster]'`` (Ray). The driver (the ``train``
process) decodes the crops once and ships them, the resolved spec and the ImageNet weight
files as Ray objects, so no shared file system is needed. Each unit (architecture x fold)
is one task with a fraction of a GPU (:data:`GPU_PER_UNIT`; on a cluster without GPUs,
:data:`~wbsdesk.core.scheduling.MIN_THREADS_PER_WORKER` CPUs). The task trains the unit
exactly as a local worker does (:func:`wbsdesk.ml.cv._run_fold`, same seeds) in a temporary
folder on its node, reports its positions through a Ray queue, and returns the unit's files:
out-of-fold probabilities, losses, the split and the final weights. The driver writes them
into the run folder (the checkpoint with its SHA-256 record, ``done.json`` last) and the
training service imports each into the store as it arrives.

A unit that resumes ships its last checkpoint to the task. Cancel stops every task; the
finished units are in the run folder, and a resume (on the cluster or locally) trains only
the others, each from the last checkpoint in the run folder (a unit trained on Ray sends its
checkpoint back when it finishes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from wbsdesk.core.jobs import CancelToken
from wbsdesk.core.run_progress import RunTracker, UnitReporter
from wbsdesk.core.scheduling import MIN_THREADS_PER_WORKER, UnitPlan
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.ml.checkpoints import atomic_write_bytes, save_checkpoint_bytes
from wbsdesk.ml.cvspec import CVSpec, FoldResult, fold_dir
from wbsdesk.ml.train import ExecPlan

__all__ = ["GPU_PER_UNIT", "RayExecutor"]

log = logging.getLogger(__name__)

#: The share of a GPU each unit asks Ray for (two units per GPU; the paper's batches of 16
#: leave a GPU idle between kernel launches). ``WBSDESK_RAY_GPU_PER_UNIT`` overrides it.
GPU_PER_UNIT = float(os.environ.get("WBSDESK_RAY_GPU_PER_UNIT", "0.5"))
#: Files of a unit folder a task sends back, in the order the driver writes them.
_FILES = ("split.json", "losses.json", "oof.csv")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("training on a Ray cluster needs Ray, which is not installed",
                        hint="pip install 'wbsdesk[cluster]'") from None
    return ray


class _QueueReporter(UnitReporter):
    """Relays a task's positions to the driver through a Ray queue (a few a second)."""

    def __init__(self, queue: Any, key: tuple[str, int]) -> None:
        super().__init__(None, key)
        self._queue = queue
        self._last = float("-inf")

    def _put(self, msg: tuple[Any, ...]) -> None:
        with contextlib.suppress(Exception):  # a full or gone queue never stops training
            self._queue.put_nowait(msg)

    def begin(self, worker: str = "") -> None:
        super().begin(worker)
        self._put(("started", self.key, worker))

    def report(self, epoch: int, step: int, seconds: float, loss: float | None) -> None:
        now = time.monotonic()
        if loss is not None or now - self._last >= 0.5:
            self._last = now
            self._put(("update", self.key, epoch, step, seconds, loss))


def train_unit_task(spec_data: dict[str, Any], arch: str, fold: int, crops: Any,
                    weights: bytes | None, resume: dict[str, bytes], queue: Any,
                    threads: int) -> dict[str, Any]:
    """One unit on a Ray node: train it in a temporary folder, return its files.

    Returns
    -------
    dict
        ``files`` (name -> bytes: split, losses, oof, done.json), ``checkpoint`` (bytes),
        ``result`` (the :class:`~wbsdesk.ml.cvspec.FoldResult` fields) and ``plan``.
    """
    from wbsdesk.ml.cv import _run_fold
    from wbsdesk.ml.registry import arch_spec
    from wbsdesk.ml.train import execution_context, plan_execution

    tmp = Path(tempfile.mkdtemp(prefix=f"wbsdesk-{arch}-fold{fold}-"))
    try:
        wdir = None
        if weights is not None:
            wdir = tmp / "weights"
            wdir.mkdir()
            (wdir / arch_spec(arch).weights_file).write_bytes(weights)
        spec = CVSpec(**{**spec_data, "run_dir": tmp / "run", "weights_dir": wdir,
                         "workers": 1, "ray_address": None, "devices": ()})
        d = fold_dir(spec.run_dir, arch, fold)
        d.mkdir(parents=True)
        for name, data in resume.items():
            (d / name).write_bytes(data)
        device = "cuda" if spec.device != "cpu" and torch.cuda.is_available() else "cpu"
        plan = plan_execution(device, deterministic=spec.deterministic, bf16=spec.bf16,
                              channels_last=spec.channels_last, compile=spec.compile,
                              num_threads=spec.num_threads or threads)
        with execution_context(plan):
            images = torch.from_numpy(crops.copy()).to(plan.device)  # Ray's is read-only
            where = f"ray:{os.uname().nodename}" if hasattr(os, "uname") else "ray"
            res = _run_fold(spec, plan, arch, fold, images, None if wdir is None
                            else wdir / arch_spec(arch).weights_file,
                            _QueueReporter(queue, (arch, fold)), CancelToken(), worker=where)
        files = {name: (d / name).read_bytes() for name in (*_FILES, "done.json")}
        result = {k: v for k, v in vars(res).items() if k != "dir"}
        return {"files": files, "checkpoint": (d / "checkpoint.pt").read_bytes(),
                "result": result, "plan": plan.as_dict()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class RayExecutor:
    """Runs a run's units as Ray tasks; :meth:`run` has the local scheduler's contract.

    Parameters
    ----------
    spec : CVSpec
    plan : ExecPlan
        The driver's plan (tasks choose their own device: a GPU when their node has one).
    weight_files : dict
        Architecture -> ImageNet weight file on the driver (None: from scratch).
    address : str
        ``"auto"``, ``host:port`` or ``ray://host:port``; ignored when this process is
        connected to Ray already (``ray.init`` called before, e.g. by a test).
    """

    def __init__(self, spec: CVSpec, plan: ExecPlan, weight_files: dict[str, Path | None], *,
                 address: str) -> None:
        ray = _import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UserError(f"cannot reach the Ray cluster at {address!r}: {exc}",
                                hint="start it with 'ray start --head' (see README, "
                                     "Training on a cluster)") from None
        self.ray = ray
        self.spec, self.plan, self.weight_files = spec, plan, weight_files
        res = ray.cluster_resources()
        self.gpus = float(res.get("GPU", 0.0))
        self.cpus = float(res.get("CPU", 1.0))
        want_gpu = spec.device != "cpu" and self.gpus > 0
        self.num_gpus = GPU_PER_UNIT if want_gpu else 0.0
        self.num_cpus = 1 if want_gpu else min(MIN_THREADS_PER_WORKER, max(1, int(self.cpus)))
        if spec.num_threads:
            self.num_cpus = min(spec.num_threads, max(1, int(self.cpus)))
        by_gpu = int(self.gpus / self.num_gpus) if self.num_gpus else 0
        self.workers = max(1, by_gpu or int(self.cpus // self.num_cpus))

    def run(self, todo: list[UnitPlan], tracker: RunTracker, cancel: CancelToken
            ) -> tuple[list[FoldResult], list[tuple[str, int, str]]]:
        """Train ``todo`` as Ray tasks; ``(results, failures)`` (see the module docstring).

        Raises
        ------
        Cancelled
            When ``cancel`` was set (every task is stopped first).
        """
        ray = self.ray
        from ray.util.queue import Queue

        from wbsdesk.ml.data import decode_crops

        spec = self.spec
        results: list[FoldResult] = []
        failures: list[tuple[str, int, str]] = []
        if not todo:
            return results, failures
        tracker.stage("decoding")
        crops = decode_crops(spec.crop_paths, size=spec.input_px, cancel=cancel).numpy()
        crops_ref = ray.put(crops)
        spec_ref = ray.put({**spec.as_dict(), "extra": dict(spec.extra)})
        weights = {a: ray.put(p.read_bytes()) for a, p in self.weight_files.items()
                   if p is not None and any(u.arch == a for u in todo)}
        queue = Queue(actor_options={"num_cpus": 0})
        task = ray.remote(train_unit_task).options(num_cpus=self.num_cpus,
                                                   num_gpus=self.num_gpus, max_retries=0)
        refs: dict[Any, tuple[str, int]] = {}
        for u in todo:
            refs[task.remote(spec_ref, u.arch, u.fold, crops_ref, weights.get(u.arch),
                             _resume_files(spec, u), queue, self.num_cpus)] = u.key
        log.info("training %d units as Ray tasks (%g GPU, %d CPU each; %g GPUs, %g CPUs in "
                 "the cluster)", len(refs), self.num_gpus, self.num_cpus, self.gpus, self.cpus)
        try:
            while refs:
                if cancel.cancelled:
                    for ref in refs:
                        ray.cancel(ref, force=True)
                    for key in refs.values():
                        tracker.cancelled(key)
                    raise Cancelled()
                self._relay(queue, tracker)
                ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.2)
                for ref in ready:
                    key = refs.pop(ref)
                    try:
                        out = ray.get(ref)
                        results.append(self._write(key, out))
                    except (ray.exceptions.RayError, UserError, OSError) as exc:
                        why = _ray_failure(exc)
                        failures.append((key[0], key[1], why))
                        tracker.failed(key, why)
                        continue
                    self._relay(queue, tracker)
                    tracker.finished(key)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)
            with contextlib.suppress(Exception):  # the queue may be gone with the cluster
                queue.shutdown()
        return results, failures

    def _relay(self, queue: Any, tracker: RunTracker) -> None:
        """Pass the tasks' position reports on to the tracker."""
        try:
            msgs = queue.get_nowait_batch(queue.qsize())
        except Exception:  # an empty or gone queue: nothing to relay
            return
        for msg in msgs:
            kind, key = msg[0], tuple(msg[1])
            if tracker.state(key) not in ("queued", "running"):
                continue
            if kind == "started":
                tracker.started(key, msg[2])
            elif kind == "update" and tracker.state(key) == "running":
                tracker.update(key, epoch=msg[2], step=msg[3], seconds=msg[4], loss=msg[5])

    def _write(self, key: tuple[str, int], out: dict[str, Any]) -> FoldResult:
        """Write a finished unit's files into the run folder (``done.json`` last)."""
        d = fold_dir(self.spec.run_dir, *key)
        d.mkdir(parents=True, exist_ok=True)
        done = json.loads(out["files"]["done.json"])
        sha = save_checkpoint_bytes(d / "checkpoint.pt", out["checkpoint"])
        if sha != done.get("checkpoint_sha256"):
            raise UserError(f"the fold model sent back for {key[0]} fold {key[1]} does not "
                            "match its done.json (damaged in transfer)")
        for name in _FILES:
            atomic_write_bytes(d / name, out["files"][name])
        atomic_write_bytes(d / "done.json", out["files"]["done.json"])
        self.plan = ExecPlan(**out["plan"])
        return FoldResult(dir=d, **out["result"])


def _resume_files(spec: CVSpec, u: UnitPlan) -> dict[str, bytes]:
    """The files a started unit resumes from (its checkpoint, record and losses)."""
    if u.state != "started":
        return {}
    d = fold_dir(spec.run_dir, u.arch, u.fold)
    names = ("checkpoint.pt", "checkpoint.pt.sha256", "losses.json")
    return {n: (d / n).read_bytes() for n in names if (d / n).is_file()}


def _ray_failure(exc: BaseException) -> str:
    """One line on why a Ray task failed."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        from wbsdesk.ml.failures import describe_failure

        return describe_failure(cause, "a Ray node")
    if isinstance(exc, UserError):
        return exc.message
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
