"""The reading tables: STRICT schema, checks, idempotent reads, settings."""

from __future__ import annotations

import sqlite3

import pytest

from wbsdesk.store import open_store
from wbsdesk.store.migrations import known_names


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "wbsdesk.db")
    yield s
    s.close()


def _session(s):
    with s.atomic():
        study = s.insert_study(name="x", protocol_name="p", protocol_json="{}",
                               protocol_source="", synthetic=False)
        subj = s.insert_subject(study, key="A", group="g", sex=None, age_months=None,
                                diagnosis=None, metadata={})
        photo = s.insert_photo(subj, sha256="a" * 64, stored_path="p/a.jpg",
                               original_name="a.jpg", fmt="JPEG", width=10, height=10,
                               is_primary=True)
        reader = s.insert_reader(name="R1", role="pediatrician", years=5, simulated=False,
                                 dry_run=False)
        sid = s.insert_session(reader_id=reader, study_id=study, protocol_json="{}",
                               order_seed=3, photo_order=[(photo, True), (photo, False)])
    return sid, photo, reader, study


def _read(photo, position, practice, rating=4):
    answered = None if rating is None else 2.0
    return dict(photo_id=photo, position=position, practice=practice, rating=rating,
                binary_read=None if rating is None else rating > 3, shown_mono=1.0,
                hidden_mono=11.0, answered_mono=answered, shown_at="t0", hidden_at="t1",
                answered_at=None if rating is None else "t2", display_s=10.0,
                response_s=None if rating is None else 1.0, after_interruption=False)


def test_reading_tables_are_strict_and_migrated(store):
    assert "0003_reading" in known_names()
    sql = dict(store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    for t in ("readers", "sessions", "reads", "settings"):
        assert sql[t].rstrip().endswith("STRICT"), t


def test_reader_role_years_and_unique_name(store):
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), store.atomic():
        store.insert_reader(name="A", role="nurse", years=1, simulated=False, dry_run=False)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), store.atomic():
        store.insert_reader(name="A", role="other", years=99, simulated=False, dry_run=False)
    with store.atomic():
        store.insert_reader(name="A", role="other", years=None, simulated=True, dry_run=False)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), store.atomic():
        store.insert_reader(name="A", role="other", years=None, simulated=False,
                            dry_run=False)
    r = store.reader("A")
    assert (r.role, r.years, r.simulated, r.dry_run) == ("other", None, True, False)


def test_reads_are_idempotent_and_never_duplicated(store):
    sid, photo, reader, study = _session(store)
    row = store.session(sid)
    assert row.photo_order == [(photo, True), (photo, False)] and row.status == "in_progress"
    assert store.session_of(reader, study).id == sid
    with store.atomic():
        assert store.insert_read(sid, **_read(photo, 0, True)) is True
        assert store.insert_read(sid, **_read(photo, 0, True)) is False  # same read again
        assert store.insert_read(sid, **_read(photo, 1, False, rating=None)) is True
    with pytest.raises(ValueError, match="another read"), store.atomic():
        store.insert_read(sid, **_read(photo, 5, False))  # same photo, another position
    reads = store.reads(sid)
    assert [(r["position"], r["practice"], r["rating"], r["binary_read"]) for r in reads] == [
        (0, True, 4, True), (1, False, None, None)]
    assert store.read_positions(sid) == {0, 1}
    assert store.read_counts(study) == {sid: 1}  # scored reads only (practice left out)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), store.atomic():
        store.insert_session(reader_id=reader, study_id=study, protocol_json="{}",
                             order_seed=1, photo_order=[])
    with store.atomic():
        store.add_interruption(sid)
        store.finish_session(sid)
    row = store.session(sid)
    assert row.interruptions == 1 and row.status == "finished" and row.finished_at
    assert store.study_reads(study)[0]["reader"] == "R1"
    assert store.integrity_check() == []


def test_a_read_with_a_rating_needs_its_answer_time(store):
    sid, photo, _, _ = _session(store)
    bad = _read(photo, 0, True) | {"answered_mono": None}
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), store.atomic():
        store.insert_read(sid, **bad)


def test_settings_round_trip(store):
    assert store.setting("k") is None
    with store.atomic():
        store.set_setting("k", "1")
        store.set_setting("k", "2")
    assert store.setting("k") == "2"
