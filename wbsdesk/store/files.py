"""The database files under a connection: are they still the ones on disk, and moving them.

SQLite coordinates processes with POSIX advisory locks, and POSIX drops *all* of a process's
locks on a file when *any* descriptor of that file is closed in that process. A file dialog
sniffing MIME types, a thumbnailer or a copy of ``wbsdesk.db`` inside a process that holds a
connection therefore leaves the connection unlocked; the next process to close its own
connection then believes it is the last one, checkpoints and deletes the WAL, and this
process goes on committing into an unlinked file that nobody will ever read.

:class:`FileGuard` records the identity (device, inode) of the database and its WAL after a
connection opened them, and the locks this process then held on them (Linux ``/proc/locks``),
so :meth:`FileGuard.problems` can say, before a commit, whether the files this connection
writes are still the ones on disk and still locked.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wbsdesk.errors import UserError

log = logging.getLogger(__name__)

SUFFIXES = ("", "-wal", "-shm")
_PROC_LOCKS = Path("/proc/locks")
_PROC_FDS = Path("/proc/self/fd")
# SQLite's lock bytes (os.h): PENDING_BYTE, RESERVED_BYTE, then the SHARED range (510 bytes).
_LOCK_START = 0x40000000
_LOCK_LEN = 512


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _locked_files(pid: int) -> set[tuple[int, int, int]] | None:
    """(major, minor, inode) of every file ``pid`` holds a POSIX lock on; ``None`` off Linux."""
    try:
        text = _PROC_LOCKS.read_text()
    except OSError:
        return None
    held = set()
    for line in text.splitlines():
        f = line.split()
        # "1: POSIX  ADVISORY  READ 5080 fe:00:2146626 128 128" (blocked waiters have "->")
        if len(f) < 6 or f[1] != "POSIX" or f[4] != str(pid):
            continue
        try:
            major, minor, ino = f[5].split(":")
            held.add((int(major, 16), int(minor, 16), int(ino)))
        except ValueError:
            continue
    return held


def _lock_key(ident: tuple[int, int] | None) -> tuple[int, int, int] | None:
    if ident is None:
        return None
    dev, ino = ident
    return os.major(dev), os.minor(dev), ino


def deleted_descriptors(path: Path) -> list[str]:
    """Names of ``path``'s database files this process holds open although they were deleted.

    Reads Linux's ``/proc/self/fd`` (empty elsewhere); never opens the files themselves.
    """
    try:
        fds = os.listdir(_PROC_FDS)
    except OSError:
        return []
    targets = {f"{path}{s} (deleted)": f"{path.name}{s}" for s in SUFFIXES}
    found = []
    for fd in fds:
        try:
            link = os.readlink(_PROC_FDS / fd)
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
        if link in targets and targets[link] not in found:
            found.append(targets[link])
    return found


def processes_on_deleted_files(path: Path) -> list[tuple[int, str]]:
    """(pid, file name) of every process (of this user) holding ``path``'s files deleted.

    Such a process commits into a write-ahead log that no other process will ever read:
    its later commits are lost. Reads Linux's ``/proc/<pid>/fd`` links; empty elsewhere.
    """
    targets = {f"{path}{s} (deleted)": f"{path.name}{s}" for s in SUFFIXES}
    found = []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # another user's process, or gone
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link in targets and (pid, targets[link]) not in found:
                found.append((pid, targets[link]))
    return found


@dataclass
class FileGuard:
    """What one connection opened: the identities of its files and the locks then held.

    Attributes
    ----------
    path : Path
        The database file.
    db : tuple of int
        (st_dev, st_ino) of the database when the connection opened it.
    wal : tuple of int or None
        (st_dev, st_ino) of its ``-wal``; ``None`` when the connection uses none (read-only).
    locks : set
        (major, minor, inode) of the files this process held a lock on right after opening
        (the database and its ``-shm``); empty where ``/proc/locks`` cannot tell.
    """

    path: Path
    db: tuple[int, int] | None
    wal: tuple[int, int] | None
    locks: set[tuple[int, int, int]] = field(default_factory=set)

    @classmethod
    def record(cls, path: Path, *, uses_wal: bool = True) -> FileGuard:
        """Note the files (and this process's locks on them) right after a connection read."""
        path = Path(path)
        db = _identity(path)
        wal = _identity(Path(f"{path}-wal")) if uses_wal else None
        held = _locked_files(os.getpid())
        if not held:  # not Linux (no /proc/locks): the identities are checked, not the locks
            return cls(path, db, wal)
        keys = {_lock_key(db), _lock_key(_identity(Path(f"{path}-shm")))} - {None}
        # Only locks seen now are checked later: a file system whose /proc/locks entries do not
        # match stat() (an overlay, say) simply gets no lock check, never a false alarm.
        return cls(path, db, wal, {k for k in keys if k in held})

    def problems(self) -> list[str]:
        """Why the files this connection writes are not (or no longer) safe to write to.

        Empty when the database and WAL on disk are the ones the connection opened, none of
        them was deleted under it, and this process still holds the locks it held at opening.
        """
        out = []
        now = _identity(self.path)
        if now is None:
            out.append(f"{self.path} was deleted or moved while it was open")
        elif self.db is not None and now != self.db:
            out.append(f"{self.path} was replaced by another file while it was open")
        if self.wal is not None:
            wal = Path(f"{self.path}-wal")
            wal_now = _identity(wal)
            if wal_now != self.wal:
                why = "deleted" if wal_now is None else "replaced by a new file"
                out.append(f"{wal.name} (the log this connection writes) was {why} by another "
                           "process, so what it commits now would be lost")
        for name in deleted_descriptors(self.path):
            if not any(name in p for p in out):
                out.append(f"this process still writes to {name}, which was deleted")
        if self.locks:
            held = _locked_files(os.getpid())
            if held is not None and self.locks - held:
                out.append(f"this process lost its SQLite locks on {self.path.name} (something "
                           "in it opened and closed the database files), so another process "
                           "closing the database would delete the log it writes")
        return out

    def ensure_intact(self) -> None:
        """Raise :class:`UserError` when :meth:`problems` finds any (call before writing)."""
        problems = self.problems()
        if problems:
            log.error("refusing to write to %s: %s", self.path, "; ".join(problems))
            raise UserError(
                "the workspace database files changed under this window, so wbsdesk writes "
                "nothing more to them: " + "; ".join(problems),
                hint=f"Close wbsdesk (every window) and open it again. Everything committed "
                     f"before this message is safe in {self.path}.")


class LegacyDatabaseBusyError(UserError):
    """The old-location database is open elsewhere, so it cannot be moved now."""


def move_legacy_database(old: Path, new: Path) -> None:
    """Move a database from the workspace root into the ``.store`` folder, with no data loss.

    First SQLite checkpoints any WAL into the file (what its last connection does on close),
    then, holding SQLite's own lock bytes of the file exclusively (so that no other
    connection can exist or start), the file is renamed, which keeps its inode and content.

    Parameters
    ----------
    old, new : Path
        The database at the old location and where it goes (its folder must exist).

    Raises
    ------
    LegacyDatabaseBusyError
        When another process (or another connection in this one) has the old file open.
    UserError
        When both files exist.
    """
    busy = LegacyDatabaseBusyError(
        f"{old}: this workspace's database is open in another wbsdesk window or process, so "
        f"it cannot move to {new.parent} now",
        hint="Close every other wbsdesk window and command on this workspace (older versions "
             "included), then try again.")
    if new.exists():
        raise UserError(f"{old} and {new}: the workspace has two databases",
                        hint=f"Keep the right one: move the other out of {old.parent}.")
    if _open_here(old):  # closing our own descriptor below would drop that one's locks
        raise busy
    try:  # merge a leftover WAL into the file; the last connection also deletes it
        conn = sqlite3.connect(f"file:{old}?mode=rw", uri=True, timeout=2.0)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        raise busy from exc
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{old}: the workspace database is damaged: {exc}",
                        hint="Run 'wbsdesk db check'.") from exc
    _rename_exclusively(old, new, busy)
    log.info("moved the workspace database %s to %s", old, new)


def _open_here(path: Path) -> list[str]:
    try:
        fds = os.listdir(_PROC_FDS)
    except OSError:
        return []
    names = []
    for fd in fds:
        try:
            link = os.readlink(_PROC_FDS / fd)
        except OSError:
            continue
        for s in SUFFIXES:
            if link == f"{path}{s}":
                names.append(path.name + s)
    return names


def _rename_exclusively(old: Path, new: Path, busy: UserError) -> None:
    if sys.platform == "win32":  # SQLite's handles do not share delete: a rename then fails
        try:
            os.rename(old, new)
        except PermissionError as exc:
            raise busy from exc
        return
    import fcntl

    fd = os.open(old, os.O_RDWR)
    try:
        try:  # every other connection holds a SHARED lock in this range, so this fails
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, _LOCK_LEN, _LOCK_START, os.SEEK_SET)
        except OSError as exc:
            raise busy from exc
        wal = Path(f"{old}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise busy  # a connection came and wrote between the checkpoint and the lock
        os.rename(old, new)
        for s in ("-wal", "-shm"):  # stale (nobody holds the lock): SQLite makes new ones
            Path(f"{old}{s}").unlink(missing_ok=True)
    finally:
        os.close(fd)  # releases the lock: waiting connections find the file gone
