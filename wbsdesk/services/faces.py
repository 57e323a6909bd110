"""Face use cases: align a study, review, manual crops, exclusions, and the readiness gate."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.services.face_jobs import align_one, init_worker
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.repo import PhotoRow, SubjectRow

log = logging.getLogger(__name__)

REASON_TEXT = {
    "no_face": "no face found",
    "low_confidence": "face found with low confidence",
    "multiple_faces": "several faces in the photo",
    "face_too_small": "the face is too small",
    "not_aligned": "not aligned yet (run 'wbsdesk align')",
    "unreadable": "the photo could not be read",
}


def face_settings(study: Study) -> dict[str, Any]:
    """The detector and crop settings a study's protocol asks for (stored with each crop)."""
    f = study.protocol.faces
    return {"detector": f.detector, "model_crop_px": f.model_crop_px,
            "reader_crop_px": f.reader_crop_px, "reader_face_area": list(f.reader_face_area),
            "min_confidence": f.min_confidence, "min_face_px": f.min_face_px,
            "detect_max_side": f.detect_max_side, "padding": f.padding,
            "min_side_px": study.protocol.photos.min_side_px}


def _primary_photos(ws: Workspace, study: Study) -> list[tuple[SubjectRow, PhotoRow]]:
    subjects = {s.id: s for s in ws.store.subjects(study.id, include_excluded=False)}
    return [(subjects[p.subject_id], p) for p in ws.store.photos(study.id)
            if p.is_primary and p.subject_id in subjects]


@dataclass(frozen=True)
class AlignSummary:
    """What ``align_study`` did."""

    study: str
    photos: int
    aligned: int
    skipped: int
    ok: int
    needs_review: int
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        return asdict(self)


def align_study(ws: Workspace, name: str, *, force: bool = False, workers: int | None = None,
                known_faces: bool = False, progress: ProgressFn = no_progress,
                cancel: CancelToken | None = None) -> AlignSummary:
    """Detect and crop the face of every included primary photo of a study.

    Photos that already have a crop are skipped unless ``force`` (manual crops are always
    kept). Each photo's result is committed as soon as it is done, so a cancelled or crashed
    run resumes where it stopped. With ``workers > 1`` photos are aligned in spawned
    processes (one torch thread each); the database is written only by this process.

    Parameters
    ----------
    ws : Workspace
    name : str
    force : bool, keyword-only
        Re-align photos that already have an automatic crop.
    workers : int, keyword-only
        Worker processes (default: the CPU count, at most 4; 1 = in this process).
    known_faces : bool, keyword-only
        Use the face box and 5 landmarks given in the manifest (metadata columns
        ``face_box`` = ``[x, y, w, h]`` and ``landmarks`` = ``[[x, y] x 5]``, JSON) through the
        manual-crop path instead of detecting; photos without them are detected as usual.
        The synthetic demo uses this: its generator knows where it drew each feature.
    progress, cancel : keyword-only
        The job contract.
    """
    t0 = time.perf_counter()
    cancel = cancel or CancelToken()
    study = load_study(ws, name)
    settings = face_settings(study)
    pairs = _primary_photos(ws, study)
    existing = ws.store.crops(study.id)
    todo = [(s, p) for s, p in pairs
            if p.id not in existing or (force and existing[p.id].method != "manual")]
    n_workers = workers or min(os.cpu_count() or 1, 4)
    n_workers = max(1, min(n_workers, len(todo)))
    if len(todo) < 8:
        n_workers = 1  # starting processes costs more than it saves
    jobs = [(p.id, str(ws.root / p.stored_path), str(ws.root), settings,
             _known_face(s) if known_faces else None) for s, p in todo]
    done = ok = review = 0
    failed: list[str] = []
    names = {p.id: f"{s.key} ({p.original_name})" for s, p in todo}

    def land(result: dict[str, Any]) -> None:
        nonlocal done, ok, review
        pid = result["photo_id"]
        if "error" in result:
            row = {"status": "needs_review", "reasons": ["unreadable"], "method": "mtcnn",
                   "n_faces": 0, "settings": settings}
            failed.append(f"{names[pid]}: {result['error']}")
        else:
            row = result["row"]
        with ws.store.atomic():
            ws.store.upsert_crop(pid, **row)
        done += 1
        ok += row["status"] == "ok"
        review += row["status"] != "ok"
        progress(Progress(done, len(jobs), f"aligned {done} of {len(jobs)} photos"))

    progress(Progress(0, len(jobs), "aligning faces"))
    if n_workers == 1:
        for job in jobs:
            cancel.raise_if_cancelled()
            land(align_one(*job))
    else:
        _run_pool(jobs, n_workers, land, cancel)
    if jobs:
        with ws.store.atomic():
            ws.store.audit(study.id, "align", {"photos": len(jobs), "ok": ok,
                                               "needs_review": review, "force": force})
    secs = time.perf_counter() - t0
    log.info("aligned %d photos of %s in %.1f s (%d workers): %d ok, %d need review",
             len(jobs), name, secs, n_workers, ok, review)
    return AlignSummary(study=name, photos=len(pairs), aligned=len(jobs),
                        skipped=len(pairs) - len(jobs), ok=ok, needs_review=review,
                        failed=failed, seconds=round(secs, 2), workers=n_workers)


def _known_face(subject: SubjectRow) -> dict[str, Any] | None:
    box = subject.metadata.get("face_box")
    if not box:
        return None
    lm = subject.metadata.get("landmarks")
    try:
        return {"box": json.loads(box), "landmarks": json.loads(lm) if lm else None}
    except json.JSONDecodeError:
        raise UserError(f"subject {subject.key}: face_box/landmarks metadata is not JSON "
                        f"({box!r})") from None


