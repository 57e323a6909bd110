"""Repeat reads in blind sessions: planning them, storing them, and the demo's simulated ones.

A blind session whose protocol sets ``[reading] repeat_fraction`` shows a seeded hidden
subset of its scored photos a second time, at least ``repeat_min_gap`` photos after the
first showing (:mod:`wbsdesk.core.repeats`). The repeats are stored with the session when
it starts (``repeat_slots``), so a resumed session continues the same order, repeats
included; their reads go to ``repeat_reads``, each committed in its own transaction like
every read, and never enter the primary analysis (they feed the agreement section).
Aided designs never get repeats.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from wbsdesk.core.protocol import Reading
from wbsdesk.core.repeats import merge_repeats, plan_repeats, repeat_count, repeat_room
from wbsdesk.core.session import ReadRecord, Stimulus
from wbsdesk.errors import UserError
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.reading import SessionRow
from wbsdesk.store.repeats import REPEAT_READ_COLUMNS

log = logging.getLogger(__name__)

__all__ = ["REPEAT_CONSISTENCY", "check_room", "committed_positions", "record_repeat",
           "repeat_row", "repeats_planned", "session_plan", "simulated_repeat_records",
           "with_repeats"]


def check_room(study: str, n_scored: int, reading: Reading) -> None:
    """Refuse a session whose study is too small for its repeats (naming the keys)."""
    why = repeat_room(n_scored, reading.repeat_fraction, reading.repeat_min_gap)
    if why is not None:
        raise UserError(f"study {study!r} cannot show its repeat reads: {why}",
                        hint="lower [reading] repeat_min_gap or repeat_fraction in the "
                             "study's protocol (or set repeat_fraction = 0)")


def with_repeats(study: str, plan: Sequence[Stimulus], reading: Reading, *,
                 seed: int) -> list[Stimulus]:
    """A new blind session's display order: ``plan`` with its repeats put in.

    Raises
    ------
    UserError
        If the study has too few scored photos for the repeats at the protocol's gap.
    """
    check_room(study, sum(not s.practice for s in plan), reading)
    return plan_repeats(plan, fraction=reading.repeat_fraction,
                        min_gap=reading.repeat_min_gap, seed=seed)


def repeats_planned(n_scored: int, reading: Reading) -> int:
    """How many repeats a new blind session of ``n_scored`` photos shows."""
    return repeat_count(n_scored, reading.repeat_fraction) if reading.design == "blind" else 0


def session_plan(ws: Workspace, row: SessionRow) -> tuple[Stimulus, ...]:
    """A stored session's display order, its repeats included."""
    base = [Stimulus(i, pid, practice) for i, (pid, practice) in enumerate(row.photo_order)]
    return tuple(merge_repeats(base, ws.store.repeat_slots(row.id)))


def committed_positions(ws: Workspace, session_id: int) -> set[int]:
    """Positions of a session with a committed read, repeats included (any phase)."""
    return ws.store.read_positions(session_id) | ws.store.repeat_read_positions(session_id)


def repeat_row(record: ReadRecord) -> dict[str, Any]:
    """The ``repeat_reads`` column values of a repeat's read."""
    row = record.to_row()
    return {k: row[k] for k in REPEAT_READ_COLUMNS if k in row}


def record_repeat(ws: Workspace, session_id: int, record: ReadRecord) -> bool:
    """Commit one repeat read in its own transaction; ``False`` if it was already stored."""
    with ws.store.atomic():
        return ws.store.insert_repeat_read(session_id, **repeat_row(record))


# ---------------------------------------------------------------------------------------------
# The demo's simulated readers

#: Per simulated reader (in :data:`~wbsdesk.services.reading.SIMULATED_READERS` order): the
#: chance that a repeat gets the same rating as the first showing, before the rating
#: scale's ends clip a step. The more experienced readers are the more consistent. Chosen,
#: not fitted to data: on the demo they give linearly weighted kappas of about 0.65-0.9.
REPEAT_CONSISTENCY = (0.72, 0.62, 0.50, 0.58)


def simulated_repeat_ratings(first: Sequence[int | None], consistency: float, levels: int,
                             rng: np.random.Generator, fresh: Sequence[int]) -> list[int]:
    """A simulated reader's ratings of the repeats, given the first showings' ratings.

    The same rating with probability ``consistency``; otherwise one step up or down (two
    steps one time in six), clipped to the scale. A first showing with no answer takes
    ``fresh`` (a new draw from the reader's model).
    """
    out = []
    for f, new in zip(first, fresh, strict=True):
        if f is None:
            out.append(int(new))
            continue
        if rng.random() < consistency:
            out.append(int(f))
            continue
        step = (2 if rng.random() < 1 / 6 else 1) * (1 if rng.random() < 0.5 else -1)
        out.append(int(np.clip(f + step, 1, levels)))
    return out


def simulated_repeat_records(plan: Sequence[Stimulus], records: Sequence[ReadRecord],
                             reading: Reading, *, consistency: float, median_rt: float,
                             fresh: Sequence[int], rng: np.random.Generator
                             ) -> list[ReadRecord]:
    """Reads of a simulated session's repeats, timed where they are shown.

    ``records`` are the session's first reads (their display order and timing); each
    repeat is shown right after the read before it in ``plan`` and shifts the later reads'
    clock by its own length in the stored times of the repeats only (the first reads are
    left exactly as they are without repeats).
    """
    by_position = {r.position: r for r in records}
    first_of = {s.photo_id: by_position[s.position] for s in plan
                if not s.repeat and not s.practice}
    repeats = [s for s in plan if s.repeat]
    ratings = simulated_repeat_ratings([first_of[s.photo_id].rating for s in repeats],
                                       consistency, len(reading.scale), rng, fresh)
    out = []
    before: ReadRecord | None = None
    rating_of = dict(zip((s.position for s in repeats), ratings, strict=True))
    for s in plan:
        if not s.repeat:
            before = by_position[s.position]
            continue
        assert before is not None
        end = before.hidden_mono if before.answered_mono is None else max(
            before.hidden_mono, before.answered_mono)
        shown = end + float(rng.uniform(0.02, 0.05))
        display = reading.seconds_per_photo + float(rng.normal(0.0, 0.002))
        rt = float(np.clip(rng.lognormal(np.log(median_rt), 0.35), 1.5, 9.5))
        rating = rating_of[s.position]
        wall = before.hidden_at  # the repeat's wall clock: within a second of its slot
        out.append(ReadRecord(
            position=s.position, photo_id=s.photo_id, practice=False, rating=rating,
            binary_read=reading.binary_read(rating), shown_mono=round(shown, 4),
            hidden_mono=round(shown + display, 4), answered_mono=round(shown + rt, 4),
            shown_at=wall, hidden_at=wall, answered_at=wall, display_s=round(display, 4),
            response_s=round(rt, 4), after_interruption=False, repeat=True))
    return out
