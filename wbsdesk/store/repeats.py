"""Queries and writes for repeat reads: each session's repeat slots and their reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from wbsdesk.core.repeats import RepeatSlot
from wbsdesk.store.repo import insert_once, now_iso

REPEAT_READ_COLUMNS = ("session_id", "position", "photo_id", "rating", "binary_read",
                       "shown_mono", "hidden_mono", "answered_mono", "shown_at", "hidden_at",
                       "answered_at", "display_s", "response_s", "after_interruption",
                       "recorded_at")


class RepeatsRepo:
    """Mixin with the SQL of the repeat tables. Writes belong inside ``Store.atomic()``."""

    db: Database

    def insert_repeat_slots(self, session_id: int, slots: Iterable[RepeatSlot]) -> None:
        """Store a new session's repeats (with the session, in its transaction)."""
        for s in slots:
            self.db.execute(
                "INSERT INTO repeat_slots (session_id, position, photo_id, first_position,"
                " display_index) VALUES (?, ?, ?, ?, ?)",
                [session_id, s.position, s.photo_id, s.first_position, s.display_index])

    def repeat_slots(self, session_id: int) -> list[RepeatSlot]:
        """A session's repeats, in display order."""
        rows = self.db.execute(
            "SELECT position, photo_id, first_position, display_index FROM repeat_slots"
            " WHERE session_id = ? ORDER BY display_index", [session_id]).fetchall()
        return [RepeatSlot(*map(int, r)) for r in rows]

    def insert_repeat_read(self, session_id: int, **values: Any) -> bool:
        """Store one repeat read idempotently; ``False`` when it was already stored.

        Raises
        ------
        ValueError
            If the position is not a repeat of the session, or holds another photo's read.
        """
        row = {"session_id": session_id, "recorded_at": now_iso(), **values}
        slot = self.db.execute("SELECT photo_id FROM repeat_slots WHERE session_id = ? AND"
                               " position = ?", [session_id, row["position"]]).fetchone()
        if slot is None or int(slot[0]) != int(row["photo_id"]):
            raise ValueError(f"session {session_id} has no repeat of photo {row['photo_id']} "
                             f"at position {row['position']}")
        return insert_once(self.db, "repeat_reads", REPEAT_READ_COLUMNS, row,
                           flags=("binary_read", "after_interruption"), what="repeat read")

    def repeat_reads(self, session_id: int) -> list[dict[str, Any]]:
        """A session's repeat reads, by position (flags as bool)."""
        rows = self.db.execute(f"SELECT {', '.join(REPEAT_READ_COLUMNS)} FROM repeat_reads"
                               " WHERE session_id = ? ORDER BY position", [session_id])
        out = []
        for r in rows.fetchall():
            d = dict(zip(REPEAT_READ_COLUMNS, r, strict=True))
            d["after_interruption"] = bool(d["after_interruption"])
            d["binary_read"] = None if d["binary_read"] is None else bool(d["binary_read"])
            out.append(d)
        return out

    def repeat_read_positions(self, session_id: int) -> set[int]:
        """Positions of a session's committed repeat reads."""
        return {int(r[0]) for r in self.db.execute(
            "SELECT position FROM repeat_reads WHERE session_id = ?", [session_id])}

    def repeat_counts(self, study_id: int) -> dict[int, tuple[int, int]]:
        """Session id -> (repeats read, repeats planned), for the sessions of a study that
        have repeats."""
        rows = self.db.execute(
            "SELECT s.session_id, COUNT(r.position), COUNT(*) FROM repeat_slots s"
            " JOIN sessions ss ON ss.id = s.session_id LEFT JOIN repeat_reads r"
            " ON r.session_id = s.session_id AND r.position = s.position"
            " WHERE ss.study_id = ? GROUP BY s.session_id", [study_id]).fetchall()
        return {int(s): (int(a), int(b)) for s, a, b in rows}

    def repeat_pairs(self, session_ids: Iterable[int]) -> list[dict[str, Any]]:
        """First and repeat ratings of the sessions' repeated photos (practice never repeats).

        One row per repeat with ``session_id``, ``photo_id``, ``first_rating``,
        ``repeat_rating``, ``first_binary``, ``repeat_binary`` (``None``: no answer, or a
        read not made yet), the repeat's ``display_index`` and the ``first_position``.
        """
        ids = sorted({int(s) for s in session_ids})
        if not ids:
            return []
        rows = self.db.execute(
            "SELECT s.session_id, s.photo_id, f.rating, r.rating, f.binary_read,"
            " r.binary_read, s.display_index, s.first_position FROM repeat_slots s"
            " LEFT JOIN reads f ON f.session_id = s.session_id AND f.position ="
            " s.first_position AND f.phase = 1 LEFT JOIN repeat_reads r"
            " ON r.session_id = s.session_id AND r.position = s.position"
            f" WHERE s.session_id IN ({', '.join('?' * len(ids))})"
            " ORDER BY s.session_id, s.display_index", ids).fetchall()
        keys = ("session_id", "photo_id", "first_rating", "repeat_rating", "first_binary",
                "repeat_binary", "display_index", "first_position")
        return [dict(zip(keys, r, strict=True)) for r in rows]
