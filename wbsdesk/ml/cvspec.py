"""The cross-validation spec, its results, and the run folder's file helpers.

See :mod:`wbsdesk.ml.cv` for the run folder layout and :func:`~wbsdesk.ml.cv.run_cv`.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from wbsdesk.core.protocol import Augmentation, Training
from wbsdesk.ml.registry import arch_spec
from wbsdesk.ml.train import ExecPlan

__all__ = ["CVSpec", "CVSummary", "FoldResult", "fold_dir", "fold_split", "plain", "read_oof"]

# Spec fields that change what is trained (compared on resume); the rest is execution only.
_EXEC_FIELDS = ("run_dir", "device", "bf16", "channels_last", "compile", "num_threads",
                "deterministic", "checkpoint_every", "checkpoint_seconds", "fold_subset",
                "photo_ids", "crop_paths", "labels", "folds", "archs", "workers", "devices",
                "ray_address")


@dataclass(frozen=True)
class CVSpec:
    """Everything :func:`run_cv` needs; build it with :meth:`from_protocol` in services.

    ``photo_ids``, ``crop_paths``, ``labels`` (0/1, 1 = positive group) and ``folds``
    (1..k; photos of one subject share a fold, decided by the caller) are parallel.
    ``weights_dir`` is the folder holding torchvision's ImageNet files (normally
    :func:`wbsdesk.ml.weights.cache_dir`), or None to train from scratch. ``copies`` is the
    paper's "augmented twice": every epoch shows each training photo ``copies`` times, each
    an independent random view (see :mod:`wbsdesk.ml.augment`). ``extra`` is free-form
    plain data stored in every fold's config (e.g. study and run ids).

    Execution fields (not compared when a run resumes): ``device`` ("auto" | "cpu" |
    "cuda"), ``deterministic`` (exact fp32, reproducible resume), ``bf16`` (None = auto),
    ``channels_last`` (None = on unless deterministic), ``compile`` (CUDA only),
    ``num_threads`` (CPU threads; None = torch's default) and ``checkpoint_every`` (epochs
    between checkpoints, 1 = every epoch; a larger value saves disk writes, e.g. 1.1 GB per
    VGG checkpoint, and a resume then restarts from the last multiple - with the same
    result, since every epoch is seeded on its own), and ``checkpoint_seconds`` (the least
    time between two checkpoints: 0 = as ``checkpoint_every`` says; on a GPU, where an
    epoch takes a fraction of a second, a minimum interval keeps the run from spending its
    time writing checkpoints, and a crash then costs at most that much training). The last
    epoch's checkpoint, the fold model, is always written. ``fold_subset`` (None = all)
    limits a call of :func:`~wbsdesk.ml.cv.run_cv` to some folds, so that several processes
    can train the folds of one run folder side by side. ``workers`` is how many units
    (architecture x fold) train at once on this machine (1 = one after another in this
    process; None = chosen from memory and cores, see :mod:`wbsdesk.ml.scheduler`),
    ``devices`` the GPUs they are spread over (``("cuda:0", "cuda:1")``; empty = every
    visible one), and ``ray_address`` runs them as Ray tasks instead
    (:mod:`wbsdesk.ml.ray_runner`). None of these changes what is trained.
    """

    run_dir: Path
    archs: tuple[str, ...]
    photo_ids: tuple[str, ...]
    crop_paths: tuple[Path, ...]
    labels: tuple[int, ...]
    folds: tuple[int, ...]
    epochs: int = 100
    batch_size: int = 16
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lr_schedule: str = "constant"
    input_px: int = 224
    num_outputs: int = 2
    copies: int = 2
    rotation_degrees: float = 15.0
    crop_scale: tuple[float, float] = (0.8, 1.0)
    hflip: bool = True
    autoaugment: str = "imagenet"
    normalize_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    normalize_std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    seed: int = 2021
    device: str = "auto"
    weights_dir: Path | None = None
    deterministic: bool = False
    bf16: bool | None = None
    channels_last: bool | None = None
    compile: bool = False
    num_threads: int | None = None
    checkpoint_every: int = 1
    checkpoint_seconds: float = 0.0
    fold_subset: tuple[int, ...] | None = None
    workers: int | None = 1
    devices: tuple[str, ...] = ()
    ray_address: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("archs", "photo_ids", "crop_paths", "labels", "folds", "crop_scale",
                     "normalize_mean", "normalize_std", "devices"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "photo_ids", tuple(str(p) for p in self.photo_ids))
        object.__setattr__(self, "crop_paths", tuple(Path(p) for p in self.crop_paths))
        object.__setattr__(self, "run_dir", Path(self.run_dir))
        if self.weights_dir is not None:
            object.__setattr__(self, "weights_dir", Path(self.weights_dir))
        n = len(self.photo_ids)
        if not (len(self.crop_paths) == len(self.labels) == len(self.folds) == n):
            raise ValueError("photo_ids, crop_paths, labels and folds must have equal lengths")
        if len(set(self.photo_ids)) != n:
            raise ValueError("photo_ids must be unique")
        if not set(self.labels) <= {0, 1}:
            raise ValueError("labels must be 0 or 1")
        if len(set(self.folds)) < 2 or min(self.folds, default=1) < 1:
            raise ValueError("folds must be numbers >= 1, with at least two different folds")
        if not self.archs:
            raise ValueError("no architecture to train")
        for a in self.archs:
            arch_spec(a)
        if self.checkpoint_every < 1:
            raise ValueError("checkpoint_every must be >= 1")
        if self.fold_subset is not None:
            object.__setattr__(self, "fold_subset", tuple(int(k) for k in self.fold_subset))
            if not set(self.fold_subset) <= set(self.folds):
                raise ValueError(f"fold_subset {self.fold_subset} names folds not in the data")
        if not self.checkpoint_seconds >= 0:
            raise ValueError("checkpoint_seconds must be >= 0")
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be >= 1 (or None: chosen here)")
        if self.lr_schedule not in ("constant", "cosine", "step"):
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}")

    @classmethod
    def from_protocol(cls, training: Training, augmentation: Augmentation, *,
                      run_dir: Path, photo_ids: Sequence[str], crop_paths: Sequence[Path],
                      labels: Sequence[int], folds: Sequence[int],
                      weights_dir: Path | str | None = "default", **options: Any) -> CVSpec:
        """Spec from the protocol's ``[training]`` and ``[augmentation]`` tables.

        ``weights_dir="default"`` means torchvision's cache when ``training.init`` is
        ``"imagenet"`` and None (from scratch) when it is ``"none"``. ``options`` sets
        execution fields (``device``, ``deterministic``, ``bf16``, ``channels_last``,
        ``compile``, ``num_threads``) or overrides any other field.
        """
        if weights_dir == "default":
            from wbsdesk.ml.weights import cache_dir

            weights_dir = cache_dir() if training.init == "imagenet" else None
        values: dict[str, Any] = {
            "run_dir": run_dir, "archs": training.architectures, "photo_ids": photo_ids,
            "crop_paths": crop_paths, "labels": labels, "folds": folds,
            "epochs": training.epochs, "batch_size": training.batch_size, "lr": training.lr,
            "momentum": training.momentum, "weight_decay": training.weight_decay,
            "lr_schedule": training.lr_schedule, "input_px": training.input_px,
            "num_outputs": training.num_outputs, "seed": training.seed,
            "copies": augmentation.copies, "rotation_degrees": augmentation.rotation_degrees,
            "crop_scale": augmentation.crop_scale, "hflip": augmentation.hflip,
            "autoaugment": augmentation.autoaugment,
            "normalize_mean": augmentation.normalize_mean,
            "normalize_std": augmentation.normalize_std, "weights_dir": weights_dir,
        }
        values.update(options)
        return cls(**values)

    @property
    def fold_numbers(self) -> list[int]:
        """The distinct fold numbers, ascending."""
        return sorted(set(self.folds))

    def data_fingerprint(self) -> str:
        """SHA-256 of photo ids, labels and folds (which photos train and test each fold)."""
        text = json.dumps([self.photo_ids, self.labels, self.folds])
        return hashlib.sha256(text.encode()).hexdigest()

    def fold_config(self, arch: str, fold: int) -> dict[str, Any]:
        """Plain configuration stored in a fold's checkpoint (rebuilds and checks the model)."""
        cfg = {f.name: plain(getattr(self, f.name)) for f in fields(self)
               if f.name not in _EXEC_FIELDS}
        cfg["weights_dir"] = None if self.weights_dir is None else "imagenet"
        cfg.update(arch=arch, fold=fold, k=len(self.fold_numbers),
                   data_sha256=self.data_fingerprint(),
                   weights_file=arch_spec(arch).weights_file if self.weights_dir else None)
        return cfg

    def as_dict(self) -> dict[str, Any]:
        """Plain form of the whole spec (``run.json``)."""
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}


