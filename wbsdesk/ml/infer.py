"""Predictions from a finished cross-validation run: fold models and their ensemble.

Every finished fold (``done.json`` present) of an architecture is one model; a crop's
probability for an architecture is the mean of its fold models' softmax P(class 1), and the
ensemble probability is the mean over architectures. Models are rebuilt from their
checkpoints alone (the checkpoint carries its configuration), after the checkpoint's SHA-256
is checked against ``done.json`` (and the workspace database's record, when the caller
passes it): a replaced, planted or damaged checkpoint is refused, never loaded.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import UserError
from wbsdesk.ml.augment import EvalPreset
from wbsdesk.ml.checkpoints import checkpoint_records, load_checkpoint, load_state_checked
from wbsdesk.ml.data import PathLike, decode_crops
from wbsdesk.ml.registry import ARCH_ATTR, build_model
from wbsdesk.ml.train import plan_execution

__all__ = ["FoldModel", "Predictions", "load_fold_models", "load_run_models", "predict_crops"]

log = logging.getLogger(__name__)
_FOLD_DIR = re.compile(r"fold(\d+)")


@dataclass(frozen=True)
class FoldModel:
    """One fold's trained model (eval mode) with the configuration it was trained with."""

    arch: str
    fold: int
    model: nn.Module
    config: dict[str, Any]

    @property
    def input_px(self) -> int:
        """Input side the model was trained at."""
        return int(self.config["input_px"])

    def eval_transform(self) -> EvalPreset:
        """The evaluation transform of this model (size and normalisation of training)."""
        return EvalPreset(size=self.input_px, mean=self.config["normalize_mean"],
                          std=self.config["normalize_std"])


@dataclass(frozen=True)
class Predictions:
    """P(class 1) per crop: per fold model, per architecture (fold mean) and the ensemble."""

    per_fold: dict[str, np.ndarray]
    per_arch: dict[str, np.ndarray]
    ensemble: np.ndarray


