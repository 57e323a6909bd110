"""Queries and writes for readers, reading sessions, their reads and admin settings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from wbsdesk.store.repo import insert_once, now_iso

READ_COLUMNS = ("session_id", "photo_id", "position", "practice", "rating", "binary_read",
                "shown_mono", "hidden_mono", "answered_mono", "shown_at", "hidden_at",
                "answered_at", "display_s", "response_s", "after_interruption", "recorded_at",
                "modality", "phase", "aid_score", "heatmap_viewed")
_READER_COLS = "id, name, role, years, simulated, dry_run, created_at"
_SESSION_COLS = ("id, reader_id, study_id, protocol_json, order_seed, photo_order, status,"
                 " started_at, finished_at, interruptions, design, modality, period, aid_set_id,"
                 " voided_at")


@dataclass(frozen=True)
class ReaderRow:
    """A reader (physician, or a simulated or dry-run stand-in) as stored."""

    id: int
    name: str
    role: str
    years: int | None
    simulated: bool
    dry_run: bool
    created_at: str


@dataclass(frozen=True)
class SessionRow:
    """A reading session as stored; ``photo_order`` decoded.

    One reader x one study x one ``period`` (2 only for the second session of a crossover
    design). ``modality`` says what its reads are: ``unaided``, ``aided``, or ``both`` (a
    sequential design: each photo read blind, then again with the aid of ``aid_set_id``).
    ``voided_at`` is set on a session the administrator restarted (its reads leave every
    analysis); the queries below that name no session id skip such sessions.
    """

    id: int
    reader_id: int
    study_id: int
    protocol_json: str
    order_seed: int
    photo_order: list[tuple[int, bool]]
    status: str
    started_at: str
    finished_at: str | None
    interruptions: int
    design: str = "blind"
    modality: str = "unaided"
    period: int = 1
    aid_set_id: int | None = None
    voided_at: str | None = None


def _reader(r: Sequence[Any]) -> ReaderRow:
    return ReaderRow(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), r[6])


def _session(r: Sequence[Any]) -> SessionRow:
    order = [(int(p), bool(f)) for p, f in json.loads(r[5])]
    return SessionRow(r[0], r[1], r[2], r[3], r[4], order, r[6], r[7], r[8], r[9], r[10],
                      r[11], r[12], r[13], r[14])


class ReadingRepo:
    """Mixin with the SQL of the reading tables. Writes belong inside ``Store.atomic()``."""

    db: Database

    # -- readers ---------------------------------------------------------------------------
    def insert_reader(self, *, name: str, role: str, years: int | None, simulated: bool,
                      dry_run: bool) -> int:
        """Add a reader and return its id."""
        cur = self.db.execute(
            "INSERT INTO readers (name, role, years, simulated, dry_run, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [name, role, years, int(simulated), int(dry_run), now_iso()])
        return int(cur.lastrowid)

    def reader(self, name: str) -> ReaderRow | None:
        """The reader called ``name``, or ``None``."""
        row = self.db.execute(f"SELECT {_READER_COLS} FROM readers WHERE name = ?",
                              [name]).fetchone()
        return _reader(row) if row else None

    def reader_by_id(self, reader_id: int) -> ReaderRow | None:
        """The reader with id ``reader_id``, or ``None``."""
        row = self.db.execute(f"SELECT {_READER_COLS} FROM readers WHERE id = ?",
                              [reader_id]).fetchone()
        return _reader(row) if row else None

    def readers(self) -> list[ReaderRow]:
        """Every reader, by name."""
        rows = self.db.execute(f"SELECT {_READER_COLS} FROM readers ORDER BY name").fetchall()
        return [_reader(r) for r in rows]

    # -- sessions --------------------------------------------------------------------------
    def insert_session(self, *, reader_id: int, study_id: int, protocol_json: str,
                       order_seed: int, photo_order: Iterable[tuple[int, bool]],
                       design: str = "blind", modality: str = "unaided", period: int = 1,
                       aid_set_id: int | None = None) -> int:
        """Start a session and return its id (one per reader, study and period)."""
        order = json.dumps([[int(p), int(f)] for p, f in photo_order])
        cur = self.db.execute(
            "INSERT INTO sessions (reader_id, study_id, protocol_json, order_seed, photo_order,"
            " status, started_at, design, modality, period, aid_set_id)"
            " VALUES (?, ?, ?, ?, ?, 'in_progress', ?, ?, ?, ?, ?)",
            [reader_id, study_id, protocol_json, order_seed, order, now_iso(), design,
             modality, period, aid_set_id])
        return int(cur.lastrowid)

    def session(self, session_id: int) -> SessionRow | None:
        """The session with id ``session_id``, or ``None``."""
        row = self.db.execute(f"SELECT {_SESSION_COLS} FROM sessions WHERE id = ?",
                              [session_id]).fetchone()
        return _session(row) if row else None

    def session_of(self, reader_id: int, study_id: int, period: int = 1) -> SessionRow | None:
        """The live session of a reader on a study (its first, or ``period`` 2), or ``None``."""
        row = self.db.execute(
            f"SELECT {_SESSION_COLS} FROM sessions WHERE reader_id = ? AND study_id = ?"
            " AND period = ? AND voided_at IS NULL", [reader_id, study_id, period]).fetchone()
        return _session(row) if row else None

    def sessions_of(self, reader_id: int, study_id: int) -> list[SessionRow]:
        """Every live (not void) session of a reader on a study, by period."""
        rows = self.db.execute(
            f"SELECT {_SESSION_COLS} FROM sessions WHERE reader_id = ? AND study_id = ?"
            " AND voided_at IS NULL ORDER BY period", [reader_id, study_id]).fetchall()
        return [_session(r) for r in rows]

    def sessions(self, study_id: int) -> list[SessionRow]:
        """Every live (not void) session of a study, oldest first."""
        rows = self.db.execute(f"SELECT {_SESSION_COLS} FROM sessions WHERE study_id = ?"
                               " AND voided_at IS NULL ORDER BY id", [study_id]).fetchall()
        return [_session(r) for r in rows]

    def set_session_design(self, session_id: int, *, design: str, modality: str,
                           aid_set_id: int | None, protocol_json: str) -> None:
        """Change a session's design and stored protocol (the demo turns its simulated
        blind sessions into sequential ones when it adds their aided re-reads; the reads
        stay as they are)."""
        self.db.execute("UPDATE sessions SET design = ?, modality = ?, aid_set_id = ?,"
                        " protocol_json = ? WHERE id = ?",
                        [design, modality, aid_set_id, protocol_json, session_id])

    def add_interruption(self, session_id: int) -> None:
        """Count one interruption (a close, crash or kill before the session finished)."""
        self.db.execute("UPDATE sessions SET interruptions = interruptions + 1 WHERE id = ?",
                        [session_id])

    def finish_session(self, session_id: int) -> None:
        """Mark a session finished (keeps the first finishing time)."""
        self.db.execute("UPDATE sessions SET status = 'finished',"
                        " finished_at = COALESCE(finished_at, ?) WHERE id = ?",
                        [now_iso(), session_id])

    # -- reads -----------------------------------------------------------------------------
    def insert_read(self, session_id: int, **values: Any) -> bool:
        """Store one read idempotently; ``False`` when the same read was already stored.

        Raises
        ------
        ValueError
            If another read already holds this session's position or photo.
        """
        row = {"session_id": session_id, "recorded_at": now_iso(), "modality": "unaided",
               "phase": 1, **values}
        if insert_once(self.db, "reads", READ_COLUMNS, row, what="read", flags=(
                "practice", "binary_read", "after_interruption", "heatmap_viewed")):
            return True
        phase = row["phase"]
        held = self.db.execute(
            "SELECT photo_id, practice, modality FROM reads WHERE session_id = ?"
            " AND position = ? AND phase = ?", [session_id, row["position"], phase]).fetchone()
        want = (row["photo_id"], row["practice"], row["modality"])
        if held is None or tuple(held) != want:
            raise ValueError(f"session {session_id} already has another read at position "
                             f"{row['position']} (phase {phase}) or of photo {row['photo_id']}")
        return False

    def reads(self, session_id: int, *, modality: str | None = None) -> list[dict[str, Any]]:
        """The reads of a session, by position and phase (flags as bool).

        ``modality`` (``"unaided"`` or ``"aided"``) keeps only those reads.
        """
        where, args = "session_id = ?", [session_id]
        if modality is not None:
            where, args = where + " AND modality = ?", [*args, modality]
        rows = self.db.execute(f"SELECT {', '.join(READ_COLUMNS)} FROM reads WHERE {where}"
                               " ORDER BY position, phase", args).fetchall()
        out = []
        for r in rows:
            d = dict(zip(READ_COLUMNS, r, strict=True))
            for flag in ("practice", "after_interruption"):
                d[flag] = bool(d[flag])
            for flag in ("binary_read", "heatmap_viewed"):
                d[flag] = None if d[flag] is None else bool(d[flag])
            out.append(d)
        return out

    def response_times(self, session_ids: Iterable[int]) -> dict[tuple[int, int], float | None]:
        """(session id, photo id) -> response time in seconds of the non-practice unaided reads.

        ``None`` where a read has no response time (e.g. no answer in the window).
        """
        ids = sorted({int(s) for s in session_ids})
        if not ids:
            return {}
        rows = self.db.execute(
            "SELECT session_id, photo_id, response_s FROM reads WHERE practice = 0 AND"
            f" modality = 'unaided' AND session_id IN ({', '.join('?' * len(ids))})",
            ids).fetchall()
        return {(int(s), int(p)): (None if t is None else float(t)) for s, p, t in rows}

    def read_positions(self, session_id: int) -> set[int]:
        """Positions of a session that already have a committed read (of any phase)."""
        return {r[0] for r in self.db.execute(
            "SELECT position FROM reads WHERE session_id = ?", [session_id])}

    def read_phases(self, session_id: int) -> dict[int, dict[int, int | None]]:
        """Position -> {phase: rating} of a session's committed reads (``None``: no answer)."""
        out: dict[int, dict[int, int | None]] = {}
        for pos, phase, rating in self.db.execute(
                "SELECT position, phase, rating FROM reads WHERE session_id = ?", [session_id]):
            out.setdefault(int(pos), {})[int(phase)] = rating
        return out

    def read_counts(self, study_id: int) -> dict[int, int]:
        """Session id -> number of scored photos read (practice left out), for a study.

        In a sequential session a photo counts once both its reads (blind and aided) are in.
        """
        return dict(self.db.execute(
            "SELECT r.session_id, SUM(CASE WHEN s.modality = 'both' THEN r.phase = 2 ELSE 1"
            " END) FROM reads r JOIN sessions s ON s.id = r.session_id"
            " WHERE s.study_id = ? AND s.voided_at IS NULL AND r.practice = 0"
            " GROUP BY r.session_id",
            [study_id]).fetchall())

    def study_reads(self, study_id: int) -> list[dict[str, Any]]:
        """Every read of a study's live sessions with its reader, subject and group (for
        export), in order."""
        cols = ["reader", "role", "years", "simulated", "dry_run", "subject", "group",
                "photo", *READ_COLUMNS]
        rows = self.db.execute(
            "SELECT rd.name, rd.role, rd.years, rd.simulated, rd.dry_run, sb.subject_key,"
            " sb.grp, p.original_name, " + ", ".join("r." + c for c in READ_COLUMNS) +
            " FROM reads r JOIN sessions s ON s.id = r.session_id"
            " JOIN readers rd ON rd.id = s.reader_id JOIN photos p ON p.id = r.photo_id"
            " JOIN subjects sb ON sb.id = p.subject_id"
            " WHERE s.study_id = ? AND s.voided_at IS NULL"
            " ORDER BY rd.name, s.period, r.position, r.phase", [study_id]).fetchall()
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # -- settings --------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        """A stored setting, or ``None``."""
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def delete_setting(self, key: str) -> bool:
        """Remove a setting; whether it was there."""
        return self.db.execute("DELETE FROM settings WHERE key = ?", [key]).rowcount > 0

    def set_setting(self, key: str, value: str) -> None:
        """Store (or replace) a setting."""
        self.db.execute("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                        " updated_at = excluded.updated_at", [key, value, now_iso()])
