"""k-fold cross-validation of the registered CNNs: :func:`run_cv`, resumable, file-based.

For every architecture and every fold the model is trained on the other folds' photos for
a fixed number of epochs (the held-out fold is never used to choose anything), then
predicts the held-out photos. All results are files in the run folder, one folder per
architecture and fold::

    run_dir/
      run.json                      the spec and execution plan of the latest start
      <arch>/fold<k>/
        split.json                  {"fold", "train": [photo ids], "test": [photo ids]}
        checkpoint.pt               after EVERY epoch (atomic; ``checkpoint_every``):
                                    {"model", "optimizer", "lr_scheduler", "epoch" (epochs
                                    completed), "config", "losses", "rng": {"torch",
                                    "numpy", "python"}}; the last epoch's checkpoint is the
                                    fold model, with "optimizer"/"lr_scheduler" None (half
                                    the size: 0.5 GB instead of 1.1 GB for VGG-16)
        checkpoint.pt.sha256        its SHA-256 (``sha256sum`` format), written with it;
                                    a checkpoint is verified against it before every load
        losses.json                 {"epoch_losses": [mean train loss per epoch]}
        oof.csv                     photo_id,prob (softmax P(class 1), repr precision)
        done.json                   written last: the fold is finished (with the fold
                                    model's "checkpoint_sha256")

Running :func:`run_cv` again on the same folder skips finished folds and resumes an
unfinished one from its last completed epoch. Every epoch starts by seeding the global
torch RNG (which torchvision's v2 transforms and dropout use) and the shuffling generator
from ``(seed, arch, fold, epoch)``, so the resumed epochs see exactly the random draws of an
uninterrupted run. A checkpoint whose SHA-256 does not match its record (replaced, planted or
damaged) is refused with a :class:`~wbsdesk.errors.UserError` naming the run, architecture,
fold and file; it is never loaded.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.core.run_progress import RunTracker, UnitReporter
from wbsdesk.core.scheduling import UnitPlan, UnitsFailedError, plan_units
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.ml.augment import EvalPreset, TrainPreset, derive_seed
from wbsdesk.ml.checkpoints import (
    atomic_write_text,
    checkpoint_records,
    load_checkpoint,
    load_state_checked,
    save_checkpoint,
    verify_file,
)
from wbsdesk.ml.cvspec import CVSpec, CVSummary, FoldResult, fold_dir, fold_split, read_oof
from wbsdesk.ml.data import decode_crops
from wbsdesk.ml.failures import describe_failure
from wbsdesk.ml.registry import arch_spec, build_model
from wbsdesk.ml.train import (
    ExecPlan,
    batch_slices,
    evaluate,
    execution_context,
    plan_execution,
    rng_state,
    set_rng_state,
    train_one_epoch,
)
from wbsdesk.ml.weights import missing_weights_error

__all__ = ["CVSpec", "CVSummary", "FoldResult", "UnitsFailedError", "fold_dir", "fold_label",
           "fold_split", "read_oof", "run_cv", "run_units"]

log = logging.getLogger(__name__)


def run_cv(spec: CVSpec, *, progress: ProgressFn = no_progress,
           cancel: CancelToken | None = None) -> CVSummary:
    """Cross-validate every architecture of ``spec``; resumable (see the module docstring).

    The run is a set of independent units, one per (architecture, fold)
    (:func:`~wbsdesk.core.scheduling.plan_units`). They train one after another in this
    process, in worker processes side by side (``spec.workers``, ``spec.devices``; see
    :mod:`wbsdesk.ml.scheduler`) or as Ray tasks (``spec.ray_address``; see
    :mod:`wbsdesk.ml.ray_runner`), with the same result: every unit seeds itself.

    Parameters
    ----------
    spec : CVSpec
    progress : callable, keyword-only
        Receives ``Progress(done, total, message, event)`` in training steps (batches), at
        most ~4 times a second plus once at every epoch end and unit change; ``event`` is a
        :class:`~wbsdesk.core.train_events.TrainEvent` (architecture, fold, epoch, step,
        loss, ETA, unit state) and ``message`` its ``line()``, e.g.
        ``"resnet18 fold 2/5 epoch 7/100 loss 0.1234 · ETA 3 min 05 s"``.
    cancel : CancelToken, optional, keyword-only
        Checked before every batch. On cancellation :class:`~wbsdesk.errors.Cancelled`
        propagates; the last completed epoch's checkpoint stays, and calling ``run_cv``
        again with the same spec continues from there.

    Returns
    -------
    CVSummary
        Out-of-fold probabilities per architecture and photo, timings per fold.

    Raises
    ------
    UserError
        Missing ImageNet weight files, unreadable crops, or a run folder that was started
        with different training settings or data (before any training).
    UnitsFailedError
        When some units failed (out of memory, a bad weight file, a dead worker): raised
        once the other units have ended; it names each unit and why. The run stays
        resumable and a resume trains only the units that are not finished.
    Cancelled
        When ``cancel`` was set.
    """
    started = time.perf_counter()
    cancel = cancel or CancelToken()
    device = spec.device
    if spec.ray_address is not None and device == "cuda" and not torch.cuda.is_available():
        device = "auto"  # a driver without a GPU: Ray tasks choose theirs on their node
    plan = plan_execution(device, deterministic=spec.deterministic, bf16=spec.bf16,
                          channels_last=spec.channels_last, compile=spec.compile,
                          num_threads=spec.num_threads)
    weight_files: dict[str, Path | None] = dict.fromkeys(spec.archs)
    if spec.weights_dir is not None:
        weight_files = {a: spec.weights_dir / arch_spec(a).weights_file for a in spec.archs}
        missing = {a: p for a, p in weight_files.items() if p is not None and not p.is_file()}
        if missing:
            raise missing_weights_error(missing)
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(spec.run_dir / "run.json",
                      json.dumps({"spec": spec.as_dict(), "plan": plan.as_dict(),
                                  "torch": torch.__version__}, indent=1))

    # What is left to do (finished units are skipped, unfinished ones resume); every
    # checkpoint is verified here, before any training.
    units = run_units(spec)
    todo = [u for u in units if u.state != "done"]
    if spec.ray_address is not None:
        from wbsdesk.ml.ray_runner import RayExecutor

        ray_exec = RayExecutor(spec, plan, weight_files, address=spec.ray_address)
        tracker = RunTracker(units, workers=ray_exec.workers, progress=_logged(progress))
        tracker.skip_reported()
        results, failures = ray_exec.run(todo, tracker, cancel)
        plan = ray_exec.plan  # what the tasks ran with
    else:
        from wbsdesk.ml.scheduler import local_slots, run_in_workers

        slots = local_slots(spec, plan, n_units=len(todo))
        tracker = RunTracker(units, workers=len(slots), progress=_logged(progress))
        tracker.skip_reported()
        if not todo or slots[0].inline:
            results, failures = _run_inline(spec, plan, todo, weight_files, tracker, cancel)
        else:
            results, failures = run_in_workers(spec, plan, todo, slots, weight_files, tracker,
                                               cancel)
    tracker.stage("done")
    if failures:
        raise UnitsFailedError(failures)
    by_key = {(r.arch, r.fold): r for r in results}
    out: list[FoldResult] = []
    oof: dict[str, dict[str, float]] = {a: {} for a in spec.archs}
    for u in units:
        res = by_key.get(u.key) or _finished_result(spec, u.arch, u.fold)
        out.append(res)
        oof[u.arch].update(read_oof(fold_dir(spec.run_dir, u.arch, u.fold) / "oof.csv"))
    return CVSummary(run_dir=spec.run_dir, plan=plan, folds=tuple(out), oof=oof,
                     seconds=time.perf_counter() - started)


def run_units(spec: CVSpec) -> list[UnitPlan]:
    """The units of ``spec`` (its architectures x the folds of ``fold_subset``) with the
    epochs their folders hold; every checkpoint is verified (:class:`UserError` if not)."""
    fold_nums = spec.fold_numbers
    if spec.fold_subset is not None:
        fold_nums = [k for k in fold_nums if k in spec.fold_subset]
    done = {(a, k): _completed_epochs(spec, a, k) for a in spec.archs for k in fold_nums}
    units = plan_units(spec.archs, spec.folds, epochs=spec.epochs, batch_size=spec.batch_size,
                       copies=spec.copies, done=done,
                       finished={key for key, e in done.items() if e > spec.epochs})
    return [u for u in units if u.fold in fold_nums]


def _logged(progress: ProgressFn) -> ProgressFn:
    """Pass progress on, logging one line per epoch end and unit change."""
    def report(p: Progress) -> None:
        ev = p.event
        if ev is not None and ev.state == "failed":
            log.warning("%s", ev.line())
        elif ev is not None and (ev.epoch_ended or ev.unit_changed):
            log.info("%s", ev.line())
        progress(p)

    return report


def _run_inline(spec: CVSpec, plan: ExecPlan, todo: list[UnitPlan],
                weight_files: dict[str, Path | None], tracker: RunTracker,
                cancel: CancelToken) -> tuple[list[FoldResult], list[tuple[str, int, str]]]:
    """Train the units one after another in this process."""
    results: list[FoldResult] = []
    failures: list[tuple[str, int, str]] = []
    images: torch.Tensor | None = None
    with execution_context(plan):
        for u in todo:
            if images is None:
                tracker.stage("decoding")
                images = decode_crops(spec.crop_paths, size=spec.input_px, cancel=cancel)
                images = images.to(plan.device)
            reporter = UnitReporter(tracker, u.key)
            try:
                results.append(_run_fold(spec, plan, u.arch, u.fold, images,
                                         weight_files[u.arch], reporter, cancel))
            except Cancelled:
                tracker.cancelled(u.key)
                raise
            except Exception as exc:  # one unit fails, the others go on
                detail = describe_failure(exc, plan.device)
                log.debug("%s fold %d failed", u.arch, u.fold, exc_info=True)
                tracker.failed(u.key, detail)
                failures.append((u.arch, u.fold, detail))
                continue
            tracker.finished(u.key)
    return results, failures


def _completed_epochs(spec: CVSpec, arch: str, k: int) -> int:
    """Epochs already completed in a fold folder (``epochs + 1`` when the fold is done)."""
    d = fold_dir(spec.run_dir, arch, k)
    want = spec.fold_config(arch, k)
    path = d / "checkpoint.pt"
    if (d / "done.json").is_file():
        done = json.loads((d / "done.json").read_text())
        _check_config(done["config"], want, d)
        # the fold model must still be the one training wrote (refused before any work)
        verify_file(path, checkpoint_records(path, done=done), label=fold_label(spec, arch, k))
        return spec.epochs + 1
    if path.is_file():
        ckpt, _ = load_checkpoint(path, checkpoint_records(path), label=fold_label(spec, arch, k),
                                  required=("config", "epoch"), mmap=True)
        _check_config(ckpt["config"], want, d)
        return int(ckpt["epoch"])
    return 0


#: What a checkpoint to resume from holds besides the model.
_RESUME_KEYS = ("model", "config", "epoch", "optimizer", "lr_scheduler", "losses", "rng")


def fold_label(spec: CVSpec, arch: str, k: int) -> str:
    """How messages name a fold: ``"run 'demo-20250101-120000', resnet18 fold 2"``."""
    return f"run {spec.run_dir.name!r}, {arch} fold {k}"


def _check_config(have: dict[str, Any], want: dict[str, Any], d: Path) -> None:
    diffs = [f"{key}: {have.get(key)!r} there, {want.get(key)!r} now"
             for key in sorted(set(have) | set(want)) if have.get(key) != want.get(key)]
    if diffs:
        raise UserError(f"{d} was trained with different settings or data, so it cannot be "
                        f"resumed ({'; '.join(diffs[:3])})",
                        hint="start the run in a new folder")


def _finished_result(spec: CVSpec, arch: str, k: int) -> FoldResult:
    d = fold_dir(spec.run_dir, arch, k)
    done = json.loads((d / "done.json").read_text())
    return FoldResult(arch=arch, fold=k, dir=d, n_train=done["n_train"], n_test=done["n_test"],
                      epochs_trained=0, resumed_from_epoch=spec.epochs, already_done=True,
                      train_seconds=0.0, images_per_second=0.0,
                      epoch_losses=tuple(done["epoch_losses"]))


def _make_optimizer(spec: CVSpec, model: nn.Module) -> tuple[torch.optim.Optimizer, Any]:
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum,
                          weight_decay=spec.weight_decay)
    if spec.lr_schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=spec.epochs)
    elif spec.lr_schedule == "step":  # torchvision reference: x0.1 every 30 of 100 epochs
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, round(spec.epochs * 0.3)),
                                                gamma=0.1)
    else:
        sched = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    return opt, sched


def _run_fold(spec: CVSpec, plan: ExecPlan, arch: str, k: int, images: torch.Tensor,
              weights_file: Path | None, reporter: UnitReporter, cancel: CancelToken,
              worker: str = "") -> FoldResult:
    """Train and test one unit (``arch`` on fold ``k``), resuming from its checkpoint."""
    d = fold_dir(spec.run_dir, arch, k)
    d.mkdir(parents=True, exist_ok=True)
    train_idx, test_idx = fold_split(spec.folds, k)
    atomic_write_text(d / "split.json", json.dumps(
        {"fold": k, "train": [spec.photo_ids[i] for i in train_idx],
         "test": [spec.photo_ids[i] for i in test_idx]}, indent=0))
    config = spec.fold_config(arch, k)

    torch.manual_seed(derive_seed(spec.seed, arch, k, "init"))
    model = build_model(arch, num_outputs=spec.num_outputs, weights_path=weights_file)
    model = model.to(plan.device, memory_format=(
        torch.channels_last if plan.channels_last else torch.contiguous_format))
    optimizer, scheduler = _make_optimizer(spec, model)
    losses: list[float] = []
    start = 0
    ckpt_path = d / "checkpoint.pt"
    ckpt_sha = ""
    if ckpt_path.is_file():
        label = fold_label(spec, arch, k)
        ckpt, ckpt_sha = load_checkpoint(ckpt_path, checkpoint_records(ckpt_path), label=label,
                                         required=_RESUME_KEYS)
        shown = f"{label}: {ckpt_path}"
        load_state_checked(model, ckpt["model"], shown=shown)
        try:
            if ckpt["optimizer"] is not None:
                optimizer.load_state_dict(ckpt["optimizer"])
                scheduler.load_state_dict(ckpt["lr_scheduler"])
            start = int(ckpt["epoch"])
            losses = [float(x) for x in ckpt["losses"]][:start]
            set_rng_state(ckpt["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise UserError(f"{shown} cannot be resumed: its optimizer, epoch or random "
                            f"state is not what training writes ({type(exc).__name__})",
                            hint="start the run in a new folder") from None
        # losses.json follows the checkpoint (a kill may have come between the two writes)
        atomic_write_text(d / "losses.json", json.dumps({"epoch_losses": losses}))
        log.info("%s fold %d: resuming after epoch %d", arch, k, start)
    train_model: nn.Module = torch.compile(model) if plan.compile else model
    reporter.begin(worker)

    labels = torch.as_tensor(spec.labels, dtype=torch.int64, device=plan.device)
    train_t = torch.as_tensor(train_idx, dtype=torch.int64)
    criterion = nn.CrossEntropyLoss()
    augment = TrainPreset(size=spec.input_px, rotation_degrees=spec.rotation_degrees,
                          crop_scale=spec.crop_scale, hflip=spec.hflip,
                          autoaugment=spec.autoaugment, mean=spec.normalize_mean,
                          std=spec.normalize_std)
    evaluator = EvalPreset(size=spec.input_px, mean=spec.normalize_mean, std=spec.normalize_std)

    seconds = 0.0
    n_images = 0
    last_save = time.monotonic()
    for epoch in range(start, spec.epochs):
        torch.manual_seed(derive_seed(spec.seed, arch, k, "epoch", epoch))
        gen = torch.Generator().manual_seed(derive_seed(spec.seed, arch, k, "order", epoch))
        order = train_t.repeat(spec.copies)[torch.randperm(len(train_t) * spec.copies,
                                                           generator=gen)]

        def before_batch(i: int, n: int, epoch: int = epoch) -> None:
            cancel.raise_if_cancelled()
            reporter.batch(epoch, i, n)

        t0 = time.perf_counter()
        loss = train_one_epoch(train_model, criterion, optimizer, images, labels,
                               order.to(plan.device), batch_size=spec.batch_size,
                               transform=augment, plan=plan, before_batch=before_batch)
        scheduler.step()
        seconds += time.perf_counter() - t0
        n_images += sum(s.stop - s.start for s in batch_slices(len(order), spec.batch_size))
        losses.append(loss)
        last = epoch + 1 == spec.epochs
        if last or ((epoch + 1) % spec.checkpoint_every == 0
                    and time.monotonic() - last_save >= spec.checkpoint_seconds):
            # The last epoch's checkpoint is the fold model: no optimizer state (half size).
            ckpt_sha = save_checkpoint(ckpt_path, {
                "model": model.state_dict(),
                "optimizer": None if last else optimizer.state_dict(),
                "lr_scheduler": None if last else scheduler.state_dict(),
                "epoch": epoch + 1, "config": config, "losses": losses, "rng": rng_state()})
            last_save = time.monotonic()
        atomic_write_text(d / "losses.json", json.dumps({"epoch_losses": losses}))
        reporter.epoch_end(epoch, len(batch_slices(len(order), spec.batch_size)), loss)

    probs = evaluate(model, images[torch.as_tensor(test_idx, device=images.device)],
                     transform=evaluator, plan=plan)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["photo_id", "prob"])
    w.writerows([spec.photo_ids[i], repr(float(p))] for i, p in zip(test_idx, probs,
                                                                     strict=True))
    atomic_write_text(d / "oof.csv", buf.getvalue())
    ips = n_images / seconds if seconds > 0 else 0.0
    atomic_write_text(d / "done.json", json.dumps({
        "arch": arch, "fold": k, "n_train": len(train_idx), "n_test": len(test_idx),
        "epochs": spec.epochs, "epoch_losses": losses, "train_seconds": seconds,
        "images_per_second": ips, "plan": plan.as_dict(), "config": config,
        "checkpoint_sha256": ckpt_sha,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=1))
    return FoldResult(arch=arch, fold=k, dir=d, n_train=len(train_idx), n_test=len(test_idx),
                      epochs_trained=spec.epochs - start, resumed_from_epoch=start,
                      already_done=False, train_seconds=seconds, images_per_second=ips,
                      epoch_losses=tuple(losses))
