"""sqlite3 connections whose damage errors name the file: a bad page becomes a UserError.

A damaged page surfaces wherever a query first reads it (``study list``, a report, a read
commit), as a bare ``sqlite3.DatabaseError: database disk image is malformed``. Every
connection the store opens is a :class:`GuardedConnection`, whose cursors turn SQLite's
CORRUPT and NOTADB errors into :class:`DatabaseDamagedError` (a :class:`UserError` naming the
file), so the CLI, the GUI and job processes all show one clear message instead of a
traceback. Other SQLite errors (locked, constraint failures) pass through unchanged.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wbsdesk.errors import UserError

SQLITE_CORRUPT = 11
SQLITE_NOTADB = 26
CHECK_HINT = ("Run 'wbsdesk db check' to see what is wrong, and restore the file from a "
              "backup; wbsdesk does not repair it.")


class DatabaseDamagedError(UserError):
    """The workspace database file is damaged (SQLite reports corruption or not a database)."""


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite reporting a damaged file (not a lock, not a constraint)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return type(exc) is sqlite3.DatabaseError
    return code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB)


def damaged(path: Path | str, exc: BaseException) -> DatabaseDamagedError:
    """The :class:`DatabaseDamagedError` error to raise for ``exc`` on database ``path``."""
    return DatabaseDamagedError(f"the workspace database is damaged: {path}: {exc}",
                           hint=CHECK_HINT)


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sqlite3 method so that damage errors become :class:`DatabaseDamagedError`."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> Any:
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                conn = getattr(self, "connection", self)
                raise damaged(getattr(conn, "db_path", "(unknown file)"), exc) from exc
            raise

    return wrapper


class GuardedCursor(sqlite3.Cursor):
    """A cursor whose damage errors become :class:`DatabaseDamagedError`."""

    execute = _guarded(sqlite3.Cursor.execute)
    executemany = _guarded(sqlite3.Cursor.executemany)
    executescript = _guarded(sqlite3.Cursor.executescript)
    fetchone = _guarded(sqlite3.Cursor.fetchone)
    fetchmany = _guarded(sqlite3.Cursor.fetchmany)
    fetchall = _guarded(sqlite3.Cursor.fetchall)
    __next__ = _guarded(sqlite3.Cursor.__next__)


class GuardedConnection(sqlite3.Connection):
    """A connection that knows its file (``db_path``) and hands out :class:`GuardedCursor`.

    ``Connection.execute`` does not go through an overridden ``cursor()``, so the shortcuts
    are redefined on top of it.
    """

    db_path: str = "(unknown file)"

    def cursor(self, factory: Any = None) -> Any:
        """Like :meth:`sqlite3.Connection.cursor`, a :class:`GuardedCursor` by default."""
        return super().cursor(factory or GuardedCursor)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        """Like :meth:`sqlite3.Connection.execute`."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any, /) -> Any:
        """Like :meth:`sqlite3.Connection.executemany`."""
        return self.cursor().executemany(sql, seq)

    def executescript(self, script: str, /) -> Any:
        """Like :meth:`sqlite3.Connection.executescript`."""
        return self.cursor().executescript(script)

    commit = _guarded(sqlite3.Connection.commit)


def connect(path: Path, *, read_only: bool = False, immutable: bool = False,
            timeout: float = 10.0) -> GuardedConnection:
    """Open ``path`` as a :class:`GuardedConnection`.

    Parameters
    ----------
    path : Path
        The database file.
    read_only : bool, keyword-only
        Open with ``mode=ro``: SQLite writes nothing to the database.
    immutable : bool, keyword-only
        Also tell SQLite the file cannot change (no locks, no ``-wal``/``-shm`` created): for
        reading a database that no connection has open.
    timeout : float, keyword-only
        Seconds to wait for a lock.
    """
    if read_only or immutable:
        query = "mode=ro" + ("&immutable=1" if immutable else "")
        target = f"{Path(path).resolve().as_uri()}?{query}"
        conn = sqlite3.connect(target, uri=True, timeout=timeout, factory=GuardedConnection)
    else:
        conn = sqlite3.connect(str(path), timeout=timeout, factory=GuardedConnection)
    conn.db_path = str(path)
    return conn
