"""An OS lock per reading session, so one reader's session runs in one process at a time.

Two processes (two app windows, or the app and ``wbsdesk session dry-run``) that both
opened the same reader's session on a study would both show photos and both try to store
the reads; the second one's answers would be dropped. :func:`reading.open_session
<wbsdesk.services.reading.open_session>` therefore takes :class:`SessionLock` before it
starts or resumes a session and hands it to the caller with the session's set-up; the
caller releases it when the reading screen closes. A second process is refused with the
holder's process and host.

The lock files live in the workspace's private ``locks/`` folder, one per reader and study
(named by their ids, so no reader's name appears in a file name), never on the database
files. The operating system drops the lock when its process ends, even on SIGKILL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wbsdesk.config import ensure_private_dir
from wbsdesk.errors import UserError
from wbsdesk.services.os_lock import FileLock, describe_holder, lock_in_use

__all__ = ["SessionLock", "session_in_use", "session_lock_path"]


def session_lock_path(root: Path, study_id: int, reader_id: int) -> Path:
    """The lock file of reader ``reader_id``'s session on study ``study_id``."""
    return root / "locks" / f"session-s{int(study_id)}-r{int(reader_id)}.lock"


class SessionLock(FileLock):
    """Hold the lock of one reader's session on one study (a context manager).

    Parameters
    ----------
    root : Path
        The workspace folder.
    study_id, reader_id : int
        Store ids of the study and the reader.
    study, reader : str
        Their names, for the message that refuses a second process.

    Raises
    ------
    UserError
        On acquiring, when another process holds the session; the message names it.
    """

    def __init__(self, root: Path, study_id: int, reader_id: int, *, study: str,
                 reader: str) -> None:
        self.study = study
        self.reader = reader
        ensure_private_dir(root / "locks")
        super().__init__(session_lock_path(root, study_id, reader_id), self._refusal)

    def _refusal(self, holder: dict[str, Any]) -> UserError:
        return UserError(
            f"{self.reader}'s session on {self.study!r} is open in another process "
            f"({describe_holder(holder)})",
            hint="finish or stop the session there first (a process that ended, even "
                 "by a crash, frees it)")


def session_in_use(root: Path, study_id: int, reader_id: int) -> bool:
    """Whether some process (this one included) holds this session's lock."""
    return lock_in_use(session_lock_path(root, study_id, reader_id))
