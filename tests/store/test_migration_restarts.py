"""Migration 0008 (restarted sessions, teaching): old workspaces upgrade with every session,
read and reference kept, and a reader may then hold a void session beside a fresh one."""

from __future__ import annotations

import sqlite3
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest

from wbsdesk.core.resume_policy import parse_time
from wbsdesk.core.session import ReadRecord
from wbsdesk.services import reading, session_policy
from wbsdesk.services.workspace import open_workspace
from wbsdesk.store import open_store
from wbsdesk.store.migrations import known_names, migrations
from wbsdesk.store.repeats import REPEAT_READ_COLUMNS

RELEASE = Path(__file__).resolve().parent.parent / "data" / "release_0_1_0_workspace.tar.gz"


def _unpack(tmp_path: Path) -> Path:
    with tarfile.open(RELEASE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "ws"


def test_the_release_workspace_upgrades_and_its_interrupted_session_follows_the_policy(
        tmp_path):
    root = _unpack(tmp_path)
    with open_workspace(root) as ws:
        assert ws.store.schema_version() == known_names()
        assert known_names()[-1] == "0008_session_restarts"
        assert ws.store.integrity_check() == []
        study = ws.store.study("release")
        a, b = ws.store.sessions(study.id)
        assert (a.status, b.status, a.voided_at, b.voided_at) == (
            "finished", "in_progress", None, None)
        n_reads = len(ws.store.reads(b.id))
        # two days after its last read, Dr B's session needs the administrator
        later = parse_time(ws.store.last_read_at(b.id)) + timedelta(days=2)
        with pytest.raises(session_policy.SessionExpiredError):
            reading.open_session(ws, "release", "Dr B", now=later)
        session_policy.decide_expired(ws, "release", "Dr B", "restart", now=later)
        fresh = reading.open_session(ws, "release", "Dr B", seed=1, now=later)
        fresh.release()
        # the old session is void, its reads locked and kept, the fresh one replaces it
        assert ws.store.session(b.id).voided_at is not None
        assert len(ws.store.reads(b.id)) == n_reads
        assert [s.id for s in ws.store.sessions_of(ws.store.reader("Dr B").id, study.id)] \
            == [fresh.session_id]
        assert ws.store.replaced_by(b.id) == fresh.session_id
        assert ws.store.integrity_check() == []
        # only one live session per reader, study and period
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), ws.store.atomic():
            ws.store.insert_session(reader_id=ws.store.reader("Dr B").id, study_id=study.id,
                                    protocol_json=study.protocol_json, order_seed=1,
                                    photo_order=[])


def test_a_workspace_of_the_previous_schema_keeps_its_locked_and_repeat_reads(tmp_path):
    """Made at 0007 (locked reads, repeat slots and reads referencing sessions)."""
    path = tmp_path / "old.db"
    store = open_store(path, migrate=False)
    migrations.apply(store.db, stop_before="0008_session_restarts")
    db = store.db
    with store.atomic():
        db.execute("INSERT INTO studies (id, name, protocol_name, protocol_json,"
                   " protocol_source, created_at) VALUES (1, 's', 'p', '{}', '', 't')")
        db.execute("INSERT INTO subjects (id, study_id, subject_key, grp, created_at)"
                   " VALUES (1, 1, 'k', 'a', 't')")
        db.execute("INSERT INTO photos (id, subject_id, sha256, stored_path, original_name,"
                   " format, width, height, is_primary, imported_at)"
                   f" VALUES (1, 1, '{'0' * 64}', 'p', 'o', 'JPEG', 1, 1, 1, 't')")
        db.execute("INSERT INTO readers (id, name, role, created_at)"
                   " VALUES (1, 'R', 'other', 't')")
        sid = store.insert_session(reader_id=1, study_id=1, protocol_json="{}", order_seed=3,
                                   photo_order=[(1, False)])
        rec = ReadRecord(position=0, photo_id=1, practice=False, rating=2, binary_read=False,
                         shown_mono=0, hidden_mono=1, answered_mono=0.5, shown_at="a",
                         hidden_at="b", answered_at="c", display_s=1, response_s=0.5,
                         after_interruption=False)
        store.insert_read(sid, **rec.to_row())
        db.execute("INSERT INTO repeat_slots VALUES (?, 1, 1, 0, 1)", [sid])
        row = {k: v for k, v in rec.to_row().items() if k in REPEAT_READ_COLUMNS}
        store.insert_repeat_read(sid, **{**row, "position": 1})
    before_reads = db.execute("SELECT * FROM reads").fetchall()
    before_repeats = db.execute("SELECT * FROM repeat_reads").fetchall()
    before_sessions = db.execute("SELECT * FROM sessions").fetchall()
    store.close()

    store = open_store(path)
    try:
        assert store.schema_version() == known_names()
        assert store.integrity_check() == []
        assert store.db.execute("SELECT * FROM reads").fetchall() == before_reads
        assert store.db.execute("SELECT * FROM repeat_reads").fetchall() == before_repeats
        after = store.db.execute("SELECT * FROM sessions").fetchall()
        assert [r[:len(before_sessions[0])] for r in after] == before_sessions
        assert store.session(sid).voided_at is None
        triggers = {r[0] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"reads_locked_update", "reads_locked_delete", "repeat_reads_locked_delete",
                "sessions_void_stays"} <= triggers
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        # the locks still hold through the rebuilt sessions table
        with pytest.raises(sqlite3.IntegrityError, match="read is locked"), store.atomic():
            store.db.execute("DELETE FROM sessions WHERE id = ?", [sid])
    finally:
        store.close()
    # reopening applies nothing again
    store = open_store(path)
    try:
        assert store.pending_migrations() == []
    finally:
        store.close()
