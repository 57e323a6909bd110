"""Opening the store: PRAGMAs, migrations, integrity check, user-only file permissions.

Every open store notes which files its connection uses (:class:`~wbsdesk.store.files.FileGuard`)
and refuses to begin a write, or to store a read, once they are no longer the files on disk.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from wbsdesk.config import USER_ONLY_FILE, ensure_private_dir
from wbsdesk.errors import UserError
from wbsdesk.store.aids import AidsRepo
from wbsdesk.store.connection import CHECK_HINT, connect, damaged, is_damage
from wbsdesk.store.crops import CropsRepo
from wbsdesk.store.files import FileGuard
from wbsdesk.store.migrations import MIGRATION_SET, known_names, migrations
from wbsdesk.store.reading import ReadingRepo
from wbsdesk.store.repeats import RepeatsRepo
from wbsdesk.store.repo import Repo
from wbsdesk.store.runs import RunsRepo
from wbsdesk.store.session_policy import SessionPolicyRepo
from wbsdesk.store.teaching import TeachingRepo

log = logging.getLogger(__name__)

#: Lock file beside the database, held while migrations are applied (never a database file).
MIGRATE_LOCK = "migrate.lock"
_open_stores: weakref.WeakSet[Store] = weakref.WeakSet()
_open_stores_lock = threading.Lock()  # worker threads open and close stores too


class Store(Repo, CropsRepo, ReadingRepo, RepeatsRepo, RunsRepo, AidsRepo, SessionPolicyRepo,
            TeachingRepo):
    """One open workspace database (one per thread; sqlite-utils refuses cross-thread use).

    Attributes
    ----------
    path : Path
        The database file.
    read_only : bool
        Opened by :func:`open_store_readonly` (nothing is ever written).
    """

    def __init__(self, db: Database, path: Path, *, read_only: bool = False) -> None:
        super().__init__(db)
        self.path = path
        self.read_only = read_only
        self.guard = FileGuard.record(path, uses_wal=not read_only or _has_wal(path))
        with _open_stores_lock:
            _open_stores.add(self)

    def check_files(self) -> list[str]:
        """Why this connection's files are not the ones on disk (empty when they are).

        The database and its WAL must have the device and inode they had when the
        connection opened them, neither may be open here as a deleted file, and this process
        must still hold the SQLite locks it held then. Never opens the files.
        """
        return self.guard.problems()

    def files_intact(self) -> bool:
        """Whether :meth:`check_files` finds nothing wrong."""
        return not self.check_files()

    def ensure_files_intact(self) -> None:
        """Raise :class:`UserError` (close and reopen the app) unless :meth:`files_intact`."""
        self.guard.ensure_intact()

    def insert_read(self, session_id: int, **values: Any) -> bool:
        """Store one read, after checking that it lands in the files on disk.

        See :meth:`ReadingRepo.insert_read`; refuses with :class:`UserError`, before writing
        anything, when :meth:`files_intact` is false (the read would be lost).
        """
        self.ensure_files_intact()
        return super().insert_read(session_id, **values)

    def insert_repeat_read(self, session_id: int, **values: Any) -> bool:
        """Store one repeat read, after the same check as :meth:`insert_read`."""
        self.ensure_files_intact()
        return super().insert_repeat_read(session_id, **values)

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """One transaction: everything inside lands together or not at all.

        The outermost block starts with ``BEGIN IMMEDIATE``: it takes the write lock first,
        waiting up to ``busy_timeout`` for another connection (a job process, a worker
        thread) to finish. A plain ``BEGIN`` that reads and then writes fails at once with
        "database is locked" when another connection has written meanwhile, since SQLite
        cannot wait its way out of that. Nested blocks are savepoints.

        The files are checked first (:meth:`ensure_files_intact`): nothing is written into a
        WAL that another process deleted.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the open transaction
                yield self
            return
        self.ensure_files_intact()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise

    def schema_version(self) -> list[str]:
        """Names of the applied migrations, oldest first."""
        return [m.name for m in migrations.applied(self.db)]

    def pending_migrations(self) -> list[str]:
        """Names of migrations this code knows but the file has not applied yet."""
        return [m.name for m in migrations.pending(self.db)]

    def known_migrations(self) -> list[str]:
        """Names of every migration this code knows, oldest first."""
        return known_names()

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check`` and ``foreign_key_check`` problems (empty when healthy)."""
        try:
            rows = [r[0] for r in self.db.execute("PRAGMA integrity_check").fetchall()]
        except UserError:  # too damaged to walk at all: say which tables are
            rows = self._damaged_tables()
            if not rows:
                raise
        problems = [] if rows == ["ok"] else [line for r in rows for line in r.splitlines()
                                               if not line.startswith("*** in database")]
        try:
            fks = self.db.execute("PRAGMA foreign_key_check").fetchall()
        except UserError:  # damaged: the pages already named above, if any
            if not problems:
                raise
            return problems
        for table, rowid, parent, _ in fks:
            problems.append(f"{table} row {rowid} points to a missing {parent} row")
        return problems

    def _damaged_tables(self) -> list[str]:
        names = [r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()]
        out = []
        for name in names:
            try:
                rows = self.db.execute(f'PRAGMA integrity_check("{name}")').fetchall()
            except UserError as exc:
                out.append(f"table {name}: {exc.__cause__ or exc.message}")
                continue
            out += [f"table {name}: {r[0]}" for r in rows if r[0] != "ok"]
        return out

    def close(self) -> None:
        """Close the connection (the last one checkpoints and deletes the WAL)."""
        with _open_stores_lock:
            _open_stores.discard(self)
        self.db.close()


def open_stores() -> list[Store]:
    """Every store still open in this process (any thread), for checking their files."""
    with _open_stores_lock:
        return list(_open_stores)


def _switch_to_wal(db: Database, *, timeout_s: float = 10.0) -> None:
    """Set WAL journal mode, retrying while another connection briefly holds the file."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _has_wal(path: Path) -> bool:
    return Path(f"{path}-wal").exists()


