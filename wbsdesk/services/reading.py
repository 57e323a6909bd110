"""Reading use cases: readers, timed sessions (start, resume, record, finish), export, dry runs.

A session is one reader x one study. It follows the protocol stored with it (resolved when
it started), in a per-reader random order whose seed is stored too. Each read is committed
in its own transaction, idempotently (a read that is already stored is not stored again),
so a session killed at any moment resumes without losing or duplicating a committed read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from wbsdesk.core.csv_export import csv_text
from wbsdesk.core.protocol import Protocol, Reading, protocol_from_dict
from wbsdesk.core.repeats import repeat_room, repeat_slots
from wbsdesk.core.session import ReadRecord, Stimulus, plan_session
from wbsdesk.errors import UserError
from wbsdesk.services.faces import require_faces_ok
from wbsdesk.services.repeat_reads import (
    REPEAT_CONSISTENCY,
    committed_positions,
    record_repeat,
    repeat_row,
    repeats_planned,
    session_plan,
    simulated_repeat_records,
    with_repeats,
)
from wbsdesk.services.session_lock import SessionLock
from wbsdesk.services.session_policy import check_before_open, link_restart
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.reading import ReaderRow, SessionRow

log = logging.getLogger(__name__)

ROLES = ("pediatrician", "pediatric cardiologist", "clinical geneticist", "other")
_READER_NAME = re.compile(r"^\S(.{0,62}\S)?$")


# ---------------------------------------------------------------------------------------------
# Readers


def reader_kind(row: ReaderRow) -> str:
    """How a reader is shown everywhere: ``physician``, ``simulated`` or ``dry run``."""
    return "simulated" if row.simulated else "dry run" if row.dry_run else "physician"


def add_reader(ws: Workspace, name: str, *, role: str, years: int | None = None,
               simulated: bool = False, dry_run: bool = False) -> ReaderRow:
    """Add a reader: a display name or code, a role and (optionally) years of experience.

    Parameters
    ----------
    ws : Workspace
    name : str
        1-64 characters, unique in the workspace.
    role : {"pediatrician", "pediatric cardiologist", "clinical geneticist", "other"}
    years : int, keyword-only
        Years of experience, 0-80.
    simulated, dry_run : bool, keyword-only
        Flags for the demo's simulated readers and for protocol rehearsals.

    Returns
    -------
    ReaderRow
    """
    name = name.strip()
    if not _READER_NAME.match(name):
        raise UserError(f"reader name {name!r} is not allowed",
                        hint="use 1-64 characters, a display name or a code such as R01")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}", hint=f"choose one of: {', '.join(ROLES)}")
    if years is not None and not 0 <= years <= 80:
        raise UserError(f"years of experience must be 0-80, got {years}")
    if ws.store.reader(name) is not None:
        raise UserError(f"a reader named {name!r} already exists")
    with ws.store.atomic():
        ws.store.insert_reader(name=name, role=role, years=years, simulated=simulated,
                               dry_run=dry_run)
        ws.store.audit(None, "add_reader", {"name": name, "role": role, "years": years,
                                            "simulated": simulated, "dry_run": dry_run})
    log.info("added reader %s (%s)", name, role)
    row = ws.store.reader(name)
    assert row is not None
    return row


def list_readers(ws: Workspace) -> list[dict[str, Any]]:
    """Every reader: name, role, years and kind (physician, simulated, dry run)."""
    return [{"name": r.name, "role": r.role, "years": r.years, "kind": reader_kind(r),
             "created_at": r.created_at} for r in ws.store.readers()]


def _reader(ws: Workspace, name: str) -> ReaderRow:
    row = ws.store.reader(name)
    if row is None:
        raise UserError(f"no reader named {name!r}",
                        hint="add one with 'wbsdesk reader add NAME --role ROLE'")
    return row


# ---------------------------------------------------------------------------------------------
# Sessions


@dataclass(frozen=True)
class SessionSetup:
    """Everything a reading screen needs, and nothing that identifies a photo's subject.

    ``images`` maps photo id to the absolute path of its reader crop. ``done`` holds the
    positions already committed. ``session_id`` is ``None`` for a preview (nothing stored).
    ``lock`` is the session's OS lock, held by this process until :meth:`release` (a
    preview has none).

    Aided designs (:mod:`wbsdesk.services.reading_aided`) set ``mode`` (``sequential``,
    ``aided`` or ``unaided``, ``None`` for a blind session), the ``read_phase`` of a
    crossover session's reads, ``aid`` (an :class:`~wbsdesk.services.reading_aided.AidView`)
    and ``locked``: positions whose blind read is committed and locked but whose aided
    re-read is not, with that rating.
    """

    session_id: int | None
    study: str
    reader: str
    reading: Reading
    question: str
    plan: tuple[Stimulus, ...]
    done: frozenset[int]
    images: dict[int, Path]
    resumed: bool = False
    interruptions: int = 0
    lock: SessionLock | None = field(default=None, compare=False, repr=False)
    design: str = "blind"
    mode: str | None = None
    read_phase: int = 1
    aid: Any = None
    locked: dict[int, int | None] = field(default_factory=dict)

    @property
    def preview(self) -> bool:
        """Whether this is a preview whose reads are not stored."""
        return self.session_id is None

    def release(self) -> None:
        """Let another process open this session (when the reading screen closes)."""
        if self.lock is not None:
            self.lock.release()


def _question(protocol: Protocol) -> str:
    label = protocol.groups.label(protocol.groups.positive)
    return f"Does this child have {label}?"


def _reading_photo_ids(ws: Workspace, study: Study) -> list[int]:
    included = {s.id for s in ws.store.subjects(study.id, include_excluded=False,
                                                include_practice=False)}
    return [p.id for p in ws.store.photos(study.id) if p.is_primary and p.subject_id in included]


def _practice_photo_ids(ws: Workspace, study: Study) -> list[int]:
    """The primary photos of the study's practice-only subjects (never scored, never analysed)."""
    practice = {s.id for s in ws.store.subjects(study.id, include_excluded=False)
                if s.practice_only}
    return [p.id for p in ws.store.photos(study.id) if p.is_primary and p.subject_id in practice]


