"""The model's aid for aided reading, computed before any session and stored.

An aid set belongs to a study and a finished training run. For every scored photo it holds

* the **out-of-fold score**: the probability of the positive group from the fold model that
  did not train on the photo (the run's ``predictions`` table), averaged over the run's
  architectures (``model = "ensemble"``) or of one architecture;
* with heatmaps, a **Grad-CAM overlay** on the photo's reader crop (the image the reader
  sees), from those same fold models: the map is computed on the aligned model crop, mapped
  back through the photo into the reader crop's frame and stored as a PNG under its SHA-256
  in the workspace's ``aids/`` folder.

Showing an aid therefore costs no model time. The admin picks the run when the aided study
is set up (:func:`prepare_aid`); that choice is the study's current aid set, which new
aided sessions record (:func:`require_aid`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from wbsdesk.config import USER_ONLY_FILE, ensure_private_dir
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.core.protocol import Reading
from wbsdesk.errors import UserError
from wbsdesk.services.analysis_data import name_list
from wbsdesk.services.face_jobs import MODEL_CROP_FORMAT, READER_CROP_FORMAT
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.aids import AidSetRow
from wbsdesk.store.runs import RunRow

log = logging.getLogger(__name__)

AIDS_DIR = "aids"
_SETTING = "aid_set.{study}"


@dataclass(frozen=True)
class AidSet:
    """A study's stored aid: run, model choice and each photo's score and heatmap file.

    ``scores`` and ``folds`` map photo id to the out-of-fold probability and the fold whose
    models scored it; ``heatmaps`` maps photo id to the absolute path of its overlay PNG
    (empty without heatmaps).
    """

    id: int
    study: str
    run: str
    model: str
    archs: tuple[str, ...]
    created_at: str
    scores: dict[int, float]
    folds: dict[int, int]
    heatmaps: dict[int, Path]

    @property
    def has_heatmaps(self) -> bool:
        """Whether the set holds heatmaps."""
        return bool(self.heatmaps)

    def summary(self) -> dict[str, Any]:
        """Plain data for ``--json`` and the reports (no per-photo values)."""
        return {"aid_set": self.id, "study": self.study, "run": self.run, "model": self.model,
                "architectures": list(self.archs), "heatmaps": self.has_heatmaps,
                "photos": len(self.scores), "created_at": self.created_at}


def _photo_names(ws: Workspace, study: Study) -> dict[int, str]:
    subjects = {s.id: s.key for s in ws.store.subjects(study.id)}
    return {p.id: f"{subjects[p.subject_id]} ({p.original_name})"
            for p in ws.store.photos(study.id)}


def scored_photo_ids(ws: Workspace, study: Study) -> list[int]:
    """The primary photos of the study's included, non-practice subjects (what is read)."""
    included = {s.id for s in ws.store.subjects(study.id, include_excluded=False,
                                                include_practice=False)}
    return [p.id for p in ws.store.photos(study.id) if p.is_primary and p.subject_id in included]


def _finished_run(ws: Workspace, study: Study, run: str | None) -> RunRow:
    from wbsdesk.services.training import get_run

    row = get_run(ws, study, run)
    if row.status != "finished":
        raise UserError(f"run {row.name!r} is {row.status}, not finished",
                        hint=f"finish it ('wbsdesk train {study.name} --resume {row.name}') or "
                             "pick a finished run")
    return row


def _archs_of(row: RunRow, model: str) -> tuple[str, ...]:
    if model == "ensemble":
        return tuple(row.archs)
    if model not in row.archs:
        raise UserError(f"run {row.name!r} has no {model} models "
                        f"(it trained {', '.join(row.archs)})",
                        hint="set [reading] aid_model to 'ensemble' or one of those")
    return (model,)