def load_fold_models(run_dir: PathLike, arch: str, device: str = "cpu", *,
                     stored_sha256: Mapping[int, str] | None = None) -> list[FoldModel]:
    """Load every finished fold model of ``arch`` from a run folder, each verified first.

    Parameters
    ----------
    run_dir : path
        The folder :func:`wbsdesk.ml.cv.run_cv` wrote.
    arch : str
        Architecture name (a sub-folder of ``run_dir``).
    device : {"cpu", "cuda", "auto"}
        Where the models are put.
    stored_sha256 : mapping of int to str, optional, keyword-only
        Fold -> the checkpoint SHA-256 the workspace database recorded; a fold's file must
        match it as well as its ``done.json``.

    Returns
    -------
    list of FoldModel
        In fold order, each in eval mode on ``device``.

    Raises
    ------
    UserError
        When the run has no finished fold for ``arch``, or a fold's checkpoint does not
        match its recorded SHA-256, cannot be read or does not fit its architecture (the
        message names the run, architecture, fold and file).
    """
    dev = plan_execution(device).device
    root = Path(run_dir) / arch
    dirs = sorted((int(m.group(1)), p) for p in (root.iterdir() if root.is_dir() else [])
                  if (m := _FOLD_DIR.fullmatch(p.name)) and (p / "done.json").is_file())
    if not dirs:
        raise UserError(f"{root}: no finished fold model for {arch}",
                        hint="train the run to the end first")
    stored = stored_sha256 or {}
    out = []
    for fold, d in dirs:
        label = f"run {Path(run_dir).name!r}, {arch} fold {fold}"
        path = d / "checkpoint.pt"
        try:
            done = json.loads((d / "done.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{label}: {d / 'done.json'} is unreadable ({exc})") from None
        records = checkpoint_records(path, done=done if isinstance(done, dict) else None,
                                     stored=stored.get(fold))
        ckpt, _ = load_checkpoint(path, records, label=label)
        cfg = ckpt["config"]
        if cfg["arch"] != arch:
            raise UserError(f"{label}: {path} holds a {cfg['arch']} model, not {arch}",
                            hint="restore the run folder from a backup, or train a new run")
        try:
            with torch.device("meta"):
                model = build_model(cfg["arch"], num_outputs=int(cfg.get("num_outputs", 2)))
        except (TypeError, ValueError) as exc:
            raise UserError(f"{label}: {path} names no model that can be built "
                            f"({type(exc).__name__})") from None
        load_state_checked(model, ckpt["model"], shown=f"{label}: {path}", assign=True)
        setattr(model, ARCH_ATTR, cfg["arch"])
        out.append(FoldModel(arch=cfg["arch"], fold=fold, model=model.to(dev).eval(),
                             config=cfg))
    return out


def load_run_models(run_dir: PathLike, archs: Sequence[str] | None = None,
                    device: str = "cpu", *,
                    stored_sha256: Mapping[tuple[str, int], str] | None = None
                    ) -> dict[str, list[FoldModel]]:
    """:func:`load_fold_models` for several architectures (default: every one in the run).

    ``stored_sha256`` maps ``(arch, fold)`` to the checkpoint SHA-256 the workspace database
    recorded.
    """
    root = Path(run_dir)
    if archs is None:
        archs = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        archs = [a for a in archs if any((root / a).glob("fold*/done.json"))]
    if not archs:
        raise UserError(f"{root}: no finished fold model", hint="train the run first")
    stored = stored_sha256 or {}
    return {a: load_fold_models(root, a, device,
                                stored_sha256={k: v for (b, k), v in stored.items() if b == a})
            for a in archs}


@torch.inference_mode()
def predict_crops(models: PathLike | Mapping[str, Sequence[FoldModel]],
                  crops: Sequence[PathLike] | torch.Tensor, *,
                  archs: Sequence[str] | None = None, device: str = "cpu",
                  batch_size: int = 32, progress: ProgressFn = no_progress,
                  cancel: CancelToken | None = None) -> Predictions:
    """Probability of class 1 for crops: per fold model, per architecture and the ensemble.

    Parameters
    ----------
    models : path or mapping
        A run folder (its finished folds are loaded on ``device``), or what
        :func:`load_run_models` returned (re-used, e.g. across GUI calls).
    crops : sequence of path, length N, or uint8 tensor of shape (N, 3, H, W)
        Crop files (decoded at each model's input size) or decoded crops (resized when their
        size differs).
    archs : sequence of str, optional, keyword-only
        Architectures to use (default: all).
    device : str, keyword-only
        Used when ``models`` is a path.
    batch_size : int, keyword-only
    progress : callable, keyword-only
        ``Progress(done, total)`` in fold models.
    cancel : CancelToken, optional, keyword-only
        Checked once per batch.

    Returns
    -------
    Predictions
        ``per_fold[arch]`` of shape (n_folds, N), ``per_arch[arch]`` (N,) = mean over folds,
        ``ensemble`` (N,) = mean over architectures.
    """
    loaded = (dict(models) if isinstance(models, Mapping)
              else load_run_models(models, archs, device))
    if archs is not None:
        loaded = {a: loaded[a] for a in archs}
    decoded: dict[int, torch.Tensor] = {}
    total = sum(len(v) for v in loaded.values())
    done = 0
    per_fold: dict[str, np.ndarray] = {}
    for arch, fold_models in loaded.items():
        rows = []
        for fm in fold_models:
            if isinstance(crops, torch.Tensor):
                images = crops
            else:
                if fm.input_px not in decoded:
                    decoded[fm.input_px] = decode_crops(crops, size=fm.input_px, cancel=cancel)
                images = decoded[fm.input_px]
            dev = next(fm.model.parameters()).device
            transform = fm.eval_transform()
            probs = []
            for i in range(0, len(images), batch_size):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                x = transform(images[i:i + batch_size].to(dev))
                probs.append(torch.softmax(fm.model(x).float(), dim=1)[:, 1].double().cpu())
            rows.append(torch.cat(probs).numpy() if probs else np.zeros(0))
            done += 1
            progress(Progress(done, total, f"{arch} fold {fm.fold}"))
        per_fold[arch] = np.stack(rows)
    per_arch = {a: p.mean(axis=0) for a, p in per_fold.items()}
    ensemble = np.mean(np.stack(list(per_arch.values())), axis=0)
    return Predictions(per_fold=per_fold, per_arch=per_arch, ensemble=ensemble)