def _plan(ws: Workspace, study: Study, ids: Sequence[int], reading: Reading, *,
          seed: int) -> list[Stimulus]:
    """A session's order: the scored photos, after practice photos from the practice set."""
    pool = _practice_photo_ids(ws, study)
    if reading.practice_photos > len(pool):
        log.warning("%s asks for %d practice photos but has %d practice-only subjects; "
                    "showing %d (a scored photo is never used for practice)", study.name,
                    reading.practice_photos, len(pool), len(pool))
    return plan_session(ids, seed=seed, order=reading.order,
                        practice=reading.practice_photos, practice_ids=pool)


def _images(ws: Workspace, study: Study, photo_ids: Sequence[int], *,
            fallback: bool = False) -> dict[int, Path]:
    crops = ws.store.crops(study.id)
    photos = {p.id: p for p in ws.store.photos(study.id)}
    out = {}
    for pid in photo_ids:
        c = crops.get(pid)
        if c is not None and c.reader_crop_path:
            out[pid] = ws.root / c.reader_crop_path
        elif fallback:
            out[pid] = ws.root / photos[pid].stored_path
        else:
            raise UserError(f"photo {pid} of {study.name!r} has no reader crop",
                            hint=f"run 'wbsdesk align {study.name}' and 'wbsdesk review'")
    missing = [p for p in out.values() if not p.is_file()]
    if missing:
        raise UserError(f"{len(missing)} reader crop file(s) of {study.name!r} are missing "
                        f"from {ws.root}", hint=f"run 'wbsdesk align {study.name} --force'")
    return out


def _setup(ws: Workspace, study: Study, reader: ReaderRow, row: SessionRow, *,
           resumed: bool, lock: SessionLock) -> SessionSetup:
    protocol = protocol_from_dict(json.loads(row.protocol_json), source=f"session {row.id}")
    plan = session_plan(ws, row)  # the order, repeats included
    return SessionSetup(session_id=row.id, study=study.name, reader=reader.name,
                        reading=protocol.reading, question=_question(protocol), plan=plan,
                        done=frozenset(committed_positions(ws, row.id)),
                        images=_images(ws, study, sorted({s.photo_id for s in plan})),
                        resumed=resumed, interruptions=row.interruptions, lock=lock)


