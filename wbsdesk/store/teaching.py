"""Queries and writes for teaching sessions: reads with feedback, apart from every study read.

Teaching reads live in their own tables (``teaching_sessions``, ``teaching_reads``) that no
analysis, report, bundle, sizing or agreement query reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from wbsdesk.store.repo import insert_once, now_iso

TEACHING_READ_COLUMNS = ("teaching_session_id", "position", "photo_id", "rating",
                         "binary_read", "truth_group", "correct", "display_s", "response_s",
                         "shown_at", "answered_at", "recorded_at")
_TS_COLS = ("id", "reader_id", "study_id", "protocol_json", "order_seed", "photo_order",
            "status", "started_at", "finished_at")


def _ts(r: Any) -> dict[str, Any]:
    d = dict(zip(_TS_COLS, r, strict=True))
    d["photo_order"] = [int(p) for p in json.loads(d["photo_order"])]
    return d


class TeachingRepo:
    """Mixin with the SQL of teaching sessions (writes inside ``Store.atomic()``)."""

    db: Database

    def insert_teaching_session(self, *, reader_id: int, study_id: int, protocol_json: str,
                                order_seed: int, photo_order: Iterable[int]) -> int:
        """Start a teaching session and return its id."""
        cur = self.db.execute(
            "INSERT INTO teaching_sessions (reader_id, study_id, protocol_json, order_seed,"
            " photo_order, status, started_at) VALUES (?, ?, ?, ?, ?, 'in_progress', ?)",
            [reader_id, study_id, protocol_json, order_seed,
             json.dumps([int(p) for p in photo_order]), now_iso()])
        return int(cur.lastrowid)

    def teaching_session(self, teaching_id: int) -> dict[str, Any] | None:
        """One teaching session (``photo_order`` decoded), or None."""
        row = self.db.execute(f"SELECT {', '.join(_TS_COLS)} FROM teaching_sessions"
                              " WHERE id = ?", [teaching_id]).fetchone()
        return _ts(row) if row else None

    def teaching_sessions(self, study_id: int, reader_id: int | None = None
                          ) -> list[dict[str, Any]]:
        """A study's teaching sessions (of one reader), oldest first."""
        sql = f"SELECT {', '.join(_TS_COLS)} FROM teaching_sessions WHERE study_id = ?"
        args: list[Any] = [study_id]
        if reader_id is not None:
            sql += " AND reader_id = ?"
            args.append(reader_id)
        return [_ts(r) for r in self.db.execute(sql + " ORDER BY id", args).fetchall()]

    def insert_teaching_read(self, teaching_id: int, **values: Any) -> bool:
        """Store one teaching answer idempotently; ``False`` when that position was stored."""
        row = {"teaching_session_id": teaching_id, "recorded_at": now_iso(), **values}
        return insert_once(self.db, "teaching_reads", TEACHING_READ_COLUMNS, row,
                           flags=("binary_read", "correct"), what="teaching read")

    def teaching_reads(self, teaching_id: int) -> list[dict[str, Any]]:
        """A teaching session's answers, by position."""
        rows = self.db.execute(
            f"SELECT {', '.join(TEACHING_READ_COLUMNS)} FROM teaching_reads"
            " WHERE teaching_session_id = ? ORDER BY position", [teaching_id]).fetchall()
        return [dict(zip(TEACHING_READ_COLUMNS, r, strict=True)) for r in rows]

    def finish_teaching_session(self, teaching_id: int) -> None:
        """Mark a teaching session finished (keeps the first finishing time)."""
        self.db.execute("UPDATE teaching_sessions SET status = 'finished',"
                        " finished_at = COALESCE(finished_at, ?) WHERE id = ?",
                        [now_iso(), teaching_id])
