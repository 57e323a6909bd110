"""How fast this machine trains: the device, and timed training steps of the real loop.

:func:`device_info` says which device ``"auto"`` would train on (and its name).
:func:`time_training_steps` builds an architecture, decodes a few crops and runs a few
batches of the same :func:`~wbsdesk.ml.train.train_one_epoch` the cross-validation uses,
with the protocol's input size, batch size, augmentation and execution plan; it times the
model's construction, each step after a warm-up (the median counts: the first steps of a
fresh model run slower, and one slow step on a busy machine should not scale a whole run),
one evaluation pass at the size of a held-out fold and one checkpoint write. The caller
extrapolates.
"""

from __future__ import annotations

import itertools
import logging
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wbsdesk.core.jobs import CancelToken
from wbsdesk.ml.augment import EvalPreset, TrainPreset
from wbsdesk.ml.checkpoints import record_path, save_checkpoint
from wbsdesk.ml.cvspec import CVSpec
from wbsdesk.ml.data import decode_crops
from wbsdesk.ml.registry import build_model
from wbsdesk.ml.train import (
    ExecPlan,
    evaluate,
    execution_context,
    plan_execution,
    train_one_epoch,
)

__all__ = ["StepTiming", "device_info", "time_training_steps"]

log = logging.getLogger(__name__)


def device_info() -> dict[str, Any]:
    """The device ``"auto"`` trains on, in plain data.

    Returns
    -------
    dict
        ``kind`` ("cuda" or "cpu"), ``name`` (GPU name, or the CPU's), ``threads`` (torch's
        CPU threads), ``cpus`` (logical CPUs), ``cuda_available`` (bool), ``gpus`` (list of
        GPU names) and ``label`` for people, e.g. ``"NVIDIA H100 80GB HBM3 (GPU)"`` or
        ``"CPU (2 threads)"``.
    """
    threads = torch.get_num_threads()
    cuda = torch.cuda.is_available()
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda \
        else []
    if cuda:
        label = f"{gpus[0]} (GPU)" if len(gpus) == 1 else f"{gpus[0]} (GPU, {len(gpus)} found)"
        return {"kind": "cuda", "name": gpus[0], "threads": threads, "cpus": os.cpu_count(),
                "cuda_available": True, "gpus": gpus, "label": label}
    return {"kind": "cpu", "name": "CPU", "threads": threads, "cpus": os.cpu_count(),
            "cuda_available": False, "gpus": [], "label": f"CPU ({threads} threads)"}


@dataclass(frozen=True)
class StepTiming:
    """Measured speed of one architecture on this machine.

    Attributes
    ----------
    arch : str
    device : str
        Where it ran ("cpu" or "cuda").
    precision : str
        ``"fp32"`` or ``"bf16-autocast"``.
    seconds_per_step : float
        Median wall time of one training batch of ``batch_size`` images after warm-up.
    steps_timed : int
    seconds_per_eval_image : float
        Evaluation (held-out predictions) time per image, timed on ``eval_images`` images.
    seconds_per_decode_image : float
        Decoding one crop into memory (done once per run).
    seconds_per_checkpoint : float
        Writing one epoch's checkpoint (model and optimizer state, fsynced).
    """

    arch: str
    device: str
    precision: str
    seconds_per_step: float
    steps_timed: int
    seconds_per_eval_image: float
    seconds_per_decode_image: float
    seconds_per_checkpoint: float
    seconds_per_build: float = 0.0
    """Building the model (random initialisation) and moving it to the device, once a unit."""


def _sync(plan: ExecPlan) -> None:
    if plan.device == "cuda":
        torch.cuda.synchronize()