def open_session(ws: Workspace, study_name: str, reader_name: str, *, seed: int | None = None,
                 reading: Reading | None = None, now: datetime | None = None) -> SessionSetup:
    """Start a reader's session on a study, or resume it where it stopped.

    Starting checks that every included primary photo has an ``ok`` face crop, stores the
    resolved protocol and a per-reader order (seeded with ``seed``, random by default).
    Resuming counts one interruption and continues at the first unanswered photo.

    The session's OS lock (:class:`~wbsdesk.services.session_lock.SessionLock`) is taken
    first and comes back held in the set-up: call ``setup.release()`` when the reading
    screen closes. A session open in another process is refused, naming that process.

    Parameters
    ----------
    ws : Workspace
    study_name, reader_name : str
    seed : int, keyword-only
        Order seed for a new session (ignored when resuming).
    reading : Reading, keyword-only
        Reading rules that replace the protocol's for a new session (dry runs).
    now : datetime, keyword-only
        The current time for the resume policy (tests); an interrupted session idle for
        longer than its protocol's ``reading.resume_within_hours`` is refused with
        :class:`~wbsdesk.services.session_policy.SessionExpiredError` until the
        administrator restarts or continues it.

    Returns
    -------
    SessionSetup

    Raises
    ------
    UserError
        If the study or reader is unknown, photos are not ready, the session is finished,
        or another process has it open.
    """
    study = load_study(ws, study_name)
    reader = _reader(ws, reader_name)
    lock = SessionLock(ws.root, study.id, reader.id, study=study.name, reader=reader.name)
    lock.acquire()
    try:
        check_before_open(ws, study, reader, now=now)
        setup = _open_locked(ws, study, reader, lock, seed=seed, reading=reading)
        link_restart(ws, study, reader, setup.session_id, setup.resumed)
        return setup
    except BaseException:
        lock.release()
        raise


def _open_locked(ws: Workspace, study: Study, reader: ReaderRow, lock: SessionLock, *,
                 seed: int | None, reading: Reading | None) -> SessionSetup:
    require_faces_ok(ws, study.name, purpose="reading")
    held = ws.store.sessions_of(reader.id, study.id)
    design = held[0].design if held else (reading or study.protocol.reading).design
    if design != "blind":  # a sequential or crossover design: aided reading
        from wbsdesk.services.reading_aided import open_aided

        return open_aided(ws, study, reader, lock, held=held, seed=seed, reading=reading)
    row = ws.store.session_of(reader.id, study.id)
    if row is not None:
        if row.status == "finished":
            raise UserError(f"{reader.name} has already finished the session on "
                            f"{study.name!r}")
        with ws.store.atomic():
            ws.store.add_interruption(row.id)
            ws.store.audit(study.id, "resume_session", {"session": row.id,
                                                        "reader": reader.name})
        log.info("resuming session %d (%s on %s)", row.id, reader.name, study.name)
        return _setup(ws, study, reader, ws.store.session(row.id), resumed=True, lock=lock)
    ids = _reading_photo_ids(ws, study)
    if not ids:
        raise UserError(f"study {study.name!r} has no photos to read",
                        hint="import a manifest and align the faces first")
    protocol = study.protocol
    if reading is not None:
        protocol = dataclasses.replace(protocol, reading=reading)
    order_seed = secrets.randbelow(2**31) if seed is None else int(seed)
    plan = _plan(ws, study, ids, protocol.reading, seed=order_seed)
    shown = with_repeats(study.name, plan, protocol.reading, seed=order_seed)
    with ws.store.atomic():
        sid = ws.store.insert_session(reader_id=reader.id, study_id=study.id,
                                      protocol_json=protocol.to_json(), order_seed=order_seed,
                                      photo_order=[(s.photo_id, s.practice) for s in plan])
        ws.store.insert_repeat_slots(sid, repeat_slots(shown))
        ws.store.audit(study.id, "start_session", {"session": sid, "reader": reader.name,
                                                   "photos": len(ids), "seed": order_seed,
                                                   "repeats": len(shown) - len(plan)})
    log.info("started session %d (%s on %s, %d photos)", sid, reader.name, study.name, len(ids))
    return _setup(ws, study, reader, ws.store.session(sid), resumed=False, lock=lock)


