"""Fold-batched training: the k folds of one architecture as one stacked model, or in turn.

The engine trains the folds of an architecture one after another; with the paper's batches
of 16 a GPU is then bound by per-step overhead (~60 steps/s on an H200 whatever the model).
``benchmarks/stacked.py`` turns the k fold models into one grouped model that trains all
folds in one step with the same maths (not shipped: the engine trains one model per unit).
Per architecture this times

- **sequential**: k models, built and trained one after another, each for ``--steps``
  steps of ``--batch`` images with :func:`wbsdesk.ml.train.train_one_epoch` (as the engine);
- **stacked**: :func:`benchmarks.stacked.stack_models` of k models, ``--steps`` steps, each
  on ``(k, batch)`` images with the summed per-fold loss.

Both augment every image on the training device with the engine's batched
:class:`wbsdesk.ml.augment.TrainPreset` (the stacked variant k*batch images per call),
use the execution plan :func:`wbsdesk.ml.train.plan_execution` picks (channels_last; bf16
autocast where the hardware runs it natively), SGD with momentum and weight decay, and
exclude ``--warmup`` steps (cuDNN autotuning) from the clock; CUDA is synchronised before
every clock reading. Reports images/s for both, their ratio and, on CUDA, the peak memory
of each (the sequential figure is the largest single fold's). ``--verify`` also reports how
far the stacked model's fp32 logits are from the k separate models' on the device (TF32
off, dropout off; eval and train mode). Prints ONE JSON line. Usage::

    python benchmarks/fold_batched.py [--archs resnet18,vgg16] [--px 224] [--batch 16] \\
        [--folds 5] [--steps 20] [--device auto] [--verify]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import platform
import sys
import time
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from wbsdesk.ml.augment import TrainPreset
from wbsdesk.ml.registry import build_model

try:
    from benchmarks.stacked import StackedModel, stack_models, stacked_cross_entropy
except ImportError:  # run as a script: benchmarks/ itself is on sys.path
    from stacked import StackedModel, stack_models, stacked_cross_entropy
from wbsdesk.ml.train import ExecPlan, execution_context, plan_execution, train_one_epoch

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SGD = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}
log = logging.getLogger("fold_batched")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak_mib(device: str) -> float | None:
    if device != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated() / 2**20, 1)


def _layout(plan: ExecPlan) -> torch.memory_format:
    return torch.channels_last if plan.channels_last else torch.contiguous_format


def _preset(px: int) -> TrainPreset:
    return TrainPreset(size=px, rotation_degrees=15, crop_scale=(0.8, 1.0), hflip=True,
                       autoaugment="imagenet", mean=MEAN, std=STD)


def sequential_images_per_second(arch: str, images: torch.Tensor, labels: torch.Tensor, *,
                                 folds: int, batch: int, steps: int, warmup: int,
                                 plan: ExecPlan) -> tuple[float, float | None]:
    """Folds one after another, as the engine: images/s over the timed steps, peak MiB."""
    preset = _preset(images.shape[-1])
    crit = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    seconds, peak = 0.0, None
    for f in range(folds):
        _reset_peak(plan.device)
        torch.manual_seed(f)
        model = build_model(arch).to(plan.device, memory_format=_layout(plan))
        opt = torch.optim.SGD(model.parameters(), **SGD)

        def run(n: int, model: nn.Module = model, opt: torch.optim.Optimizer = opt) -> None:
            order = torch.randint(0, len(images), (n * batch,), generator=gen)
            train_one_epoch(model, crit, opt, images, labels, order.to(plan.device),
                            batch_size=batch, transform=preset, plan=plan)

        run(warmup)
        _sync(plan.device)
        t0 = time.perf_counter()
        run(steps)
        _sync(plan.device)
        seconds += time.perf_counter() - t0
        fold_peak = _peak_mib(plan.device)
        if fold_peak is not None:
            peak = max(peak or 0.0, fold_peak)
        del model, opt
    return folds * steps * batch / seconds, peak


def train_stacked_steps(stacked: StackedModel, optimizer: torch.optim.Optimizer,
                        images: torch.Tensor, labels: torch.Tensor, order: torch.Tensor, *,
                        batch: int, transform: TrainPreset, plan: ExecPlan) -> list[float]:
    """``len(order) // (k*batch)`` steps of the stacked model; mean loss per fold.

    Step ``s`` trains fold ``f`` on ``order[s*k*batch + f*batch:][:batch]``.
    """
    k = stacked.k
    stacked.train()
    n = len(order) // (k * batch)
    total = torch.zeros(k, dtype=torch.float64, device=images.device)
    for s in range(n):
        idx = order[s * k * batch:(s + 1) * k * batch]
        x = transform(images[idx])
        x = x.view(k, batch, *x.shape[1:])
        y = labels[idx].view(k, batch)
        with torch.autocast(plan.device, dtype=torch.bfloat16, enabled=plan.bf16):
            loss, per_fold = stacked_cross_entropy(stacked(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += per_fold.detach().to(torch.float64)
    return (total / max(n, 1)).tolist()


def stacked_images_per_second(arch: str, images: torch.Tensor, labels: torch.Tensor, *,
                              folds: int, batch: int, steps: int, warmup: int,
                              plan: ExecPlan) -> tuple[float, float | None]:
    """All folds in one stacked model: images/s over the timed steps, peak MiB."""
    preset = _preset(images.shape[-1])
    gen = torch.Generator().manual_seed(0)
    _reset_peak(plan.device)
    fold_models = []
    for f in range(folds):
        torch.manual_seed(f)
        fold_models.append(build_model(arch))
    stacked = stack_models(fold_models)
    del fold_models
    stacked = stacked.to(plan.device, memory_format=_layout(plan))
    opt = torch.optim.SGD(stacked.parameters(), **SGD)

    def run(n: int) -> None:
        order = torch.randint(0, len(images), (n * folds * batch,), generator=gen)
        train_stacked_steps(stacked, opt, images, labels, order.to(plan.device), batch=batch,
                            transform=preset, plan=plan)

    run(warmup)
    _sync(plan.device)
    t0 = time.perf_counter()
    run(steps)
    _sync(plan.device)
    seconds = time.perf_counter() - t0
    return folds * steps * batch / seconds, _peak_mib(plan.device)


@contextlib.contextmanager
def _exact_fp32() -> Iterator[None]:
    old = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def verify(arch: str, *, folds: int, px: int, plan: ExecPlan) -> dict[str, float]:
    """Max |stacked - separate| / max |separate| of fp32 logits on the device (batch 4)."""
    out = {}
    with _exact_fp32(), torch.no_grad():
        models = []
        for f in range(folds):
            torch.manual_seed(100 + f)
            model = build_model(arch, num_outputs=2)
            for mod in model.modules():  # masks are drawn jointly when stacked
                if isinstance(mod, nn.Dropout):
                    mod.p = 0.0
            models.append(model)
        stacked = stack_models(models).to(plan.device, memory_format=_layout(plan))
        models = [m.to(plan.device, memory_format=_layout(plan)) for m in models]
        x = torch.randn(folds, 4, 3, px, px, generator=torch.Generator().manual_seed(1))
        x = x.to(plan.device)
        for mode in ("eval", "train"):
            stacked.train(mode == "train")
            got = stacked(x).float()
            want = torch.stack([m.train(mode == "train")(
                x[f].contiguous(memory_format=_layout(plan))) for f, m in enumerate(models)])
            err = (got - want).abs().max() / want.abs().max()
            out[f"{mode}_max_rel_err"] = float(f"{err.item():.3g}")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", default="vgg16,vgg19,resnet18,resnet34,mobilenet_v2")
    ap.add_argument("--px", type=int, default=224)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (per fold when sequential)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (per model)")
    ap.add_argument("--images", type=int, default=64, help="synthetic uint8 crops to draw from")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--verify", action="store_true",
                    help="also compare stacked and separate fp32 logits on the device")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    plan = plan_execution(args.device, num_threads=args.threads)
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, 3, args.px, args.px), dtype=torch.uint8,
                           generator=gen).to(plan.device)
    labels = torch.randint(0, 2, (args.images,), generator=gen).to(plan.device)
    kw = {"folds": args.folds, "batch": args.batch, "steps": args.steps,
          "warmup": args.warmup, "plan": plan}
    results: dict[str, Any] = {}
    with execution_context(plan):
        for arch in args.archs.split(","):
            res: dict[str, Any] = {}
            for name, fn in (("sequential", sequential_images_per_second),
                             ("stacked", stacked_images_per_second)):
                try:
                    ips, peak = fn(arch, images, labels, **kw)
                except torch.cuda.OutOfMemoryError:
                    log.warning("%s %s: out of GPU memory", arch, name)
                    res[f"{name}_error"] = "out of memory"
                    torch.cuda.empty_cache()
                    continue
                res[f"{name}_img_s"] = round(ips, 2)
                res[f"{name}_step_ms"] = round(1000 * args.batch * (
                    args.folds if name == "stacked" else 1) / ips, 2)
                if peak is not None:
                    res[f"{name}_peak_mib"] = peak
                log.info("%s %s: %.2f img/s, peak %s MiB", arch, name, ips, peak)
            if "sequential_img_s" in res and "stacked_img_s" in res:
                res["ratio"] = round(res["stacked_img_s"] / res["sequential_img_s"], 3)
            if args.verify:
                res["verify"] = verify(arch, folds=args.folds, px=args.px, plan=plan)
                log.info("%s verify: %s", arch, res["verify"])
            results[arch] = res
            if plan.device == "cuda":
                torch.cuda.empty_cache()
    device_name = (torch.cuda.get_device_name() if plan.device == "cuda"
                   else platform.processor() or platform.machine())
    out = {"benchmark": "fold_batched", "device": plan.device, "device_name": device_name,
           "torch": torch.__version__, "threads": torch.get_num_threads(), "px": args.px,
           "batch": args.batch, "folds": args.folds, "steps": args.steps,
           "warmup": args.warmup, "plan": plan.as_dict(), "results": results}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
