"""Out-of-distribution checks for screening: a new photo against the study's own photos.

:func:`study_reference` summarises a study's analysed photos (included, non-practice
subjects' primary photos that have a model crop) from what alignment stored: face box,
detector confidence, photo size, photo -> crop transform, and the model crop's brightness
and contrast (read from the crop files; the summary is kept in memory per study and crop
set, so scoring a second photo does not read them again). :func:`check_new_photo` compares a
newly aligned photo with it (:func:`wbsdesk.core.screening_checks.screening_checks`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from PIL import Image

from wbsdesk.core.capture import CAPTURE_STATISTICS, capture_values
from wbsdesk.core.screening_checks import (
    ScreeningChecks,
    StudyReference,
    screening_checks,
)
from wbsdesk.core.screening_checks import (
    study_reference as summarise,
)
from wbsdesk.services.face_jobs import MODEL_CROP_FORMAT
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = ["check_new_photo", "new_photo_values", "study_reference"]

_CACHE: OrderedDict[tuple[Any, ...], StudyReference] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def study_reference(ws: Workspace, name: str) -> StudyReference:
    """What the study's analysed photos look like: capture ranges, confidence, ages.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study.

    Returns
    -------
    StudyReference
        Unreadable crop files are left out of brightness and contrast (logged).
    """
    study = load_study(ws, name)
    subjects = {s.id: s for s in ws.store.subjects(study.id, include_excluded=False,
                                                   include_practice=False)}
    crops = ws.store.crops(study.id)
    photos = [p for p in ws.store.photos(study.id)
              if p.is_primary and p.subject_id in subjects
              and (c := crops.get(p.id)) is not None and c.model_crop_path]
    key = (str(ws.root), study.id, study.protocol.faces.min_confidence,
           tuple((p.id, crops[p.id].model_crop_sha256, crops[p.id].created_at) for p in photos),
           tuple((s.id, s.age_months) for s in subjects.values()))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    rows: list[list[float]] = []
    confidences = []
    for p in photos:
        crop = crops[p.id]
        px = int(crop.settings.get("model_crop_px", study.protocol.faces.model_crop_px))
        try:
            with Image.open(ws.root / str(crop.model_crop_path),
                            formats=[MODEL_CROP_FORMAT]) as im:
                pixels = np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as exc:
            log.warning("screening reference: crop of photo %s unreadable: %s", p.id, exc)
            continue
        size = (crop.image_width, crop.image_height) \
            if crop.image_width and crop.image_height else None
        v = capture_values(matrix=crop.model_matrix, image_size=size, crop_px=px,
                           bbox=crop.bbox, confidence=crop.confidence, pixels=pixels)
        rows.append([v[s.key] for s in CAPTURE_STATISTICS])
        if crop.method != "manual" and crop.confidence is not None:
            confidences.append(float(crop.confidence))
    arr = np.array(rows, dtype=float).reshape(-1, len(CAPTURE_STATISTICS))
    ages = [s.age_months for s in subjects.values() if s.age_months is not None]
    ref = summarise(study.name, {s.key: arr[:, j] for j, s in enumerate(CAPTURE_STATISTICS)},
                    confidences=confidences, ages=ages,
                    min_confidence=study.protocol.faces.min_confidence)
    with _CACHE_LOCK:
        _CACHE[key] = ref
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return ref


def new_photo_values(result: Any, crop_px: int) -> dict[str, float]:
    """Capture statistics of a newly aligned photo (an :class:`~wbsdesk.ml.faces.AlignResult`)."""
    chosen = result.chosen
    return capture_values(
        matrix=result.model_matrix, image_size=result.image_size, crop_px=crop_px,
        bbox=list(chosen.box) if chosen is not None else None,
        confidence=chosen.confidence if chosen is not None else None,
        pixels=np.asarray(result.model_crop.convert("RGB")))


def check_new_photo(ws: Workspace, name: str, result: Any, *, crop_px: int,
                    age_months: float | None = None) -> tuple[ScreeningChecks, StudyReference]:
    """Warnings and notes for a newly aligned photo, and the study summary they used.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study whose run scores the photo.
    result : wbsdesk.ml.faces.AlignResult
        The photo's alignment (with a model crop).
    crop_px : int, keyword-only
        Side of the model crop.
    age_months : float, optional, keyword-only
        The subject's age, when the user gave it.
    """
    ref = study_reference(ws, name)
    manual = result.method == "manual"
    values = new_photo_values(result, crop_px)
    checks = screening_checks(values, ref, confidence=values["confidence"], manual=manual,
                              age_months=age_months)
    return checks, ref