def record_read(ws: Workspace, session_id: int, record: ReadRecord) -> bool:
    """Commit one read in its own transaction; ``False`` if it was already stored.

    A repeat's read (``record.repeat``) goes to the repeat reads, apart from the reads.
    """
    if record.repeat:
        new = record_repeat(ws, session_id, record)
    else:
        with ws.store.atomic():
            new = ws.store.insert_read(session_id, **record.to_row())
    if not new:
        log.warning("read at position %d of session %d was already stored", record.position,
                    session_id)
    return new


def finish_session(ws: Workspace, session_id: int) -> dict[str, Any]:
    """Mark a session finished once every photo has a read; returns its summary."""
    row = ws.store.session(session_id)
    if row is None:
        raise UserError(f"no session {session_id}")
    from wbsdesk.services.reading_aided import complete_positions

    read, planned = ws.store.repeat_counts(row.study_id).get(session_id, (0, 0))
    if len(complete_positions(ws, row)) < len(row.photo_order) or read < planned:
        raise UserError(f"session {session_id} still has unread photos")
    with ws.store.atomic():
        ws.store.finish_session(session_id)
        ws.store.audit(row.study_id, "finish_session", {"session": session_id})
    return session_summary(ws, session_id)


def active_seconds(reads: Sequence[dict[str, Any]]) -> float:
    """Time spent reading: from each photo's onset to its read's end (pauses left out)."""
    total = 0.0
    for r in reads:
        end = r["hidden_mono"] if r["answered_mono"] is None else max(r["hidden_mono"],
                                                                      r["answered_mono"])
        total += end - r["shown_mono"]
    return total


def session_summary(ws: Workspace, session_id: int) -> dict[str, Any]:
    """Photos read and time taken (no scores: a reader never sees how well they did)."""
    row = ws.store.session(session_id)
    if row is None:
        raise UserError(f"no session {session_id}")
    from wbsdesk.services.reading_aided import complete_positions

    reads = ws.store.reads(session_id)
    complete = complete_positions(ws, row)
    rep_read, rep_total = ws.store.repeat_counts(row.study_id).get(session_id, (0, 0))
    return {"session": session_id,
            "photos_read": sum(not p for i, (_, p) in enumerate(row.photo_order)
                               if i in complete) + rep_read,
            "photos_total": sum(not p for _, p in row.photo_order) + rep_total,
            "practice_read": sum(r["practice"] for r in reads),
            "seconds": round(active_seconds(reads), 1), "interruptions": row.interruptions,
            "finished": row.status == "finished"}


def preview_setup(ws: Workspace, study_name: str, *, seed: int = 0) -> SessionSetup:
    """A session of a study for looking at the reading screen; nothing is stored.

    Uses reader crops where they exist and the stored photo otherwise (a preview only).
    """
    study = load_study(ws, study_name)
    ids = _reading_photo_ids(ws, study)
    if not ids:
        raise UserError(f"study {study.name!r} has no photos to read")
    plan = tuple(plan_session(ids, seed=seed, order=study.protocol.reading.order))
    with contextlib.suppress(UserError):  # the repeats a session would show, if room
        plan = tuple(with_repeats(study.name, plan, study.protocol.reading, seed=seed))
    return SessionSetup(session_id=None, study=study.name, reader="preview",
                        reading=study.protocol.reading, question=_question(study.protocol),
                        plan=plan, done=frozenset(),
                        images=_images(ws, study, ids, fallback=True))


