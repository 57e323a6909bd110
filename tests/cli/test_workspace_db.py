"""The workspace database as a user meets it: its location, the old layout, a missing or
damaged file, 'db check' that writes nothing, and folder modes left alone."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.conftest import PROTOCOLS, REPO, snapshot
from tests.store.dbfiles import commit_read, listing, make_session, python, wbsdesk
from wbsdesk.cli import cli
from wbsdesk.config import db_path, legacy_db_path, warn_if_shared
from wbsdesk.store import open_store
from wbsdesk.store.migrations import migrations


def run(ws, *args, code=0):
    res = CliRunner().invoke(cli, ["--workspace", str(ws), *args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def _old_layout(root, *, reads=1):
    """A workspace as an older wbsdesk left it: wbsdesk.db at the root, photos beside it."""
    root.mkdir(mode=0o700)
    (root / "photos" / "ab").mkdir(parents=True)
    (root / "photos" / "ab" / "abc.jpg").write_bytes(b"jpeg")
    store = open_store(legacy_db_path(root))
    sid, photos = make_session(store)
    for i in range(reads):
        commit_read(store, sid, photos[i], i)
    store.close()
    return sid, photos


def _count_reads(db, sid):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM reads WHERE session_id = ?",
                            [sid]).fetchone()[0]


def test_an_old_workspace_moves_its_database_into_the_store_folder(tmp_path):
    root = tmp_path / "old"
    sid, photos = _old_layout(root)
    # a process killed mid-session left committed reads in the WAL, not yet in the file
    python("import sys, os; from pathlib import Path\n"
           "from wbsdesk.store import open_store\n"
           "from tests.store.dbfiles import commit_read\n"
           "s = open_store(Path(sys.argv[1]))\n"
           "commit_read(s, 1, int(sys.argv[2]), 1); commit_read(s, 1, int(sys.argv[3]), 2)\n"
           "os._exit(0)", str(legacy_db_path(root)), str(photos[1]), str(photos[2]))
    assert os.path.getsize(f"{legacy_db_path(root)}-wal") > 0
    listing_before = json.loads(run(root, "study", "list", "--json").stdout)
    assert [r["name"] for r in listing_before] == ["files"]
    assert not legacy_db_path(root).exists()
    assert not any(p.name.startswith("wbsdesk.db") for p in root.iterdir())
    assert stat.S_IMODE(db_path(root).parent.stat().st_mode) == 0o700
    assert _count_reads(db_path(root), sid) == 3  # the killed process's reads included


def test_an_old_database_open_in_another_process_is_not_moved(tmp_path):
    root = tmp_path / "old"
    sid, photos = _old_layout(root)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from wbsdesk.store import open_store\n"
         "from tests.store.dbfiles import commit_read\n"
         "s = open_store(Path(sys.argv[1])); print('ready', flush=True)\n"
         "sys.stdin.readline(); commit_read(s, 1, int(sys.argv[2]), 1)\n"
         "print('committed', flush=True); sys.stdin.readline(); s.close()",
         str(legacy_db_path(root)), str(photos[1])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == "ready"
        res = run(root, "study", "list", code=1)
        assert "open in another wbsdesk window or process" in res.output
        assert "Close every other wbsdesk window" in res.output
        assert str(legacy_db_path(root)) in res.output and "Traceback" not in res.output
        assert legacy_db_path(root).exists() and not db_path(root).exists()
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "committed"  # it still works
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(60) == 0
    run(root, "study", "list")
    assert db_path(root).exists() and not legacy_db_path(root).exists()
    assert _count_reads(db_path(root), sid) == 2


@pytest.mark.parametrize("layout", ["missing", "empty", "empty-old"])
def test_data_without_a_usable_database_is_refused(tmp_path, layout):
    root = tmp_path / "ws"
    sub = {"missing": "photos", "empty": "runs", "empty-old": "crops"}[layout]
    (root / sub / "x").mkdir(parents=True)
    (root / sub / "x" / "file.bin").write_bytes(b"data")
    if layout == "empty":
        db_path(root).parent.mkdir()
        db_path(root).write_bytes(b"")
    if layout == "empty-old":
        legacy_db_path(root).write_bytes(b"")
    before = listing(root)
    res = run(root, "study", "list", code=1)
    assert f"holds wbsdesk data ({sub}/)" in res.output
    assert "wbsdesk will not start an empty database over it" in res.output
    assert ("is missing" if layout == "missing" else "is empty (0 bytes)") in res.output
    after = listing(root)
    assert {k: v for k, v in after.items() if not k.startswith("logs")} == before
    check = run(root, "db", "check", "--json", code=1)
    assert not json.loads(check.stdout)["ok"]


def test_a_new_folder_gets_a_new_database_in_private_folders(tmp_path):
    root = tmp_path / "a" / "b" / "ws"
    run(root, "study", "create", "s", "--protocol", str(PROTOCOLS / "demo.toml"))
    assert db_path(root).is_file()
    for d in (tmp_path / "a", tmp_path / "a" / "b", root, db_path(root).parent, root / "logs"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    assert json.loads(run(root, "db", "check", "--json").stdout)["ok"]


def test_an_existing_shared_folder_keeps_its_mode(tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: sticky, everyone may write
    run(shared, "study", "list")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE(db_path(shared).parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path(shared).stat().st_mode) == 0o600
    caplog.set_level(logging.WARNING, logger="wbsdesk")
    other = tmp_path / "other"
    other.mkdir(mode=0o755)
    os.chmod(other, 0o755)
    assert warn_if_shared(other) and warn_if_shared(other)
    warned = [r for r in caplog.records if str(other) in r.getMessage()]
    assert len(warned) == 1 and "leaves its mode alone" in warned[0].getMessage()
    assert stat.S_IMODE(other.stat().st_mode) == 0o755


def test_db_check_writes_nothing(tmp_path):
    root = tmp_path / "ws"
    run(root, "study", "create", "s", "--protocol", str(PROTOCOLS / "demo.toml"))
    before = listing(root)
    data = json.loads(run(root, "db", "check", "--json").stdout)
    assert data["ok"] and data["problems"] == [] and data["pending_migrations"] == []
    assert data["database"] == str(db_path(root))
    assert data["wal"] == "none (no process has the database open)"
    assert listing(root) == before
    text = run(root, "db", "check").output
    assert "integrity: ok" in text and listing(root) == before
    missing = tmp_path / "nothing-here"
    res = run(missing, "db", "check", code=1)
    assert "no such workspace folder" in res.output and not missing.exists()


def test_db_check_says_how_to_remove_the_orphaned_files_it_lists(tmp_path):
    root = tmp_path / "ws"
    run(root, "study", "create", "s", "--protocol", str(PROTOCOLS / "demo.toml"))
    stray = root / "photos" / "ff" / ("f" * 64 + ".png")  # what a killed import left
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left over")
    text = run(root, "db", "check").output
    assert f"orphaned file: {stray}" in text
    assert "1 orphaned file(s)" in text and "'wbsdesk db check --repair' removes them" in text
    assert stray.exists()
    text = run(root, "db", "check", "--repair", "--yes").output
    assert "Removed 1 orphaned files." in text and "--repair' removes them" not in text
    assert not stray.exists()


@pytest.mark.parametrize("args", [
    ("session", "export", "s", "--out", ".store/wbsdesk.db"),
    ("session", "export", "s", "--json", "--out", ".store/wbsdesk.db-wal"),
    ("session", "export", "s", "--out", "photos/reads.csv"),
    ("report", "s", "--out", ".store"),
    ("aid", "compare", "s", "--out", "runs/aided"),
    ("bundle", "create", "s", "--out", ".store/bundle.zip"),
    ("gui", "--screenshot", ".store/wbsdesk.db"),
], ids=lambda a: "-".join(a[:2]))
def test_no_export_writes_into_the_workspace_own_folders(tmp_path, args):
    # 'session export --out WS/.store/wbsdesk.db' used to replace the database with a CSV.
    root = tmp_path / "ws"
    run(root, "study", "create", "s", "--protocol", str(PROTOCOLS / "demo.toml"))
    before = snapshot(root)
    out = args.index("--out") + 1 if "--out" in args else args.index("--screenshot") + 1
    args = (*args[:out], str(root / args[out]), *args[out + 1:])
    res = run(root, *args, code=1)
    folder = args[out].removeprefix(f"{root}/").split("/")[0]
    assert f"wbsdesk does not write into the workspace's own {folder}/ folder" in res.output
    assert "Traceback" not in res.output
    assert snapshot(root) == before
    assert "integrity: ok" in run(root, "db", "check").output


def test_db_check_reports_pending_migrations_instead_of_applying_them(tmp_path):
    root = tmp_path / "ws"
    db_path(root).parent.mkdir(parents=True)
    from sqlite_utils import Database

    db = Database(db_path(root))
    migrations.apply(db, stop_before="0004_runs")
    db.close()
    before = listing(root)
    data = json.loads(run(root, "db", "check", "--json").stdout)
    assert data["ok"] and data["schema_version"] == 3
    assert data["pending_migrations"][0] == "0004_runs"
    assert any("applied when wbsdesk next opens the workspace" in n for n in data["notes"])
    assert listing(root) == before


def test_db_check_on_an_old_layout_neither_moves_nor_writes(tmp_path):
    root = tmp_path / "old"
    _old_layout(root)
    before = listing(root)
    data = json.loads(run(root, "db", "check", "--json").stdout)
    assert data["ok"] and data["database"] == str(legacy_db_path(root))
    assert any("old location" in n for n in data["notes"])
    assert listing(root) == before


def test_db_check_next_to_an_open_workspace_checks_the_wal_it_reads(tmp_path):
    from wbsdesk.services.workspace import open_workspace

    ws = open_workspace(tmp_path / "ws")
    try:
        sid, photos = make_session(ws.store)
        commit_read(ws.store, sid, photos[0], 0)
        data = json.loads(run(ws.root, "db", "check", "--json").stdout)
        assert data["ok"] and data["wal"] == "wbsdesk.db-wal, the file on disk"
        text = run(ws.root, "db", "check").output
        assert "write-ahead log: wbsdesk.db-wal, the file on disk" in text
    finally:
        ws.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_db_check_names_a_process_writing_to_a_deleted_wal(tmp_path):
    root = tmp_path / "ws"
    run(root, "study", "list")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys; from pathlib import Path; from wbsdesk.store import open_store\n"
         "s = open_store(Path(sys.argv[1]))\n"
         "os.close(os.open(sys.argv[1], os.O_RDONLY))  # drops its locks\n"
         "print('ready', flush=True); sys.stdin.readline()",
         str(db_path(root))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == "ready"
        wbsdesk(root, "study", "list")  # closes last, as it believes: deletes the WAL
        res = run(root, "db", "check", code=1)
        assert f"process {holder.pid} still writes to wbsdesk.db-wal" in res.output
    finally:
        holder.stdin.close()
        holder.wait(60)


def _damage_tables(db, tables):
    """Overwrite the root page of each table with garbage (page-level damage)."""
    with sqlite3.connect(db) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        roots = dict(conn.execute("SELECT name, rootpage FROM sqlite_master WHERE type = "
                                  "'table'").fetchall())
    conn.close()
    with open(db, "r+b") as fh:
        for t in tables:
            fh.seek((roots[t] - 1) * size)
            fh.write(bytes([0xA5]) * size)


@pytest.fixture
def damaged(tmp_path, photo_set):
    root = tmp_path / "ws"
    run(root, "study", "create", "s", "--protocol", str(PROTOCOLS / "liu2021_wbs.toml"))
    run(root, "import", "s", "--manifest", str(photo_set(n=30)))
    _damage_tables(db_path(root), ["studies", "subjects", "photos", "reads", "sessions"])
    return root


@pytest.mark.parametrize("args", [("study", "list"), ("study", "show", "s"), ("table1", "s"),
                                  ("session", "export", "s"), ("db", "check")], ids=" ".join)
def test_a_damaged_page_is_a_clear_error_naming_the_file(damaged, args):
    res = run(damaged, *args, code=1)
    assert str(db_path(damaged)) in res.output
    assert "Traceback" not in res.output
    if args != ("db", "check"):
        assert "the workspace database is damaged" in res.output
        assert "wbsdesk db check" in res.output
    else:
        assert "integrity: PROBLEMS" in res.output


def test_a_damaged_database_gives_no_traceback_in_a_real_process(damaged):
    res = wbsdesk(damaged, "study", "list", check=False)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "the workspace database is damaged" in res.stderr
    check = wbsdesk(damaged, "db", "check", "--json", check=False)
    data = json.loads(check.stdout)
    assert check.returncode == 1 and not data["ok"] and data["problems"]


def test_a_file_that_is_not_a_database(tmp_path):
    root = tmp_path / "ws"
    run(root, "study", "list")
    db_path(root).write_bytes(b"not a database" * 500)
    for args in (("study", "list"), ("db", "check")):
        res = run(root, *args, code=1)
        assert "file is not a database" in res.output and str(db_path(root)) in res.output


@pytest.mark.parametrize("name", [".store", "tmp"])
def test_a_file_where_a_workspace_folder_goes_is_a_clear_error(tmp_path, name):
    root = tmp_path / "ws"
    run(root, "study", "create", "s", "--protocol", str(PROTOCOLS / "demo.toml"))
    if name == ".store":
        root = tmp_path / "other"
        root.mkdir()
    else:
        (root / name).rmdir()
    (root / name).write_text("not a folder")
    res = wbsdesk(root, "study", "list", check=False)  # a real process: stderr as users see it
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert f"Error: {root / name}: is not a folder, so this workspace cannot be opened" \
        in res.stderr
    assert "Move the file of that name out of the way" in res.stderr


def test_an_out_path_the_file_system_refuses_is_a_message_naming_it(tmp_path):
    root = tmp_path / "ws"
    run(root, "study", "create", "s", "--protocol", str(PROTOCOLS / "demo.toml"))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    res = wbsdesk(root, "session", "export", "s", "--out", str(blocker / "reads.csv"),
                  check=False)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert f"Error: {blocker / 'reads.csv'}: Not a directory" in res.stderr
