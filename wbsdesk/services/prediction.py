"""Predicting one new photo with a study's trained run: align, every fold model, Grad-CAM.

Research use only: a prediction is not a diagnosis. Nothing is stored in the workspace;
:func:`screen_photo` (the GUI's screening job) keeps the Grad-CAM overlay and the aligned
crop in memory, and :func:`save_screening` writes them only where the user asks.

Every prediction carries the out-of-distribution checks of
:mod:`wbsdesk.services.screening_checks` (an adult, a different capture, a face detected
less surely than the study's) as warnings and notes, and a Grad-CAM says which model and
folds it comes from and whether its feature map is too coarse to localise
(:mod:`wbsdesk.services.screening_heatmap`).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.core.screening_checks import StudyReference, screening_checks
from wbsdesk.errors import UserError
from wbsdesk.services.faces import face_settings
from wbsdesk.services.screening_heatmap import GradCam
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run, stored_checkpoint_hashes
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

#: The notice that goes with every prediction (screen, JSON file).
RESEARCH_ONLY = "Research use only — not a diagnosis."


class NoFaceError(UserError):
    """Face detection found no face on the photo (a hand-drawn box can stand in)."""


def _order(archs: list[str]) -> Any:
    """Sort key: the run's (protocol's) architecture order, unknown ones last."""
    return lambda a: (archs.index(a) if a in archs else len(archs), a)


@dataclass(frozen=True)
class PhotoPrediction:
    """Per-architecture mean probability (over its fold models), the ensemble, the checks.

    ``warnings`` say how the photo differs from the study's photos (shown with the result,
    never only as a tooltip); ``notes`` are context (the study's age range when no age was
    given). ``gradcam`` describes the heatmap when one was made.
    """

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
    fold_numbers: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    age_months: float | None = None
    manual_box: bool = False
    capture: dict[str, Any] = field(default_factory=dict)
    reference: StudyReference | None = None
    gradcam: GradCam | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        out = dict(self.__dict__)
        out["reference"] = self.reference.to_dict() if self.reference is not None else None
        out["gradcam"] = self.gradcam.to_dict() if self.gradcam is not None else None
        return out

    def with_age(self, age_months: float | None) -> PhotoPrediction:
        """The same prediction checked against another age (nothing is scored again)."""
        if self.reference is None:
            return replace(self, age_months=age_months)
        checks = screening_checks(self.capture, self.reference,
                                  confidence=self.capture.get("confidence"),
                                  manual=self.manual_box, age_months=age_months)
        return replace(self, warnings=list(checks.warnings), notes=list(checks.notes),
                       age_months=age_months)

    def all_warnings(self) -> list[str]:
        """The photo's warnings, then the heatmap's (a too coarse map, a flat map)."""
        out = list(self.warnings)
        if self.gradcam is not None:
            if self.gradcam.warning:
                out.append(self.gradcam.warning)
            if self.gradcam.focus.flat:
                out.append(self.gradcam.focus.text())
        return out


def predict_photo(ws: Workspace, name: str, photo: Path, *, run: str | None = None,
                  heatmap: Path | None = None, box: list[float] | None = None,
                  device: str = "cpu", crop: Path | None = None,
                  heatmap_arch: str | None = None, heatmap_fold: int | None = None,
                  age_months: float | None = None, models: Any = None,
                  progress: ProgressFn = no_progress,
                  cancel: CancelToken | None = None) -> PhotoPrediction:
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
        Write a Grad-CAM overlay on the model crop here (PNG): ``heatmap_arch`` (default the
        run's first architecture, in the protocol's order), averaged over its fold models or
        ``heatmap_fold`` alone.
    box : list of 4 floats, optional, keyword-only
        A manual face box ``x, y, w, h`` when detection fails.
    device : str, keyword-only
    crop : Path, optional, keyword-only
        Also write the aligned model crop here (PNG).
    heatmap_arch : str, optional, keyword-only
    heatmap_fold : int, optional, keyword-only
    age_months : float, optional, keyword-only
        The subject's age; checked against the study's age range (and adulthood).
    models : dict, optional, keyword-only
        The run's fold models, loaded already (:func:`wbsdesk.ml.infer.load_run_models`,
        each checkpoint verified), so a batch of photos loads them once.
    progress, cancel : keyword-only
        Four steps: face, checks, scoring, Grad-CAM.

    Raises
    ------
    NoFaceError
        When no face was detected (and no ``box`` given).
    UserError
        An unknown architecture or fold for the heatmap, a checkpoint that fails its check.
    """
    import torch

    from wbsdesk.core.architectures import arch_label
    from wbsdesk.ml import faces
    from wbsdesk.ml.data import load_crop
    from wbsdesk.ml.infer import load_run_models, predict_crops
    from wbsdesk.services.screening_checks import check_new_photo
    from wbsdesk.services.screening_heatmap import gradcam_of_crop, overlay_png

    cancel = cancel or CancelToken()
    study = load_study(ws, name)
    row = get_run(ws, study, run)
    if heatmap_arch is not None and heatmap_arch not in row.archs:
        raise UserError(f"run {row.name!r} has no architecture {heatmap_arch!r}",
                        hint=f"choose one of: {', '.join(row.archs)}")
    s = face_settings(study)
    kw = {"model_crop_px": s["model_crop_px"], "reader_crop_px": s["reader_crop_px"],
          "reader_face_area": tuple(s["reader_face_area"]), "min_side_px": s["min_side_px"],
          "padding": s["padding"]}
    progress(Progress(0, 4, "finding the face" if box is None else "cropping your face box"))
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
    cancel.raise_if_cancelled()
    progress(Progress(1, 4, "comparing the photo with the study's photos"))
    checks, ref = check_new_photo(ws, name, res, crop_px=s["model_crop_px"],
                                  age_months=age_months)
    cancel.raise_if_cancelled()
    if models is None:
        models = load_run_models(ws.root / row.run_dir, device=device,
                                 stored_sha256=stored_checkpoint_hashes(ws, row))
    n_models = sum(len(v) for v in models.values())
    progress(Progress(2, 4, f"scoring with {n_models} fold models"))
    pixels = load_crop(res.model_crop, size=s["model_crop_px"])
    tensor = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).contiguous()
    preds = predict_crops(models, tensor)
    cancel.raise_if_cancelled()
    out_heat = None
    info = None
    if heatmap is not None:
        arch = heatmap_arch or next((a for a in row.archs if a in models), next(iter(models)))
        if arch not in models:
            raise UserError(f"run {row.name!r} has no finished {arch} model",
                            hint=f"choose one of: {', '.join(models)}")
        progress(Progress(3, 4, f"Grad-CAM of {arch_label(arch)}"))
        target = study.protocol.groups.label(study.protocol.groups.positive)
        heat, info = gradcam_of_crop(models[arch], res.model_crop, run=row.name,
                                     target=target, fold=heatmap_fold)
        Path(heatmap).write_bytes(overlay_png(res.model_crop, heat))
        out_heat = str(heatmap)
    progress(Progress(4, 4, "scored"))
    return PhotoPrediction(
        study=name, run=row.name, photo=str(photo), face_status=res.status,
        face_reasons=list(res.reasons),
        per_arch={a: float(v[0]) for a, v in preds.per_arch.items()},
        per_fold={a: [float(x) for x in v[:, 0]] for a, v in preds.per_fold.items()},
        ensemble=float(preds.ensemble[0]), positive_group=study.protocol.groups.positive,
        heatmap=out_heat, fold_numbers={a: [int(fm.fold) for fm in models[a]]
                      for a in sorted(models, key=_order(row.archs))},
        warnings=list(checks.warnings), notes=list(checks.notes), age_months=age_months,
        manual_box=res.method == "manual", capture=checks.to_dict()["capture"], reference=ref,
        gradcam=info)


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
            out["all_warnings"] = self.prediction.all_warnings()
        return out

    def with_heatmap(self, png: bytes, info: GradCam) -> ScreeningResult:
        """The same result with another Grad-CAM (architecture or fold)."""
        if self.prediction is None:
            raise UserError("there is no scored photo to explain")
        return replace(self, heatmap_png=png, prediction=replace(self.prediction, gradcam=info))


