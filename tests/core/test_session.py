"""The reading-session state machine, driven by a fake clock (no Qt)."""

from __future__ import annotations

import pytest

from wbsdesk.core.protocol import Reading
from wbsdesk.core.session import (
    Phase,
    ReadingSession,
    SessionStateError,
    plan_session,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(n=3, *, practice=0, seconds=10.0, window=20.0, done=(), resumed=False,
         unsure="negative"):
    clock = FakeClock()
    committed = []
    reading = Reading(seconds_per_photo=seconds, response_window_seconds=window,
                      practice_photos=practice, unsure_counts_as=unsure)
    plan = plan_session(list(range(10, 10 + n)), seed=7, practice=practice,
                        practice_ids=list(range(900, 900 + practice)))
    s = ReadingSession(plan, reading, committed.append, done=done, resumed=resumed,
                       clock=clock, wall_clock=lambda: f"wall{clock.t:.1f}")
    return s, clock, committed


def test_plan_is_seeded_per_reader_and_practice_comes_first():
    ids = list(range(100, 140))
    pool = list(range(900, 906))
    a = plan_session(ids, seed=1, practice=3, practice_ids=pool)
    assert plan_session(ids, seed=1, practice=3, practice_ids=pool) == a
    b = plan_session(ids, seed=2, practice=3, practice_ids=pool)
    assert [s.photo_id for s in a] != [s.photo_id for s in b]
    assert [s.practice for s in a] == [True] * 3 + [False] * 40
    assert sorted(s.photo_id for s in a if not s.practice) == ids
    # practice photos come from the practice set only: no face is practice and scored
    assert {s.photo_id for s in a if s.practice} <= set(pool)
    assert [s.position for s in a] == list(range(43))
    # the scored order does not depend on how many practice photos there are
    assert ([s.photo_id for s in a if not s.practice]
            == [s.photo_id for s in plan_session(ids, seed=1) if not s.practice])
    fixed = plan_session(ids, seed=1, order="fixed")
    assert [s.photo_id for s in fixed] == ids
    with pytest.raises(ValueError):
        plan_session([1, 1], seed=0)


def test_answer_during_display_is_committed_when_the_photo_hides():
    s, clock, committed = make()
    first = s.upcoming
    assert s.show() == first and s.phase == Phase.SHOWING
    clock.t += 3.0
    assert s.answer(4) is None and committed == []
    assert s.answer(1) is None  # the first answer counts
    assert s.seconds_until_due() == pytest.approx(7.0)
    clock.t += 7.0
    rec = s.hide()
    assert rec is not None and committed == [rec]
    assert (rec.rating, rec.binary_read, rec.practice) == (4, True, False)
    assert rec.display_s == pytest.approx(10.0) and rec.response_s == pytest.approx(3.0)
    assert rec.shown_at == "wall100.0" and rec.answered_at == "wall103.0"
    assert rec.hidden_at == "wall110.0" and not rec.after_interruption
    assert s.phase == Phase.READY and s.upcoming != first


def test_answer_after_hiding_and_no_answer_when_the_window_expires():
    s, clock, committed = make(window=5.0)
    s.show()
    clock.t += 10.0
    assert s.hide() is None and s.phase == Phase.HIDDEN
    assert s.elapsed_fraction() == 0.0
    clock.t += 2.0
    assert s.elapsed_fraction() == pytest.approx(0.4)
    rec = s.answer(3)
    assert rec.rating == 3 and rec.binary_read is False  # "unsure" counts as negative
    assert rec.response_s == pytest.approx(12.0) and rec.display_s == pytest.approx(10.0)
    s.show()
    clock.t += 10.0
    s.hide()
    clock.t += 5.0
    assert s.seconds_until_due() == pytest.approx(0.0)
    rec = s.expire()
    assert rec.rating is None and rec.binary_read is None and rec.answered_mono is None
    assert rec.response_s is None and len(committed) == 2
    s.show()
    clock.t += 10.0
    s.hide()
    clock.t += 6.0  # a late key press after the window: still "no answer"
    assert s.answer(5).rating is None
    assert s.phase == Phase.FINISHED and s.upcoming is None


def test_unsure_can_count_as_positive():
    s, clock, _ = make(unsure="positive")
    s.show()
    s.answer(3)
    clock.t += 10
    assert s.hide().binary_read is True


def test_practice_photos_pause_before_the_scored_part():
    s, clock, committed = make(n=3, practice=2)
    assert s.progress() == (1, 2, True)
    for _ in range(2):
        s.show()
        s.answer(2)
        clock.t += 10
        s.hide()
    assert [r.practice for r in committed] == [True, True]
    assert s.phase == Phase.PAUSED and s.pause_reason == "practice_done"
    s.resume()
    assert s.progress() == (1, 3, False)
    assert s.scored_total == 3 and s.practice_total == 2


def test_pause_only_between_photos():
    s, clock, _ = make()
    s.show()
    s.request_pause()
    assert s.phase == Phase.SHOWING and s.pause_requested
    clock.t += 10
    s.hide()
    s.answer(5)
    assert s.phase == Phase.PAUSED and s.pause_reason == "requested"
    with pytest.raises(SessionStateError):
        s.show()
    s.resume()
    s.request_pause()  # between photos: at once
    assert s.phase == Phase.PAUSED


def test_a_failed_commit_keeps_the_read_pending():
    clock = FakeClock()

    def broken(rec):
        raise OSError("disk full")

    s = ReadingSession(plan_session([1, 2], seed=0), Reading(), broken, clock=clock)
    s.show()
    clock.t += 10
    s.hide()
    with pytest.raises(OSError):
        s.answer(2)
    assert s.phase == Phase.HIDDEN and s.upcoming.position == 0


def test_resume_skips_done_positions_and_flags_the_first_read():
    s, clock, _ = make(n=4, done={0, 1}, resumed=True)
    assert s.upcoming.position == 2 and s.progress() == (3, 4, False)
    s.show()
    clock.t += 10
    s.hide()
    first = s.answer(1)
    s.show()
    clock.t += 10
    s.hide()
    second = s.answer(1)
    assert first.after_interruption and not second.after_interruption
    assert s.phase == Phase.FINISHED


def test_abandoning_a_photo_shows_it_again_in_full():
    s, clock, committed = make()
    first = s.show()
    clock.t += 4
    s.answer(5)
    s.abandon_current()
    assert committed == [] and s.phase == Phase.PAUSED and s.pause_reason == "interrupted"
    s.resume()
    assert s.show() == first
    clock.t += 10
    rec = s.hide()
    assert rec is None  # the earlier answer was dropped with the photo
    rec = s.answer(2)
    assert rec.after_interruption and rec.display_s == pytest.approx(10)


def test_bad_calls_are_refused():
    s, _, _ = make()
    with pytest.raises(SessionStateError):
        s.hide()
    with pytest.raises(SessionStateError):
        s.answer(1)
    s.show()
    with pytest.raises(ValueError):
        s.answer(6)
    with pytest.raises(SessionStateError):
        s.expire()


def test_practice_is_never_drawn_from_the_scored_photos():
    ids = list(range(10))
    # no practice set: the protocol's practice photos are refused, not borrowed
    assert [s.practice for s in plan_session(ids, seed=3, practice=4)] == [False] * 10
    # a smaller practice set: all of it, no more
    short = plan_session(ids, seed=3, practice=4, practice_ids=[50, 51])
    assert [s.photo_id for s in short if s.practice] in ([50, 51], [51, 50])
    with pytest.raises(ValueError, match="practice photo cannot also be a scored"):
        plan_session(ids, seed=3, practice=1, practice_ids=[5])
