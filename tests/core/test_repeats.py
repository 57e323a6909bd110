"""Repeat reads in a session's order: how many, where, the gap, and a too small study."""

from __future__ import annotations

import pytest

from wbsdesk.core.protocol import Reading
from wbsdesk.core.repeats import (
    merge_repeats,
    plan_repeats,
    repeat_count,
    repeat_room,
    repeat_slots,
)
from wbsdesk.core.session import ReadingSession, Stimulus, plan_session


def _gaps(plan: list[Stimulus]) -> list[int]:
    """Photos shown between each repeat and its first showing."""
    first = {s.photo_id: i for i, s in enumerate(plan) if not s.repeat and not s.practice}
    return [i - first[s.photo_id] - 1 for i, s in enumerate(plan) if s.repeat]


@pytest.mark.parametrize("seed", range(20))
def test_repeats_are_scored_photos_at_least_the_gap_apart(seed):
    base = plan_session(list(range(100, 160)), seed=seed, practice=2, practice_ids=[1, 2, 3])
    full = plan_repeats(base, fraction=0.1, min_gap=20, seed=seed)
    repeats = [s for s in full if s.repeat]
    assert len(repeats) == 6 and len(full) == 68
    assert [s for s in full if not s.repeat] == base          # the order is kept
    assert [s.position for s in repeats] == list(range(62, 68))  # positions after the order
    assert len({s.photo_id for s in repeats}) == 6
    assert all(100 <= s.photo_id < 160 and not s.practice for s in repeats)
    assert min(_gaps(full)) >= 20
    assert merge_repeats(base, repeat_slots(full)) == full
    assert plan_repeats(base, fraction=0.1, min_gap=20, seed=seed) == full  # seeded


def test_the_subset_differs_between_seeds_and_spreads_over_the_session():
    base = plan_session(list(range(150)), seed=0, order="fixed")
    chosen = [frozenset(s.photo_id for s in plan_repeats(base, fraction=0.1, min_gap=20,
                                                           seed=k) if s.repeat)
              for k in range(30)]
    assert len(set(chosen)) == 30
    places = [i for k in range(30)
              for i, s in enumerate(plan_repeats(base, fraction=0.1, min_gap=20, seed=k))
              if s.repeat]
    assert min(places) < 60 and max(places) > 140


def test_the_gap_is_exact_at_the_limit_and_a_too_small_study_is_refused():
    base = plan_session(list(range(22)), seed=1)
    full = plan_repeats(base, fraction=0.1, min_gap=20, seed=4)  # 2 repeats, 22 photos
    assert min(_gaps(full)) >= 20
    assert repeat_room(21, 0.1, 20) == ("2 repeat(s) at least 20 photos apart need at least "
                                        "22 scored photos; the study has 21")
    with pytest.raises(ValueError, match="need at least 22 scored photos"):
        plan_repeats(base[:21], fraction=0.1, min_gap=20, seed=4)


def test_count_rounds_half_up_and_is_at_least_one():
    assert [repeat_count(n, 0.1) for n in (0, 1, 4, 5, 15, 150)] == [0, 1, 1, 1, 2, 15]
    assert repeat_count(100, 0.0) == 0 and repeat_count(10, 0.5) == 5
    base = plan_session([1, 2, 3], seed=0)
    assert plan_repeats(base, fraction=0.0, min_gap=20, seed=0) == base


def test_progress_counts_repeats_in_the_total_and_a_resume_continues_with_them():
    reading = Reading(seconds_per_photo=1.0, response_window_seconds=1.0)
    base = plan_session(list(range(30)), seed=2)
    full = plan_repeats(base, fraction=0.1, min_gap=5, seed=2)
    now = [0.0]
    done: list = []
    s = ReadingSession(full, reading, done.append, clock=lambda: now[0])
    assert s.progress() == (1, 33, False)
    for _ in range(20):
        s.show()
        s.answer(4)
        now[0] += 1.0
        s.hide()
    assert s.progress() == (21, 33, False)
    assert [r.repeat for r in done] == [st.repeat for st in full[:20]]
    assert all(r.to_row().keys().isdisjoint({"repeat"}) for r in done)
    again = ReadingSession(full, reading, done.append, done=[r.position for r in done],
                           resumed=True, clock=lambda: now[0])
    assert again.upcoming == full[20] and again.progress() == (21, 33, False)
