"""Queries and writes for studies, subjects, photos, folds and the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database


def now_iso() -> str:
    """Current UTC time as ISO 8601 text (what the store records)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def insert_once(db: Database, table: str, columns: tuple[str, ...], row: dict[str, Any], *,
                flags: tuple[str, ...] = (), what: str) -> bool:
    """Insert ``row`` into ``table`` unless its key is already held (the reads' idempotent
    write); ``True`` when a row was added.

    ``row`` may hold only ``columns`` (``KeyError`` naming ``what`` otherwise); its
    ``flags`` are stored as 0/1 (converted in ``row`` itself).
    """
    unknown = set(row) - set(columns)
    if unknown:
        raise KeyError(f"unknown {what} columns {sorted(unknown)}")
    for flag in flags:
        if row.get(flag) is not None:
            row[flag] = int(row[flag])
    cur = db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                     f"({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING",
                     [row.get(c) for c in columns])
    return cur.rowcount == 1


@dataclass(frozen=True)
class StudyRow:
    """A study as stored."""

    id: int
    name: str
    protocol_name: str
    protocol_json: str
    protocol_source: str
    synthetic: bool
    created_at: str


@dataclass(frozen=True)
class SubjectRow:
    """A subject as stored (``key`` is the manifest's ``subject_id``)."""

    id: int
    key: str
    group: str
    sex: str | None
    age_months: float | None
    diagnosis: str | None
    metadata: dict[str, str]
    excluded: bool
    exclusion_reason: str | None
    practice_only: bool = False


@dataclass(frozen=True)
class PhotoRow:
    """A photo as stored (``stored_path`` is relative to the workspace)."""

    id: int
    subject_id: int
    sha256: str
    stored_path: str
    original_name: str
    format: str
    width: int
    height: int
    is_primary: bool


