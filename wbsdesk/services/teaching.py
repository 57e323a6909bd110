"""Teaching sessions: read the study's photos and see the truth after each answer.

For teaching readers after a study's reads are done. A teaching session shows the study's
scored photos under the protocol's timing, and after each answer the photo's true group
and whether the answer was right. Its answers are stored apart (``teaching_sessions`` and
``teaching_reads``), each in its own transaction before the feedback appears, and no
analysis, report, bundle, sizing or agreement ever reads them.

Because it shows the truth, a reader cannot hold a teaching session while their own study
session on the study is unfinished (or their second crossover session is still to come),
and a reader who had one cannot start a study session on that study afterwards
(:func:`wbsdesk.services.session_policy.check_before_open`).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wbsdesk.core.session import ReadRecord, Stimulus
from wbsdesk.errors import UserError
from wbsdesk.services.faces import require_faces_ok
from wbsdesk.services.reading import (
    SessionSetup,
    _images,
    _question,
    _reader,
    _reading_photo_ids,
)
from wbsdesk.services.session_lock import SessionLock
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.reading import ReaderRow

log = logging.getLogger(__name__)

__all__ = ["TeachingSetup", "Truth", "finish_teaching", "judge", "open_teaching",
           "preview_teaching", "record_teaching_read", "teaching_history", "teaching_summary"]


@dataclass(frozen=True)
class Truth:
    """What a teaching session reveals after an answer: the photo's group and its label."""

    group: str
    label: str
    positive: bool


@dataclass(frozen=True)
class TeachingSetup:
    """A teaching session for the reading screen: the session set-up (``session_id`` is
    ``None``: no study session) and the truth of each photo, shown after its answer.

    ``teaching_id`` is ``None`` for a preview (nothing stored).
    """

    teaching_id: int | None
    setup: SessionSetup
    truth: dict[int, Truth] = field(repr=False)
    positive_label: str = ""

    def release(self) -> None:
        """Let another process open this reader's sessions on the study."""
        self.setup.release()


def judge(binary_read: bool | None, truth: Truth) -> bool | None:
    """Whether an answer was right: its yes/no read equals the truth (``None``: no answer).

    Examples
    --------
    >>> judge(True, Truth("wbs", "WBS", True)), judge(None, Truth("x", "X", False))
    (True, None)
    """
    return None if binary_read is None else bool(binary_read) == truth.positive


def _truths(ws: Workspace, study: Study, photo_ids: list[int]) -> dict[int, Truth]:
    g = study.protocol.groups
    subjects = {s.id: s for s in ws.store.subjects(study.id)}
    photos = {p.id: p for p in ws.store.photos(study.id)}
    out = {}
    for pid in photo_ids:
        grp = subjects[photos[pid].subject_id].group
        out[pid] = Truth(grp, g.label(grp), grp == g.positive)
    return out


def _check_may_teach(ws: Workspace, study: Study, reader: ReaderRow) -> None:
    held = ws.store.sessions_of(reader.id, study.id)
    if any(s.status != "finished" for s in held):
        raise UserError(f"{reader.name}'s reading session on {study.name!r} is not finished: "
                        "a teaching session shows the truth, so it comes after the study "
                        "reads", hint="finish the session first (or, when it has expired, "
                                      "have the administrator restart or continue it)")
    if held and held[0].design == "crossover_aided" and len(held) < 2:
        raise UserError(f"{reader.name}'s second crossover session on {study.name!r} is "
                        "still to come: a teaching session would show the truth before it")


def open_teaching(ws: Workspace, study_name: str, reader_name: str, *,
                  seed: int | None = None) -> TeachingSetup:
    """Start a reader's teaching session on a study, or resume their unfinished one.

    The session's OS lock (the one of the reader's study session) comes back held: call
    ``release()`` when the screen closes.

    Parameters
    ----------
    ws : Workspace
    study_name, reader_name : str
    seed : int, keyword-only
        Order seed of a new teaching session (random by default).

    Returns
    -------
    TeachingSetup

    Raises
    ------
    UserError
        Unknown study or reader, photos not ready, the reader's study reading unfinished,
        or the session open in another process.
    """
    study = load_study(ws, study_name)
    reader = _reader(ws, reader_name)
    lock = SessionLock(ws.root, study.id, reader.id, study=study.name, reader=reader.name)
    lock.acquire()
    try:
        return _open_locked(ws, study, reader, lock, seed=seed)
    except BaseException:
        lock.release()
        raise


