"""A study's training runs as the app and the CLI show them: status, units, settings, losses.

Everything here reads the store and the run folders; nothing loads torch. Units finished
by a running run are imported into the store as they finish
(:func:`wbsdesk.services.training.train`), so :func:`list_runs` shows them while the run
goes on.
"""

from __future__ import annotations

import json
from typing import Any

from wbsdesk.core.training_request import SETTING_FLAGS, settings_text
from wbsdesk.errors import UserError
from wbsdesk.services.fold_import import stored_hashes
from wbsdesk.services.run_lock import run_in_use
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace
from wbsdesk.store.runs import RunRow

__all__ = ["RESUMABLE_STATUSES", "get_run", "latest_resumable_run", "list_runs",
           "run_aucs", "run_losses", "run_settings", "stored_checkpoint_hashes"]

#: Run statuses :func:`~wbsdesk.services.training.train` can resume (``running`` too: its
#: process may have died).
RESUMABLE_STATUSES = frozenset({"cancelled", "failed", "running"})


def stored_checkpoint_hashes(ws: Workspace, row: RunRow) -> dict[tuple[str, int], str]:
    """``(arch, fold)`` -> the SHA-256 the store recorded for each imported fold checkpoint
    of a run (what a fold model must match before it is loaded)."""
    return stored_hashes(ws, row.id)


def latest_resumable_run(ws: Workspace, name: str) -> str | None:
    """The newest run of study ``name`` that is not finished and that no process is
    training now (None if there is none)."""
    runs = [r for r in ws.store.runs(load_study(ws, name).id)
            if r.status in RESUMABLE_STATUSES and not run_in_use(ws.root / r.run_dir)]
    return runs[-1].name if runs else None


def run_settings(row: RunRow) -> dict[str, Any]:
    """A run's training settings (what it trains with) and those it changed from its
    protocol: ``{"values": {...}, "protocol": {...}, "overrides": {...}, "text": str}``."""
    values = {k: row.spec.get(k) for k in SETTING_FLAGS if k in row.spec}
    try:
        proto = json.loads(row.protocol_json).get("training", {})
    except (TypeError, ValueError):
        proto = {}
    proto = {k: proto[k] for k in SETTING_FLAGS if k in proto}
    overrides = {k: v for k, v in values.items() if k in proto and proto[k] != v}
    return {"values": values, "protocol": proto, "overrides": overrides,
            "text": settings_text(values, proto)}


def list_runs(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """A study's runs with their status, how many units (architecture x fold) have
    finished and their training settings.

    ``in_use`` is True while some process holds the run's training lock (a ``running`` run
    without it was interrupted and can be resumed). ``folds_done`` counts finished units
    as they finish; ``settings`` is :func:`run_settings`.
    """
    study = load_study(ws, name)
    out = []
    for r in ws.store.runs(study.id):
        folds = ws.store.fold_results(r.id)
        out.append({"run": r.name, "status": r.status, "archs": r.archs,
                    "epochs": r.spec.get("epochs"), "folds_done": len(folds),
                    "folds_total": len(r.archs) * study.protocol.folds.k, "device": r.device,
                    "demo": r.demo, "started_at": r.started_at, "finished_at": r.finished_at,
                    "in_use": r.status == "running" and run_in_use(ws.root / r.run_dir),
                    "settings": run_settings(r)})
    return out


def get_run(ws: Workspace, study: Study, run: str | None) -> RunRow:
    """A named run of the study, or its latest finished one."""
    if run is not None:
        row = ws.store.run(run)
        if row is None or row.study_id != study.id:
            raise UserError(f"no run named {run!r} for study {study.name!r}")
        return row
    finished = [r for r in ws.store.runs(study.id) if r.status == "finished"]
    if not finished:
        raise UserError(f"study {study.name!r} has no finished training run",
                        hint=f"run 'wbsdesk train {study.name}'")
    return finished[-1]


def run_losses(ws: Workspace, name: str, run: str) -> dict[str, dict[int, list[float]]]:
    """Mean training loss per epoch of every fold of a run that has trained an epoch.

    Finished folds come from the store; unfinished ones from the run folder's
    ``losses.json`` (written after every epoch), so a cancelled run shows where it stopped.

    Returns
    -------
    dict
        ``{arch: {fold: [loss of epoch 1, ...]}}``.
    """
    row = get_run(ws, load_study(ws, name), run)
    out: dict[str, dict[int, list[float]]] = {}
    for f in ws.store.fold_results(row.id):
        out.setdefault(f["arch"], {})[int(f["fold"])] = [float(x) for x in f["losses"]]
    for path in sorted((ws.root / row.run_dir).glob("*/fold*/losses.json")):
        arch, fold = path.parent.parent.name, int(path.parent.name.removeprefix("fold"))
        if fold in out.get(arch, {}):
            continue
        try:
            losses = json.loads(path.read_text())["epoch_losses"]
        except (OSError, ValueError, KeyError):  # being replaced right now; next read has it
            continue
        out.setdefault(arch, {})[fold] = [float(x) for x in losses]
    return out


def run_aucs(ws: Workspace, name: str, run: str) -> dict[str, float]:
    """Out-of-fold AUC of a finished run, pooled over folds: per architecture and ensemble.

    The ensemble scores each photo by the mean of the architectures' probabilities. A run
    without predictions for every included photo gives ``{}``.
    """
    from wbsdesk.core.roc import auc_score
    from wbsdesk.services.training_data import training_data

    study = load_study(ws, name)
    row = get_run(ws, study, run)
    data = training_data(ws, study)
    label = dict(zip(data.photo_ids, data.labels, strict=True))
    probs: dict[str, dict[int, float]] = {}
    for arch, pid, _fold, p in ws.store.predictions(row.id):
        probs.setdefault(arch, {})[int(pid)] = float(p)
    if not probs or any(set(label) - set(probs.get(a, {})) for a in row.archs):
        return {}
    y = [label[pid] for pid in data.photo_ids]
    out = {a: auc_score(y, [probs[a][pid] for pid in data.photo_ids]) for a in row.archs}
    if len(row.archs) > 1:
        out["ensemble"] = auc_score(y, [sum(probs[a][pid] for a in row.archs) / len(row.archs)
                                        for pid in data.photo_ids])
    return out