def study_sessions(ws: Workspace, study_name: str) -> list[dict[str, Any]]:
    """Every session of a study: reader, kind, status, progress and interruptions (admin).

    ``read`` / ``total`` count scored photos; ``practice`` is the number of practice photos.
    """
    study = load_study(ws, study_name)
    counts = ws.store.read_counts(study.id)
    repeats = ws.store.repeat_counts(study.id)
    out = []
    for s in ws.store.sessions(study.id):
        reader = ws.store.reader_by_id(s.reader_id)
        assert reader is not None
        out.append({"session": s.id, "reader": reader.name, "role": reader.role,
                    "kind": reader_kind(reader), "status": s.status,
                    "read": counts.get(s.id, 0) + repeats.get(s.id, (0, 0))[0],
                    "total": sum(not practice for _, practice in s.photo_order)
                    + repeats.get(s.id, (0, 0))[1],
                    "practice": sum(practice for _, practice in s.photo_order),
                    "interruptions": s.interruptions, "order_seed": s.order_seed,
                    "started_at": s.started_at, "finished_at": s.finished_at,
                    "design": s.design, "modality": s.modality, "period": s.period})
    return out


# ---------------------------------------------------------------------------------------------
# Export


EXPORT_COLUMNS = ("reader", "role", "years", "kind", "session_id", "position", "practice",
                  "subject", "group", "photo_id", "photo", "rating", "binary_read",
                  "display_s", "response_s", "shown_at", "hidden_at", "answered_at",
                  "shown_mono", "hidden_mono", "answered_mono", "after_interruption",
                  "recorded_at", "modality", "phase", "aid_score", "heatmap_viewed")


def photo_pseudonym(photo_id: int) -> str:
    """The photo's ID in exports instead of its file name, e.g. ``P0042`` (stable: the
    photo's row number in this workspace)."""
    return f"P{int(photo_id):04d}"


def export_reads(ws: Workspace, study_name: str, *,
                 with_file_names: bool = False) -> list[dict[str, Any]]:
    """Every read of a study with its reader, subject and group (``kind`` flags simulated
    and dry-run readers; ``rating`` is empty for "no answer").

    The ``photo`` column holds a pseudonymous photo ID (:func:`photo_pseudonym`), since
    original file names often hold a child's name; ``with_file_names`` exports the
    original file names instead.
    """
    study = load_study(ws, study_name)
    out = []
    for r in ws.store.study_reads(study.id):
        kind = "simulated" if r["simulated"] else "dry run" if r["dry_run"] else "physician"
        row = {**r, "kind": kind, "practice": int(r["practice"]),
               "after_interruption": int(r["after_interruption"]),
               "heatmap_viewed": None if r["heatmap_viewed"] is None
               else int(r["heatmap_viewed"])}
        if not with_file_names:
            row["photo"] = photo_pseudonym(r["photo_id"])
        out.append({c: row[c] for c in EXPORT_COLUMNS})
    return out


