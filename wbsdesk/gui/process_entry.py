"""What a spawned job process runs (no Qt here: the child never loads the GUI toolkit).

The child calls ``fn(*args, progress=..., cancel=..., **kwargs)`` and reports through a
queue: ``("progress", Progress)``, then one of ``("ok", result)``, ``("cancelled", None)``
or ``("error", JobFailure)``.
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wbsdesk.core.jobs import CancelToken, Progress, watch_parent
from wbsdesk.errors import Cancelled, UserError


@dataclass(frozen=True)
class JobFailure:
    """Why a job failed: a user error (message and hint) or a bug (with its traceback)."""

    message: str
    hint: str | None = None
    traceback: str = ""
    user_error: bool = False

    @classmethod
    def from_exception(cls, exc: BaseException) -> JobFailure:
        """Describe ``exc`` (plain data, so it crosses a process boundary)."""
        tb = "".join(traceback.format_exception(exc))
        if isinstance(exc, UserError):
            return cls(exc.message, exc.hint, tb, user_error=True)
        return cls(f"{type(exc).__name__}: {exc}", None, tb, user_error=False)


class SharedCancelToken(CancelToken):
    """A cancel token backed by a ``multiprocessing`` event (set in the parent)."""

    def __init__(self, event: Any) -> None:
        self._event = event


def _cancel_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (the parent's forced stop) becomes a cancel at the next Python line.

    The job's own clean-up then runs as for a polite cancel: a training run keeps its last
    checkpoint and is marked cancelled (resumable), an alignment pool shuts its workers
    down, and open store transactions roll back.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    raise Cancelled()


def run_in_child(fn: Callable[..., Any], args: tuple, kwargs: dict, queue: Any,
                 cancel_event: Any) -> None:
    """Entry point of a job process (must stay importable for the spawn start method)."""
    token = SharedCancelToken(cancel_event)
    if sys.platform != "win32":  # on Windows, terminate() is TerminateProcess
        signal.signal(signal.SIGTERM, _cancel_on_sigterm)
    # The GUI died (crash, kill): stop as if it had pressed Stop, so training stays resumable.
    watch_parent(cancel_event.set)

    def progress(p: Progress) -> None:
        queue.put(("progress", p))

    try:
        result = fn(*args, progress=progress, cancel=token, **kwargs)
    except Cancelled:
        queue.put(("cancelled", None))
    except BaseException as exc:  # reported to the parent, which shows it
        queue.put(("error", JobFailure.from_exception(exc)))
    else:
        queue.put(("ok", result))
