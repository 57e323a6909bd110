"""An exclusive lock on a training run's folder, so two processes never train one run.

A run may be trained from the CLI while the GUI is open, and the GUI offers "Resume" for
unfinished runs. Without a lock, resuming a run that another process is still training would
have both write the same checkpoints and out-of-fold files. The training service holds
:class:`RunLock` for as long as it trains; :func:`run_in_use` tells the GUI and the CLI that
a run is busy without taking the lock.

The lock is an operating-system lock (:mod:`~wbsdesk.services.os_lock`) on
``<run folder>/train.lock``. The operating system drops it when its process ends, even on
SIGKILL or a power cut, so a crashed run never stays locked; the file itself only records
who holds it, for the message.
"""

from __future__ import annotations

import os
from typing import Any

from wbsdesk.errors import UserError
from wbsdesk.services.os_lock import FileLock, describe_holder, lock_in_use

__all__ = ["LOCK_NAME", "RunLock", "run_in_use"]

#: File name of the lock inside a run folder.
LOCK_NAME = "train.lock"


class RunLock(FileLock):
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
        self.run_name = run_name
        super().__init__(os.path.join(run_dir, LOCK_NAME), self._refusal)

    def _refusal(self, holder: dict[str, Any]) -> UserError:
        return UserError(
            f"run {self.run_name!r} is being trained by another process "
            f"({describe_holder(holder)})",
            hint="wait for it to finish, or stop it there; it can be resumed afterwards")


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
    return lock_in_use(os.path.join(run_dir, LOCK_NAME))
