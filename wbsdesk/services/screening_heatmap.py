"""Grad-CAM of a screened photo: which model and folds it comes from, and how far to trust it.

:func:`gradcam_of_crop` explains an aligned model crop with one architecture of a run,
either the mean over its fold models or a single fold, and says what the map is: the
architecture, the folds, the run, the target group, the feature map read and how it was
weighted (:func:`wbsdesk.ml.explain.cam_map`: ResNet-18's last block is 2 x 2 at a 64 px
input, so its 8 x 8 ``layer2`` is read, with LayerCAM weights; a map that is still too
coarse to localise gets a warning), and how the heat lies on the face
(:func:`wbsdesk.core.heatmaps.heat_focus`). :func:`screening_heatmap` is the same as a job
function on PNG bytes, for the Screening view's model/fold choice.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from wbsdesk.core.architectures import arch_label
from wbsdesk.core.heatmaps import (
    HeatFocus,
    cam_read_text,
    coarse_map_warning,
    folds_text,
    heat_focus,
)
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import UserError
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run, stored_checkpoint_hashes
from wbsdesk.services.workspace import Workspace, open_workspace

__all__ = ["GradCam", "gradcam_of_crop", "load_arch_models", "overlay_png", "screening_heatmap"]


@dataclass(frozen=True)
class GradCam:
    """What a Grad-CAM heatmap shows and where it comes from.

    Attributes
    ----------
    arch : str
        Registry name of the architecture.
    folds : list of int
        The fold models averaged (one fold: that fold's model alone).
    available_folds : list of int
        Every finished fold model of ``arch`` in the run.
    run : str
    target : str
        The group whose logit is explained (the positive group's label).
    feature_map : (int, int)
        Rows and columns of the map read.
    input_px : int
        The models' input side.
    layer : str
        The module read (dotted path).
    method : str
        ``"Grad-CAM"`` (the last block) or ``"LayerCAM"`` (an earlier stage).
    last_grid : (int, int) or None
        The last block's map when an earlier layer was read.
    warning : str or None
        The feature map is too coarse to localise.
    focus : HeatFocus
        Heat on the template face against its area, and the map's spread.
    """

    arch: str
    folds: list[int]
    available_folds: list[int]
    run: str
    target: str
    feature_map: tuple[int, int]
    input_px: int
    warning: str | None
    focus: HeatFocus
    layer: str
    method: str
    last_grid: tuple[int, int] | None = None

    @property
    def folds_phrase(self) -> str:
        """``"mean of folds 1–5"`` or ``"fold 2 alone"``."""
        which = folds_text(self.folds)
        return f"mean of {which}" if len(self.folds) > 1 else f"{which} alone"

    @property
    def source(self) -> str:
        """E.g. ``"mean of folds 1–5 of ResNet-18, run R"``."""
        return f"{self.folds_phrase} of {arch_label(self.arch)}, run {self.run}"

    @property
    def read_text(self) -> str:
        """Which feature map was read, and how (:func:`~wbsdesk.core.heatmaps.cam_read_text`)."""
        return cam_read_text(self.method, self.layer, self.feature_map, self.input_px,
                             self.last_grid)

    def caption(self) -> str:
        """Plain-text description: model, folds, run, target, feature map, focus."""
        focus = self.focus.text()
        return (f"Grad-CAM of {arch_label(self.arch)} ({self.folds_phrase}, run {self.run}) "
                f"for “{self.target}”; {self.read_text}. {focus[:1].upper()}{focus[1:]}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return {"architecture": self.arch, "architecture_label": arch_label(self.arch),
                "folds": list(self.folds), "available_folds": list(self.available_folds),
                "run": self.run, "target": self.target, "source": self.source,
                "feature_map": list(self.feature_map), "input_px": self.input_px,
                "layer": self.layer, "method": self.method,
                "last_feature_map": None if self.last_grid is None else list(self.last_grid),
                "warning": self.warning, "focus": self.focus.to_dict()}


def load_arch_models(ws: Workspace, study: str, run: str | None, arch: str, *,
                     device: str = "cpu") -> tuple[Any, list[Any]]:
    """The run row and the verified fold models of one architecture of it."""
    from wbsdesk.ml.infer import load_fold_models

    st = load_study(ws, study)
    row = get_run(ws, st, run)
    if arch not in row.archs:
        raise UserError(f"run {row.name!r} has no architecture {arch!r}",
                        hint=f"choose one of: {', '.join(row.archs)}")
    stored = {k: v for (a, k), v in stored_checkpoint_hashes(ws, row).items() if a == arch}
    return row, load_fold_models(ws.root / row.run_dir, arch, device, stored_sha256=stored)


def gradcam_of_crop(fold_models: Sequence[Any], crop: Image.Image, *, run: str, target: str,
                    fold: int | None = None) -> tuple[np.ndarray, GradCam]:
    """Grad-CAM of an aligned model crop: the mean over fold models, or one fold's.

    Parameters
    ----------
    fold_models : sequence of wbsdesk.ml.infer.FoldModel
        One architecture's fold models (verified, eval mode).
    crop : PIL.Image.Image
        The aligned model crop.
    run : str, keyword-only
    target : str, keyword-only
        Display label of the positive group.
    fold : int, optional, keyword-only
        Only this fold's model (default: the mean over all of them).

    Returns
    -------
    heat : numpy.ndarray of shape (input_px, input_px)
        Values 0..1 (the mean of the fold maps).
    info : GradCam

    Raises
    ------
    UserError
        ``fold`` is not a finished fold of the architecture.
    """
    from wbsdesk.ml.data import preprocess
    from wbsdesk.ml.explain import cam_map

    available = [int(fm.fold) for fm in fold_models]
    chosen = list(fold_models)
    if fold is not None:
        chosen = [fm for fm in fold_models if int(fm.fold) == int(fold)]
        if not chosen:
            raise UserError(f"{arch_label(fold_models[0].arch)} of run {run!r} has no "
                            f"finished fold {fold}",
                            hint=f"choose one of: {', '.join(map(str, available))}")
    maps = []
    for fm in chosen:
        x = preprocess(crop, size=fm.input_px, mean=fm.config["normalize_mean"],
                       std=fm.config["normalize_std"])
        heat, choice = cam_map(fm.model, x)
        maps.append(heat)
    heat = np.mean(maps, axis=0).astype(np.float32)
    first = chosen[0]
    info = GradCam(arch=first.arch, folds=[int(fm.fold) for fm in chosen],
                   available_folds=available, run=run, target=target, feature_map=choice.grid,
                   input_px=first.input_px,
                   warning=coarse_map_warning(choice.grid, first.input_px),
                   focus=heat_focus(heat), layer=choice.layer, method=choice.method,
                   last_grid=None if choice.is_last else choice.last_grid)
    return heat, info


def overlay_png(crop: Image.Image, heat: np.ndarray) -> bytes:
    """The Grad-CAM overlay on the crop, as PNG bytes."""
    from wbsdesk.ml.explain import overlay

    buf = io.BytesIO()
    overlay(crop, heat).save(buf, "PNG")
    return buf.getvalue()


def screening_heatmap(root: Path, name: str, crop_png: bytes, *, run: str, arch: str,
                      fold: int | None = None, device: str = "auto",
                      progress: ProgressFn = no_progress,
                      cancel: CancelToken | None = None) -> tuple[bytes, GradCam]:
    """Recompute a screened photo's Grad-CAM with another architecture or fold (a job).

    Parameters
    ----------
    root : Path
        The workspace folder (the job opens its own connection).
    name : str
        The study.
    crop_png : bytes
        The aligned model crop (PNG) the photo was scored on.
    run, arch : str, keyword-only
    fold : int, optional, keyword-only
        One fold's model (default: the mean over the architecture's fold models).
    device : str, keyword-only
    progress, cancel : keyword-only
        The job contract.

    Returns
    -------
    (bytes, GradCam)
        The overlay PNG and what it shows.
    """
    cancel = cancel or CancelToken()
    progress(Progress(0, 2, f"loading the {arch_label(arch)} models"))
    with open_workspace(root) as ws:
        st = load_study(ws, name)
        target = st.protocol.groups.label(st.protocol.groups.positive)
        row, models = load_arch_models(ws, name, run, arch, device=device)
    cancel.raise_if_cancelled()
    progress(Progress(1, 2, f"Grad-CAM of {arch_label(arch)}"))
    with Image.open(io.BytesIO(crop_png), formats=["PNG"]) as im:
        crop = im.convert("RGB")
    heat, info = gradcam_of_crop(models, crop, run=row.name, target=target, fold=fold)
    png = overlay_png(crop, heat)
    progress(Progress(2, 2, "done"))
    return png, info

