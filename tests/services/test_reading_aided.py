"""Sessions of an aided study through the services: sequential blind-then-aided reads."""

from __future__ import annotations

import pytest

from tests.gui.aided_study import add_run, make_aided_study, score_of
from tests.gui.reading_study import make_reading_study
from wbsdesk.core.session_aided import AidedReadingSession, Stage
from wbsdesk.errors import UserError
from wbsdesk.services import reading
from wbsdesk.services.aid import prepare_aid
from wbsdesk.services.analysis_data import load_sessions
from wbsdesk.services.studies import load_study


class Clock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def _machine(ws, setup, clock):
    return AidedReadingSession(
        setup.plan, setup.reading, lambda rec: reading.record_read(ws, setup.session_id, rec),
        mode=setup.mode, aid_scores=setup.aid.scores, heatmaps=setup.aid.heatmap,
        phase=setup.read_phase, done=setup.done, locked=setup.locked, resumed=setup.resumed,
        clock=clock)


def _read(m, clock, rating):
    m.show()
    clock.t += 0.05
    m.answer(rating)
    clock.t += 0.5
    return m.hide()


@pytest.fixture
def seq(ws, tmp_path):
    make_aided_study(ws, tmp_path, n=4)
    reading.add_reader(ws, "R1", role="pediatrician")
    return ws


def test_a_sequential_session_stores_a_locked_blind_read_then_the_aided_one(seq):
    ws = seq
    setup = reading.open_session(ws, "tiny", "R1", seed=3)
    try:
        assert (setup.design, setup.mode, setup.read_phase) == ("sequential_aided",
                                                                 "sequential", 1)
        assert setup.aid.scores == {s.photo_id: score_of(s.photo_id) for s in setup.plan}
        assert setup.aid.positive_label == "Williams-Beuren syndrome"
        assert setup.aid.negative_label == "Other genetic syndrome or Healthy"
        row = ws.store.session(setup.session_id)
        assert (row.modality, row.aid_set_id) == ("both", setup.aid.aid_set_id)
        clock = Clock()
        m = _machine(ws, setup, clock)
        blind = _read(m, clock, 2)
        aided_first = _read(m, clock, 4)
        _read(m, clock, 1)  # the second photo's blind read; the "kill" comes before its aid
    finally:
        setup.release()
    reads = ws.store.reads(setup.session_id)
    assert [(r["position"], r["phase"], r["modality"], r["rating"]) for r in reads] == [
        (0, 1, "unaided", 2), (0, 2, "aided", 4), (1, 1, "unaided", 1)]
    assert reads[1]["aid_score"] == score_of(blind.photo_id) == aided_first.aid_score
    with pytest.raises(UserError, match="still has unread photos"):
        reading.finish_session(ws, setup.session_id)
    # resumed: back to the photo whose aided read is unfinished, its blind answer locked
    again = reading.open_session(ws, "tiny", "R1")
    try:
        assert again.resumed and again.done == frozenset({0}) and again.locked == {1: 1}
        clock = Clock()
        m = _machine(ws, again, clock)
        assert m.upcoming.position == 1 and m.stage == Stage.AIDED and m.locked_rating == 1
        while m.upcoming is not None:
            _read(m, clock, 3)
        summary = reading.finish_session(ws, again.session_id)
    finally:
        again.release()
    assert summary["photos_read"] == summary["photos_total"] == 4 and summary["finished"]
    assert reading.study_sessions(ws, "tiny")[0]["read"] == 4
    # today's analysis sees exactly the blind reads
    taken, _ = load_sessions(ws, load_study(ws, "tiny"), None, include_simulated=False,
                             include_dry_run=False)
    blind_reads = {r["photo_id"]: r["rating"] for r in ws.store.reads(again.session_id)
                   if r["phase"] == 1}
    assert taken[0].ratings == blind_reads
    rows = reading.export_reads(ws, "tiny")
    assert sorted((r["modality"], r["phase"]) for r in rows) == (
        [("aided", 2)] * 4 + [("unaided", 1)] * 4)


def test_an_aided_study_without_a_prepared_aid_is_refused_and_writes_nothing(ws, tmp_path):
    make_aided_study(ws, tmp_path, n=4, prepare=False)
    reading.add_reader(ws, "R1", role="pediatrician")
    with pytest.raises(UserError, match="no aid has been prepared"):
        reading.open_session(ws, "tiny", "R1")
    assert ws.store.sessions(ws.store.study("tiny").id) == []


def test_an_aid_from_a_run_that_lacks_photos_is_refused_naming_them(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=4, extra='design = "sequential_aided"\n')
    study = load_study(ws, "tiny")
    photo = ws.store.photos(study.id)[2]
    add_run(ws, "tiny", skip=frozenset({photo.id}))
    with pytest.raises(UserError) as err:
        prepare_aid(ws, "tiny", "run1", heatmaps=False)
    assert "SUBJ-Q002 (kid_photo_002.png)" in err.value.message
    assert ws.store.aid_sets(study.id) == []