def screen_photo(root: Path, name: str, photo: Path, *, run: str | None = None,
                 box: list[float] | None = None, device: str = "auto",
                 heatmap_arch: str | None = None, heatmap_fold: int | None = None,
                 age_months: float | None = None, progress: ProgressFn = no_progress,
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
    heatmap_arch, heatmap_fold : keyword-only
        Which model the Grad-CAM explains (default: the run's first architecture, mean of
        its folds).
    age_months : float, optional, keyword-only
        The subject's age, checked against the study's.
    progress, cancel : keyword-only
        The job contract (four steps, see :func:`predict_photo`).

    Returns
    -------
    ScreeningResult
        ``no_face=True`` (and no prediction) when detection found no face.
    """
    cancel = cancel or CancelToken()
    # The crop and heat map pass through the workspace's private tmp/ (user-only), not the
    # system temporary folder, and are deleted at once.
    with open_workspace(root) as ws, \
            tempfile.TemporaryDirectory(prefix="screen-", dir=ws.tmp_dir) as tmp:
        heat, crop = Path(tmp) / "gradcam.png", Path(tmp) / "crop.png"
        try:
            pred = predict_photo(ws, name, Path(photo), run=run, heatmap=heat, box=box,
                                 device=device, crop=crop, heatmap_arch=heatmap_arch,
                                 heatmap_fold=heatmap_fold, age_months=age_months,
                                 progress=progress, cancel=cancel)
        except NoFaceError:
            return ScreeningResult(photo=str(photo), no_face=True)
        cancel.raise_if_cancelled()
        result = ScreeningResult(
            photo=str(photo), no_face=False, prediction=replace(pred, heatmap=None),
            heatmap_png=heat.read_bytes(), crop_png=crop.read_bytes(),
            box=tuple(float(v) for v in box) if box is not None else None)
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
