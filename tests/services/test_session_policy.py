"""The resume policy: an expired interrupted session is refused until the administrator
restarts it (reads kept but void, out of every analysis) or continues it (a deviation)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from tests.gui.reading_study import make_reading_study
from tests.services.test_analysis import add_reader, add_run, synthetic_probs, synthetic_ratings
from wbsdesk.core.protocol import parse_protocol
from wbsdesk.core.resume_policy import parse_time
from wbsdesk.core.session import ReadRecord
from wbsdesk.errors import UserError
from wbsdesk.services import reading, session_policy
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.reports import write_report
from wbsdesk.services.session_policy import SessionExpiredError


def _record(setup, position, rating=4):
    s = setup.plan[position]
    return ReadRecord(position=s.position, photo_id=s.photo_id, practice=s.practice,
                      rating=rating, binary_read=setup.reading.binary_read(rating),
                      shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1, shown_at="a",
                      hidden_at="b", answered_at="c", display_s=0.2, response_s=0.1,
                      after_interruption=False)


def _interrupted(ws, tmp_path, reads=2, **protocol):
    """Study ``tiny`` and reader R1 whose session stopped after ``reads`` reads; returns
    the session id and the time of its last read."""
    make_reading_study(ws, tmp_path, n=4, **protocol)
    reading.add_reader(ws, "R1", role="pediatrician")
    setup = reading.open_session(ws, "tiny", "R1", seed=3)
    try:
        for i in range(reads):
            reading.record_read(ws, setup.session_id, _record(setup, i))
    finally:
        setup.release()
    return setup.session_id, parse_time(ws.store.last_read_at(setup.session_id))


def test_the_limit_is_a_positive_number_of_hours():
    base = 'name="x"\ntitle="X"\n[groups]\nnames=["a","b"]\npositive="a"\n[reading]\n'
    assert parse_protocol(base).reading.resume_within_hours == 24.0
    assert parse_protocol(base + "resume_within_hours = 2.5").reading.resume_within_hours == 2.5
    for bad, why in (("0", "must be > 0"), ("-1", "must be > 0"), ('"1"', "must be a number"),
                     ("1e9", "must be <= 8760")):
        with pytest.raises(UserError, match=why):
            parse_protocol(base + f"resume_within_hours = {bad}")


def test_within_the_limit_the_session_simply_resumes(ws, tmp_path):
    sid, last = _interrupted(ws, tmp_path)
    setup = reading.open_session(ws, "tiny", "R1", now=last + timedelta(hours=23.9))
    setup.release()
    assert setup.resumed and setup.session_id == sid and setup.done == frozenset({0, 1})
    assert session_policy.expired_session(ws, "tiny", "R1",
                                          now=last + timedelta(hours=23.9)) is None


def test_an_expired_session_is_refused_and_the_reader_told_to_call_the_admin(ws, tmp_path):
    sid, last = _interrupted(ws, tmp_path, extra="resume_within_hours = 12\n")
    later = last + timedelta(hours=12.5)
    with pytest.raises(SessionExpiredError) as info:
        reading.open_session(ws, "tiny", "R1", now=later)
    exc = info.value
    assert "call the study administrator" in exc.message
    assert "12.5 h ago" in exc.message and "after 2 of 4 photos" in exc.message
    assert "resume-policy tiny" in exc.hint
    assert exc.expired.session_id == sid and exc.expired.check.limit_hours == 12
    # nothing changed: no interruption counted, no event, the lock is free again
    assert ws.store.session(sid).interruptions == 0
    assert ws.store.session_events(study_id=ws.store.study("tiny").id) == []
    # deciding needs an expired session
    with pytest.raises(UserError, match=r"within the 12\.0 h the protocol allows"):
        session_policy.decide_expired(ws, "tiny", "R1", "restart",
                                      now=last + timedelta(hours=1))
    with pytest.raises(UserError, match="unknown decision"):
        session_policy.decide_expired(ws, "tiny", "R1", "ignore", now=later)


def test_restart_voids_the_old_session_and_a_fresh_one_replaces_it(ws, tmp_path):
    sid, last = _interrupted(ws, tmp_path)
    later = last + timedelta(hours=30)
    old_reads = ws.store.reads(sid)
    out = session_policy.decide_expired(ws, "tiny", "R1", "restart", reason="away a week",
                                        now=later)
    assert out["decision"] == "restart" and out["reads"] == 2 and out["hours_idle"] == 30.0
    row = ws.store.session(sid)
    assert row.voided_at is not None and row.status == "in_progress"
    study_id = ws.store.study("tiny").id
    assert ws.store.sessions(study_id) == [] and ws.store.read_counts(study_id) == {}
    # the reads stay, locked: the database refuses to change them
    assert ws.store.reads(sid) == old_reads
    with pytest.raises(sqlite3.IntegrityError, match="read is locked"), ws.store.atomic():
        ws.store.db.execute("DELETE FROM reads WHERE session_id = ?", [sid])
    with pytest.raises(sqlite3.IntegrityError, match="stays void"), ws.store.atomic():
        ws.store.db.execute("UPDATE sessions SET voided_at = NULL WHERE id = ?", [sid])
    # the reader starts afresh, practice and all, in a new session that names the old one
    fresh = reading.open_session(ws, "tiny", "R1", seed=9, now=later)
    fresh.release()
    assert fresh.session_id != sid and not fresh.resumed and fresh.done == frozenset()
    assert ws.store.replaced_by(sid) == fresh.session_id
    assert [s.id for s in ws.store.sessions(study_id)] == [fresh.session_id]
    # audited, with the decision and its reason
    audit = [a for a in ws.store.audit_log(study_id) if a["action"] == "restart_session"]
    assert len(audit) == 1 and audit[0]["detail"]["reason"] == "away a week"
    assert audit[0]["detail"]["session"] == sid and audit[0]["detail"]["reads"] == 2
    # a void session cannot be decided on again; the fresh one is not expired
    started = parse_time(ws.store.session(fresh.session_id).started_at)
    with pytest.raises(UserError, match=r"within the 24\.0 h"):
        session_policy.decide_expired(ws, "tiny", "R1", "continue",
                                      now=started + timedelta(hours=1))
    # the export holds only the fresh session's reads
    assert reading.export_reads(ws, "tiny") == []


def test_continue_records_a_deviation_and_the_session_goes_on(ws, tmp_path):
    sid, last = _interrupted(ws, tmp_path)
    later = last + timedelta(days=3)
    session_policy.decide_expired(ws, "tiny", "R1", "continue", reason="ward round",
                                  via="gui", now=later)
    setup = reading.open_session(ws, "tiny", "R1", now=later + timedelta(minutes=5))
    setup.release()
    assert setup.resumed and setup.session_id == sid and setup.done == frozenset({0, 1})
    events = ws.store.session_events(session_id=sid)
    assert [(e["kind"], e["via"], e["reason"], e["reads"]) for e in events] == [
        ("continue", "gui", "ward round", 2)]
    assert events[0]["hours_idle"] == pytest.approx(72.0)
    study_id = ws.store.study("tiny").id
    assert [a["action"] for a in ws.store.audit_log(study_id)][-2:] == [
        "continue_session_deviation", "resume_session"]
    # the limit counts again from the decision: a day later it is expired again
    with pytest.raises(SessionExpiredError):
        reading.open_session(ws, "tiny", "R1", now=later + timedelta(hours=25))


def test_a_session_open_elsewhere_cannot_be_decided_on(ws, tmp_path):
    _, last = _interrupted(ws, tmp_path)
    setup = reading.open_session(ws, "tiny", "R1", now=last)
    try:
        with pytest.raises(UserError, match="open in another process"):
            session_policy.decide_expired(ws, "tiny", "R1", "restart",
                                          now=last + timedelta(days=2))
    finally:
        setup.release()


def test_the_analysis_leaves_void_reads_out_and_the_report_table_shows_the_history(ws):
    from tests.services.test_analysis import make_study

    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1, skill=1.5))
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2, skill=0.9))
    before = build_comparison(ws, "s")
    # Dr C reads everything "1" and stops; restarted after 2 days, then reads properly
    bad = {s["photo"]: 1 for s in subjects.values()}
    void_sid = add_reader(ws, "s", "Dr C", bad, finished=False)
    now = datetime.now(UTC) + timedelta(days=2)
    session_policy.decide_expired(ws, "s", "Dr C", "restart", reason="test", now=now)
    st = ws.store.study("s")
    good = synthetic_ratings(subjects, seed=3, skill=1.2)
    reader_id = ws.store.reader("Dr C").id
    pids = list(good)
    with ws.store.atomic():
        sid = ws.store.insert_session(reader_id=reader_id, study_id=st.id,
                                      protocol_json=st.protocol_json, order_seed=5,
                                      photo_order=[(p, False) for p in pids])
        for pos, pid in enumerate(pids):
            ws.store.insert_read(sid, position=pos, photo_id=pid, practice=False,
                                 rating=good[pid], binary_read=good[pid] >= 4,
                                 shown_mono=pos, hidden_mono=pos + 1, answered_mono=pos + .5,
                                 shown_at="t", hidden_at="t", answered_at="t", display_s=1.0,
                                 response_s=0.5, after_interruption=False)
        ws.store.finish_session(sid)
        ws.store.set_replaces(sid, void_sid)
    comp = build_comparison(ws, "s")
    assert [r.name for r in comp.readers] == ["Dr A", "Dr B", "Dr C"]
    assert comp.reader("Dr C").session_id == sid
    assert comp.counts["readers_left_out"] == {}
    keys = list(comp.subjects)
    key_pid = {k: v["photo"] for k, v in subjects.items()}
    assert list(comp.reader("Dr C").ratings) == [good[key_pid[keys[i]]] for i in comp.paired]
    # the other readers' numbers are unchanged by the void session
    for name in ("Dr A", "Dr B"):
        assert comp.reader(name).delong.auc == before.reader(name).delong.auc
        assert list(comp.reader(name).ratings) == list(before.reader(name).ratings)
    # the void reads are still in the database
    assert len(ws.store.reads(void_sid)) == len(bad)
    # the report's table and exclusion note
    rows = session_policy.history_rows(ws, st.id)
    table = session_policy.history_table(rows, limit_hours=24)
    assert table.texts()[0][1:4] == ["Dr C", str(void_sid), "Restarted: earlier reads void"]
    assert table.records()[0]["replaced_by"] == sid and table.records()[0]["reason"] == "test"
    assert any("restarted" in n and "void" in n for n in session_policy.history_notes(rows))
    assert "1 session(s) were restarted" in session_policy.history_methods(rows, 24)
    assert not session_policy.history_table([]).rows
    # the comparison carries it into the report: CSV, HTML, PDF, Methods and exclusions
    assert [r["kind"] for r in comp.session_history] == ["restart"]
    assert any(f"its {len(bad)} read(s) are void" in e for e in comp.exclusions), comp.exclusions
    files = write_report(comp, ws.root / "report")
    assert files.files["session_history"].name == "session_history.csv"
    csv_text = files.files["session_history"].read_text(encoding="utf-8")
    assert "Restarted: earlier reads void" in csv_text and "Dr C" in csv_text
    page = files.files["html"].read_text(encoding="utf-8")
    assert "Session history" in page and "1 session(s) were restarted" in page
    assert files.files["pdf"].stat().st_size > 0
    # a study without decisions has no such section
    assert session_policy.history_section(before) == ()
