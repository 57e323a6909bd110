"""Opening the store: PRAGMAs, migrations, integrity check, user-only file permissions."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from wbsdesk.config import USER_ONLY_FILE, ensure_private_dir
from wbsdesk.errors import UserError
from wbsdesk.store.crops import CropsRepo
from wbsdesk.store.migrations import MIGRATION_SET, known_names, migrations
from wbsdesk.store.reading import ReadingRepo
from wbsdesk.store.repo import Repo
from wbsdesk.store.runs import RunsRepo

log = logging.getLogger(__name__)


class Store(Repo, CropsRepo, ReadingRepo, RunsRepo):
    """One open workspace database (one per thread; sqlite-utils refuses cross-thread use)."""

    def __init__(self, db: Database, path: Path) -> None:
        super().__init__(db)
        self.path = path

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """One transaction: everything inside lands together or not at all.

        The outermost block starts with ``BEGIN IMMEDIATE``: it takes the write lock first,
        waiting up to ``busy_timeout`` for another connection (a job process, a worker
        thread) to finish. A plain ``BEGIN`` that reads and then writes fails at once with
        "database is locked" when another connection has written meanwhile, since SQLite
        cannot wait its way out of that. Nested blocks are savepoints.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():  # a savepoint inside the open transaction
                yield self
            return
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

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check`` and ``foreign_key_check`` problems (empty when healthy)."""
        rows = [r[0] for r in self.db.execute("PRAGMA integrity_check").fetchall()]
        problems = [] if rows == ["ok"] else rows
        for table, rowid, parent, _ in self.db.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"{table} row {rowid} points to a missing {parent} row")
        return problems

    def close(self) -> None:
        """Close the connection (checkpoints the WAL)."""
        self.db.close()


def open_store(path: Path, *, migrate: bool = True) -> Store:
    """Open (creating if needed) the workspace database with WAL, foreign keys and migrations.

    Parameters
    ----------
    path : Path
        The ``wbsdesk.db`` file.
    migrate : bool, keyword-only
        Apply pending migrations. Opening an up-to-date database writes nothing.

    Returns
    -------
    Store
    """
    ensure_private_dir(path.parent)
    is_new = not path.exists()
    try:
        db = Database(path, strict=True)
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed read survives even an OS crash; reads are 1 per ~10 s.
        db.execute("PRAGMA synchronous = FULL")
    except Exception as exc:  # sqlite3.DatabaseError: not a database, locked, ...
        raise UserError(f"{path}: cannot open the workspace database ({exc})",
                        hint="Is this a wbsdesk workspace? Run 'wbsdesk db check'.") from exc
    for suffix in ("", "-wal", "-shm"):
        f = Path(str(path) + suffix)
        if f.exists():
            os.chmod(f, USER_ONLY_FILE)
    store = Store(db, path)
    if migrate and migrations.pending(db):
        names = [m.name for m in migrations.pending(db)]
        log.info("applying migrations %s to %s%s", names, path, " (new)" if is_new else "")
        migrations.apply(db)
    unknown = set(_applied_names(db)) - set(known_names())
    if unknown:
        raise UserError(f"{path}: written by a newer wbsdesk (unknown migrations "
                        f"{sorted(unknown)})", hint="Install the newer version to open it.")
    return store


def _applied_names(db: Database) -> list[str]:
    table = db[migrations.migrations_table]
    if not table.exists():
        return []
    return [r["name"] for r in table.rows_where("migration_set = ?", [MIGRATION_SET])]
