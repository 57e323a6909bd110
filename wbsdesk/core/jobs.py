"""The job contract: progress reports and a cancel token, shared by CLI, GUI and tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wbsdesk.core.train_events import TrainEvent
from wbsdesk.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units of work, with a short message for the user.

    ``event`` is the typed form of the report where a job has one (training:
    :class:`~wbsdesk.core.train_events.TrainEvent`); front ends render its fields and never
    parse ``message``.
    """

    done: int
    total: int
    message: str = ""
    event: TrainEvent | None = None

    @property
    def fraction(self) -> float:
        """Share done, in 0..1 (0 when the total is unknown)."""
        return self.done / self.total if self.total else 0.0


ProgressFn = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores reports."""


class CancelToken:
    """A flag a job checks once per batch or image; ``cancel()`` never blocks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancellation was asked for."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~wbsdesk.errors.Cancelled` if cancellation was asked for."""
        if self._event.is_set():
            raise Cancelled()


class Throttle:
    """Pass progress on at most ``per_second`` times a second (always the last one)."""

    def __init__(self, progress: ProgressFn, per_second: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._progress = progress
        self._gap = 1.0 / per_second
        self._clock = clock
        self._last = float("-inf")

    def __call__(self, p: Progress) -> None:
        now = self._clock()
        if p.done >= p.total or now - self._last >= self._gap:
            self._last = now
            self._progress(p)


def watch_parent(on_exit: Callable[[], None]) -> bool:
    """Call ``on_exit`` (from a daemon thread) once the process that started this one ends.

    For processes started by :mod:`multiprocessing` (job processes, alignment workers): a
    parent that is killed, crashes or exits without stopping its children must not leave
    them running, idle or busy, for ever. Works however the parent ends (SIGKILL
    included): it waits on the parent's sentinel, which the operating system signals.

    Parameters
    ----------
    on_exit : callable
        What to do then, e.g. cancel the job or ``os._exit``.

    Returns
    -------
    bool
        False when this process has no :mod:`multiprocessing` parent (nothing is watched).
    """
    import multiprocessing
    import multiprocessing.connection

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return False
    sentinel = parent.sentinel

    def wait() -> None:
        multiprocessing.connection.wait([sentinel])
        on_exit()

    threading.Thread(target=wait, name="watch-parent", daemon=True).start()
    return True