def out_of_fold_scores(ws: Workspace, study: Study, row: RunRow, archs: Sequence[str],
                       photo_ids: Sequence[int]) -> tuple[dict[int, float], dict[int, int]]:
    """Each photo's out-of-fold score (mean over ``archs``) and the fold that scored it.

    Raises
    ------
    UserError
        Naming the photos the run has no out-of-fold prediction for (of some architecture),
        or that its architectures scored in different folds.
    """
    table: dict[str, dict[int, tuple[int, float]]] = {a: {} for a in archs}
    for arch, pid, fold, prob in ws.store.predictions(row.id):
        if arch in table:
            table[arch][int(pid)] = (int(fold), float(prob))
    names = _photo_names(ws, study)
    missing = [names[p] for p in photo_ids if any(p not in table[a] for a in archs)]
    if missing:
        raise UserError(f"run {row.name!r} has no out-of-fold score of "
                        f"{' and '.join(archs)} for {len(missing)} of {len(photo_ids)} "
                        f"photo(s) to read: {name_list(missing)}",
                        hint="train a run on the study as it is now (photos added after a run "
                             "have no out-of-fold score), or exclude those subjects")
    split = [names[p] for p in photo_ids if len({table[a][p][0] for a in archs}) > 1]
    if split:
        raise UserError(f"the architectures of run {row.name!r} scored {len(split)} photo(s) "
                        f"in different folds: {name_list(split)}")
    scores = {p: float(np.mean([table[a][p][1] for a in archs])) for p in photo_ids}
    bad = [names[p] for p, v in scores.items() if not np.isfinite(v)]
    if bad:
        raise UserError(f"run {row.name!r} has no valid score (NaN) for {name_list(bad)}")
    return scores, {p: table[archs[0]][p][0] for p in photo_ids}


def heatmap_in_reader_crop(heat: np.ndarray, *, model_matrix: Sequence[Sequence[float]],
                           reader_window: Sequence[float], model_crop_px: int,
                           reader_px: int) -> np.ndarray:
    """Map a heatmap of the aligned model crop into the reader crop's frame.

    Parameters
    ----------
    heat : ndarray of shape (h, w)
        Values 0..1 over the whole model crop (any resolution).
    model_matrix : 2 x 3
        Full-resolution photo -> model crop coordinates.
    reader_window : (x, y, side)
        The reader crop's square window in full-resolution photo coordinates.
    model_crop_px, reader_px : int
        Sides of the model crop and of the reader crop.

    Returns
    -------
    ndarray of shape (reader_px, reader_px), float32
        0 where the reader crop shows parts the model crop does not.
    """
    m = np.asarray(model_matrix, dtype=float)
    wx, wy, side = (float(v) for v in reader_window)
    k_h, k_w = heat.shape[0] / model_crop_px, heat.shape[1] / model_crop_px
    step = side / reader_px
    # reader pixel centre (u + .5, v + .5) -> photo -> model crop -> heat pixel
    a = m[:, :2] * step
    t = m[:, :2] @ np.array([wx, wy]) + m[:, 2] + a @ np.array([0.5, 0.5])
    data = (a[0, 0] * k_w, a[0, 1] * k_w, (t[0]) * k_w, a[1, 0] * k_h, a[1, 1] * k_h,
            (t[1]) * k_h)
    img = Image.fromarray(np.asarray(heat, dtype=np.float32), mode="F")
    out = img.transform((reader_px, reader_px), Image.Transform.AFFINE, data,
                        resample=Image.Resampling.BILINEAR, fillcolor=0.0)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def _within(tinted: Image.Image, plain: Image.Image, seen: np.ndarray) -> Image.Image:
    """The overlay where the model crop reaches, fading out (no hard edge) to the plain
    reader crop where the model saw nothing."""
    from PIL import ImageFilter

    radius = max(1.0, plain.width / 40)
    mask = Image.fromarray(np.uint8(np.clip(seen, 0, 1) * 255)).filter(
        ImageFilter.GaussianBlur(radius))
    return Image.composite(tinted, plain, mask)


def _write_png(root: Path, img: Image.Image) -> tuple[str, str]:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    rel = f"{AIDS_DIR}/{sha[:2]}/{sha}.png"
    dest = root / rel
    if not dest.exists():
        ensure_private_dir(dest.parent.parent)
        ensure_private_dir(dest.parent)
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.part")
        tmp.write_bytes(data)
        os.chmod(tmp, USER_ONLY_FILE)
        os.replace(tmp, dest)
    return rel, sha


