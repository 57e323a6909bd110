"""Timed reading sessions: the photo order and the state machine of one session (no Qt, no I/O).

The caller owns the screen. It asks :attr:`ReadingSession.upcoming` what to show next, puts
that photo on screen, then calls :meth:`~ReadingSession.show`; when
:meth:`~ReadingSession.seconds_until_due` reaches zero it replaces the photo by grey and
calls :meth:`~ReadingSession.hide` (or, later, :meth:`~ReadingSession.expire`). Answers go
to :meth:`~ReadingSession.answer`. Every finished read is handed to the injected ``commit``
callback *before* the session moves on, so a read is durable before the next photo appears.

Timing
    An answer may come while the photo is shown or after it is hidden. The photo always
    stays for the full ``seconds_per_photo``; a read answered during the display is complete
    (and committed) when the photo hides. A read with no answer when the response window
    after hiding expires is committed with ``rating = None``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

from wbsdesk.core.protocol import Reading


class Phase(StrEnum):
    """Where a session is."""

    READY = "ready"          # between photos: the next one may be shown
    SHOWING = "showing"      # a photo is on screen
    HIDDEN = "hidden"        # grey; waiting for an answer until the response window expires
    PAUSED = "paused"        # between photos, on request or after the practice photos
    FINISHED = "finished"


@dataclass(frozen=True)
class Stimulus:
    """One photo of a session: its place (0-based, practice first) and whether it is practice.

    A ``repeat`` is a scored photo's second showing (intra-reader agreement): its
    ``position`` comes after every photo of the session's order, while the plan puts it
    where it is shown (see :mod:`wbsdesk.core.repeats`).
    """

    position: int
    photo_id: int
    practice: bool
    repeat: bool = False


@dataclass(frozen=True)
class ReadRecord:
    """A finished read: the answer (``None``: no answer) and its timing.

    ``*_mono`` are monotonic-clock seconds, ``*_at`` UTC wall-clock ISO text. ``display_s``
    is the measured display duration, ``response_s`` the time from photo onset to answer.
    ``modality`` is ``unaided`` or ``aided``; ``phase`` 1 is the reader's first read of the
    photo, 2 the second (the aided re-read of a sequential design, or the second crossover
    session). An aided read carries the ``aid_score`` shown and whether the reader looked
    at the heatmap (``heatmap_viewed``, ``None`` when there was none). ``repeat``: the
    read of a photo's second showing (stored apart from ``reads``).
    """

    position: int
    photo_id: int
    practice: bool
    rating: int | None
    binary_read: bool | None
    shown_mono: float
    hidden_mono: float
    answered_mono: float | None
    shown_at: str
    hidden_at: str
    answered_at: str | None
    display_s: float
    response_s: float | None
    after_interruption: bool
    modality: str = "unaided"
    phase: int = 1
    aid_score: float | None = None
    heatmap_viewed: bool | None = None
    repeat: bool = False

    def to_row(self) -> dict[str, object]:
        """Column values for the store's ``reads`` table (``repeat`` says which table)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "repeat"}


def wall_now() -> str:
    """UTC wall-clock time as ISO 8601 text with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def plan_session(photo_ids: Sequence[int], *, seed: int, order: str = "per_reader_random",
                 practice: int = 0, practice_ids: Sequence[int] = ()) -> list[Stimulus]:
    """The photos of one session in display order: practice photos first, then every photo.

    Parameters
    ----------
    photo_ids : sequence of int
        The study's photos to read (scored), in the study's order.
    seed : int, keyword-only
        The reader's order seed (stored with the session).
    order : {"per_reader_random", "fixed"}, keyword-only
        Shuffle the scored photos with ``seed``, or keep the given order.
    practice : int, keyword-only
        Number of practice photos wanted. They are drawn with ``seed`` from
        ``practice_ids`` only, never from the scored photos (a face shown as practice must
        not be scored later), so at most ``len(practice_ids)`` are shown.
    practice_ids : sequence of int, keyword-only
        The study's practice-only photos (left out of every analysis).

    Returns
    -------
    list of Stimulus
        Of length ``min(practice, len(practice_ids)) + len(photo_ids)``; positions ``0 ..``
        in display order.

    Raises
    ------
    ValueError
        If a photo id repeats, or a practice photo is also a scored photo.

    Examples
    --------
    >>> plan = plan_session([10, 11, 12], seed=1, practice=1, practice_ids=[90, 91])
    >>> [s.practice for s in plan], sorted(s.photo_id for s in plan if not s.practice)
    ([True, False, False, False], [10, 11, 12])
    >>> plan[0].photo_id in (90, 91)
    True
    >>> len(plan_session([10, 11, 12], seed=1, practice=2))  # no practice set: no practice
    3
    """
    ids = [int(p) for p in photo_ids]
    pool = [int(p) for p in practice_ids]
    if len(set(ids)) != len(ids) or len(set(pool)) != len(pool):
        raise ValueError("photo ids must be unique")
    if set(ids) & set(pool):
        raise ValueError("a practice photo cannot also be a scored photo")
    if order not in ("per_reader_random", "fixed"):
        raise ValueError(f"unknown order {order!r}")
    scored = list(ids)
    if order == "per_reader_random":
        perm = np.random.default_rng([seed, 0]).permutation(len(ids))
        scored = [ids[i] for i in perm]
    n_practice = min(max(practice, 0), len(pool))
    chosen = np.random.default_rng([seed, 1]).choice(len(pool), size=n_practice, replace=False)
    items = [(pool[i], True) for i in chosen] + [(p, False) for p in scored]
    return [Stimulus(position=i, photo_id=p, practice=f) for i, (p, f) in enumerate(items)]


class SessionStateError(RuntimeError):
    """A call that the session's current phase does not allow (a caller bug)."""


