"""An exclusive operating-system lock on a small file, dropped when its process ends.

Training runs (:mod:`~wbsdesk.services.run_lock`) and reading sessions
(:mod:`~wbsdesk.services.session_lock`) each hold one, so that two processes never work on
the same run or the same reader's session. The lock is ``flock`` on POSIX and
``msvcrt.locking`` on Windows: the operating system drops it when its process ends, even on
SIGKILL or a power cut, so a crash never leaves anything locked. The file itself only
records who holds it (process, host, since when), for the message that refuses a second
holder.

Lock files are never the database files: closing any descriptor of a file drops a process's
POSIX locks on it, so only SQLite opens those.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from wbsdesk.errors import UserError

__all__ = ["FileLock", "describe_holder", "lock_in_use"]


def _try_lock(fh: IO[bytes]) -> bool:
    """Take the OS lock on ``fh`` without waiting; False when another holder has it."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fh: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _holder(path: Path) -> dict[str, Any]:
    """Who wrote the lock file (best effort: empty when unreadable)."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {}


def describe_holder(holder: dict[str, Any]) -> str:
    """``process PID on HOST, since YYYY-MM-DD HH:MM`` from a lock file's note.

    Examples
    --------
    >>> describe_holder({"pid": 42, "host": "lab-pc"})
    'process 42 on lab-pc, since ?'
    """
    since = holder.get("since")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since)) if since else "?"
    return f"process {holder.get('pid', '?')} on {holder.get('host', '?')}, since {when}"


class FileLock:
    """Hold the exclusive OS lock of one lock file (a context manager).

    Parameters
    ----------
    path : path-like
        The lock file (its folder must exist; the file is created).
    busy : callable
        Given the holder's note (``pid``, ``host``, ``since``; empty when unreadable),
        returns the :class:`~wbsdesk.errors.UserError` raised when another holder has it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with FileLock(Path(d) / "x.lock", lambda who: UserError("busy")):
    ...         held = lock_in_use(Path(d) / "x.lock")
    ...     held, lock_in_use(Path(d) / "x.lock")
    (True, False)
    """

    def __init__(self, path: str | os.PathLike[str],
                 busy: Callable[[dict[str, Any]], UserError]) -> None:
        self.path = Path(path)
        self._busy = busy
        self._fh: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fh is not None

    def acquire(self) -> None:
        """Take the lock, or raise the ``busy`` error if another holder has it."""
        if self._fh is not None:
            raise RuntimeError(f"{self.path} is already locked by this object")
        fh = open(self.path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        if not _try_lock(fh):
            fh.close()
            raise self._busy(_holder(self.path))
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": _hostname(),
                             "since": round(time.time())}).encode())
        fh.flush()
        self._fh = fh
        # A holder dropped without release() (a widget destroyed mid-session) still closes
        # its file, which frees the OS lock, instead of leaking it until interpreter exit.
        self._finalizer = weakref.finalize(self, fh.close)

    def release(self) -> None:
        """Drop the lock (nothing happens when it is not held)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        self._finalizer.detach()
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
            fh.flush()
        try:
            _unlock(fh)
        finally:
            fh.close()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def lock_in_use(path: str | os.PathLike[str]) -> bool:
    """Whether some process (this one included) holds the lock file ``path``.

    False also when the file does not exist.
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return False
    try:
        if not _try_lock(fh):
            return True
        _unlock(fh)
        return False
    finally:
        fh.close()


def _hostname() -> str:
    import socket

    try:
        return socket.gethostname()
    except OSError:  # pragma: no cover - defensive
        return "?"