def _heatmaps(ws: Workspace, study: Study, row: RunRow, archs: Sequence[str],
              folds: dict[int, int], *, device: str, progress: ProgressFn,
              cancel: CancelToken) -> dict[int, tuple[str, str]]:
    """Grad-CAM overlays on the reader crops, from each photo's own held-out fold models.

    One architecture's fold models are in memory at a time; the maps of an ensemble are
    averaged over its architectures.
    """
    from wbsdesk.ml.data import preprocess
    from wbsdesk.ml.explain import gradcam, overlay
    from wbsdesk.ml.infer import load_fold_models
    from wbsdesk.services.training import stored_checkpoint_hashes

    crops = ws.store.crops(study.id)
    names = _photo_names(ws, study)
    for pid in folds:
        c = crops.get(pid)
        if (c is None or not c.model_crop_path or not c.reader_crop_path
                or c.model_matrix is None or c.reader_window is None):
            raise UserError(f"{names[pid]} has no aligned model and reader crop for a heatmap",
                            hint=f"run 'wbsdesk align {study.name}' (or set [reading] aid = "
                                 "[\"probability\"])")
    stored = stored_checkpoint_hashes(ws, row)
    sums: dict[int, np.ndarray] = {}
    total, done = len(folds) * len(archs) + len(folds), 0
    for a in archs:
        models = {fm.fold: fm for fm in load_fold_models(
            ws.root / row.run_dir, a, device,
            stored_sha256={k: v for (b, k), v in stored.items() if b == a})}
        for pid, fold in sorted(folds.items()):
            cancel.raise_if_cancelled()
            progress(Progress(done, total, f"computing heatmaps ({a})"))
            done += 1
            fm = models.get(fold)
            if fm is None:
                raise UserError(f"run {row.name!r} has no {a} model of fold {fold}, which "
                                f"scored {names[pid]}")
            with Image.open(ws.root / crops[pid].model_crop_path,
                            formats=[MODEL_CROP_FORMAT]) as im:
                x = preprocess(im.convert("RGB"), size=fm.input_px,
                               mean=fm.config["normalize_mean"], std=fm.config["normalize_std"])
            heat = gradcam(fm.model, x)
            if pid in sums and sums[pid].shape != heat.shape:
                heat = np.asarray(Image.fromarray(heat, mode="F").resize(
                    sums[pid].shape[::-1], Image.Resampling.BILINEAR))
            sums[pid] = sums[pid] + heat if pid in sums else heat
        del models
    out = {}
    for pid in sorted(folds):
        cancel.raise_if_cancelled()
        progress(Progress(done, total, "drawing heatmaps"))
        done += 1
        c = crops[pid]
        with Image.open(ws.root / c.model_crop_path, formats=[MODEL_CROP_FORMAT]) as im:
            model_px = im.width
        with Image.open(ws.root / c.reader_crop_path, formats=[READER_CROP_FORMAT]) as im:
            reader = im.convert("RGB")
        where = {"model_matrix": c.model_matrix, "reader_window": c.reader_window,
                 "model_crop_px": model_px, "reader_px": reader.width}
        heat = heatmap_in_reader_crop(sums[pid] / len(archs), **where)
        seen = heatmap_in_reader_crop(np.ones((8, 8), np.float32), **where)
        out[pid] = _write_png(ws.root, _within(overlay(reader, heat), reader, seen))
    progress(Progress(total, total, "heatmaps done"))
    return out


def prepare_aid(ws: Workspace, study_name: str, run: str | None = None, *,
                model: str | None = None, heatmaps: bool | None = None, device: str = "cpu",
                progress: ProgressFn = no_progress,
                cancel: CancelToken | None = None) -> AidSet:
    """Compute and store the aid of every photo to read, and make it the study's aid.

    Parameters
    ----------
    ws : Workspace
    study_name : str
    run : str, optional
        A finished run of the study (default: its latest finished run).
    model : str, optional, keyword-only
        ``"ensemble"`` or one architecture (default: the protocol's ``aid_model``).
    heatmaps : bool, optional, keyword-only
        Compute Grad-CAM overlays (default: when the protocol's ``aid`` lists ``heatmap``).
    device : str, keyword-only
        Where Grad-CAM runs.

    Returns
    -------
    AidSet
        The new set, or the stored one of the same run, model and heatmap choice.

    Raises
    ------
    UserError
        The run is not finished, lacks an architecture, or has no out-of-fold score for some
        photo to read (the message names them); nothing is stored then.
    """
    cancel = cancel or CancelToken()
    study = load_study(ws, study_name)
    reading = study.protocol.reading
    model = reading.aid_model if model is None else model
    heatmaps = ("heatmap" in reading.aid) if heatmaps is None else heatmaps
    row = _finished_run(ws, study, run)
    archs = _archs_of(row, model)
    photo_ids = scored_photo_ids(ws, study)
    if not photo_ids:
        raise UserError(f"study {study.name!r} has no photos to read")
    scores, folds = out_of_fold_scores(ws, study, row, archs, photo_ids)
    held = ws.store.find_aid_set(study.id, run_id=row.id, model=model, heatmaps=heatmaps)
    todo = [p for p in photo_ids if held is None or p not in ws.store.aids(held.id)]
    files = (_heatmaps(ws, study, row, archs, {p: folds[p] for p in todo}, device=device,
                       progress=progress, cancel=cancel) if heatmaps else {})
    rows = [(p, scores[p], folds[p], *files.get(p, (None, None))) for p in todo]
    with ws.store.atomic():
        if held is None:
            set_id = ws.store.insert_aid_set(study.id, run_id=row.id, model=model,
                                             archs=archs, heatmaps=heatmaps, aids=rows)
        else:  # the same choice again: reuse it (adding photos included since)
            set_id = held.id
            ws.store.add_aids(set_id, rows)
        aid_row = ws.store.aid_set(set_id)
        assert aid_row is not None
        _make_current(ws, study, aid_row, reused=held is not None)
    log.info("aid set %d of %s: run %s, %s, %d photos%s", set_id, study.name, row.name, model,
             len(photo_ids), " with heatmaps" if heatmaps else "")
    return load_aid_set(ws, study, aid_row)


