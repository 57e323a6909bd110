"""An exclusive lock on a training run's folder, so two processes never train one run.

A run may be trained from the CLI while the GUI is open, and the GUI offers "Resume" for
unfinished runs. Without a lock, resuming a run that another process is still training would
have both write the same checkpoints and out-of-fold files. The training service holds
:class:`RunLock` for as long as it trains; :func:`run_in_use` tells the GUI and the CLI that
a run is busy without taking the lock.

The lock is an operating-system lock on ``<run folder>/train.lock`` (``flock`` on POSIX,
``msvcrt.locking`` on Windows). The operating system drops it when its process ends, even
on SIGKILL or a power cut, so a crashed run never stays locked; the file itself only
records who holds it, for the message.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from wbsdesk.errors import UserError

__all__ = ["LOCK_NAME", "RunLock", "run_in_use"]

#: File name of the lock inside a run folder.
LOCK_NAME = "train.lock"


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


class RunLock:
    """Hold the exclusive training lock of one run folder (a context manager).

    Parameters
    ----------
    run_dir : path-like
        The run's folder (it must exist).
    run_name : str
        The run's name, for messages.

    Raises
    ------
    UserError
        On entering, when another process is training the run; the message names that
        process.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, RunLock(d, "r1"):
    ...     run_in_use(d)
    True
    """

    def __init__(self, run_dir: str | os.PathLike[str], run_name: str) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.run_name = run_name
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`~wbsdesk.errors.UserError` if it is held."""
        if self._fh is not None:
            raise RuntimeError(f"the lock of run {self.run_name!r} is already held here")
        fh = open(self.path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        if not _try_lock(fh):
            fh.close()
            who = _holder(self.path)
            since = who.get("since")
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since)) if since else "?"
            raise UserError(
                f"run {self.run_name!r} is being trained by another process "
                f"(process {who.get('pid', '?')} on {who.get('host', '?')}, since {when})",
                hint="wait for it to finish, or stop it there; it can be resumed afterwards")
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": _hostname(),
                             "since": round(time.time())}).encode())
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Drop the lock (nothing happens when it is not held)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
            fh.flush()
        try:
            _unlock(fh)
        finally:
            fh.close()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def run_in_use(run_dir: str | os.PathLike[str]) -> bool:
    """Whether some process (this one included) holds the training lock of ``run_dir``.

    Parameters
    ----------
    run_dir : path-like
        The run's folder.

    Returns
    -------
    bool
        False also when the folder or its lock file does not exist.
    """
    path = Path(run_dir) / LOCK_NAME
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
