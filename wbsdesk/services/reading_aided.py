"""Sessions of an aided study: sequential (blind read, locked, then aided re-read) and crossover.

:func:`wbsdesk.services.reading.open_session` hands over here when the study's design (or
the reader's first session) is not ``blind``.

Sequential
    One session per reader (``modality = 'both'``). Each scored photo's blind read is
    committed (phase 1, unaided, locked by the database), then its aided re-read (phase 2,
    aided, with the score shown). A resumed session goes back to the first photo whose
    reading is unfinished: to its aided stage when its blind read is in.
Crossover
    Two sessions per reader, one unaided and one aided, each in its own random photo order.
    The first session's modality is counterbalanced across the study's readers (whichever
    order fewer readers have had; unaided first on a tie). The second cannot start until
    ``washout_days`` after the first finished; the refusal names the date.

Both record the study's current aid set (:mod:`wbsdesk.services.aid`) on the session; each
aided read records the score it showed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wbsdesk.core.protocol import Protocol, Reading, protocol_from_dict
from wbsdesk.core.session import Stimulus
from wbsdesk.errors import UserError
from wbsdesk.services.aid import AidSet, require_aid
from wbsdesk.services.reading import (
    ScriptedAnswer,
    SessionSetup,
    _images,
    _plan,
    _question,
    _reading_photo_ids,
)
from wbsdesk.services.reading import _practice_photo_ids as _practice_ids
from wbsdesk.services.session_lock import SessionLock
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.reading import ReaderRow, SessionRow

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The current UTC time (the washout check's clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class AidView:
    """What the aided view may show, for the photos of one session.

    ``scores`` maps photo id to the model's out-of-fold score, ``heatmaps`` to the overlay
    PNG (empty unless the protocol shows heatmaps). ``shows`` is the protocol's ``aid``.
    The bar runs from ``negative_label`` (0) to ``positive_label`` (1).
    """

    aid_set_id: int
    run: str
    model: str
    shows: tuple[str, ...]
    scores: dict[int, float]
    heatmaps: dict[int, Path]
    positive_label: str
    negative_label: str

    @property
    def probability(self) -> bool:
        """Whether the probability is shown."""
        return "probability" in self.shows

    @property
    def heatmap(self) -> bool:
        """Whether the heatmap can be toggled on."""
        return "heatmap" in self.shows


def aid_view(protocol: Protocol, aid: AidSet, photo_ids: Sequence[int]) -> AidView:
    """The aid of ``photo_ids`` as the reading screen shows it under ``protocol``."""
    g = protocol.groups
    shows = protocol.reading.aid
    return AidView(
        aid_set_id=aid.id, run=aid.run, model=aid.model, shows=tuple(shows),
        scores={p: aid.scores[p] for p in photo_ids if p in aid.scores},
        heatmaps=({p: aid.heatmaps[p] for p in photo_ids if p in aid.heatmaps}
                  if "heatmap" in shows else {}),
        positive_label=g.label(g.positive),
        negative_label=" or ".join(g.label(c) for c in g.controls))


def complete_positions(ws: Workspace, row: SessionRow) -> set[int]:
    """Positions of a session whose reading is complete.

    In a sequential session a scored photo is complete once its aided re-read (phase 2) is
    in, a practice photo once its blind read is; otherwise once its read is in.
    """
    phases = ws.store.read_phases(row.id)
    if row.modality != "both":
        return set(phases)
    practice = {i for i, (_, p) in enumerate(row.photo_order) if p}
    return {pos for pos, got in phases.items() if 2 in got or (pos in practice and 1 in got)}


def _locked(ws: Workspace, row: SessionRow) -> dict[int, int | None]:
    """Sequential: positions with a committed blind read and no aided one (their rating)."""
    if row.modality != "both":
        return {}
    practice = {i for i, (_, p) in enumerate(row.photo_order) if p}
    return {pos: got[1] for pos, got in ws.store.read_phases(row.id).items()
            if 1 in got and 2 not in got and pos not in practice}


def _mode(row: SessionRow) -> str:
    return {"both": "sequential", "aided": "aided", "unaided": "unaided"}[row.modality]


def _setup(ws: Workspace, study: Study, reader: ReaderRow, row: SessionRow, *, resumed: bool,
           lock: SessionLock) -> SessionSetup:
    protocol = protocol_from_dict(json.loads(row.protocol_json), source=f"session {row.id}")
    plan = tuple(Stimulus(i, pid, practice) for i, (pid, practice) in enumerate(row.photo_order))
    scored = [s.photo_id for s in plan if not s.practice]
    aid = None
    if row.aid_set_id is not None and row.modality != "unaided":  # no aid data on screen
        aid = aid_view(protocol, require_aid(ws, study, protocol.reading, scored,
                                             aid_set_id=row.aid_set_id), scored)
    return SessionSetup(
        session_id=row.id, study=study.name, reader=reader.name, reading=protocol.reading,
        question=_question(protocol), plan=plan, done=frozenset(complete_positions(ws, row)),
        images=_images(ws, study, sorted({s.photo_id for s in plan})), resumed=resumed,
        interruptions=row.interruptions, lock=lock, design=row.design, mode=_mode(row),
        read_phase=row.period, aid=aid, locked=_locked(ws, row))


def _resume(ws: Workspace, study: Study, reader: ReaderRow, row: SessionRow,
            lock: SessionLock) -> SessionSetup:
    with ws.store.atomic():
        ws.store.add_interruption(row.id)
        ws.store.audit(study.id, "resume_session", {"session": row.id, "reader": reader.name,
                                                    "period": row.period})
    log.info("resuming session %d (%s on %s, period %d)", row.id, reader.name, study.name,
             row.period)
    fresh = ws.store.session(row.id)
    assert fresh is not None
    return _setup(ws, study, reader, fresh, resumed=True, lock=lock)


def _start(ws: Workspace, study: Study, reader: ReaderRow, lock: SessionLock, *,
           protocol: Protocol, seed: int, modality: str, period: int,
           aid: AidSet) -> SessionSetup:
    ids = _reading_photo_ids(ws, study)
    plan = _plan(ws, study, ids, protocol.reading, seed=seed)
    with ws.store.atomic():
        sid = ws.store.insert_session(
            reader_id=reader.id, study_id=study.id, protocol_json=protocol.to_json(),
            order_seed=seed, photo_order=[(s.photo_id, s.practice) for s in plan],
            design=protocol.reading.design, modality=modality, period=period,
            aid_set_id=aid.id)
        ws.store.audit(study.id, "start_session", {
            "session": sid, "reader": reader.name, "photos": len(ids), "seed": seed,
            "design": protocol.reading.design, "modality": modality, "period": period,
            "aid_set": aid.id, "run": aid.run, "aid_model": aid.model})
    log.info("started %s session %d (%s on %s, %s, period %d)", protocol.reading.design, sid,
             reader.name, study.name, modality, period)
    row = ws.store.session(sid)
    assert row is not None
    return _setup(ws, study, reader, row, resumed=False, lock=lock)


def _first_modality(ws: Workspace, study: Study) -> str:
    """Counterbalance: the first-session modality fewer crossover readers have had."""
    firsts = [s.modality for s in ws.store.sessions(study.id)
              if s.design == "crossover_aided" and s.period == 1]
    return "aided" if firsts.count("aided") < firsts.count("unaided") else "unaided"


def washout_ends(first: SessionRow) -> datetime:
    """When the second crossover session may start: the first's end plus its washout."""
    if first.finished_at is None:
        raise ValueError("the first session is not finished")
    days = protocol_from_dict(json.loads(first.protocol_json),
                              source=f"session {first.id}").reading.washout_days
    return datetime.fromisoformat(first.finished_at) + timedelta(days=days)


