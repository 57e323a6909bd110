"""The resume policy of reading sessions: how long an interrupted session may simply go on.

Pure functions (no I/O). A session's *last activity* is its latest read, or its start, or
the administrator's latest decision to let it continue, whichever is latest. Within the
protocol's ``reading.resume_within_hours`` of it, an interrupted session resumes where it
stopped; after that the administrator decides: ``restart`` (the session's reads are kept
but void, and the reader starts afresh) or ``continue`` (a protocol deviation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["DECISIONS", "ResumeCheck", "check_resume", "last_activity", "parse_time"]

#: What the administrator may decide about an expired session.
DECISIONS = ("restart", "continue")


def parse_time(text: str) -> datetime:
    """Stored ISO 8601 text as an aware UTC datetime (naive text is taken as UTC)."""
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def last_activity(times: Iterable[str | None]) -> str:
    """The latest of the stored times given (``None`` entries are skipped).

    Examples
    --------
    >>> last_activity(["2026-01-01T10:00:00+00:00", None, "2026-01-02T08:00:00+00:00"])
    '2026-01-02T08:00:00+00:00'
    """
    known = [t for t in times if t]
    if not known:
        raise ValueError("a session has at least its start time")
    return max(known, key=parse_time)


@dataclass(frozen=True)
class ResumeCheck:
    """How long a session has been idle, against the protocol's limit.

    Attributes
    ----------
    last_activity_at : str
        The stored time of the last activity (see the module docstring).
    hours_idle : float
        Hours from it to now (never negative).
    limit_hours : float
        The protocol's ``reading.resume_within_hours``.
    """

    last_activity_at: str
    hours_idle: float
    limit_hours: float

    @property
    def expired(self) -> bool:
        """Whether the session may no longer simply continue."""
        return self.hours_idle > self.limit_hours


def check_resume(last_activity_at: str, now: datetime, limit_hours: float) -> ResumeCheck:
    """Compare a session's idle time with the protocol's limit.

    Parameters
    ----------
    last_activity_at : str
        Stored ISO 8601 time of the session's last activity.
    now : datetime
        The current time (aware; naive is taken as UTC).
    limit_hours : float
        ``reading.resume_within_hours`` (> 0).

    Returns
    -------
    ResumeCheck

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> c = check_resume("2026-01-01T00:00:00+00:00", datetime(2026, 1, 2, 1, tzinfo=UTC), 24)
    >>> c.hours_idle, c.expired
    (25.0, True)
    """
    if not limit_hours > 0:
        raise ValueError(f"limit_hours must be > 0, got {limit_hours}")
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    idle = (now - parse_time(last_activity_at)).total_seconds() / 3600.0
    return ResumeCheck(last_activity_at, max(0.0, idle), float(limit_hours))