def time_training_steps(spec: CVSpec, arch: str, *, steps: int = 3, warmup: int = 2,
                        eval_images: int | None = None,
                        cancel: CancelToken | None = None) -> StepTiming:
    """Time ``steps`` training batches of ``arch`` as :func:`~wbsdesk.ml.cv.run_cv` runs them.

    The model is randomly initialised (ImageNet weights do not change the speed); the
    crops are ``spec.crop_paths`` (a few are enough: they are cycled to fill the batches).
    Nothing is written.

    Parameters
    ----------
    spec : CVSpec
        Input size, batch size, augmentation and execution fields (device, precision).
    arch : str
    steps : int, keyword-only
        Timed batches (after ``warmup`` untimed ones); their median is the step time.
    warmup : int, keyword-only
        Batches run first and not timed (allocation, cuDNN autotuning).
    eval_images : int, optional, keyword-only
        How many images the evaluation is timed on (the crops cycled), e.g. a held-out
        fold's size: predicting 8 images costs more per image than predicting 30 in one
        batch. Default: the crops given.
    cancel : CancelToken, optional, keyword-only
        Checked before every batch.

    Returns
    -------
    StepTiming
    """
    if steps < 1 or warmup < 0:
        raise ValueError("steps must be >= 1 and warmup >= 0")
    cancel = cancel or CancelToken()
    plan = plan_execution(spec.device, deterministic=spec.deterministic, bf16=spec.bf16,
                          channels_last=spec.channels_last, compile=False,
                          num_threads=spec.num_threads)
    paths: Sequence[Path] = spec.crop_paths
    with execution_context(plan):
        t0 = time.perf_counter()
        images = decode_crops(paths, size=spec.input_px, cancel=cancel)
        decode_s = (time.perf_counter() - t0) / max(len(paths), 1)
        images = images.to(plan.device)
        labels = torch.as_tensor(spec.labels, dtype=torch.int64, device=plan.device)
        t0 = time.perf_counter()
        model = build_model(arch, num_outputs=spec.num_outputs).to(plan.device, memory_format=(
            torch.channels_last if plan.channels_last else torch.contiguous_format))
        _sync(plan)
        build_s = time.perf_counter() - t0
        optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum,
                                    weight_decay=spec.weight_decay)
        augment = TrainPreset(size=spec.input_px, rotation_degrees=spec.rotation_degrees,
                              crop_scale=spec.crop_scale, hflip=spec.hflip,
                              autoaugment=spec.autoaugment, mean=spec.normalize_mean,
                              std=spec.normalize_std)
        # one extra sample: batch_slices drops a lone trailing one, never a full batch
        n_samples = (warmup + steps) * spec.batch_size + 1
        order = torch.arange(n_samples, device=plan.device) % len(images)
        marks: list[float] = []

        def before_batch(i: int, n: int) -> None:
            cancel.raise_if_cancelled()
            if i >= warmup:
                _sync(plan)
                marks.append(time.perf_counter())

        train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, images, labels, order,
                        batch_size=spec.batch_size, transform=augment, plan=plan,
                        before_batch=before_batch)
        _sync(plan)
        marks.append(time.perf_counter())
        per_step = statistics.median(b - a for a, b in itertools.pairwise(marks))
        evaluator = EvalPreset(size=spec.input_px, mean=spec.normalize_mean,
                               std=spec.normalize_std)
        held_out = images[torch.arange(eval_images or len(images), device=plan.device)
                          % len(images)]
        evaluate(model, held_out, transform=evaluator, plan=plan)  # warm-up (same shapes)
        _sync(plan)
        t0 = time.perf_counter()
        evaluate(model, held_out, transform=evaluator, plan=plan)
        _sync(plan)
        eval_s = (time.perf_counter() - t0) / max(len(held_out), 1)
        ckpt_s = _time_checkpoint(model, optimizer, Path(spec.run_dir))
    log.info("%s on %s: %.3f s per batch of %d at %d px", arch, plan.device, per_step,
             spec.batch_size, spec.input_px)
    return StepTiming(arch=arch, device=plan.device, precision=plan.precision,
                      seconds_per_step=per_step, steps_timed=steps,
                      seconds_per_eval_image=eval_s, seconds_per_decode_image=decode_s,
                      seconds_per_checkpoint=ckpt_s, seconds_per_build=build_s)


def _time_checkpoint(model: nn.Module, optimizer: torch.optim.Optimizer, folder: Path) -> float:
    """Seconds to write one epoch checkpoint (model + optimizer) into ``folder``.

    ``folder`` should be on the disk the runs go to (the workspace), so the time is the one
    training will see; the file is removed afterwards.
    """
    path = folder / "probe-checkpoint.pt"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        save_checkpoint(path, {"model": model.state_dict(), "optimizer": optimizer.state_dict()})
        return time.perf_counter() - t0
    finally:
        path.unlink(missing_ok=True)
        record_path(path).unlink(missing_ok=True)
