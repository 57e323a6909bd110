"""Reading with the model: the state machine of an aided session (no Qt, no I/O).

Three modes, one per kind of session of an aided study:

``sequential``
    Each scored photo is read twice. First the **blind** stage, exactly as in a blind
    session; that read (phase 1, unaided) is committed, and from then on it is locked. Then
    the **aided** stage shows the same crop again with the model's aid and the locked first
    answer, for ``aided_display_seconds``, with its own response window; that read is
    phase 2, aided, and carries the score shown. Practice photos have the blind stage only.
``aided``
    The aided session of a crossover design: every scored photo is read once, aided.
``unaided``
    The unaided session of a crossover design: a blind session whose reads carry the
    session's phase (1 or 2, its place in the reader's crossover).

The caller asks :attr:`AidedReadingSession.stage` which view to put up before
:meth:`~wbsdesk.core.session.ReadingSession.show`; the aid is available
(:attr:`~AidedReadingSession.aid_score`) only in the aided stage, so a screen that takes it
from the session cannot show it before the blind read is committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum

from wbsdesk.core.protocol import Reading
from wbsdesk.core.session import Phase, ReadingSession, ReadRecord, Stimulus, wall_now

MODES = ("sequential", "aided", "unaided")


class Stage(StrEnum):
    """Which view the current (or next) photo gets."""

    BLIND = "blind"
    AIDED = "aided"


class AidedReadingSession(ReadingSession):
    """A reading session of an aided study (see the module notes for the three modes).

    Parameters
    ----------
    plan, reading, commit
        As for :class:`~wbsdesk.core.session.ReadingSession`.
    mode : {"sequential", "aided", "unaided"}, keyword-only
    aid_scores : mapping of int to float, keyword-only
        Photo id -> the model's score shown with it (every scored photo, unless unaided).
    heatmaps : bool, keyword-only
        Whether the aided view offers a heatmap (reads then record whether it was looked at).
    phase : int, keyword-only
        The phase of this session's reads in the ``aided`` and ``unaided`` modes.
    done : iterable of int, keyword-only
        Positions whose reading is complete (in sequential mode: both stages, or a practice
        photo's blind read).
    locked : mapping of int to (int or None), keyword-only
        Sequential mode: positions whose blind read is committed but not the aided one,
        with that locked rating (``None``: no answer). The session resumes with its aided
        stage.
    resumed, clock, wall_clock
        As for :class:`~wbsdesk.core.session.ReadingSession`.

    Examples
    --------
    >>> from wbsdesk.core.session import plan_session
    >>> t = [0.0]
    >>> reads = []
    >>> s = AidedReadingSession(plan_session([7], seed=0), Reading(seconds_per_photo=1,
    ...     response_window_seconds=1), reads.append, mode="sequential",
    ...     aid_scores={7: 0.8}, clock=lambda: t[0])
    >>> s.stage, s.aid_score
    (<Stage.BLIND: 'blind'>, None)
    >>> _ = s.show(); t[0] = 0.5; s.answer(2); t[0] = 1.0; rec = s.hide()
    >>> (rec.modality, rec.phase, rec.rating), s.stage, s.aid_score, s.locked_rating
    (('unaided', 1, 2), <Stage.AIDED: 'aided'>, 0.8, 2)
    >>> _ = s.show(); t[0] = 1.2; s.answer(4); t[0] = 2.0; rec = s.hide()
    >>> (rec.modality, rec.phase, rec.rating, rec.aid_score), s.phase.value
    (('aided', 2, 4, 0.8), 'finished')
    """

    def __init__(self, plan: Sequence[Stimulus], reading: Reading,
                 commit: Callable[[ReadRecord], object], *, mode: str,
                 aid_scores: Mapping[int, float], heatmaps: bool = False, phase: int = 1,
                 done: Iterable[int] = (), locked: Mapping[int, int | None] | None = None,
                 resumed: bool = False, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], str] = wall_now) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if phase not in (1, 2):
            raise ValueError(f"phase must be 1 or 2, got {phase}")
        self.mode = mode
        self.read_phase = 2 if mode == "sequential" else phase
        self.heatmaps = heatmaps
        self._scores = dict(aid_scores)
        self._locked: dict[int, int | None] = dict(locked or {})
        if mode != "unaided":
            lacking = [s.photo_id for s in plan if not s.practice and s.photo_id not in
                       self._scores]
            if lacking:
                raise ValueError(f"no aid score for photo(s) {lacking}")
        self._heat_seen = False
        super().__init__(plan, reading, commit, done=done, resumed=resumed, clock=clock,
                         wall_clock=wall_clock)

    # -- what the screen may show ----------------------------------------------------------
    def _stage_of(self, s: Stimulus | None) -> Stage:
        if s is None or s.practice or self.mode == "unaided":
            return Stage.BLIND
        if self.mode == "aided" or s.position in self._locked:
            return Stage.AIDED
        return Stage.BLIND

    @property
    def stage(self) -> Stage:
        """The view of the current photo, or of the next one between photos."""
        return self._stage_of(self.current or self.upcoming)

    @property
    def aid_score(self) -> float | None:
        """The model's score for the photo of the aided stage (``None`` in the blind one)."""
        s = self.current or self.upcoming
        if s is None or self.stage != Stage.AIDED:
            return None
        return self._scores[s.photo_id]

    @property
    def locked_rating(self) -> int | None:
        """Sequential aided stage: the photo's committed blind rating (``None``: none given,
        or not in the aided stage of a sequential session)."""
        s = self.current or self.upcoming
        if s is None or self.mode != "sequential" or self.stage != Stage.AIDED:
            return None
        return self._locked.get(s.position)

    def note_heatmap(self) -> None:
        """The reader looked at the heatmap during the current aided read."""
        if self.stage == Stage.AIDED and self.phase in (Phase.SHOWING, Phase.HIDDEN):
            self._heat_seen = True

    def stages_left(self) -> tuple[int, int]:
        """(blind, aided) reads still to make, the current one included."""
        blind = aided = 0
        for s in self._queue:
            st = self._stage_of(s)
            if st == Stage.AIDED:
                aided += 1
            else:
                blind += 1
                if self.mode == "sequential" and not s.practice:
                    aided += 1
        return blind, aided

    # -- transitions -----------------------------------------------------------------------
    def _reset_current(self) -> None:
        super()._reset_current()
        self._heat_seen = False

    def _display_seconds(self) -> float:
        if self.stage == Stage.AIDED:
            return self.reading.aided_display_seconds
        return self.reading.seconds_per_photo

    def _finish(self, rating: int | None) -> ReadRecord:
        s = self.current
        assert s is not None
        stage = self._stage_of(s)
        if stage == Stage.AIDED:
            rec = self._record(rating, modality="aided", phase=self.read_phase,
                               aid_score=self._scores[s.photo_id],
                               heatmap_viewed=self._heat_seen if self.heatmaps else None)
        else:
            phase = 1 if self.mode == "sequential" else self.read_phase
            rec = self._record(rating, modality="unaided", phase=phase)
        self._store(rec)
        if self.mode == "sequential" and stage == Stage.BLIND and not s.practice:
            # the blind read is committed and locked: the same photo comes back, aided
            self._locked[s.position] = rating
            self._reset_current()
            self.phase = Phase.READY
        else:
            self._locked.pop(s.position, None)
            self._advance()
        return rec