def reads_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The exported reads as CSV text (header line first; formula-like text neutralised by
    :func:`wbsdesk.core.csv_export.csv_text`)."""
    return csv_text(rows, EXPORT_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Dry runs


@dataclass(frozen=True)
class ScriptedAnswer:
    """One line of a dry-run answers file: a rating (``None``: no answer) after ``delay`` s.

    ``aided_rating`` and ``aided_delay`` answer the photo's aided view (``aided_delay`` is
    ``None`` when the line has no second pair).
    """

    rating: int | None
    delay: float
    aided_rating: int | None = None
    aided_delay: float | None = None
    line: int = field(default=0, repr=False, compare=False)


def _scripted(words: list[str], bad: str, scale_size: int) -> tuple[int | None, float]:
    rating: int | None = None
    if words[0] not in ("-", "none"):
        try:
            rating = int(words[0])
        except ValueError:
            raise UserError(bad + f"rating {words[0]!r} is not a number or '-'") from None
        if not 1 <= rating <= scale_size:
            raise UserError(bad + f"rating must be 1..{scale_size} or '-', got {rating}")
    try:
        delay = float(words[1])
    except ValueError:
        raise UserError(bad + f"delay {words[1]!r} is not a number of seconds") from None
    if not 0 <= delay <= 3600:
        raise UserError(bad + f"delay must be 0..3600 s, got {delay}")
    return rating, delay


def parse_answers(text: str, *, scale_size: int, source: str = "answers") -> list[ScriptedAnswer]:
    """Parse a dry-run answers file: one line per photo, ``RATING DELAY``.

    ``RATING`` is 1..``scale_size`` or ``-`` for no answer; ``DELAY`` is seconds after the
    photo appears. An aided study's lines add ``AIDED_RATING AIDED_DELAY`` for the photo's
    aided view (seconds after it appears). Blank lines and ``#`` comments are skipped.

    Examples
    --------
    >>> parse_answers("4 1.5\\n- 0  # no answer\\n", scale_size=5)
    [ScriptedAnswer(rating=4, delay=1.5, aided_rating=None, aided_delay=None), \
ScriptedAnswer(rating=None, delay=0.0, aided_rating=None, aided_delay=None)]
    >>> parse_answers("2 1.0 4 2.5", scale_size=5)[0].aided_rating
    4
    """
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].replace(",", " ").split()
        if not line:
            continue
        bad = f"{source}, line {n}: "
        if len(line) not in (2, 4):
            raise UserError(bad + "expected 'RATING DELAY' (or, for an aided study, 'RATING "
                            f"DELAY AIDED_RATING AIDED_DELAY'), got {raw.strip()!r}")
        rating, delay = _scripted(line[:2], bad, scale_size)
        aided: tuple[int | None, float | None] = (None, None)
        if len(line) == 4:
            aided = _scripted(line[2:], bad + "aided ", scale_size)
        out.append(ScriptedAnswer(rating, delay, *aided, line=n))
    if not out:
        raise UserError(f"{source}: no answers found")
    return out


def open_dry_run(ws: Workspace, study_name: str, *, reader: str | None = None,
                 seconds: float | None = None, response_window: float | None = None,
                 seed: int | None = None, answers: int | None = None,
                 script: Sequence[ScriptedAnswer] | None = None) -> SessionSetup:
    """Start (or resume) a rehearsal session under a reader flagged ``dry_run``.

    Parameters
    ----------
    reader : str, keyword-only
        The dry-run reader; created if needed, resumed if it has an unfinished session.
        Default: a new ``dry-run-N``. A physician's name is refused.
    seconds, response_window : float, keyword-only
        Replace the protocol's display time and response window (stored with the session).
    seed : int, keyword-only
        Order seed of a new session.
    answers : int, keyword-only
        How many scripted answers there are; fewer than the session's photos (practice
        included) is refused before anything is written.
    script : sequence of ScriptedAnswer, keyword-only
        The answers themselves: in an aided session, a line without the aided answer for a
        photo that is read aided is refused before anything is written.
    """
    study = load_study(ws, study_name)
    if answers is not None:
        row = ws.store.reader(reader) if reader else None
        held = ws.store.session_of(row.id, study.id) if row else None
        ids = _reading_photo_ids(ws, study)
        shown = (len(held.photo_order) + len(ws.store.repeat_slots(held.id)) if held else
                 len(ids) + repeats_planned(len(ids), study.protocol.reading)
                 + min(study.protocol.reading.practice_photos,
                       len(_practice_photo_ids(ws, study))))
        if answers < shown:
            raise UserError(f"the answers file has {answers} answers, but the session shows "
                            f"{shown} photos (practice included)")
    from wbsdesk.services.reading_aided import check_dry_run

    check_dry_run(ws, study, reader, script)  # an aided design's refusals, before any write
    if reader is None:
        taken = {r.name for r in ws.store.readers()}
        reader = next(f"dry-run-{i}" for i in range(1, len(taken) + 2)
                      if f"dry-run-{i}" not in taken)
    row = ws.store.reader(reader)
    if row is None:
        add_reader(ws, reader, role="other", dry_run=True)
    elif not row.dry_run:
        raise UserError(f"reader {reader!r} is not a dry-run reader",
                        hint="dry runs never write under a physician's name")
    r = study.protocol.reading
    if seconds is not None and not 0.05 <= seconds <= 600:
        raise UserError(f"--seconds must be 0.05..600, got {seconds}")
    if response_window is not None and not 0 <= response_window <= 3600:
        raise UserError(f"--response-window must be 0..3600, got {response_window}")
    if seconds is not None:
        r = dataclasses.replace(r, seconds_per_photo=float(seconds))
    if response_window is not None:
        r = dataclasses.replace(r, response_window_seconds=float(response_window))
    return open_session(ws, study_name, reader, seed=seed, reading=r)


# ---------------------------------------------------------------------------------------------
# Simulated readers (the demo)


@dataclass(frozen=True)
class SimulatedReader:
    """A simulated reader modelled on one of the paper's physicians (Table 5)."""

    name: str
    role: str
    years: int
    sensitivity: float
    specificity: float
    median_rt: float


