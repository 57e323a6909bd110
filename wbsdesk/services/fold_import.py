"""Importing a run folder's finished folds into the store, each checkpoint verified first.

The training job writes only files (:mod:`wbsdesk.ml.cv`); a fold is imported once its
``done.json`` exists, in one transaction, idempotently (upsert on run, architecture and fold).
Its checkpoint's SHA-256 must match ``done.json`` and, on a re-import, what the store holds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from wbsdesk.errors import UserError
from wbsdesk.services.workspace import Workspace

if TYPE_CHECKING:
    from wbsdesk.services.training_data import TrainingData

__all__ = ["import_finished_folds", "import_fold", "import_what_finished", "stored_hashes"]

log = logging.getLogger(__name__)


def import_finished_folds(ws: Workspace, run_id: int, run_dir: Path, data: TrainingData, *,
                          skip: Collection[tuple[str, int]] = ()) -> int:
    """Import every finished fold of a run folder into the store (one transaction each).

    Idempotent: importing a fold again replaces its rows with the same values. A fold's
    checkpoint is imported only when its SHA-256 matches ``done.json`` (and what the store
    holds for the fold already). ``skip`` lists ``(arch, fold)`` units imported already in
    this call's run (counted, not imported again).

    Returns
    -------
    int
        The number of finished folds found.

    Raises
    ------
    UserError
        A fold checkpoint that does not match its recorded SHA-256 (replaced or damaged),
        or predictions for photos outside the fold.
    """
    stored = stored_hashes(ws, run_id)
    n = 0
    for done in sorted(Path(run_dir).glob("*/fold*/done.json")):
        d = done.parent
        key = (d.parent.name, int(d.name.removeprefix("fold")))
        if key not in skip:
            import_fold(ws, run_id, d, data, stored=stored.get(key))
        n += 1
    return n


def import_fold(ws: Workspace, run_id: int, d: Path, data: TrainingData, *,
                stored: str | None = None) -> None:
    """Import one finished fold folder ``run_dir/<arch>/fold<k>`` (one transaction).

    ``stored`` is the checkpoint SHA-256 the store holds for it already (None: read here).

    Raises
    ------
    UserError
        As :func:`import_finished_folds`.
    """
    from wbsdesk.ml.checkpoints import checkpoint_records, verify_file
    from wbsdesk.ml.cvspec import read_oof

    arch, fold = d.parent.name, int(d.name.removeprefix("fold"))
    if stored is None:
        stored = stored_hashes(ws, run_id).get((arch, fold))
    fold_of = dict(zip(data.photo_ids, data.folds, strict=True))
    run = d.parent.parent.name
    info = json.loads((d / "done.json").read_text())
    losses = json.loads((d / "losses.json").read_text())["epoch_losses"]
    oof = read_oof(d / "oof.csv")
    preds = [(int(pid), p) for pid, p in oof.items()]
    wrong = [pid for pid, _ in preds if fold_of.get(pid) != fold]
    if wrong:
        raise UserError(f"{d}: predictions for photos outside fold {fold}: {wrong[:5]}")
    ckpt = d / "checkpoint.pt"
    records = checkpoint_records(ckpt, done=info, stored=stored)
    sha = verify_file(ckpt, records, label=f"run {run!r}, {arch} fold {fold}")
    with ws.store.atomic():
        ws.store.upsert_fold_result(
            run_id, arch=arch, fold=fold, epochs=len(losses), losses=losses,
            checkpoint=ckpt.relative_to(ws.root).as_posix(),
            checkpoint_sha256=sha, n_train=int(info.get("n_train", 0)),
            n_test=len(preds), train_seconds=float(info.get("train_seconds", 0.0)),
            images_per_second=float(info.get("images_per_second", 0.0)), predictions=preds)


def stored_hashes(ws: Workspace, run_id: int) -> dict[tuple[str, int], str]:
    """``(arch, fold)`` -> the checkpoint SHA-256 the store holds for a run's folds."""
    return {(f["arch"], int(f["fold"])): f["checkpoint_sha256"]
            for f in ws.store.fold_results(run_id)}


def import_what_finished(ws: Workspace, run_id: int, run_dir: Path, data: TrainingData, *,
                         skip: Collection[tuple[str, int]] = ()) -> None:
    """Import the finished folds of a run that stopped; the reason it stopped is what the
    user sees, so a fold that cannot be imported (a replaced checkpoint) is only logged."""
    try:
        import_finished_folds(ws, run_id, run_dir, data, skip=skip)
    except UserError as exc:
        log.warning("run folder %s: not every finished fold was imported: %s", run_dir, exc)