class ReadingSession:
    """The state machine of one reader's session, driven by the caller's screen.

    Parameters
    ----------
    plan : sequence of Stimulus
        The whole session, as from :func:`plan_session`.
    reading : Reading
        The protocol's reading rules (display seconds, response window, scale).
    commit : callable
        Called with each finished :class:`ReadRecord`; must make it durable. The session
        moves on only when it returns.
    done : iterable of int, keyword-only
        Positions already committed (a resumed session continues after them).
    resumed : bool, keyword-only
        The session was interrupted before: the first read is flagged ``after_interruption``.
    clock, wall_clock : callable, keyword-only
        Monotonic seconds, and UTC ISO text (injected so tests can use a fake clock).
    """

    def __init__(self, plan: Sequence[Stimulus], reading: Reading,
                 commit: Callable[[ReadRecord], object], *, done: Iterable[int] = (),
                 resumed: bool = False, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], str] = wall_now) -> None:
        self.plan = list(plan)
        self.reading = reading
        self._commit = commit
        self._clock = clock
        self._wall = wall_clock
        done_set = set(done)
        self._queue = [s for s in self.plan if s.position not in done_set]
        self.scored_total = sum(not s.practice for s in self.plan)
        self.practice_total = len(self.plan) - self.scored_total
        self._interrupted = resumed
        self._pause_requested = False
        self.pause_reason: str | None = None
        self.committed: list[ReadRecord] = []
        self._reset_current()
        self.phase = Phase.READY if self._queue else Phase.FINISHED

    def _reset_current(self) -> None:
        self.current: Stimulus | None = None
        self._shown = self._hidden = self._answered = 0.0
        self._shown_at = self._hidden_at = self._answered_at = ""
        self._rating: int | None = None

    # -- what to show ----------------------------------------------------------------------
    @property
    def upcoming(self) -> Stimulus | None:
        """The next photo to show (``None`` when all are done)."""
        return self._queue[0] if self._queue else None

    def peek(self, k: int) -> list[Stimulus]:
        """The next ``k`` photos after the current one (for preloading)."""
        start = 1 if self.phase in (Phase.SHOWING, Phase.HIDDEN) else 0
        return self._queue[start:start + k]

    def progress(self) -> tuple[int, int, bool]:
        """(n, N, practice): the current (or next) photo is number n of N in its part."""
        s = self.current or self.upcoming
        if s is None:
            return self.scored_total, self.scored_total, False
        same = [p for p in self.plan if p.practice == s.practice]
        return same.index(s) + 1, len(same), s.practice

    @property
    def answered(self) -> int | None:
        """The current photo's answer, if one came during the display."""
        return self._rating

    # -- transitions -----------------------------------------------------------------------
    def _need(self, *phases: Phase) -> None:
        if self.phase not in phases:
            raise SessionStateError(f"not allowed while {self.phase.value}")

    def show(self) -> Stimulus:
        """Record that :attr:`upcoming` has just appeared on screen; start its display time."""
        self._need(Phase.READY)
        self._reset_current()
        self.current = self._queue[0]
        self._shown, self._shown_at = self._clock(), self._wall()
        self.phase = Phase.SHOWING
        return self.current

    def seconds_until_due(self) -> float | None:
        """Seconds until the photo must hide (or the response window expires); ``None`` idle."""
        now = self._clock()
        if self.phase == Phase.SHOWING:
            return self._shown + self._display_seconds() - now
        if self.phase == Phase.HIDDEN:
            return self._hidden + self.reading.response_window_seconds - now
        return None

    def elapsed_fraction(self) -> float:
        """Share of the current display time (or response window) that has passed, in 0..1."""
        now = self._clock()
        if self.phase == Phase.SHOWING:
            span, start = self._display_seconds(), self._shown
        elif self.phase == Phase.HIDDEN:
            span, start = self.reading.response_window_seconds, self._hidden
        else:
            return 0.0
        return 1.0 if span <= 0 else min(max((now - start) / span, 0.0), 1.0)

    def hide(self) -> ReadRecord | None:
        """Record that the photo has just been replaced by grey.

        Returns the committed read when the answer came during the display, else ``None``
        (the session then waits for an answer or :meth:`expire`).
        """
        self._need(Phase.SHOWING)
        self._hidden, self._hidden_at = self._clock(), self._wall()
        self.phase = Phase.HIDDEN
        if self._rating is not None:
            return self._finish(self._rating)
        return None

    def answer(self, rating: int) -> ReadRecord | None:
        """Take the reader's rating (1-based on the protocol's scale); the first one counts.

        Returns the committed read if the photo is already hidden, ``None`` if the answer
        came during the display (it is committed when the photo hides) or was a repeat.
        An answer after the response window has expired commits "no answer" instead.
        """
        if not 1 <= rating <= len(self.reading.scale):
            raise ValueError(f"rating must be 1..{len(self.reading.scale)}, got {rating}")
        self._need(Phase.SHOWING, Phase.HIDDEN)
        if self._rating is not None:
            return None
        now, wall = self._clock(), self._wall()
        if self.phase == Phase.HIDDEN and (
                now - self._hidden > self.reading.response_window_seconds):
            return self.expire()
        self._rating, self._answered, self._answered_at = rating, now, wall
        if self.phase == Phase.HIDDEN:
            return self._finish(rating)
        return None

    def expire(self) -> ReadRecord:
        """Commit "no answer": the response window after hiding has run out."""
        self._need(Phase.HIDDEN)
        return self._finish(None)

    def _display_seconds(self) -> float:
        """How long the current photo stays on screen."""
        return self.reading.seconds_per_photo

    def _record(self, rating: int | None, **extra: object) -> ReadRecord:
        """The current read as a record (``extra``: modality, phase and aid fields)."""
        s = self.current
        assert s is not None
        return ReadRecord(
            position=s.position, photo_id=s.photo_id, practice=s.practice, rating=rating,
            binary_read=None if rating is None else self.reading.binary_read(rating),
            shown_mono=self._shown, hidden_mono=self._hidden,
            answered_mono=None if rating is None else self._answered,
            shown_at=self._shown_at, hidden_at=self._hidden_at,
            answered_at=None if rating is None else self._answered_at,
            display_s=self._hidden - self._shown,
            response_s=None if rating is None else self._answered - self._shown,
            after_interruption=self._interrupted, repeat=s.repeat,
            **extra)  # type: ignore[arg-type]

    def _store(self, rec: ReadRecord) -> None:
        """Commit a read (raises: the session stays where it is) and note it."""
        self._commit(rec)
        self.committed.append(rec)
        self._interrupted = False

    def _finish(self, rating: int | None) -> ReadRecord:
        rec = self._record(rating)
        self._store(rec)
        self._advance()
        return rec

    def _advance(self) -> None:
        """Leave the current photo for the next one (or a pause, or the end)."""
        s = self.current
        assert s is not None
        self._queue.pop(0)
        self._reset_current()
        nxt = self.upcoming
        if nxt is None:
            self.phase = Phase.FINISHED
        elif self._pause_requested:
            self.phase, self.pause_reason = Phase.PAUSED, "requested"
        elif s.practice and not nxt.practice:
            self.phase, self.pause_reason = Phase.PAUSED, "practice_done"
        else:
            self.phase = Phase.READY
        self._pause_requested = False

    # -- pausing and interruptions ---------------------------------------------------------
    def request_pause(self) -> None:
        """Pause between photos: now if between photos, else after the current read."""
        if self.phase == Phase.READY:
            self.phase, self.pause_reason = Phase.PAUSED, "requested"
        elif self.phase in (Phase.SHOWING, Phase.HIDDEN):
            self._pause_requested = True

    @property
    def pause_requested(self) -> bool:
        """Whether a pause will follow the current read."""
        return self._pause_requested

    def resume(self) -> None:
        """Leave a pause; the next photo may be shown."""
        self._need(Phase.PAUSED)
        self.phase, self.pause_reason = Phase.READY, None

    def abandon_current(self) -> None:
        """Drop the read being made (the reader stopped mid-photo); it is shown again later.

        The photo comes back with a full display time and its read is flagged
        ``after_interruption``.
        """
        if self.phase in (Phase.SHOWING, Phase.HIDDEN):
            self._reset_current()
            self._interrupted = True
            self._pause_requested = False
            self.phase, self.pause_reason = Phase.PAUSED, "interrupted"