def _paper_specificity(accuracy: float, recall: float) -> float:
    # Table 5 was read on 104 WBS and 236 control photos.
    return (accuracy * 340 - recall * 104) / 236


SIMULATED_READERS = (
    SimulatedReader("Simulated pediatric cardiologist 1", "pediatric cardiologist", 18,
                    0.856, _paper_specificity(0.821, 0.856), 3.8),
    SimulatedReader("Simulated pediatric cardiologist 2", "pediatric cardiologist", 9,
                    0.683, _paper_specificity(0.750, 0.683), 4.6),
    SimulatedReader("Simulated pediatrician 1", "pediatrician", 6,
                    0.548, _paper_specificity(0.665, 0.548), 5.2),
    SimulatedReader("Simulated pediatrician 2", "pediatrician", 12,
                    0.587, _paper_specificity(0.750, 0.587), 4.2),
)


def simulate_ratings(truth: Sequence[bool], reader: SimulatedReader, reading: Reading,
                     rng: Any) -> list[int]:
    """Ratings of a simulated reader: an equal-variance normal model at the reader's
    sensitivity and specificity, with a noisy confidence level on each side of the cut."""
    z = NormalDist().inv_cdf
    cut = z(reader.specificity)
    shift = cut + z(reader.sensitivity)  # P(x > cut | positive) = sensitivity
    levels = len(reading.scale)
    middle = (levels + 1) // 2
    # ratings above ``first_pos - 1`` are positive reads
    first_pos = middle if reading.unsure_counts_as == "positive" else middle + 1
    out = []
    for t in truth:
        x = rng.normal(shift if t else 0.0, 1.0)
        sure = abs(x - cut) * 0.5 + rng.normal(0.0, 0.8)
        if x > cut:
            step = 0 if sure < 0.9 else 1
            out.append(min(first_pos + step, levels))
        else:
            step = 0 if sure < 0.3 else 1 if sure < 1.1 else 2
            out.append(max(first_pos - 1 - step, 1))
    return out


def add_simulated_readers(ws: Workspace, study_name: str, *, seed: int) -> list[str]:
    """Write four simulated readers' complete sessions on a study (for the demo).

    Their ratings come from the truth with per-reader skill after the paper's four
    physicians (accuracy about 66-82 %, binary AUC about 63-83 %); response times are
    about 2-9 s. Readers are flagged ``simulated``. Nothing is shown, so the face gate is
    not needed. Readers that already have a session on the study are left alone. With
    ``[reading] repeat_fraction`` each session also has its repeat reads
    (:mod:`wbsdesk.services.repeat_reads`: the same rating as the first showing with a
    reader-specific chance, else a step or two away), from a random stream of their own so
    the first reads are the same with or without repeats; a study too small for the
    repeats gets none (logged).

    Parameters
    ----------
    ws : Workspace
    study_name : str
    seed : int, keyword-only
        Seeds the orders, ratings and timings.

    Returns
    -------
    list of str
        The names of the readers whose sessions were written.
    """
    study = load_study(ws, study_name)
    reading = study.protocol.reading
    ids = _reading_photo_ids(ws, study)
    if not ids:
        raise UserError(f"study {study.name!r} has no photos to read")
    subjects = {s.id: s for s in ws.store.subjects(study.id)}
    photos = {p.id: p for p in ws.store.photos(study.id)}
    positive = study.protocol.groups.positive
    truth_of = {pid: subjects[p.subject_id].group == positive for pid, p in photos.items()}
    written = []
    small = repeat_room(len(ids), reading.repeat_fraction, reading.repeat_min_gap)
    if small is not None:  # a shrunken demo (tests, self-test): simulated reads only
        log.warning("%s: the simulated readers get no repeat reads: %s", study.name, small)
    for i, sim in enumerate(SIMULATED_READERS):
        row = ws.store.reader(sim.name)
        if row is not None and not row.simulated:
            raise UserError(f"reader {sim.name!r} exists and is not simulated")
        if row is not None and ws.store.session_of(row.id, study.id) is not None:
            continue
        rng = np.random.default_rng([seed, i])
        order_seed = int(rng.integers(2**31))
        plan = _plan(ws, study, ids, reading, seed=order_seed)
        ratings = simulate_ratings([truth_of[s.photo_id] for s in plan], sim, reading, rng)
        shown = plan if small else with_repeats(study.name, plan, reading, seed=order_seed)
        records = _simulated_records(plan, ratings, reading, sim, rng)
        repeats = _simulated_repeats(shown, records, truth_of, reading, sim,
                                     np.random.default_rng([seed, i, 11]))
        with ws.store.atomic():
            if row is None:
                ws.store.insert_reader(name=sim.name, role=sim.role, years=sim.years,
                                       simulated=True, dry_run=False)
                row = ws.store.reader(sim.name)
                assert row is not None
            sid = ws.store.insert_session(
                reader_id=row.id, study_id=study.id, protocol_json=study.protocol.to_json(),
                order_seed=order_seed, photo_order=[(s.photo_id, s.practice) for s in plan])
            for rec in records:
                ws.store.insert_read(sid, **rec.to_row())
            ws.store.insert_repeat_slots(sid, repeat_slots(shown))
            for rec in repeats:
                ws.store.insert_repeat_read(sid, **repeat_row(rec))
            ws.store.finish_session(sid)
            ws.store.audit(study.id, "simulated_session", {"session": sid,
                                                           "reader": sim.name, "seed": seed})
        written.append(sim.name)
    log.info("wrote %d simulated readers' sessions on %s", len(written), study.name)
    return written


