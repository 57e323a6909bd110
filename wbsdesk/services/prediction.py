"""Predicting one new photo with a study's trained run: align, every fold model, Grad-CAM.

Research use only: a prediction is not a diagnosis. Nothing is stored in the workspace;
:func:`screen_photo` (the GUI's screening job) keeps the Grad-CAM overlay and the aligned
crop in memory, and :func:`save_screening` writes them only where the user asks.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import UserError
from wbsdesk.services.faces import face_settings
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run, stored_checkpoint_hashes
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

#: The notice that goes with every prediction (screen, JSON file).
RESEARCH_ONLY = "Research use only — not a diagnosis."


class NoFaceError(UserError):
    """Face detection found no face on the photo (a hand-drawn box can stand in)."""


@dataclass(frozen=True)
class PhotoPrediction:
    """Per-architecture mean probability (over its fold models) and the ensemble."""

    study: str
    run: str
    photo: str
    face_status: str
    face_reasons: list[str]
    per_arch: dict[str, float]
    per_fold: dict[str, list[float]]
    ensemble: float
    positive_group: str
    heatmap: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        return dict(self.__dict__)


def predict_photo(ws: Workspace, name: str, photo: Path, *, run: str | None = None,
                  heatmap: Path | None = None, box: list[float] | None = None,
                  device: str = "cpu", crop: Path | None = None) -> PhotoPrediction:
    """Align a new photo and score it with every fold model of every architecture of a run.

    Nothing is stored in the workspace. Research use only: this is not a diagnosis.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study whose run is used.
    photo : Path
        A photo from outside the study.
    run : str, optional, keyword-only
        The run (default: the study's latest finished run).
    heatmap : Path, optional, keyword-only
        Write a Grad-CAM overlay on the model crop here (PNG), from the ensemble's first
        architecture, averaged over its fold models.
    box : list of 4 floats, optional, keyword-only
        A manual face box ``x, y, w, h`` when detection fails.
    device : str, keyword-only
    crop : Path, optional, keyword-only
        Also write the aligned model crop here (PNG).

    Raises
    ------
    NoFaceError
        When no face was detected (and no ``box`` given).
    """
    import torch

    from wbsdesk.ml import faces
    from wbsdesk.ml.data import load_crop, preprocess
    from wbsdesk.ml.explain import gradcam, overlay
    from wbsdesk.ml.infer import load_run_models, predict_crops

    study = load_study(ws, name)
    row = get_run(ws, study, run)
    s = face_settings(study)
    kw = {"model_crop_px": s["model_crop_px"], "reader_crop_px": s["reader_crop_px"],
          "reader_face_area": tuple(s["reader_face_area"]), "min_side_px": s["min_side_px"],
          "padding": s["padding"]}
    if box is not None:
        res = faces.manual_align(photo, box=box, **kw)
    else:
        res = faces.align_photo(photo, min_confidence=s["min_confidence"],
                                min_face_px=s["min_face_px"],
                                detect_max_side=s["detect_max_side"], **kw)
    if res.model_crop is None:
        raise NoFaceError(f"{photo}: no face found", hint="give the face box with --box x,y,w,h")
    if crop is not None:
        res.model_crop.save(crop, "PNG")
    models = load_run_models(ws.root / row.run_dir, device=device,
                             stored_sha256=stored_checkpoint_hashes(ws, row))
    pixels = load_crop(res.model_crop, size=s["model_crop_px"])
    crop = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).contiguous()
    preds = predict_crops(models, crop)
    out_heat = None
    if heatmap is not None:
        arch = next(iter(models))
        maps = []
        for fm in models[arch]:
            x = preprocess(res.model_crop, size=fm.input_px, mean=fm.config["normalize_mean"],
                           std=fm.config["normalize_std"])
            maps.append(gradcam(fm.model, x))
        heat = np.mean(maps, axis=0)
        overlay(res.model_crop, heat).save(heatmap, "PNG")
        out_heat = str(heatmap)
    return PhotoPrediction(
        study=name, run=row.name, photo=str(photo), face_status=res.status,
        face_reasons=list(res.reasons),
        per_arch={a: float(v[0]) for a, v in preds.per_arch.items()},
        per_fold={a: [float(x) for x in v[:, 0]] for a, v in preds.per_fold.items()},
        ensemble=float(preds.ensemble[0]), positive_group=study.protocol.groups.positive,
        heatmap=out_heat)


@dataclass(frozen=True)
class ScreeningResult:
    """What :func:`screen_photo` found: a prediction with its images, or no face.

    ``heatmap_png`` is the Grad-CAM overlay on the aligned crop and ``crop_png`` the
    aligned crop, both PNG bytes (kept in memory, never in the workspace).
    """

    photo: str
    no_face: bool
    prediction: PhotoPrediction | None = None
    heatmap_png: bytes | None = None
    crop_png: bytes | None = None
    box: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a saved result (without the images)."""
        out: dict[str, Any] = {"notice": RESEARCH_ONLY, "photo": self.photo,
                               "no_face": self.no_face,
                               "manual_box": list(self.box) if self.box else None}
        if self.prediction is not None:
            out.update(self.prediction.to_dict())
        return out


def screen_photo(root: Path, name: str, photo: Path, *, run: str | None = None,
                 box: list[float] | None = None, device: str = "auto",
                 progress: ProgressFn = no_progress,
                 cancel: CancelToken | None = None) -> ScreeningResult:
    """Align and score one photo from outside the study (a job function); stores nothing.

    Parameters
    ----------
    root : Path
        The workspace folder (the job opens its own connection, read-only use).
    name : str
        The study whose run scores the photo.
    photo : Path
    run : str, optional, keyword-only
        Default: the study's latest finished run.
    box : list of 4 floats, optional, keyword-only
        A hand-drawn face box ``x, y, w, h`` (upright photo pixels).
    device : {"auto", "cpu", "cuda"}, keyword-only
    progress, cancel : keyword-only
        The job contract.

    Returns
    -------
    ScreeningResult
        ``no_face=True`` (and no prediction) when detection found no face.
    """
    cancel = cancel or CancelToken()
    progress(Progress(0, 1, "finding the face and scoring"))
    # The crop and heat map pass through the workspace's private tmp/ (user-only), not the
    # system temporary folder, and are deleted at once.
    with open_workspace(root) as ws, \
            tempfile.TemporaryDirectory(prefix="screen-", dir=ws.tmp_dir) as tmp:
        heat, crop = Path(tmp) / "gradcam.png", Path(tmp) / "crop.png"
        try:
            pred = predict_photo(ws, name, Path(photo), run=run, heatmap=heat, box=box,
                                 device=device, crop=crop)
        except NoFaceError:
            return ScreeningResult(photo=str(photo), no_face=True)
        cancel.raise_if_cancelled()
        result = ScreeningResult(
            photo=str(photo), no_face=False,
            prediction=PhotoPrediction(**{**pred.__dict__, "heatmap": None}),
            heatmap_png=heat.read_bytes(), crop_png=crop.read_bytes(),
            box=tuple(float(v) for v in box) if box is not None else None)
    progress(Progress(1, 1, "scored"))
    return result


def save_screening(result: ScreeningResult, path: Path) -> list[Path]:
    """Write a screening result where the user chose: ``path`` (JSON) and, next to it,
    ``<stem>-gradcam.png`` and ``<stem>-crop.png``.

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    if path.suffix.lower() != ".json":
        path = path.with_suffix(".json")
    written = []
    data = result.to_dict()
    for key, blob in (("gradcam", result.heatmap_png), ("crop", result.crop_png)):
        if blob:
            img = path.with_name(f"{path.stem}-{key}.png")
            img.write_bytes(blob)
            data[f"{key}_png"] = img.name
            written.append(img)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return [path, *written]
