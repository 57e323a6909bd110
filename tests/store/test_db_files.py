"""A connection whose files changed under it is noticed, and a read is refused, not lost.

POSIX drops all of a process's locks on a file when any descriptor of it is closed in that
process. After that, the next process to close its connection believes it is the last one,
checkpoints and deletes the WAL, and this process would go on committing into a deleted
file (reads invisible to everyone, lost at a kill).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.store.dbfiles import (
    commit_read,
    make_session,
    open_and_close_elsewhere,
    reads_in_fresh_process,
)
from wbsdesk.config import db_path
from wbsdesk.errors import UserError
from wbsdesk.services.workspace import check_open_databases, open_workspace

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and POSIX locks")


def _touch(path: Path) -> None:
    """Open and close a file in this process, as a file dialog sniffing its type does."""
    fd = os.open(path, os.O_RDONLY)
    os.close(fd)


@pytest.fixture
def opened(tmp_path):
    ws = open_workspace(tmp_path / "ws")
    sid, photos = make_session(ws.store)
    yield ws, sid, photos
    ws.close()


def test_the_database_lives_in_a_hidden_private_folder(opened):
    ws, _, _ = opened
    assert ws.store.path == ws.root / ".store" / "wbsdesk.db" == db_path(ws.root)
    assert (ws.store.path.parent.stat().st_mode & 0o777) == 0o700
    assert not (ws.root / "wbsdesk.db").exists()


@linux
def test_other_processes_leave_an_intact_connection_alone(opened):
    ws, sid, photos = opened
    commit_read(ws.store, sid, photos[0], 0)
    open_and_close_elsewhere(ws.store.path)
    assert Path(f"{ws.store.path}-wal").exists() and ws.store.files_intact()
    commit_read(ws.store, sid, photos[1], 1)
    assert reads_in_fresh_process(ws.store.path, sid) == 2


@linux
def test_closing_only_the_wal_keeps_the_locks(opened):
    # SQLite holds no lock on the -wal itself: closing it here is harmless.
    ws, sid, photos = opened
    _touch(Path(f"{ws.store.path}-wal"))
    open_and_close_elsewhere(ws.store.path)
    assert ws.store.files_intact(), ws.store.check_files()
    commit_read(ws.store, sid, photos[0], 0)
    assert reads_in_fresh_process(ws.store.path, sid) == 1


@linux
def test_lost_locks_are_detected_and_the_read_is_refused_not_lost(opened, tmp_path):
    ws, sid, photos = opened
    commit_read(ws.store, sid, photos[0], 0)
    for suffix in ("-shm", "", "-wal"):  # what Qt's file dialog opened and closed
        _touch(Path(f"{ws.store.path}{suffix}"))
    problems = ws.store.check_files()
    assert not ws.store.files_intact()
    assert any("lost its SQLite locks on wbsdesk.db" in p for p in problems), problems
    assert check_open_databases() == problems

    open_and_close_elsewhere(ws.store.path)  # believes it is last: checkpoints, deletes WAL
    assert not Path(f"{ws.store.path}-wal").exists()
    problems = ws.store.check_files()
    assert any("wbsdesk.db-wal (the log this connection writes) was deleted" in p
               for p in problems), problems
    with pytest.raises(UserError, match="changed under this window") as err:
        commit_read(ws.store, sid, photos[1], 1)
    assert "Close wbsdesk (every window) and open it again" in str(err.value)
    with pytest.raises(UserError, match="changed under this window"), ws.store.atomic():
        ws.store.set_setting("x", "y")  # any write, not just reads
    # Everything committed before is in the database; the refused read left no trace.
    assert reads_in_fresh_process(ws.store.path, sid) == 1
    ws.close()
    again = open_workspace(tmp_path / "ws")
    try:
        assert again.store.files_intact()
        commit_read(again.store, sid, photos[1], 1)
        assert [r["position"] for r in again.store.reads(sid)] == [0, 1]
    finally:
        again.close()
    assert reads_in_fresh_process(again.store.path, sid) == 2


def test_a_database_moved_away_is_detected(opened):
    ws, sid, photos = opened
    os.rename(ws.store.path, ws.store.path.with_name("moved.db"))
    assert any("was deleted or moved" in p for p in ws.store.check_files())
    with pytest.raises(UserError, match="changed under this window"):
        commit_read(ws.store, sid, photos[0], 0)
    os.rename(ws.store.path.with_name("moved.db"), ws.store.path)
    assert ws.store.files_intact()
