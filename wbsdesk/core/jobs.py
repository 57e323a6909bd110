"""The job contract: progress reports and a cancel token, shared by CLI, GUI and tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wbsdesk.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units of work, with a short message for the user."""

    done: int
    total: int
    message: str = ""

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
