"""The aided-session state machine (sequential, aided-only, unaided with a phase), fake clock."""

from __future__ import annotations

import pytest

from wbsdesk.core.protocol import Reading
from wbsdesk.core.session import Phase, plan_session
from wbsdesk.core.session_aided import AidedReadingSession, Stage


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


IDS = [10, 11, 12]
SCORES = {10: 0.91, 11: 0.12, 12: 0.5}


def make(mode="sequential", *, practice=0, done=(), locked=None, resumed=False, phase=1,
         commit=None, heatmaps=True):
    clock = FakeClock()
    committed = []
    reading = Reading(seconds_per_photo=10.0, response_window_seconds=20.0,
                      practice_photos=practice, design="sequential_aided", aided_seconds=6.0)
    plan = plan_session(IDS, seed=7, practice=practice,
                        practice_ids=list(range(900, 900 + practice)))
    s = AidedReadingSession(plan, reading, commit or committed.append, mode=mode,
                            aid_scores=SCORES, heatmaps=heatmaps, phase=phase, done=done,
                            locked=locked, resumed=resumed, clock=clock,
                            wall_clock=lambda: f"wall{clock.t:.1f}")
    return s, clock, committed


def test_each_photo_is_read_blind_then_again_with_the_aid_after_the_blind_read_is_in():
    s, clock, committed = make()
    first = s.upcoming
    assert s.stage == Stage.BLIND and s.aid_score is None and s.locked_rating is None
    s.show()
    assert s.seconds_until_due() == pytest.approx(10.0)  # the blind view's display time
    clock.t += 3.0
    assert s.answer(2) is None
    assert s.aid_score is None  # answered, but not committed yet: no aid
    clock.t += 7.0
    blind = s.hide()
    assert (blind.photo_id, blind.rating, blind.modality, blind.phase) == (
        first.photo_id, 2, "unaided", 1)
    assert blind.aid_score is None and blind.heatmap_viewed is None
    assert committed == [blind]
    # the same photo again, aided, with the locked first answer
    assert s.phase == Phase.READY and s.upcoming == first and s.stage == Stage.AIDED
    assert s.aid_score == SCORES[first.photo_id] and s.locked_rating == 2
    s.show()
    assert s.seconds_until_due() == pytest.approx(6.0)  # aided_seconds
    clock.t += 6.0
    assert s.hide() is None
    clock.t += 1.5
    s.note_heatmap()
    aided = s.answer(5)
    assert (aided.photo_id, aided.rating, aided.modality, aided.phase, aided.aid_score) == (
        first.photo_id, 5, "aided", 2, SCORES[first.photo_id])
    assert aided.heatmap_viewed is True
    assert aided.display_s == pytest.approx(6.0) and aided.response_s == pytest.approx(7.5)
    assert s.stage == Stage.BLIND and s.upcoming != first and s.aid_score is None


def test_timeouts_are_no_answer_in_both_phases():
    s, clock, committed = make()
    s.show()
    clock.t += 10.0
    s.hide()
    clock.t += 20.0
    blind = s.expire()
    assert blind.rating is None and blind.binary_read is None and blind.phase == 1
    assert s.stage == Stage.AIDED and s.locked_rating is None
    s.show()
    clock.t += 6.0
    s.hide()
    clock.t += 21.0
    aided = s.answer(4)  # too late: "no answer"
    assert (aided.rating, aided.modality, aided.phase) == (None, "aided", 2)
    assert aided.heatmap_viewed is False and aided.aid_score == SCORES[aided.photo_id]
    assert [(r.phase, r.rating) for r in committed] == [(1, None), (2, None)]


def test_practice_photos_are_read_blind_only_and_pause_before_the_scored_ones():
    s, clock, _ = make(practice=1)
    assert s.upcoming.practice and s.stage == Stage.BLIND
    s.show()
    s.answer(3)
    clock.t += 10.0
    rec = s.hide()
    assert rec.practice and rec.modality == "unaided" and rec.phase == 1
    assert s.phase == Phase.PAUSED and s.pause_reason == "practice_done"
    assert s.stages_left() == (3, 3)


def test_a_failed_commit_of_the_blind_read_shows_no_aid():
    def refuse(_rec):
        raise OSError("disk full")

    s, clock, _ = make(commit=refuse)
    s.show()
    s.answer(4)
    clock.t += 10.0
    with pytest.raises(OSError):
        s.hide()
    assert s.stage == Stage.BLIND and s.aid_score is None


def test_resume_goes_back_to_the_photo_whose_aided_phase_is_unfinished():
    plan = plan_session(IDS, seed=7)
    s, clock, _ = make(done={0}, locked={1: 3}, resumed=True)
    assert s.upcoming == plan[1] and s.stage == Stage.AIDED
    assert s.locked_rating == 3 and s.aid_score == SCORES[plan[1].photo_id]
    s.show()
    # the reader stops mid-read: the aided view comes back later, the blind read stays locked
    s.abandon_current()
    s.resume()
    assert s.stage == Stage.AIDED and s.locked_rating == 3
    s.show()
    clock.t += 1.0
    s.answer(1)
    clock.t += 5.0
    rec = s.hide()
    assert (rec.position, rec.phase, rec.after_interruption) == (1, 2, True)
    assert s.upcoming == plan[2] and s.stage == Stage.BLIND


def test_the_sessions_of_a_crossover_read_once_with_their_modality_and_phase():
    s, clock, _ = make("aided", phase=2, heatmaps=False)
    assert s.stage == Stage.AIDED and s.aid_score is not None and s.locked_rating is None
    s.show()
    s.answer(4)
    clock.t += 6.0
    rec = s.hide()
    assert (rec.modality, rec.phase, rec.heatmap_viewed) == ("aided", 2, None)
    assert s.stage == Stage.AIDED and s.upcoming.position == 1
    u, clock, _ = make("unaided", phase=2)
    assert u.stage == Stage.BLIND and u.aid_score is None
    u.show()
    u.answer(2)
    clock.t += 10.0
    rec = u.hide()
    assert (rec.modality, rec.phase, rec.aid_score) == ("unaided", 2, None)


def test_every_scored_photo_needs_a_score():
    with pytest.raises(ValueError, match="no aid score"):
        AidedReadingSession(plan_session(IDS, seed=1), Reading(), lambda r: None,
                            mode="sequential", aid_scores={10: 0.5})
