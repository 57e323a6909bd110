"""The crossover design: two sessions per reader, counterbalanced, a washout between them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.gui.aided_study import make_aided_study
from wbsdesk.core.session_aided import AidedReadingSession, Stage
from wbsdesk.errors import UserError
from wbsdesk.services import reading, reading_aided
from wbsdesk.services.analysis_aided import load_pairs


class Clock:
    def __init__(self) -> None:
        self.t = 10.0

    def __call__(self) -> float:
        return self.t


def _read_all(ws, setup, rating=3, stop_after=None):
    clock = Clock()
    m = AidedReadingSession(
        setup.plan, setup.reading, lambda rec: reading.record_read(ws, setup.session_id, rec),
        mode=setup.mode, aid_scores=setup.aid.scores if setup.aid else {},
        phase=setup.read_phase, done=setup.done, locked=setup.locked, resumed=setup.resumed,
        clock=clock)
    n = 0
    while m.upcoming is not None and (stop_after is None or n < stop_after):
        m.show()
        clock.t += 0.05
        m.answer(rating)
        clock.t += 0.5
        m.hide()
        n += 1
    return m


def _finish(ws, setup):
    _read_all(ws, setup)
    reading.finish_session(ws, setup.session_id)
    setup.release()


@pytest.fixture
def crossover(ws, tmp_path):
    make_aided_study(ws, tmp_path, n=4, design="crossover_aided", washout=28)
    for name in ("R1", "R2", "R3"):
        reading.add_reader(ws, name, role="pediatrician")
    return ws


def test_first_sessions_are_counterbalanced_and_the_second_waits_for_the_washout(
        crossover, monkeypatch):
    ws = crossover
    first = {}
    for name in ("R1", "R2", "R3"):
        s = reading.open_session(ws, "tiny", name, seed=5)
        first[name] = s
        assert s.design == "crossover_aided" and s.read_phase == 1
    assert [first[n].mode for n in ("R1", "R2", "R3")] == ["unaided", "aided", "unaided"]
    assert first["R1"].aid is None  # an unaided session holds no aid at all
    assert first["R2"].aid is not None
    first["R2"].release()
    first["R3"].release()
    # resume works as in a blind session
    _read_all(ws, first["R1"], stop_after=2)
    first["R1"].release()
    again = reading.open_session(ws, "tiny", "R1")
    assert again.resumed and again.done == frozenset({0, 1}) and again.mode == "unaided"
    _finish(ws, again)
    reads = ws.store.reads(again.session_id)
    assert {(r["modality"], r["phase"]) for r in reads} == {("unaided", 1)}

    # the second session is refused until the washout ends, naming the date; nothing written
    row = ws.store.session_of(ws.store.reader("R1").id, ws.store.study("tiny").id)
    ends = datetime.fromisoformat(row.finished_at) + timedelta(days=28)
    with pytest.raises(UserError) as err:
        reading.open_session(ws, "tiny", "R1")
    assert f"cannot start before {ends.date().isoformat()}" in err.value.message
    assert len(ws.store.sessions_of(row.reader_id, row.study_id)) == 1
    with pytest.raises(UserError, match=ends.date().isoformat()):  # refused before writing
        reading.open_dry_run(ws, "tiny", reader="R1", answers=4)

    monkeypatch.setattr(reading_aided, "utc_now", lambda: ends + timedelta(minutes=1))
    second = reading.open_session(ws, "tiny", "R1", seed=5)
    assert (second.mode, second.read_phase) == ("aided", 2) and not second.resumed
    assert second.aid.aid_set_id == row.aid_set_id
    # its own random order (a fixed seed still gives the second period another one)
    assert [s.photo_id for s in second.plan] != [s.photo_id for s in again.plan]
    m = _read_all(ws, second, rating=5)
    assert m.stage == Stage.BLIND  # finished
    reading.finish_session(ws, second.session_id)
    second.release()
    reads = ws.store.reads(second.session_id)
    assert {(r["modality"], r["phase"]) for r in reads} == {("aided", 2)}
    assert all(r["aid_score"] == second.aid.scores[r["photo_id"]] for r in reads)
    with pytest.raises(UserError, match="already finished the sessions"):
        reading.open_session(ws, "tiny", "R1")

    pairs, left_out, _ = load_pairs(ws, "tiny")
    assert [p.reader for p in pairs] == ["R1"]
    assert left_out == {"unfinished": ["R2", "R3"]}
    assert set(pairs[0].ratings["unaided"].values()) == {3}
    assert set(pairs[0].ratings["aided"].values()) == {5}
    listed = reading.study_sessions(ws, "tiny")
    assert [(s["reader"], s["period"], s["modality"]) for s in listed if s["reader"] == "R1"] \
        == [("R1", 1, "unaided"), ("R1", 2, "aided")]