def _make_current(ws: Workspace, study: Study, row: AidSetRow, *, reused: bool) -> None:
    with ws.store.atomic():
        ws.store.set_setting(_SETTING.format(study=study.id), str(row.id))
        ws.store.audit(study.id, "prepare_aid", {"aid_set": row.id, "run_id": row.run_id,
                                                 "model": row.model, "reused": reused,
                                                 "heatmaps": row.heatmaps})


def load_aid_set(ws: Workspace, study: Study, row: AidSetRow) -> AidSet:
    """An aid set as the reading screen and the analysis use it."""
    run = next((r for r in ws.store.runs(study.id) if r.id == row.run_id), None)
    aids = ws.store.aids(row.id)
    return AidSet(id=row.id, study=study.name, run=run.name if run else f"#{row.run_id}",
                  model=row.model, archs=row.archs, created_at=row.created_at,
                  scores={p: a.score for p, a in aids.items()},
                  folds={p: a.fold for p, a in aids.items()},
                  heatmaps={p: ws.root / a.heatmap_path for p, a in aids.items()
                            if a.heatmap_path})


def current_aid(ws: Workspace, study_name: str) -> AidSet | None:
    """The study's aid set (the one :func:`prepare_aid` made current), or ``None``."""
    study = load_study(ws, study_name)
    held = ws.store.setting(_SETTING.format(study=study.id))
    row = ws.store.aid_set(int(held)) if held else None
    return load_aid_set(ws, study, row) if row is not None else None


def require_aid(ws: Workspace, study: Study, reading: Reading,
                photo_ids: Sequence[int], aid_set_id: int | None = None) -> AidSet:
    """The aid a session shows: its recorded set, else the study's current one, checked.

    Raises
    ------
    UserError
        No aid was prepared, it lacks heatmaps the protocol asks for, was made for another
        model, its files are missing, or it does not cover every photo (named).
    """
    if aid_set_id is not None:
        row = ws.store.aid_set(aid_set_id)
        if row is None:  # pragma: no cover - a foreign key keeps it
            raise UserError(f"aid set {aid_set_id} is missing")
        aid = load_aid_set(ws, study, row)
    else:
        aid = current_aid(ws, study.name)
        if aid is None:
            raise UserError(f"study {study.name!r} follows an aided design ({reading.design}) "
                            "but no aid has been prepared",
                            hint=f"pick a finished run: 'wbsdesk aid prepare {study.name} "
                                 "--run RUN'")
        if aid.model != reading.aid_model:
            raise UserError(f"the aid of {study.name!r} was prepared for {aid.model}, the "
                            f"protocol asks for {reading.aid_model}",
                            hint=f"run 'wbsdesk aid prepare {study.name} --run {aid.run}'")
        if "heatmap" in reading.aid and not aid.has_heatmaps:
            raise UserError(f"the aid of {study.name!r} has no heatmaps, which the protocol "
                            "shows", hint=f"run 'wbsdesk aid prepare {study.name} --run "
                                          f"{aid.run}' to compute them")
    names = _photo_names(ws, study)
    missing = [names[p] for p in photo_ids if p not in aid.scores]
    if missing:
        raise UserError(f"the aid of {study.name!r} (run {aid.run!r}) has no score for "
                        f"{len(missing)} photo(s) to read: {name_list(missing)}",
                        hint="prepare the aid from a run that covers every photo")
    if "heatmap" in reading.aid:
        gone = [names[p] for p in photo_ids if not aid.heatmaps.get(p, Path()).is_file()]
        if gone:
            raise UserError(f"{len(gone)} heatmap file(s) of the aid of {study.name!r} are "
                            f"missing from {ws.root / AIDS_DIR}: {name_list(gone)}",
                            hint=f"run 'wbsdesk aid prepare {study.name} --run {aid.run}'")
    return aid