def plain(v: Any) -> Any:
    """Paths to str, tuples to lists, recursively (JSON-ready)."""
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple | list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class FoldResult:
    """One trained fold: timings of this call (zero when it was already done) and losses."""

    arch: str
    fold: int
    dir: Path
    n_train: int
    n_test: int
    epochs_trained: int
    resumed_from_epoch: int
    already_done: bool
    train_seconds: float
    images_per_second: float
    epoch_losses: tuple[float, ...]


@dataclass(frozen=True)
class CVSummary:
    """What :func:`run_cv` did; ``oof[arch][photo_id]`` is the held-out P(class 1)."""

    run_dir: Path
    plan: ExecPlan
    folds: tuple[FoldResult, ...]
    oof: dict[str, dict[str, float]]
    seconds: float

    def arch_timings(self) -> dict[str, dict[str, float]]:
        """Per architecture: training seconds and images per second over folds run now."""
        out: dict[str, dict[str, float]] = {}
        for arch in self.oof:
            rows = [f for f in self.folds if f.arch == arch and f.train_seconds > 0]
            secs = sum(f.train_seconds for f in rows)
            imgs = sum(f.images_per_second * f.train_seconds for f in rows)
            out[arch] = {"train_seconds": secs, "images_per_second": imgs / secs if secs else 0}
        return out

    def as_dict(self) -> dict[str, Any]:
        """Plain form (for ``--json`` output and logs)."""
        return {"run_dir": str(self.run_dir), "plan": self.plan.as_dict(),
                "seconds": self.seconds, "archs": self.arch_timings(),
                "folds": [{**plain(vars(f))} for f in self.folds]}


def fold_dir(run_dir: Path, arch: str, fold: int) -> Path:
    """``run_dir/<arch>/fold<k>``."""
    return Path(run_dir) / arch / f"fold{fold}"


def fold_split(folds: Sequence[int], fold: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training photos (all other folds) and test photos (this fold).

    Examples
    --------
    >>> tr, te = fold_split([1, 2, 1, 2], 1)
    >>> tr.tolist(), te.tolist()
    ([1, 3], [0, 2])
    """
    f = np.asarray(folds)
    return np.flatnonzero(f != fold), np.flatnonzero(f == fold)


def read_oof(path: Path) -> dict[str, float]:
    """Read an ``oof.csv`` (photo_id, prob) into a dict."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["photo_id"]: float(row["prob"]) for row in csv.DictReader(fh)}