def _check_washout(reader: str, study: Study, first: SessionRow) -> None:
    ends = washout_ends(first)
    if utc_now() < ends:
        raise UserError(f"{reader}'s second session on {study.name!r} cannot start before "
                        f"{ends.date().isoformat()} {ends.astimezone(UTC).strftime('%H:%M')} "
                        f"UTC: the crossover washout runs until then from the end of the "
                        f"first session ({(first.finished_at or '?')[:10]})",
                        hint="start it on or after that date; nothing was written")


def open_aided(ws: Workspace, study: Study, reader: ReaderRow, lock: SessionLock, *,
               held: Sequence[SessionRow], seed: int | None,
               reading: Reading | None) -> SessionSetup:
    """Start or resume a reader's session of an aided design (the caller holds ``lock``).

    Raises
    ------
    UserError
        No aid prepared, or it does not cover every photo (named); the reader has finished
        (both periods of a crossover); or the crossover washout has not ended (the message
        names the date).
    """
    protocol = study.protocol
    if reading is not None:
        protocol = dataclasses.replace(protocol, reading=reading)
    open_rows = [r for r in held if r.status != "finished"]
    if open_rows:
        return _resume(ws, study, reader, open_rows[0], lock)
    design = held[0].design if held else protocol.reading.design
    if held and (design == "sequential_aided" or len(held) >= 2):
        raise UserError(f"{reader.name} has already finished the session"
                        f"{'s' if len(held) > 1 else ''} on {study.name!r}")
    ids = _reading_photo_ids(ws, study)
    if not ids:
        raise UserError(f"study {study.name!r} has no photos to read",
                        hint="import a manifest and align the faces first")
    order_seed = secrets.randbelow(2**31) if seed is None else int(seed)
    if not held:
        aid = require_aid(ws, study, protocol.reading, ids)
        if design == "sequential_aided":
            return _start(ws, study, reader, lock, protocol=protocol, seed=order_seed,
                          modality="both", period=1, aid=aid)
        return _start(ws, study, reader, lock, protocol=protocol, seed=order_seed,
                      modality=_first_modality(ws, study), period=1, aid=aid)
    first = held[0]
    _check_washout(reader.name, study, first)
    first_protocol = protocol_from_dict(json.loads(first.protocol_json),
                                        source=f"session {first.id}")
    assert first.aid_set_id is not None
    aid = require_aid(ws, study, first_protocol.reading, ids, aid_set_id=first.aid_set_id)
    other = "aided" if first.modality == "unaided" else "unaided"
    if seed is not None:
        order_seed = int(seed) + 1  # its own order, even for a fixed seed
    return _start(ws, study, reader, lock, protocol=dataclasses.replace(
        first_protocol, reading=reading or first_protocol.reading), seed=order_seed,
        modality=other, period=2, aid=aid)


