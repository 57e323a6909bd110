"""Queries and writes for aid sets: the model's out-of-fold aid of every photo of a study."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from wbsdesk.store.repo import now_iso

_SET_COLS = "id, study_id, run_id, model, archs, heatmaps, created_at"


@dataclass(frozen=True)
class AidSetRow:
    """An aid set as stored: which run and model (``ensemble`` or one architecture)."""

    id: int
    study_id: int
    run_id: int
    model: str
    archs: tuple[str, ...]
    heatmaps: bool
    created_at: str


@dataclass(frozen=True)
class AidRow:
    """One photo's aid: the out-of-fold score, its fold and the heatmap file (relative)."""

    photo_id: int
    score: float
    fold: int
    heatmap_path: str | None
    heatmap_sha256: str | None


def _set(r: Sequence[Any]) -> AidSetRow:
    return AidSetRow(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), bool(r[5]), r[6])


class AidsRepo:
    """Mixin with the SQL of ``aid_sets`` and ``aids``. Writes belong inside ``atomic()``."""

    db: Database

    def insert_aid_set(self, study_id: int, *, run_id: int, model: str,
                       archs: Sequence[str], heatmaps: bool,
                       aids: Iterable[tuple[int, float, int, str | None, str | None]]) -> int:
        """Record an aid set with every photo's ``(photo_id, score, fold, path, sha256)``."""
        cur = self.db.execute(
            "INSERT INTO aid_sets (study_id, run_id, model, archs, heatmaps, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [study_id, run_id, model, json.dumps(list(archs)), int(heatmaps), now_iso()])
        set_id = int(cur.lastrowid)
        self.add_aids(set_id, aids)
        return set_id

    def add_aids(self, aid_set_id: int,
                 aids: Iterable[tuple[int, float, int, str | None, str | None]]) -> None:
        """Add photos' ``(photo_id, score, fold, path, sha256)`` to an aid set."""
        self.db.conn.executemany(
            "INSERT INTO aids (aid_set_id, photo_id, score, fold, heatmap_path, heatmap_sha256)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(aid_set_id, int(p), float(s), int(f), h, sha) for p, s, f, h, sha in aids])

    def aid_set(self, aid_set_id: int) -> AidSetRow | None:
        """The aid set with this id, or ``None``."""
        r = self.db.execute(f"SELECT {_SET_COLS} FROM aid_sets WHERE id = ?",
                            [aid_set_id]).fetchone()
        return _set(r) if r else None

    def find_aid_set(self, study_id: int, *, run_id: int, model: str,
                     heatmaps: bool) -> AidSetRow | None:
        """The study's aid set of this run, model and heatmap choice, or ``None``."""
        r = self.db.execute(
            f"SELECT {_SET_COLS} FROM aid_sets WHERE study_id = ? AND run_id = ? AND model = ?"
            " AND heatmaps = ?", [study_id, run_id, model, int(heatmaps)]).fetchone()
        return _set(r) if r else None

    def aid_sets(self, study_id: int) -> list[AidSetRow]:
        """A study's aid sets, oldest first."""
        rows = self.db.execute(f"SELECT {_SET_COLS} FROM aid_sets WHERE study_id = ?"
                               " ORDER BY id", [study_id]).fetchall()
        return [_set(r) for r in rows]

    def aids(self, aid_set_id: int) -> dict[int, AidRow]:
        """Photo id -> its aid, for one aid set."""
        rows = self.db.execute(
            "SELECT photo_id, score, fold, heatmap_path, heatmap_sha256 FROM aids"
            " WHERE aid_set_id = ?", [aid_set_id]).fetchall()
        return {int(r[0]): AidRow(int(r[0]), float(r[1]), int(r[2]), r[3], r[4]) for r in rows}
