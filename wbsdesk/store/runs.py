"""Queries and writes for training runs, their finished folds and out-of-fold predictions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from wbsdesk.store.repo import now_iso


@dataclass(frozen=True)
class RunRow:
    """A training run as stored."""

    id: int
    study_id: int
    name: str
    run_dir: str
    status: str
    archs: list[str]
    protocol_json: str
    spec: dict[str, Any]
    seed: int
    device: str
    versions: dict[str, str]
    weights: dict[str, str]
    demo: bool
    started_at: str
    finished_at: str | None


_RUN_COLS = ("id, study_id, name, run_dir, status, archs, protocol_json, spec_json, seed, device,"
             " versions, weights, demo, started_at, finished_at")


def _run(r: Sequence[Any]) -> RunRow:
    return RunRow(id=r[0], study_id=r[1], name=r[2], run_dir=r[3], status=r[4],
                  archs=json.loads(r[5]), protocol_json=r[6], spec=json.loads(r[7]), seed=r[8],
                  device=r[9], versions=json.loads(r[10]), weights=json.loads(r[11]),
                  demo=bool(r[12]), started_at=r[13], finished_at=r[14])


class RunsRepo:
    """Mixin with the runs tables' SQL."""

    db: Database

    def insert_run(self, study_id: int, *, name: str, run_dir: str, archs: Sequence[str],
                   protocol_json: str, spec: Mapping[str, Any], seed: int, device: str,
                   versions: Mapping[str, str], weights: Mapping[str, str],
                   demo: bool = False) -> int:
        """Record a new run (status ``running``) and return its id."""
        cur = self.db.execute(
            "INSERT INTO runs (study_id, name, run_dir, status, archs, protocol_json, spec_json,"
            " seed, device, versions, weights, demo, started_at) VALUES"
            " (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [study_id, name, run_dir, json.dumps(list(archs)), protocol_json,
             json.dumps(spec, sort_keys=True), seed, device, json.dumps(dict(versions)),
             json.dumps(dict(weights)), int(demo), now_iso()])
        return int(cur.lastrowid)

    def set_run_status(self, run_id: int, status: str, *, device: str | None = None) -> None:
        """Mark a run running / cancelled / failed / finished."""
        finished = now_iso() if status == "finished" else None
        self.db.execute("UPDATE runs SET status = ?, finished_at = ?, device = COALESCE(?, device)"
                        " WHERE id = ?", [status, finished, device, run_id])

    def runs(self, study_id: int) -> list[RunRow]:
        """A study's runs, oldest first."""
        rows = self.db.execute(f"SELECT {_RUN_COLS} FROM runs WHERE study_id = ? ORDER BY id",
                               [study_id]).fetchall()
        return [_run(r) for r in rows]

    def run(self, name: str) -> RunRow | None:
        """The run called ``name``, or ``None``."""
        r = self.db.execute(f"SELECT {_RUN_COLS} FROM runs WHERE name = ?", [name]).fetchone()
        return _run(r) if r else None

    def upsert_fold_result(self, run_id: int, *, arch: str, fold: int, epochs: int,
                           losses: Sequence[float], checkpoint: str, checkpoint_sha256: str,
                           n_train: int, n_test: int, train_seconds: float,
                           images_per_second: float, predictions: Iterable[tuple[int, float]]
                           ) -> None:
        """Store one finished fold and its held-out predictions (idempotent: replaces)."""
        self.db.execute(
            "INSERT OR REPLACE INTO run_folds (run_id, arch, fold, epochs, losses, checkpoint,"
            " checkpoint_sha256, n_train, n_test, train_seconds, images_per_second, imported_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, arch, fold, epochs, json.dumps([float(x) for x in losses]), checkpoint,
             checkpoint_sha256, n_train, n_test, train_seconds, images_per_second, now_iso()])
        self.db.execute("DELETE FROM predictions WHERE run_id = ? AND arch = ? AND fold = ?",
                        [run_id, arch, fold])
        self.db.conn.executemany(
            "INSERT INTO predictions (run_id, arch, photo_id, fold, prob) VALUES (?, ?, ?, ?, ?)",
            [(run_id, arch, pid, fold, float(p)) for pid, p in predictions])

    def fold_results(self, run_id: int) -> list[dict[str, Any]]:
        """Finished folds of a run."""
        rows = self.db.execute(
            "SELECT arch, fold, epochs, losses, checkpoint, checkpoint_sha256, n_train, n_test,"
            " train_seconds, images_per_second FROM run_folds WHERE run_id = ?"
            " ORDER BY arch, fold", [run_id]).fetchall()
        keys = ("arch", "fold", "epochs", "losses", "checkpoint", "checkpoint_sha256", "n_train",
                "n_test", "train_seconds", "images_per_second")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        for d in out:
            d["losses"] = json.loads(d["losses"])
        return out

    def predictions(self, run_id: int) -> list[tuple[str, int, int, float]]:
        """(arch, photo_id, fold, prob) of every out-of-fold prediction of a run."""
        return [tuple(r) for r in self.db.execute(
            "SELECT arch, photo_id, fold, prob FROM predictions WHERE run_id = ?"
            " ORDER BY arch, photo_id", [run_id]).fetchall()]