def _run_pool(jobs: list[tuple], n_workers: int, land, cancel: CancelToken) -> None:
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=init_worker)
    pending: set[Future] = set()
    queue = list(jobs)
    try:
        while queue or pending:
            while queue and len(pending) < 2 * n_workers:
                pending.add(pool.submit(align_one, *queue.pop(0)))
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in finished:
                land(fut.result())
            if cancel.cancelled:
                raise Cancelled()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# Review, manual crops, exclusion


def review_list(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """Included primary photos that are not ``ok`` (not aligned, or needing review)."""
    study = load_study(ws, name)
    crops = ws.store.crops(study.id)
    out = []
    for s, p in _primary_photos(ws, study):
        c = crops.get(p.id)
        if c is not None and c.status == "ok":
            continue
        reasons = ["not_aligned"] if c is None else c.reasons
        out.append({"photo_id": p.id, "subject": s.key, "photo": p.original_name,
                    "status": "not_aligned" if c is None else c.status, "reasons": reasons,
                    "why": "; ".join(REASON_TEXT.get(r, r) for r in reasons),
                    "n_faces": None if c is None else c.n_faces,
                    "confidence": None if c is None else c.confidence,
                    "bbox": None if c is None else c.bbox})
    return out


def require_faces_ok(ws: Workspace, name: str, *, purpose: str) -> None:
    """Refuse to start ``purpose`` (training, reading) while a photo is not ``ok``.

    Raises
    ------
    UserError
        Naming every photo that is not aligned or needs review.
    """
    todo = review_list(ws, name)
    if todo:
        lines = [f"{r['subject']} ({r['photo']}): {r['why']}" for r in todo]
        raise UserError(f"cannot start {purpose}: {len(todo)} photo(s) of {name!r} are not "
                        "ready:\n  " + "\n  ".join(lines),
                        hint=f"run 'wbsdesk align {name}', then fix the rest with "
                             "'wbsdesk crop' or 'wbsdesk exclude' (see 'wbsdesk review')")


def find_photo(ws: Workspace, study: Study, ref: str | int) -> tuple[SubjectRow, PhotoRow]:
    """A photo by id, by subject ID (its primary photo) or by its file name in the manifest.

    An ``int`` is only ever a photo id (the GUI's way: no clash with a subject ID "12").
    """
    subjects = {s.id: s for s in ws.store.subjects(study.id)}
    photos = ws.store.photos(study.id)
    if isinstance(ref, int):
        hits = [p for p in photos if p.id == ref]
    else:
        hits = [p for p in photos if str(p.id) == ref or p.original_name == ref]
        hits += [p for p in photos if subjects[p.subject_id].key == ref and p.is_primary]
    unique = {p.id: p for p in hits}
    if len(unique) != 1:
        why = "no photo" if not unique else f"{len(unique)} photos"
        raise UserError(f"{why} of study {study.name!r} match {ref!r}",
                        hint="give the photo id, the subject ID or the file name "
                             "(see 'wbsdesk review')")
    p = next(iter(unique.values()))
    return subjects[p.subject_id], p


def parse_numbers(text: str, n: int, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} {text!r} must be {n} comma-separated numbers") from None
    if len(values) != n:
        raise UserError(f"{what} {text!r} must have {n} numbers, got {len(values)}")
    return values


def set_manual_crop(ws: Workspace, name: str, ref: str | int, *, box: str | Sequence[float],
                    landmarks: str | Sequence[float] | None = None) -> dict[str, Any]:
    """Crop a photo from a face box (and optionally 5 landmarks) placed by a person.

    ``box`` is ``x,y,w,h`` and ``landmarks`` ``x1,y1,...,x5,y5`` in the upright photo's pixels
    (left eye, right eye, nose, left and right mouth corner as seen in the image).
    """
    study = load_study(ws, name)
    subject, photo = find_photo(ws, study, ref)
    b = parse_numbers(box, 4, "--box") if isinstance(box, str) else [float(v) for v in box]
    if b[2] <= 0 or b[3] <= 0:
        raise UserError(f"--box needs a positive width and height, got {b}")
    lm = None
    if landmarks is not None:
        flat = (parse_numbers(landmarks, 10, "--landmarks") if isinstance(landmarks, str)
                else [float(v) for v in landmarks])
        if len(flat) != 10:
            raise UserError("--landmarks needs 10 numbers (5 points)")
        lm = [flat[i:i + 2] for i in range(0, 10, 2)]
    res = align_one(photo.id, str(ws.root / photo.stored_path), str(ws.root),
                    face_settings(study), manual={"box": b, "landmarks": lm})
    if "error" in res:
        raise UserError(f"{subject.key} ({photo.original_name}): {res['error']}")
    with ws.store.atomic():
        ws.store.upsert_crop(photo.id, **res["row"])
        ws.store.audit(study.id, "manual_crop", {"photo_id": photo.id, "subject": subject.key,
                                                 "box": b, "landmarks": lm})
    return {"photo_id": photo.id, "subject": subject.key, **res["row"]}


def exclude_subject(ws: Workspace, name: str, subject_key: str, *, reason: str | None) -> None:
    """Exclude a subject (``reason``) or include it again (``None``), with an audit entry."""
    study = load_study(ws, name)
    match = [s for s in ws.store.subjects(study.id) if s.key == subject_key]
    if not match:
        raise UserError(f"study {name!r} has no subject {subject_key!r}")
    if reason is not None and not reason.strip():
        raise UserError("an exclusion needs a reason (--reason TEXT)")
    with ws.store.atomic():
        ws.store.set_excluded(match[0].id, reason)
        ws.store.audit(study.id, "exclude" if reason else "include",
                       {"subject": subject_key, "reason": reason})