def open_store(path: Path, *, migrate: bool = True) -> Store:
    """Open (creating if needed) the workspace database with WAL, foreign keys and migrations.

    Parameters
    ----------
    path : Path
        The ``wbsdesk.db`` file (``config.db_path(workspace)``); its folder is made 0700.
    migrate : bool, keyword-only
        Apply pending migrations. Opening an up-to-date database writes nothing.

    Returns
    -------
    Store

    Raises
    ------
    UserError
        When the file is not a database, is damaged, or was written by a newer wbsdesk.
    """
    ensure_private_dir(path.parent)
    is_new = not path.exists()
    try:
        db = Database(connect(path), strict=True)
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            # Switching needs an exclusive lock, and SQLite answers "locked" at once
            # (no busy wait) when two connections both hold a shared lock and want it:
            # one process at a time, re-checked and retried once the OS lock is held.
            with _migration_lock(path.parent):
                _switch_to_wal(db)
        # FULL: a committed read survives even an OS crash; reads are 1 per ~10 s.
        db.execute("PRAGMA synchronous = FULL")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL
    except UserError:
        raise
    except Exception as exc:  # sqlite3.DatabaseError: locked, cannot open, ...
        raise UserError(f"{path}: cannot open the workspace database ({exc})",
                        hint=CHECK_HINT) from exc
    for suffix in ("", "-wal", "-shm"):
        f = Path(str(path) + suffix)
        if f.exists():
            os.chmod(f, USER_ONLY_FILE)
    store = Store(db, path)
    if migrate and migrations.pending(db):
        # Two processes opening a new (or older) workspace at once would both apply the
        # pending migrations ("table studies already exists"): one at a time, and the
        # second one re-checks what is still pending once it has the lock.
        with _migration_lock(path.parent):
            names = [m.name for m in migrations.pending(db)]
            if names:
                log.info("applying migrations %s to %s%s", names, path,
                         " (new)" if is_new else "")
                store.ensure_files_intact()
                migrations.apply(db)
    unknown = set(_applied_names(db)) - set(known_names())
    if unknown:
        store.close()
        raise UserError(f"{path}: written by a newer wbsdesk (unknown migrations "
                        f"{sorted(unknown)})", hint="Install the newer version to open it.")
    return store


def open_store_readonly(path: Path) -> Store:
    """Open the database for reading only: no migration, no PRAGMA that writes, no new file.

    With no ``-wal`` beside it no connection has the file open, and SQLite is told the file
    is immutable, so it creates no ``-wal``/``-shm`` either. Otherwise it joins the live
    WAL read-only (reading touches only SQLite's shared-memory index, ``-shm``).

    Parameters
    ----------
    path : Path
        The database file; it must exist.

    Returns
    -------
    Store
        With ``read_only`` set.

    Raises
    ------
    UserError
        When the file is missing or cannot be opened; :class:`DatabaseDamagedError` when damaged.
    """
    if not path.is_file():
        raise UserError(f"{path}: no workspace database there")
    live = _has_wal(path) and Path(f"{path}-shm").exists()
    try:
        db = Database(connect(path, read_only=True, immutable=not live), strict=True,
                      recursive_triggers=False, execute_plugins=False)
        db.execute("PRAGMA query_only = ON")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except UserError:
        raise
    except Exception as exc:
        if is_damage(exc):
            raise damaged(path, exc) from exc
        raise UserError(f"{path}: cannot open the workspace database ({exc})",
                        hint=CHECK_HINT) from exc
    return Store(db, path, read_only=True)


@contextmanager
def _migration_lock(folder: Path, *, timeout_s: float = 60.0) -> Iterator[None]:
    """An OS lock on ``folder/migrate.lock`` (never a database file), held while migrating.

    Dropped by the operating system when the process ends, so a crash leaves nothing
    locked. Waits up to ``timeout_s`` for another process's migration.
    """
    lock = folder / MIGRATE_LOCK
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, USER_ONLY_FILE)
    try:
        deadline = time.monotonic() + timeout_s
        while not _try_os_lock(fd):
            if time.monotonic() > deadline:
                raise UserError(f"{folder}: another process has been upgrading the workspace "
                                f"database for {timeout_s:.0f} s", hint=CHECK_HINT)
            time.sleep(0.05)
        try:
            yield
        finally:
            _os_unlock(fd)
    finally:
        os.close(fd)


def _try_os_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _os_unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _applied_names(db: Database) -> list[str]:
    table = db[migrations.migrations_table]
    if not table.exists():
        return []
    return [r["name"] for r in table.rows_where("migration_set = ?", [MIGRATION_SET])]
