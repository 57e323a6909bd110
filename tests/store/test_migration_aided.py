"""Migration 0006 (aided reading): a workspace made by wbsdesk 0.1.0 upgrades and stays
readable, and every committed read is locked in the database itself."""

from __future__ import annotations

import sqlite3
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest

from wbsdesk.config import db_path
from wbsdesk.core.resume_policy import parse_time
from wbsdesk.core.session import ReadRecord
from wbsdesk.services import reading
from wbsdesk.services.analysis_data import load_sessions
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import open_workspace
from wbsdesk.store import open_store, open_store_readonly
from wbsdesk.store.migrations import known_names

RELEASE = Path(__file__).resolve().parent.parent / "data" / "release_0_1_0_workspace.tar.gz"
OLD_READ_COLUMNS = ("session_id", "photo_id", "position", "practice", "rating", "binary_read",
                    "shown_mono", "hidden_mono", "answered_mono", "shown_at", "hidden_at",
                    "answered_at", "display_s", "response_s", "after_interruption",
                    "recorded_at")


def _unpack(tmp_path: Path) -> Path:
    with tarfile.open(RELEASE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "ws"


def _raw(path: Path, sql: str) -> list[tuple]:
    store = open_store_readonly(path)
    try:
        return [tuple(r) for r in store.db.execute(sql).fetchall()]
    finally:
        store.close()


def test_a_workspace_made_by_the_release_upgrades_and_keeps_every_read(tmp_path):
    root = _unpack(tmp_path)
    path = db_path(root)
    applied = [r[0] for r in _raw(path, "SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == known_names()[:5]  # made before the aided-reading migration
    before_reads = _raw(path, f"SELECT {', '.join(OLD_READ_COLUMNS)} FROM reads"
                              " ORDER BY session_id, position")
    before_sessions = _raw(path, "SELECT * FROM sessions ORDER BY id")
    assert len(before_reads) == 8 and len(before_sessions) == 2

    with open_workspace(root) as ws:
        assert ws.store.schema_version() == known_names()
        assert ws.store.integrity_check() == []
        after = ws.store.db.execute(
            f"SELECT {', '.join(OLD_READ_COLUMNS)}, modality, phase, aid_score, locked"
            " FROM reads ORDER BY session_id, position").fetchall()
        assert [tuple(r[:16]) for r in after] == before_reads
        assert {tuple(r[16:]) for r in after} == {("unaided", 1, None, 1)}
        sessions = ws.store.sessions(ws.store.study("release").id)
        assert [(s.id, s.design, s.modality, s.period, s.aid_set_id) for s in sessions] == [
            (b[0], "blind", "unaided", 1, None) for b in before_sessions]
        assert [s.status for s in sessions] == ["finished", "in_progress"]

        # what the reports read keeps working: the export and the analysis' reads
        rows = reading.export_reads(ws, "release")
        assert len(rows) == 8 and {r["modality"] for r in rows} == {"unaided"}
        taken, left_out = load_sessions(ws, load_study(ws, "release"), None,
                                        include_simulated=False, include_dry_run=False)
        assert [s.reader for s in taken] == ["Dr A"] and left_out == {"unfinished": ["Dr B"]}
        assert len(taken[0].ratings) == 5  # six photos, one "no answer"

        # the interrupted session resumes where it stopped and takes its next read (an
        # hour after its last read: within the resume policy's limit)
        last = parse_time(ws.store.last_read_at(sessions[1].id))
        setup = reading.open_session(ws, "release", "Dr B", now=last + timedelta(hours=1))
        try:
            assert setup.resumed and setup.done == frozenset({0, 1})
            nxt = setup.plan[2]
            assert reading.record_read(ws, setup.session_id, ReadRecord(
                position=2, photo_id=nxt.photo_id, practice=False, rating=4, binary_read=True,
                shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1, shown_at="a",
                hidden_at="b", answered_at="c", display_s=0.2, response_s=0.1,
                after_interruption=True))
        finally:
            setup.release()
        assert len(ws.store.reads(setup.session_id)) == 3


def test_a_committed_read_cannot_be_changed_or_deleted(tmp_path):
    root = _unpack(tmp_path)
    with open_workspace(root) as ws:
        sid = ws.store.sessions(ws.store.study("release").id)[0].id
        before = ws.store.reads(sid)
        db = ws.store.db
        with pytest.raises(sqlite3.IntegrityError, match="read is locked"), ws.store.atomic():
            db.execute("UPDATE reads SET rating = 5 WHERE session_id = ?", [sid])
        with pytest.raises(sqlite3.IntegrityError, match="read is locked"), ws.store.atomic():
            db.execute("UPDATE reads SET locked = 0 WHERE session_id = ?", [sid])
        with pytest.raises(sqlite3.IntegrityError, match="read is locked"), ws.store.atomic():
            db.execute("DELETE FROM reads WHERE session_id = ?", [sid])
        # nor through a cascade: deleting the session (or its study) is refused
        with pytest.raises(sqlite3.IntegrityError, match="read is locked"), ws.store.atomic():
            db.execute("DELETE FROM sessions WHERE id = ?", [sid])
        # storing the same read again is a no-op, never a replacement
        r = before[0]
        again = {k: r[k] for k in r if k != "recorded_at"}
        again.pop("session_id")
        again["rating"] = 5 if r["rating"] != 5 else 4
        with pytest.raises(ValueError), ws.store.atomic():
            ws.store.insert_read(sid, **{**again, "photo_id": -1})
        with ws.store.atomic():
            assert ws.store.insert_read(sid, **again) is False
        assert ws.store.reads(sid) == before


def test_an_aided_read_must_carry_the_score_it_showed(tmp_path):
    store = open_store(tmp_path / "x.db")
    try:
        cols = store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'reads'").fetchone()
        assert "(modality = 'aided') = (aid_score IS NOT NULL)" in cols[0]
        assert "PRIMARY KEY (session_id, position, phase)" in cols[0]
        triggers = {r[0] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"reads_locked_update", "reads_locked_delete"} <= triggers
    finally:
        store.close()
