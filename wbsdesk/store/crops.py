"""Queries and writes for face crops (one current alignment per photo)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from wbsdesk.store.repo import now_iso

_COLS = ("photo_id", "status", "reasons", "method", "n_faces", "bbox", "landmarks",
         "confidence", "model_crop_path", "model_crop_sha256", "reader_crop_path",
         "reader_crop_sha256", "reader_window", "model_matrix", "image_width", "image_height",
         "settings", "seconds", "created_at")
_JSON = {"reasons", "bbox", "landmarks", "reader_window", "model_matrix", "settings"}


@dataclass(frozen=True)
class CropRow:
    """A photo's current face crop and review status (JSON columns decoded)."""

    photo_id: int
    status: str
    reasons: list[str]
    method: str
    n_faces: int
    bbox: list[float] | None
    landmarks: list[list[float]] | None
    confidence: float | None
    model_crop_path: str | None
    model_crop_sha256: str | None
    reader_crop_path: str | None
    reader_crop_sha256: str | None
    reader_window: list[float] | None
    model_matrix: list[list[float]] | None
    image_width: int | None
    image_height: int | None
    settings: dict[str, Any]
    seconds: float | None
    created_at: str


class CropsRepo:
    """Mixin with the crops table's SQL."""

    db: Database

    def upsert_crop(self, photo_id: int, **values: Any) -> None:
        """Insert or replace the crop of a photo."""
        row = {"photo_id": photo_id, "created_at": now_iso(), **values}
        unknown = set(row) - set(_COLS)
        if unknown:
            raise KeyError(f"unknown crop columns {sorted(unknown)}")
        args = [json.dumps(row.get(c)) if c in _JSON and row.get(c) is not None
                else row.get(c) for c in _COLS]
        self.db.execute(f"INSERT OR REPLACE INTO crops ({', '.join(_COLS)}) VALUES "
                        f"({', '.join('?' * len(_COLS))})", args)

    def crops(self, study_id: int) -> dict[int, CropRow]:
        """Photo id -> crop, for every photo of a study that has one."""
        sql = (f"SELECT {', '.join('c.' + c for c in _COLS)} FROM crops c JOIN photos p ON "
               "p.id = c.photo_id JOIN subjects s ON s.id = p.subject_id WHERE s.study_id = ?")
        out = {}
        for r in self.db.execute(sql, [study_id]).fetchall():
            d = dict(zip(_COLS, r, strict=True))
            for c in _JSON:
                d[c] = json.loads(d[c]) if d[c] is not None else None
            out[d["photo_id"]] = CropRow(**d)
        return out

    def crop_paths_in_use(self) -> set[str]:
        """Crop files referenced by any photo."""
        rows = self.db.execute("SELECT model_crop_path, reader_crop_path FROM crops").fetchall()
        return {p for r in rows for p in r if p}
