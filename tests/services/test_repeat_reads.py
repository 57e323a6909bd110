"""Repeat reads in reading sessions: planned and stored with the session, resumed in order,
locked, counted honestly, and never part of the primary analysis."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import PROTOCOLS
from tests.gui.reading_study import make_reading_study
from tests.services import test_analysis
from tests.services.test_analysis import add_run, make_study, synthetic_probs
from wbsdesk.core.session import ReadRecord
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services import reading
from wbsdesk.services.agreement import reader_agreement
from wbsdesk.services.agreement_tables import agreement_tables
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.repeat_reads import repeat_row
from wbsdesk.services.result_tables import table_map
from wbsdesk.services.table_render import result_csv
from wbsdesk.services.workspace import open_workspace

REPEATS = "repeat_fraction = 0.1\nrepeat_min_gap = 5\n"


def _record(stim, reading_rules, rating=4):
    return ReadRecord(position=stim.position, photo_id=stim.photo_id, practice=stim.practice,
                      rating=rating, binary_read=reading_rules.binary_read(rating),
                      shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1, shown_at="a",
                      hidden_at="b", answered_at="c", display_s=0.2, response_s=0.1,
                      after_interruption=False, repeat=stim.repeat)


def test_a_session_shows_repeats_far_apart_resumes_with_them_and_counts_them(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=30, practice=1, extra=REPEATS)
    reading.add_reader(ws, "R1", role="pediatrician")
    a = reading.open_session(ws, "tiny", "R1", seed=4)
    repeats = [s for s in a.plan if s.repeat]
    assert len(a.plan) == 34 and len(repeats) == 3
    assert [s.position for s in repeats] == [31, 32, 33]
    first = {s.photo_id: i for i, s in enumerate(a.plan) if not s.repeat and not s.practice}
    assert all(i - first[s.photo_id] - 1 >= 5 for i, s in enumerate(a.plan) if s.repeat)
    stored = ws.store.session(a.session_id)
    assert len(stored.photo_order) == 31  # the order as without repeats
    audit = [e for e in ws.store.audit_log() if e["action"] == "start_session"][-1]
    assert audit["detail"]["repeats"] == 3
    for s in a.plan[:25]:
        reading.record_read(ws, a.session_id, _record(s, a.reading, rating=2 + s.repeat))
    a.release()
    again = reading.open_session(ws, "tiny", "R1")
    assert again.plan == a.plan and again.done == {s.position for s in a.plan[:25]}
    rows = {r["reader"]: r for r in reading.study_sessions(ws, "tiny")}
    assert (rows["R1"]["read"], rows["R1"]["total"]) == (24, 33)
    with pytest.raises(UserError, match="unread"):
        reading.finish_session(ws, a.session_id)
    for s in a.plan[25:]:
        if not s.repeat:
            reading.record_read(ws, a.session_id, _record(s, a.reading))
    with pytest.raises(UserError, match="unread"):  # a repeat is still unread
        reading.finish_session(ws, a.session_id)
    for s in a.plan[25:]:
        if s.repeat:
            assert reading.record_read(ws, a.session_id, _record(s, a.reading, rating=5))
            assert not reading.record_read(ws, a.session_id, _record(s, a.reading, rating=5))
    summary = reading.finish_session(ws, a.session_id)
    assert (summary["photos_read"], summary["photos_total"]) == (33, 33)
    again.release()
    reads = ws.store.reads(a.session_id)
    assert len(reads) == 31 and all(r["position"] < 31 for r in reads)
    assert [r["position"] for r in ws.store.repeat_reads(a.session_id)] == [31, 32, 33]


def test_a_study_too_small_for_the_gap_is_refused_at_session_start(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=8, extra="repeat_fraction = 0.25\nrepeat_min_gap = 7\n")
    reading.add_reader(ws, "R1", role="pediatrician")
    with pytest.raises(UserError) as exc:
        reading.open_session(ws, "tiny", "R1")
    assert exc.value.message == ("study 'tiny' cannot show its repeat reads: 2 repeat(s) at "
                                 "least 7 photos apart need at least 9 scored photos; the "
                                 "study has 8")
    assert "repeat_min_gap" in exc.value.hint
    assert ws.store.sessions(ws.store.study("tiny").id) == []  # nothing written


def test_repeat_reads_are_locked_and_tied_to_their_slot(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=12, extra=REPEATS)
    reading.add_reader(ws, "R1", role="pediatrician")
    a = reading.open_session(ws, "tiny", "R1", seed=1)
    rep = next(s for s in a.plan if s.repeat)
    reading.record_read(ws, a.session_id, _record(rep, a.reading))
    db = ws.store.db
    with pytest.raises(sqlite3.IntegrityError, match="read is locked"):
        db.execute("UPDATE repeat_reads SET rating = 1")
    with pytest.raises(sqlite3.IntegrityError, match="read is locked"):
        db.execute("DELETE FROM repeat_reads")
    with pytest.raises(sqlite3.IntegrityError, match="fixed when it starts"):
        db.execute("UPDATE repeat_slots SET display_index = display_index + 1")
    other = next(s for s in a.plan if not s.repeat and s.photo_id != rep.photo_id)
    with pytest.raises(ValueError, match="has no repeat of photo"):
        ws.store.insert_repeat_read(a.session_id, **{
            **repeat_row(_record(rep, a.reading)), "photo_id": other.photo_id})
    with pytest.raises(sqlite3.IntegrityError, match="slot's photo"):
        db.execute("INSERT INTO repeat_reads (session_id, position, photo_id, shown_mono,"
                   " hidden_mono, shown_at, hidden_at, display_s, recorded_at) VALUES"
                   " (?, ?, ?, 1, 2, 'a', 'b', 1, 'c')",
                   [a.session_id, rep.position + 1, other.photo_id])
    a.release()


def _simulated_study(root, monkeypatch, *, fraction: float):
    """Study ``s`` (demo.toml with this repeat_fraction), a run and 4 simulated readers."""
    folder = root.parent / "protocols"
    folder.mkdir(parents=True)
    text = (PROTOCOLS / "demo.toml").read_text()
    assert "repeat_fraction = 0.1 " in text
    (folder / "demo.toml").write_text(text.replace("repeat_fraction = 0.1 ",
                                                   f"repeat_fraction = {fraction} "))
    monkeypatch.setattr(test_analysis, "PROTOCOLS", folder)
    w = open_workspace(root)
    subjects = make_study(w, counts={"wbs": 20, "other_syndrome": 14, "healthy": 26})
    add_run(w, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    reading.add_simulated_readers(w, "s", seed=9)
    return w


def test_primary_tables_are_identical_with_and_without_repeats(tmp_path, monkeypatch):
    with_rep = _simulated_study(tmp_path / "a" / "ws", monkeypatch, fraction=0.1)
    without = _simulated_study(tmp_path / "b" / "ws", monkeypatch, fraction=0.0)
    try:
        sessions = with_rep.store.sessions(with_rep.store.study("s").id)
        assert all(len(with_rep.store.repeat_reads(s.id)) == 6 for s in sessions)
        assert all(with_rep.store.repeat_slots(s.id) for s in sessions)
        assert not any(without.store.repeat_slots(s.id)
                       for s in without.store.sessions(without.store.study("s").id))
        with pytest.warns(WbsdeskWarning):
            a = build_comparison(with_rep, "s", include_simulated=True)
        with pytest.warns(WbsdeskWarning):
            b = build_comparison(without, "s", include_simulated=True)
        ta, tb = table_map(a), table_map(b)
        assert set(ta) == set(tb)
        for name in ta:
            assert result_csv(ta[name]) == result_csv(tb[name]), name
        for name in ("table5", "delong_model_vs_reader", "mrmc", "mrmc_readers"):
            assert ta[name].rows
        agree = reader_agreement(with_rep, a)
        assert [r.repeats for r in agree.intra] == [6, 6, 6, 6]
        assert all(0.2 < r.quadratic.kappa <= 1 for r in agree.intra if r.pairs >= 5)
        intra, inter = agreement_tables(agree)
        assert len(intra.rows) == 4 and len(inter.rows) == 2
        none = reader_agreement(without, b)
        assert agreement_tables(none)[0].rows == ()
        assert agreement_tables(none)[1].rows == inter.rows  # the same first reads
    finally:
        with_rep.close()
        without.close()


def test_a_dry_run_answers_file_must_cover_the_repeats_too(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=30, practice=1, extra=REPEATS)
    with pytest.raises(UserError, match="has 31 answers, but the session shows 34 photos"):
        reading.open_dry_run(ws, "tiny", reader="dr1", answers=31)
    setup = reading.open_dry_run(ws, "tiny", reader="dr1", answers=34, seed=2)
    assert len(setup.plan) == 34 and sum(s.repeat for s in setup.plan) == 3
    setup.release()
    with pytest.raises(UserError, match="has 33 answers, but the session shows 34 photos"):
        reading.open_dry_run(ws, "tiny", reader="dr1", answers=33)  # a held session