def _simulated_repeats(shown: Sequence[Stimulus], records: Sequence[ReadRecord],
                       truth_of: dict[int, bool], reading: Reading, sim: SimulatedReader,
                       rng: Any) -> list[ReadRecord]:
    """A simulated session's repeat reads (their own random stream: the first reads are
    the same with or without repeats)."""
    repeats = [s for s in shown if s.repeat]
    if not repeats:
        return []
    fresh = simulate_ratings([truth_of[s.photo_id] for s in repeats], sim, reading, rng)
    k = SIMULATED_READERS.index(sim)
    return simulated_repeat_records(shown, records, reading,
                                    consistency=REPEAT_CONSISTENCY[k],
                                    median_rt=sim.median_rt, fresh=fresh, rng=rng)


def _simulated_records(plan: Sequence[Stimulus], ratings: Sequence[int], reading: Reading,
                       sim: SimulatedReader, rng: Any) -> list[ReadRecord]:
    secs = reading.seconds_per_photo
    start = datetime.now(UTC) - timedelta(seconds=len(plan) * (secs + 1.0))
    mono = 1000.0
    out = []

    def wall(t: float) -> str:
        return (start + timedelta(seconds=t - 1000.0)).isoformat(timespec="milliseconds")

    for s, rating in zip(plan, ratings, strict=True):
        display = secs + float(rng.normal(0.0, 0.002))
        rt = float(np.clip(rng.lognormal(np.log(sim.median_rt), 0.35), 1.5, 9.5))
        if rng.random() < 0.03:  # now and then an answer after the photo has gone
            rt = secs + float(rng.uniform(0.3, 4.0))
        answered = rng.random() >= 0.005  # very rarely, no answer in the window
        shown, hidden = mono, mono + display
        end = hidden + (reading.response_window_seconds if not answered else 0.0)
        if answered:
            end = max(hidden, shown + rt)
        out.append(ReadRecord(
            position=s.position, photo_id=s.photo_id, practice=s.practice,
            rating=rating if answered else None,
            binary_read=reading.binary_read(rating) if answered else None,
            shown_mono=round(shown, 4), hidden_mono=round(hidden, 4),
            answered_mono=round(shown + rt, 4) if answered else None,
            shown_at=wall(shown), hidden_at=wall(hidden),
            answered_at=wall(shown + rt) if answered else None,
            display_s=round(display, 4), response_s=round(rt, 4) if answered else None,
            after_interruption=False))
        mono = end + float(rng.uniform(0.02, 0.05))
    return out
