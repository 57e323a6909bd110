"""Disagreement triage: the photos on which the readers and the models disagree most.

:func:`disagreements` ranks the *paired* photos of a computed
:class:`~wbsdesk.services.analysis.Comparison` (those every included reader rated) by a
disagreement score and returns, per photo, what a reviewer needs: subject, three-group
truth, crop paths, each reader's rating, binary read and response time, and each
architecture's out-of-fold probability with the ensemble. :func:`gradcam_overlay` draws the
Grad-CAM of one photo's model crop (torch is imported only when it is called).

The disagreement score
----------------------
For a photo with readers' ratings ``r_1..r_R`` on a scale of ``L`` levels (1 = surest
"no", ``L`` = surest "yes") and model probability ``p``::

    reader_score = (mean(r) - 1) / (L - 1)          # the readers' mean rating on 0..1
    score        = |reader_score - p|                # 0 = agree, 1 = opposite certainties

``p`` is the ensemble's out-of-fold probability (the only architecture's when the run has
one). Photos are ranked by ``score``, highest first; ties keep the comparison's case order
(subject key). Ground truth plays no part in the score: it is shown, not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from wbsdesk.errors import UserError
from wbsdesk.services.analysis import MODEL_ENSEMBLE, Comparison
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run, stored_checkpoint_hashes
from wbsdesk.services.workspace import Workspace

__all__ = ["disagreement_scores", "disagreements", "gradcam_overlay"]


def _model_probability(comparison: Comparison) -> tuple[str, np.ndarray]:
    """The model whose probability the score uses: the ensemble, else the only arch."""
    names = [m.name for m in comparison.models]
    name = MODEL_ENSEMBLE if MODEL_ENSEMBLE in names else names[0]
    return name, np.asarray(comparison.model(name).scores, dtype=float)


def disagreement_scores(comparison: Comparison) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The readers' mean rating on 0..1, the model probability and the score, per paired photo.

    Parameters
    ----------
    comparison : Comparison

    Returns
    -------
    reader_score, model_probability, score : ndarray of shape (n_paired,)
        In the order of ``comparison.paired`` (see the module docstring for the formula).
        Empty without readers.
    """
    paired = np.asarray(comparison.paired, dtype=int)
    if not comparison.readers or paired.size == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    levels = len(comparison.protocol.reading.scale)
    ratings = np.vstack([r.ratings for r in comparison.readers])
    reader_score = (ratings.mean(axis=0) - 1.0) / (levels - 1)
    _, prob = _model_probability(comparison)
    model_p = prob[paired]
    return reader_score, model_p, np.abs(reader_score - model_p)


def _abs_path(ws: Workspace, rel: str | None) -> Path | None:
    return None if not rel else ws.root / rel


def disagreements(ws: Workspace, comparison: Comparison, *, limit: int = 50
                  ) -> list[dict[str, Any]]:
    """The photos where the readers and the models disagree most, most disagreeing first.

    Parameters
    ----------
    ws : Workspace
        Where the crops and the reads' response times are looked up.
    comparison : Comparison
        A computed comparison; only its paired photos (rated by every included reader) are
        ranked. Without readers the list is empty.
    limit : int, keyword-only
        At most this many photos (``<= 0``: all).

    Returns
    -------
    list of dict
        One per photo, with keys ``photo_id`` (int), ``subject`` (str), ``group`` (the
        three-group truth), ``positive`` (bool), ``score``, ``reader_score`` and
        ``model_probability`` (floats, see the module docstring), ``model_name`` (the model
        the score uses), ``model_crop_path`` and ``reader_crop_path`` (absolute
        :class:`~pathlib.Path` or ``None``), ``models`` (model name -> probability, the
        architectures in the run's order and then ``"ensemble"`` when there is one),
        ``model_labels`` (name -> label) and ``readers`` (a list, in the comparison's
        reader order, of dicts with ``name``, ``label``, ``rating``, ``binary`` and
        ``response_s`` (seconds, ``None`` when not recorded)).
    """
    reader_score, model_p, score = disagreement_scores(comparison)
    if score.size == 0:
        return []
    paired = np.asarray(comparison.paired, dtype=int)
    order = np.argsort(-score, kind="stable")
    if limit > 0:
        order = order[:limit]
    study_id = ws.store.study(comparison.study).id
    crops = ws.store.crops(study_id)
    times = ws.store.response_times(r.session_id for r in comparison.readers)
    model_name, _ = _model_probability(comparison)
    labels = {m.name: m.label for m in comparison.models}
    out = []
    for j in order:
        i = int(paired[j])
        pid = int(comparison.photo_ids[i])
        crop = crops.get(pid)
        out.append({
            "photo_id": pid,
            "subject": comparison.subjects[i],
            "group": str(comparison.groups[i]),
            "positive": bool(comparison.y[i]),
            "score": float(score[j]),
            "reader_score": float(reader_score[j]),
            "model_probability": float(model_p[j]),
            "model_name": model_name,
            "model_crop_path": _abs_path(ws, crop.model_crop_path if crop else None),
            "reader_crop_path": _abs_path(ws, crop.reader_crop_path if crop else None),
            "models": {m.name: float(m.scores[i]) for m in comparison.models},
            "model_labels": labels,
            "readers": [{"name": r.name, "label": r.label, "rating": int(r.ratings[j]),
                         "binary": bool(r.binary[j]),
                         "response_s": times.get((r.session_id, pid))}
                        for r in comparison.readers],
        })
    return out


def gradcam_overlay(ws: Workspace, study: str, run_name: str, photo_id: int, *,
                    arch: str | None = None, device: str = "cpu") -> Image.Image:
    """Grad-CAM of one photo's stored model crop, averaged over an architecture's fold models.

    Parameters
    ----------
    ws : Workspace
    study : str
        The study name.
    run_name : str
        A run of the study whose fold checkpoints are on disk.
    photo_id : int
        A photo of the study with a model crop.
    arch : str, optional, keyword-only
        The architecture (default: the run's first).
    device : str, keyword-only
        Where the fold models run.

    Returns
    -------
    PIL.Image.Image
        RGB, the size of the model crop: the mean heatmap (class 1, the positive group) of
        every finished fold model of ``arch`` blended over the crop.

    Raises
    ------
    UserError
        Unknown study, run or architecture; a photo without a model crop; no finished fold
        model on disk.
    """
    from wbsdesk.ml.data import preprocess
    from wbsdesk.ml.explain import gradcam, overlay
    from wbsdesk.ml.image_io import open_image
    from wbsdesk.ml.infer import load_fold_models

    st = load_study(ws, study)
    row = get_run(ws, st, run_name)
    arch = arch or row.archs[0]
    if arch not in row.archs:
        raise UserError(f"run {row.name!r} has no architecture {arch!r}",
                        hint=f"choose one of: {', '.join(row.archs)}")
    crop = ws.store.crops(st.id).get(int(photo_id))
    if crop is None or not crop.model_crop_path:
        raise UserError(f"photo {photo_id} of study {study!r} has no model crop",
                        hint="align the study's faces first")
    with open_image(ws.root / crop.model_crop_path) as im:
        image = im.convert("RGB")
    maps = []
    stored = {k: v for (a, k), v in stored_checkpoint_hashes(ws, row).items() if a == arch}
    for fm in load_fold_models(ws.root / row.run_dir, arch, device, stored_sha256=stored):
        x = preprocess(image, size=fm.input_px, mean=fm.config["normalize_mean"],
                       std=fm.config["normalize_std"])
        maps.append(gradcam(fm.model, x))
    return overlay(image, np.mean(maps, axis=0))
