"""``wbsdesk db check``: look at a workspace database without writing anything.

The check opens the database read-only (no migration, no PRAGMA that writes, and no
``-wal``/``-shm`` created when no process has it open), so it can be run on a damaged or
suspicious workspace, or next to a running app, and leaves every file as it found it.
Damage is its result, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wbsdesk.config import STORE_DIR, db_path, legacy_db_path, resolve_workspace
from wbsdesk.errors import UserError
from wbsdesk.services.workspace import data_found, database_missing
from wbsdesk.store import open_store_readonly, processes_on_deleted_files

log = logging.getLogger(__name__)


@dataclass
class DbCheck:
    """What ``db check`` found.

    Attributes
    ----------
    database : str
        The database file looked at.
    ok : bool
        No problem found.
    problems : list of str
        What is wrong (damage, a missing database, files replaced under a connection).
    notes : list of str
        What is worth knowing but not wrong (pending migrations, the old location).
    migrations : list of str
        Applied migrations, oldest first.
    pending : list of str
        Migrations this wbsdesk would apply when it next opens the workspace.
    wal : str
        The write-ahead log this check's connection reads, and whether it is the file on disk.
    """

    database: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    wal: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"database": self.database, "ok": self.ok, "problems": self.problems,
                "notes": self.notes, "schema_version": len(self.migrations),
                "migrations": self.migrations, "pending_migrations": self.pending,
                "wal": self.wal}


def check_database(path: str | Path | None = None) -> DbCheck:
    """Check a workspace's database read-only: integrity, schema, and its files on disk.

    Parameters
    ----------
    path : str or Path, optional
        The workspace folder (default: ``$WBSDESK_WORKSPACE`` or the per-user one). It is
        never created.

    Returns
    -------
    DbCheck
        ``ok`` is false when the database is missing, empty, damaged or not the file its
        connection uses.
    """
    root = resolve_workspace(path)
    db, legacy = db_path(root), legacy_db_path(root)
    target = db if db.exists() or not legacy.exists() else legacy
    result = DbCheck(str(target))
    if not root.is_dir():
        result.problems.append(f"{root}: no such workspace folder")
    elif legacy.exists() and db.exists():
        result.problems.append(f"two databases: {legacy} and {db} (wbsdesk uses neither "
                               "until one is moved away)")
    elif target == legacy:
        result.notes.append(f"the database is at the old location; wbsdesk moves it into "
                            f"{STORE_DIR}/ when it next opens the workspace")
    why = database_missing(target) if root.is_dir() else None
    if why is not None:
        data = data_found(root)
        held = f" while {', '.join(data)} hold data" if data else ""
        result.problems.append(f"{target} {why}{held}")
    elif root.is_dir():
        _check_file(target, result)
    for pid, name in processes_on_deleted_files(target):
        result.problems.append(
            f"process {pid} still writes to {name}, which another process deleted: what it "
            "commits from now on is lost (what it committed before is in the database); "
            "close it and open wbsdesk again")
    result.ok = not result.problems
    return result


def _check_file(path: Path, result: DbCheck) -> None:
    try:
        store = open_store_readonly(path)
    except UserError as exc:
        result.problems.append(exc.message)
        return
    try:
        _step(result, lambda: result.problems.extend(store.integrity_check()))
        result.migrations = _step(result, store.schema_version) or []
        result.pending = _step(result, store.pending_migrations) or []
        unknown = sorted(set(result.migrations) - set(store.known_migrations()))
        if result.pending:
            result.notes.append(f"{len(result.pending)} migrations pending "
                                f"({', '.join(result.pending)}): applied when wbsdesk next "
                                "opens the workspace")
        if unknown:
            result.notes.append(f"written by a newer wbsdesk (unknown migrations {unknown})")
        files = store.check_files()
        result.problems += files
        if store.guard.wal is None:
            result.wal = "none (no process has the database open)"
        elif files:
            result.wal = "NOT the file on disk"
        else:
            result.wal = f"{path.name}-wal, the file on disk"
    finally:
        store.close()


def _step(result: DbCheck, fn: Callable[[], Any]) -> Any:
    """Run one part of the check; damage it meets is a problem found, not a crash."""
    try:
        return fn()
    except UserError as exc:
        if exc.message not in result.problems:
            result.problems.append(exc.message)
        return None