class Repo:
    """All SQL of the foundation tables. Writes belong inside ``Store.atomic()``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- studies ---------------------------------------------------------------------------
    def insert_study(self, *, name: str, protocol_name: str, protocol_json: str,
                     protocol_source: str, synthetic: bool) -> int:
        """Create a study row and return its id."""
        cur = self.db.execute(
            "INSERT INTO studies (name, protocol_name, protocol_json, protocol_source, synthetic,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [name, protocol_name, protocol_json, protocol_source, int(synthetic), now_iso()])
        return int(cur.lastrowid)

    def study(self, name: str) -> StudyRow | None:
        """The study called ``name``, or ``None``."""
        row = self.db.execute(
            "SELECT id, name, protocol_name, protocol_json, protocol_source, synthetic, created_at"
            " FROM studies WHERE name = ?", [name]).fetchone()
        return StudyRow(*row[:5], bool(row[5]), row[6]) if row else None

    def studies(self) -> list[StudyRow]:
        """Every study, by name."""
        rows = self.db.execute(
            "SELECT id, name, protocol_name, protocol_json, protocol_source, synthetic, created_at"
            " FROM studies ORDER BY name").fetchall()
        return [StudyRow(*r[:5], bool(r[5]), r[6]) for r in rows]

    def delete_study(self, study_id: int) -> None:
        """Delete a study with its subjects, photos rows and folds (files are the caller's)."""
        self.db.execute("DELETE FROM studies WHERE id = ?", [study_id])

    # -- subjects --------------------------------------------------------------------------
    def insert_subject(self, study_id: int, *, key: str, group: str, sex: str | None,
                       age_months: float | None, diagnosis: str | None,
                       metadata: Mapping[str, str]) -> int:
        """Add a subject to a study and return its id."""
        cur = self.db.execute(
            "INSERT INTO subjects (study_id, subject_key, grp, sex, age_months, diagnosis,"
            " metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [study_id, key, group, sex, age_months, diagnosis,
             json.dumps(dict(metadata), sort_keys=True), now_iso()])
        return int(cur.lastrowid)

    def subjects(self, study_id: int, *, include_excluded: bool = True,
                 include_practice: bool = True) -> list[SubjectRow]:
        """Subjects of a study, in key order.

        ``include_practice=False`` leaves out practice-only subjects: every analysis, the
        folds, training and the scored reading set use that.
        """
        sql = ("SELECT id, subject_key, grp, sex, age_months, diagnosis, metadata, excluded,"
               " exclusion_reason, practice_only FROM subjects WHERE study_id = ?")
        if not include_excluded:
            sql += " AND excluded = 0"
        if not include_practice:
            sql += " AND practice_only = 0"
        rows = self.db.execute(sql + " ORDER BY subject_key", [study_id]).fetchall()
        return [SubjectRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), bool(r[7]),
                           r[8], bool(r[9])) for r in rows]

    def set_practice_only(self, subject_id: int, practice_only: bool) -> None:
        """Mark a subject as practice-only (or as a study subject again)."""
        self.db.execute("UPDATE subjects SET practice_only = ? WHERE id = ?",
                        [int(practice_only), subject_id])

    def set_excluded(self, subject_id: int, reason: str | None) -> None:
        """Exclude a subject with a reason (``None`` re-includes it)."""
        self.db.execute("UPDATE subjects SET excluded = ?, exclusion_reason = ? WHERE id = ?",
                        [int(reason is not None), reason, subject_id])

    # -- photos ----------------------------------------------------------------------------
    def insert_photo(self, subject_id: int, *, sha256: str, stored_path: str,
                     original_name: str, fmt: str, width: int, height: int,
                     is_primary: bool) -> int:
        """Add a photo of a subject and return its id."""
        cur = self.db.execute(
            "INSERT INTO photos (subject_id, sha256, stored_path, original_name, format, width,"
            " height, is_primary, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [subject_id, sha256, stored_path, original_name, fmt, width, height,
             int(is_primary), now_iso()])
        return int(cur.lastrowid)

    def photos(self, study_id: int) -> list[PhotoRow]:
        """Every photo of a study's subjects."""
        rows = self.db.execute(
            "SELECT p.id, p.subject_id, p.sha256, p.stored_path, p.original_name, p.format,"
            " p.width, p.height, p.is_primary FROM photos p JOIN subjects s"
            " ON s.id = p.subject_id WHERE s.study_id = ? ORDER BY s.subject_key, p.id",
            [study_id]).fetchall()
        return [PhotoRow(*r[:8], bool(r[8])) for r in rows]

    def photo_paths_in_use(self) -> set[str]:
        """Stored paths referenced by any study (content-addressed files may be shared)."""
        return {r[0] for r in self.db.execute("SELECT DISTINCT stored_path FROM photos")}

    # -- folds -----------------------------------------------------------------------------
    def replace_folds(self, study_id: int, assignment: Mapping[int, int], *, seed: int,
                      k: int) -> None:
        """Store a fold per subject id, replacing any earlier assignment of the study."""
        self.db.execute("DELETE FROM folds WHERE study_id = ?", [study_id])
        at = now_iso()
        self.db.conn.executemany(
            "INSERT INTO folds (study_id, subject_id, fold, seed, k, assigned_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(study_id, sid, fold, seed, k, at) for sid, fold in assignment.items()])

    def folds(self, study_id: int) -> dict[int, int]:
        """Subject id -> fold (1-based) for a study."""
        return dict(self.db.execute(
            "SELECT subject_id, fold FROM folds WHERE study_id = ?", [study_id]).fetchall())

    def fold_settings(self, study_id: int) -> tuple[int, int] | None:
        """(seed, k) of the stored assignment, or ``None`` when folds were never assigned."""
        row = self.db.execute("SELECT seed, k FROM folds WHERE study_id = ? LIMIT 1",
                              [study_id]).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    # -- audit -----------------------------------------------------------------------------
    def audit(self, study_id: int | None, action: str, detail: Mapping[str, Any]) -> None:
        """Record what happened (imports, fold assignment, exclusions, deletions)."""
        self.db.execute("INSERT INTO audit (study_id, at, action, detail) VALUES (?, ?, ?, ?)",
                        [study_id, now_iso(), action, json.dumps(dict(detail), sort_keys=True)])

    def audit_log(self, study_id: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first (all, or one study's)."""
        sql = "SELECT id, study_id, at, action, detail FROM audit"
        args: Iterable[Any] = []
        if study_id is not None:
            sql += " WHERE study_id = ?"
            args = [study_id]
        rows = self.db.execute(sql + " ORDER BY id", list(args)).fetchall()
        return [{"id": r[0], "study_id": r[1], "at": r[2], "action": r[3],
                 "detail": json.loads(r[4])} for r in rows]
