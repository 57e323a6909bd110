"""Repeat reads: a seeded hidden subset of the scored photos, shown a second time (no I/O).

A session's order (:func:`wbsdesk.core.session.plan_session`) shows every scored photo
once. With ``[reading] repeat_fraction`` f > 0, ``round(f * n)`` of its n scored photos (at
least one) are shown a second time, each at least ``repeat_min_gap`` photos after its first
showing, on the same screen: the reader cannot tell a repeat from a first showing, and the
progress counts every photo shown (the total includes the repeats).

Which photos and where
    Scored photo k of the order (0-based) may be repeated only if at least ``gap`` scored
    photos follow it (k <= n - 1 - gap). ``r`` of these are drawn at random, and each
    copy is put right after a scored photo drawn at random from k + gap .. n - 1, so at
    least ``gap`` photos lie between the two showings (more when other copies fall in
    between). Everything is drawn from the session's order seed (stream 2), so a session's
    repeats are fixed when it starts.

Too small a study
    When fewer than ``r`` scored photos have ``gap`` photos after them (``n < r + gap``)
    the session is refused (:func:`repeat_room`): placing the copies closer than the
    protocol asks would break its rule silently, and "as far apart as possible" would make
    the achieved gap depend on the study size. Lower ``repeat_min_gap`` or
    ``repeat_fraction`` instead.

Positions
    A repeat's ``position`` (its key in the store) is ``len(order) + j`` for the j-th copy
    shown, after every position of the session's order, which keeps the order's positions
    (and so every first read) as they are without repeats. The plan lists the stimuli in
    display order; :func:`merge_repeats` rebuilds it from the stored display places.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wbsdesk.core.session import Stimulus

__all__ = ["RepeatSlot", "merge_repeats", "plan_repeats", "repeat_count", "repeat_room",
           "repeat_slots"]


@dataclass(frozen=True)
class RepeatSlot:
    """A repeat as stored: its position, photo, the first showing's position, and where it
    is shown (0-based place in the whole display order, practice included)."""

    position: int
    photo_id: int
    first_position: int
    display_index: int


def repeat_count(n_scored: int, fraction: float) -> int:
    """How many scored photos are shown twice: ``round(fraction * n_scored)``, at least 1
    when ``fraction > 0`` (halves round up).

    Examples
    --------
    >>> repeat_count(150, 0.1), repeat_count(5, 0.05), repeat_count(40, 0.0)
    (15, 1, 0)
    """
    if fraction <= 0 or n_scored <= 0:
        return 0
    return max(1, math.floor(fraction * n_scored + 0.5))


def repeat_room(n_scored: int, fraction: float, min_gap: int) -> str | None:
    """Why ``n_scored`` photos cannot hold the repeats, or ``None`` when they can.

    Examples
    --------
    >>> repeat_room(150, 0.1, 20) is None
    True
    >>> print(repeat_room(20, 0.1, 20))
    2 repeat(s) at least 20 photos apart need at least 22 scored photos; the study has 20
    """
    r = repeat_count(n_scored, fraction)
    if r == 0 or n_scored >= r + min_gap:
        return None
    return (f"{r} repeat(s) at least {min_gap} photos apart need at least {r + min_gap} "
            f"scored photos; the study has {n_scored}")


def plan_repeats(plan: Sequence[Stimulus], *, fraction: float, min_gap: int,
                 seed: int) -> list[Stimulus]:
    """The session's display order with the repeats put in.

    Parameters
    ----------
    plan : sequence of Stimulus
        The session's order (positions ``0 ..``, practice first), no repeats.
    fraction : float, keyword-only
        Share of the scored photos shown twice (``[reading] repeat_fraction``).
    min_gap : int, keyword-only
        Least number of photos between a photo's two showings.
    seed : int, keyword-only
        The session's order seed.

    Returns
    -------
    list of Stimulus
        Every stimulus of ``plan`` in its order, with ``repeat_count`` repeats
        (``repeat=True``, positions ``len(plan) ..`` in display order) in between.

    Raises
    ------
    ValueError
        If the plan already has repeats, or is too small (:func:`repeat_room`).

    Examples
    --------
    >>> base = [Stimulus(i, 100 + i, False) for i in range(30)]
    >>> full = plan_repeats(base, fraction=0.1, min_gap=5, seed=3)
    >>> len(full), [s.position for s in full if s.repeat]
    (33, [30, 31, 32])
    """
    primary = list(plan)
    if any(s.repeat for s in primary):
        raise ValueError("the plan already has repeats")
    scored = [s for s in primary if not s.practice]
    n = len(scored)
    r = repeat_count(n, fraction)
    if r == 0:
        return primary
    why = repeat_room(n, fraction, min_gap)
    if why is not None:
        raise ValueError(why)
    rng = np.random.default_rng([seed, 2])
    chosen = sorted(int(k) for k in rng.choice(n - min_gap, size=r, replace=False))
    after: dict[int, list[int]] = {}
    for k in chosen:
        after.setdefault(int(rng.integers(k + min_gap, n)), []).append(k)
    out = [s for s in primary if s.practice]
    next_position = len(primary)
    for rank, s in enumerate(scored):
        out.append(s)
        copies = after.get(rank, [])
        for k in (rng.permutation(copies).tolist() if len(copies) > 1 else copies):
            out.append(Stimulus(next_position, scored[int(k)].photo_id, False, repeat=True))
            next_position += 1
    return out


def repeat_slots(plan: Sequence[Stimulus]) -> list[RepeatSlot]:
    """The repeats of a display plan, as stored (see :class:`RepeatSlot`)."""
    first = {s.photo_id: s.position for s in plan if not s.repeat and not s.practice}
    return [RepeatSlot(s.position, s.photo_id, first[s.photo_id], i)
            for i, s in enumerate(plan) if s.repeat]


def merge_repeats(plan: Sequence[Stimulus], slots: Sequence[RepeatSlot]) -> list[Stimulus]:
    """A session's display plan from its order and its stored repeats.

    The inverse of :func:`repeat_slots`: ``merge_repeats(base, repeat_slots(full)) == full``.

    Raises
    ------
    ValueError
        If the slots do not fit the order (a display place out of range or taken twice).
    """
    total = len(plan) + len(slots)
    placed: dict[int, Stimulus] = {}
    for sl in slots:
        if not 0 <= sl.display_index < total or sl.display_index in placed:
            raise ValueError(f"repeat at position {sl.position} has a bad display place "
                             f"{sl.display_index}")
        placed[sl.display_index] = Stimulus(sl.position, sl.photo_id, False, repeat=True)
    rest = iter(plan)
    return [placed[i] if i in placed else next(rest) for i in range(total)]