def preview_aided_setup(ws: Workspace, study_name: str, *, seed: int = 0,
                        design: str = "sequential_aided") -> SessionSetup:
    """A sequential aided session for looking at the reading screen; nothing is stored.

    Uses the study's current aid (refused when none was prepared).
    """
    from wbsdesk.services.aid import current_aid
    from wbsdesk.services.reading import preview_setup

    study = load_study(ws, study_name)
    base = preview_setup(ws, study_name, seed=seed)
    reading = dataclasses.replace(study.protocol.reading, design=design)
    protocol = dataclasses.replace(study.protocol, reading=reading)
    ids = [s.photo_id for s in base.plan if not s.practice]
    aid = current_aid(ws, study_name)
    if aid is None:
        raise UserError(f"study {study.name!r} has no aid to preview",
                        hint=f"run 'wbsdesk aid prepare {study.name} --run RUN'")
    aid = require_aid(ws, study, reading, ids, aid_set_id=aid.id)
    return dataclasses.replace(base, reading=reading, design=design, mode="sequential",
                               aid=aid_view(protocol, aid, ids))



def check_dry_run(ws: Workspace, study: Study, reader_name: str | None,
                  script: Sequence[ScriptedAnswer] | None) -> None:
    """Refuse, before anything is written, a dry run that its aided session would refuse.

    The session is the reader's open one, else the one :func:`open_aided` would start (a
    sequential session; the counterbalanced or the other crossover period): it needs a
    prepared aid covering every photo, the crossover washout must be over, and every line
    of ``script`` for a photo read aided needs ``AIDED_RATING AIDED_DELAY`` (line ``i``
    answers position ``i``, practice first; practice photos are read blind only).

    Raises
    ------
    UserError
        Naming the problem (no aid, photos without a score, the washout's end, or the lines
        without an aided answer).
    """
    row = ws.store.reader(reader_name) if reader_name else None
    held = ws.store.sessions_of(row.id, study.id) if row else []
    reading = study.protocol.reading
    design = held[0].design if held else reading.design
    if design == "blind":
        return
    open_rows = [r for r in held if r.status != "finished"]
    if open_rows:
        modality = open_rows[0].modality
        n_practice = sum(p for _, p in open_rows[0].photo_order)
    else:
        ids = _reading_photo_ids(ws, study)
        if not held:
            require_aid(ws, study, reading, ids)
            modality = "both" if design == "sequential_aided" else _first_modality(ws, study)
        elif design == "crossover_aided" and len(held) == 1:
            _check_washout(reader_name or "?", study, held[0])
            modality = "aided" if held[0].modality == "unaided" else "unaided"
        else:
            return  # finished: open_session says so before writing
        n_practice = min(reading.practice_photos, len(_practice_ids(ws, study)))
    if modality == "unaided" or script is None:
        return
    lacking = [a.line for a in script[n_practice:] if a.aided_delay is None]
    if lacking:
        shown = ", ".join(str(n) for n in lacking[:10]) + (" …" if len(lacking) > 10 else "")
        what = "sequential" if modality == "both" else "aided"
        raise UserError(f"the answers file has no aided answer on {len(lacking)} line(s) "
                        f"(line {shown}); the {what} session reads every scored photo with "
                        "the model's aid",
                        hint="write 'RATING DELAY AIDED_RATING AIDED_DELAY' on every line "
                             "after the practice photos")
