"""Queries and writes for the resume policy: void sessions and the administrator's decisions.

A session interrupted for longer than the protocol's ``resume_within_hours`` is either
restarted (the old session is kept, its reads untouched and locked, and marked void: it
leaves every analysis) or continued (a protocol deviation). Each decision is one row of
``session_events``.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

EVENT_COLUMNS = ("id", "session_id", "kind", "at", "last_activity_at", "hours_idle",
                 "limit_hours", "reads", "reason", "via")


class SessionPolicyRepo:
    """Mixin with the SQL of void sessions and session events (writes inside ``atomic()``)."""

    db: Database

    def last_read_at(self, session_id: int) -> str | None:
        """When the session's last read (any phase, repeats included) was stored, or None."""
        row = self.db.execute(
            "SELECT max(at) FROM (SELECT max(recorded_at) AS at FROM reads WHERE session_id = ?"
            " UNION ALL SELECT max(recorded_at) FROM repeat_reads WHERE session_id = ?)",
            [session_id, session_id]).fetchone()
        return row[0] if row else None

    def void_session(self, session_id: int, *, at: str, reason: str) -> None:
        """Mark a session void (its reads stay as they are; a void session stays void)."""
        cur = self.db.execute("UPDATE sessions SET voided_at = ?, void_reason = ?"
                              " WHERE id = ? AND voided_at IS NULL", [at, reason, session_id])
        if cur.rowcount != 1:
            raise ValueError(f"session {session_id} is unknown or already void")

    def set_replaces(self, session_id: int, old_session_id: int) -> None:
        """Note that a fresh session replaces a restarted (void) one."""
        self.db.execute("UPDATE sessions SET replaces = ? WHERE id = ?",
                        [old_session_id, session_id])

    def replaced_by(self, old_session_id: int) -> int | None:
        """The session that replaced a restarted one, or None."""
        row = self.db.execute("SELECT id FROM sessions WHERE replaces = ?",
                              [old_session_id]).fetchone()
        return int(row[0]) if row else None

    def void_session_ids(self, study_id: int) -> list[int]:
        """Ids of the study's void sessions, oldest first."""
        return [int(r[0]) for r in self.db.execute(
            "SELECT id FROM sessions WHERE study_id = ? AND voided_at IS NOT NULL ORDER BY id",
            [study_id])]

    def insert_session_event(self, session_id: int, *, kind: str, at: str,
                             last_activity_at: str, hours_idle: float, limit_hours: float,
                             reads: int, reason: str, via: str) -> int:
        """Record one decision on an expired session and return its id."""
        cur = self.db.execute(
            "INSERT INTO session_events (session_id, kind, at, last_activity_at, hours_idle,"
            " limit_hours, reads, reason, via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [session_id, kind, at, last_activity_at, hours_idle, limit_hours, reads, reason,
             via])
        return int(cur.lastrowid)

    def session_events(self, *, study_id: int | None = None,
                       session_id: int | None = None) -> list[dict[str, Any]]:
        """Decisions on expired sessions (of a study, or of one session), oldest first."""
        where, args = [], []
        if study_id is not None:
            where.append("s.study_id = ?")
            args.append(study_id)
        if session_id is not None:
            where.append("e.session_id = ?")
            args.append(session_id)
        sql = (f"SELECT {', '.join('e.' + c for c in EVENT_COLUMNS)}, rd.name, s.period"
               " FROM session_events e JOIN sessions s ON s.id = e.session_id"
               " JOIN readers rd ON rd.id = s.reader_id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.execute(sql + " ORDER BY e.id", args).fetchall()
        return [dict(zip((*EVENT_COLUMNS, "reader", "period"), r, strict=True)) for r in rows]
