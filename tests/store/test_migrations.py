"""The store: migrations from empty, PRAGMAs, STRICT tables, permissions, newer files."""

from __future__ import annotations

import os
import stat

import pytest

from wbsdesk.errors import UserError
from wbsdesk.store import open_store
from wbsdesk.store.migrations import known_names


def test_migrations_from_empty(tmp_path):
    store = open_store(tmp_path / "ws" / "wbsdesk.db")
    assert store.schema_version() == known_names()
    assert store.pending_migrations() == []
    tables = {r[0]: r[1] for r in store.db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table'")}
    for t in ("studies", "subjects", "photos", "folds", "audit"):
        assert t in tables
        assert tables[t].rstrip().endswith("STRICT"), t
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.integrity_check() == []
    store.close()


def test_reopen_applies_nothing_and_keeps_data(tmp_path):
    path = tmp_path / "wbsdesk.db"
    s = open_store(path)
    with s.atomic():
        s.insert_study(name="x", protocol_name="p", protocol_json="{}", protocol_source="",
                       synthetic=False)
    s.close()
    before = path.read_bytes()
    s = open_store(path)
    assert [r.name for r in s.studies()] == ["x"]
    s.close()
    assert path.read_bytes() == before


def test_strict_types_and_foreign_keys_are_enforced(tmp_path):
    s = open_store(tmp_path / "wbsdesk.db")
    with pytest.raises(Exception, match="FOREIGN KEY"), s.atomic():
        s.insert_subject(999, key="a", group="g", sex=None, age_months=None, diagnosis=None,
                         metadata={})
    with pytest.raises(Exception, match="cannot store"):
        s.db.execute("INSERT INTO studies (name, protocol_name, protocol_json, protocol_source,"
                     " created_at, synthetic) VALUES ('a', 'p', '{}', '', 'now', 'yes')")
    s.close()


def test_workspace_files_are_user_only(tmp_path):
    s = open_store(tmp_path / "ws" / "wbsdesk.db")
    s.close()
    assert stat.S_IMODE(os.stat(tmp_path / "ws").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "ws" / "wbsdesk.db").st_mode) == 0o600


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "wbsdesk.db"
    s = open_store(path)
    s.db["_sqlite_migrations"].insert({"migration_set": "wbsdesk", "name": "9999_future",
                                       "applied_at": "2030"})
    s.close()
    with pytest.raises(UserError, match="newer wbsdesk"):
        open_store(path)


def test_not_a_database_is_a_user_error(tmp_path):
    path = tmp_path / "wbsdesk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match=r"database is damaged: .*wbsdesk\.db: file is not a"):
        open_store(path)
