"""Predicting one new photo with a study's trained run: align, every fold model, Grad-CAM."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wbsdesk.errors import UserError
from wbsdesk.services.faces import face_settings
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)


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
                  device: str = "cpu") -> PhotoPrediction:
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
          "reader_face_area": tuple(s["reader_face_area"]), "min_side_px": s["min_side_px"]}
    if box is not None:
        res = faces.manual_align(photo, box=box, **kw)
    else:
        res = faces.align_photo(photo, min_confidence=s["min_confidence"],
                                min_face_px=s["min_face_px"],
                                detect_max_side=s["detect_max_side"], **kw)
    if res.model_crop is None:
        raise UserError(f"{photo}: no face found", hint="give the face box with --box x,y,w,h")
    models = load_run_models(ws.root / row.run_dir, device=device)
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