def _open_locked(ws: Workspace, study: Study, reader: ReaderRow, lock: SessionLock, *,
                 seed: int | None) -> TeachingSetup:
    require_faces_ok(ws, study.name, purpose="reading")
    _check_may_teach(ws, study, reader)
    held = [t for t in ws.store.teaching_sessions(study.id, reader.id)
            if t["status"] == "in_progress"]
    if held:
        row = held[-1]
        resumed = True
    else:
        ids = _reading_photo_ids(ws, study)
        if not ids:
            raise UserError(f"study {study.name!r} has no photos to read")
        order_seed = secrets.randbelow(2**31) if seed is None else int(seed)
        order = [ids[i] for i in np.random.default_rng(order_seed).permutation(len(ids))]
        with ws.store.atomic():
            tid = ws.store.insert_teaching_session(
                reader_id=reader.id, study_id=study.id, protocol_json=study.protocol.to_json(),
                order_seed=order_seed, photo_order=order)
            ws.store.audit(study.id, "start_teaching_session",
                           {"teaching_session": tid, "reader": reader.name,
                            "photos": len(order), "seed": order_seed})
        row = ws.store.teaching_session(tid)
        assert row is not None
        resumed = False
    order = row["photo_order"]
    done = frozenset(r["position"] for r in ws.store.teaching_reads(row["id"]))
    setup = SessionSetup(session_id=None, study=study.name, reader=reader.name,
                         reading=study.protocol.reading, question=_question(study.protocol),
                         plan=tuple(Stimulus(i, pid, False) for i, pid in enumerate(order)),
                         done=done, images=_images(ws, study, sorted(set(order))),
                         resumed=resumed, lock=lock)
    log.info("%s teaching session %d (%s on %s)", "resumed" if resumed else "started",
             row["id"], reader.name, study.name)
    return TeachingSetup(row["id"], setup, _truths(ws, study, order),
                         study.protocol.groups.label(study.protocol.groups.positive))


def preview_teaching(ws: Workspace, study_name: str, *, seed: int = 0) -> TeachingSetup:
    """A teaching screen of a study for looking at it; nothing is stored."""
    from wbsdesk.services.reading import preview_setup

    study = load_study(ws, study_name)
    setup = preview_setup(ws, study_name, seed=seed)
    return TeachingSetup(None, setup, _truths(ws, study, [s.photo_id for s in setup.plan]),
                         study.protocol.groups.label(study.protocol.groups.positive))


def record_teaching_read(ws: Workspace, teaching: TeachingSetup, record: ReadRecord) -> bool:
    """Commit one teaching answer in its own transaction; ``False`` if already stored."""
    if teaching.teaching_id is None:
        return False
    truth = teaching.truth[record.photo_id]
    with ws.store.atomic():
        return ws.store.insert_teaching_read(
            teaching.teaching_id, position=record.position, photo_id=record.photo_id,
            rating=record.rating, binary_read=record.binary_read, truth_group=truth.group,
            correct=judge(record.binary_read, truth), display_s=record.display_s,
            response_s=record.response_s, shown_at=record.shown_at,
            answered_at=record.answered_at)


def teaching_summary(ws: Workspace, teaching_id: int) -> dict[str, Any]:
    """Answers, right answers and photos of a teaching session."""
    row = ws.store.teaching_session(teaching_id)
    if row is None:
        raise UserError(f"no teaching session {teaching_id}")
    reads = ws.store.teaching_reads(teaching_id)
    return {"teaching_session": teaching_id, "photos_total": len(row["photo_order"]),
            "photos_read": len(reads), "answered": sum(r["rating"] is not None for r in reads),
            "correct": sum(bool(r["correct"]) for r in reads),
            "seconds": round(sum(r["display_s"] for r in reads), 1),
            "finished": row["status"] == "finished"}


def finish_teaching(ws: Workspace, teaching_id: int) -> dict[str, Any]:
    """Mark a teaching session finished once every photo has an answer; its summary."""
    summary = teaching_summary(ws, teaching_id)
    if summary["photos_read"] < summary["photos_total"]:
        raise UserError(f"teaching session {teaching_id} still has unread photos")
    row = ws.store.teaching_session(teaching_id)
    assert row is not None
    with ws.store.atomic():
        ws.store.finish_teaching_session(teaching_id)
        ws.store.audit(row["study_id"], "finish_teaching_session",
                       {"teaching_session": teaching_id, "correct": summary["correct"],
                        "photos": summary["photos_total"]})
    return {**summary, "finished": True}


def teaching_history(ws: Workspace, study_name: str) -> list[dict[str, Any]]:
    """Every teaching session of a study: reader, status and score (for the admin)."""
    study = load_study(ws, study_name)
    out = []
    for t in ws.store.teaching_sessions(study.id):
        reader = ws.store.reader_by_id(t["reader_id"])
        out.append({"reader": reader.name if reader else "?", "started_at": t["started_at"],
                    "status": t["status"], **teaching_summary(ws, t["id"])})
    return out
