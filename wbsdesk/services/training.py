"""Training use cases: the cross-validation run of a study, resume, runs and weights.

The training job (:func:`wbsdesk.ml.cv.run_cv`) writes only files into the run folder; this
module imports each finished fold into the store in one transaction, idempotently.
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wbsdesk import __version__
from wbsdesk.config import ensure_private_dir
from wbsdesk.core.jobs import CancelToken, ProgressFn, no_progress
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.services.faces import require_faces_ok
from wbsdesk.services.fold_import import (
    import_finished_folds,
    import_what_finished,
    stored_hashes,
)
from wbsdesk.services.photos import sha256_file
from wbsdesk.services.run_lock import RunLock, run_in_use
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.workspace import Workspace, open_workspace
from wbsdesk.store.runs import RunRow

if TYPE_CHECKING:  # torch stays out of processes that only list runs (the GUI)
    from wbsdesk.ml.cv import CVSpec, CVSummary

log = logging.getLogger(__name__)

#: Least time between two checkpoints of a fold. On a GPU an epoch takes about a second and
#: a VGG checkpoint is 1.1 GB, so checkpointing every epoch would be most of the work; a
#: crash or kill costs at most this much training (a cancel, too: it keeps the last one).
CHECKPOINT_SECONDS = 60.0


@dataclass(frozen=True)
class TrainingData:
    """What a study hands to cross-validation: one row per included primary photo."""

    photo_ids: list[int]
    crop_paths: list[Path]
    labels: list[int]
    folds: list[int]
    subjects: list[str]


def training_data(ws: Workspace, study: Study) -> TrainingData:
    """The included primary photos with their model crop, label (1 = positive) and fold.

    Raises
    ------
    UserError
        If faces are not all ``ok``, or folds are missing for some subject.
    """
    require_faces_ok(ws, study.name, purpose="training")
    folds = ws.store.folds(study.id)
    if not folds:
        raise UserError(f"the folds of {study.name!r} are not assigned yet",
                        hint=f"run 'wbsdesk folds {study.name}'")
    subjects = {s.id: s for s in ws.store.subjects(study.id, include_excluded=False,
                                                   include_practice=False)}
    missing = sorted(s.key for s in subjects.values() if s.id not in folds)
    if missing:
        raise UserError(f"{len(missing)} subject(s) of {study.name!r} have no fold: "
                        f"{', '.join(missing[:10])}",
                        hint=f"run 'wbsdesk folds {study.name} --reassign'")
    crops = ws.store.crops(study.id)
    pos = study.protocol.groups.positive
    rows = sorted((p for p in ws.store.photos(study.id)
                   if p.is_primary and p.subject_id in subjects), key=lambda p: p.id)
    labels = [int(subjects[p.subject_id].group == pos) for p in rows]
    if len(set(labels)) < 2:
        raise UserError(f"study {study.name!r} needs photos of both the positive group and "
                        "the controls to train")
    return TrainingData(photo_ids=[p.id for p in rows],
                        crop_paths=[ws.root / crops[p.id].model_crop_path for p in rows],
                        labels=labels, folds=[folds[p.subject_id] for p in rows],
                        subjects=[subjects[p.subject_id].key for p in rows])


@dataclass(frozen=True)
class TrainReport:
    """What ``train`` did."""

    run: str
    status: str
    run_dir: str
    archs: list[str]
    device: str
    folds_imported: int
    seconds: float
    summary: dict[str, Any]


def _versions() -> dict[str, str]:
    import torch
    import torchvision

    return {"wbsdesk": __version__, "torch": torch.__version__,
            "torchvision": torchvision.__version__, "python": platform.python_version()}


def train(ws: Workspace, name: str, *, archs: list[str] | None = None,
          epochs: int | None = None, device: str = "auto", weights: str | None = None,
          resume: str | None = None, deterministic: bool = False, demo: bool = False,
          run_name: str | None = None, progress: ProgressFn = no_progress,
          cancel: CancelToken | None = None) -> TrainReport:
    """Run (or resume) the study protocol's cross-validation.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study.
    archs : list of str, keyword-only
        Architectures (default: the protocol's).
    epochs : int, keyword-only
        Epochs per fold (default: the protocol's; never chosen on the test fold).
    device : {"auto", "cpu", "cuda"}, keyword-only
    weights : {"imagenet", "none"}, keyword-only
        Initialisation (default: the protocol's). Missing ImageNet files stop the run before
        it starts, naming the files and the command that installs them.
    resume : str, keyword-only
        Name of an unfinished run to continue from its last completed epoch.
    deterministic : bool, keyword-only
        Exact fp32 deterministic mode (CPU); resumed runs then equal uninterrupted ones.
    demo : bool, keyword-only
        Mark the run as the demo's quick run.
    run_name : str, keyword-only
        Name of a new run (default: see :func:`new_run_name`); lets a caller that starts
        the run in another process know its name from the start.
    progress, cancel : keyword-only
        The job contract; a cancelled run stays resumable.
    """
    from wbsdesk.ml.cv import CVSpec
    from wbsdesk.ml.weights import require_weights

    t0 = time.perf_counter()
    cancel = cancel or CancelToken()
    study = load_study(ws, name)
    data = training_data(ws, study)
    # The run's lock is held from here until training has ended, however it ends.
    with contextlib.ExitStack() as hold:
        if resume is not None:
            row = ws.store.run(resume)
            if row is None or row.study_id != study.id:
                raise UserError(f"no run named {resume!r} for study {name!r}",
                                hint=f"see 'wbsdesk runs {name}'")
            if row.status == "finished":
                raise UserError(f"run {resume!r} is already finished")
            stored = {k: v for k, v in row.spec.items() if k != "data_sha256"}
            spec = CVSpec(**{**stored, "photo_ids": data.photo_ids,
                             "crop_paths": data.crop_paths, "labels": data.labels,
                             "folds": data.folds, "run_dir": ws.root / row.run_dir})
            if spec.data_fingerprint() != row.spec.get("data_sha256"):
                raise UserError(f"the photos, labels or folds of {name!r} changed since run "
                                f"{resume!r} started; it cannot be resumed",
                                hint="start a new run instead")
            # refused (UserError) while another process trains this run
            hold.enter_context(RunLock(spec.run_dir, row.name))
            _check_weights_unchanged(row, spec)
            with ws.store.atomic():
                ws.store.set_run_status(row.id, "running")
            run_id, run_name = row.id, row.name
        else:
            training = study.protocol.training
            init = weights or training.init
            if init not in ("imagenet", "none"):
                raise UserError(f"--weights must be 'imagenet' or 'none', not {init!r}")
            chosen = list(archs or training.architectures)
            weight_files = require_weights(chosen) if init == "imagenet" else {}
            run_name = run_name or new_run_name(ws, name)
            if ws.store.run(run_name) is not None:
                raise UserError(f"a run named {run_name!r} exists already")
            run_dir = ensure_private_dir(ensure_private_dir(ws.runs_dir) / run_name)
            options: dict[str, Any] = {"archs": tuple(chosen), "device": device,
                                       "deterministic": deterministic,
                                       "checkpoint_seconds": CHECKPOINT_SECONDS}
            if epochs is not None:
                options["epochs"] = epochs
            spec = CVSpec.from_protocol(
                training, study.protocol.augmentation, run_dir=run_dir,
                photo_ids=data.photo_ids, crop_paths=data.crop_paths, labels=data.labels,
                folds=data.folds, weights_dir="default" if init == "imagenet" else None, **options)
            stored = {**spec.as_dict(), "data_sha256": spec.data_fingerprint()}
            for key in ("photo_ids", "crop_paths", "labels", "folds", "run_dir"):
                stored.pop(key)
            hashes = {a: sha256_file(p) for a, p in weight_files.items()}
            hold.enter_context(RunLock(run_dir, run_name))
            with ws.store.atomic():
                run_id = ws.store.insert_run(
                    study.id, name=run_name, run_dir=run_dir.relative_to(ws.root).as_posix(),
                    archs=chosen, protocol_json=study.protocol.to_json(), spec=stored,
                    seed=spec.seed, device=device, versions=_versions(), weights=hashes, demo=demo)
                ws.store.audit(study.id, "train_start", {"run": run_name, "archs": chosen,
                                                         "epochs": spec.epochs, "init": init})
        log.info("training run %s of %s: %s", run_name, name, ", ".join(spec.archs))
        summary, n = _train_and_import(ws, study, run_id, run_name, spec, data,
                                       progress=progress, cancel=cancel)
    return TrainReport(run=run_name, status="finished", run_dir=str(spec.run_dir),
                       archs=list(spec.archs), device=summary.plan.device, folds_imported=n,
                       seconds=round(time.perf_counter() - t0, 1), summary=summary.as_dict())


def _check_weights_unchanged(row: RunRow, spec: CVSpec) -> None:
    """Refuse to resume a run whose ImageNet weight files changed since it started."""
    if spec.weights_dir is None:
        return
    from wbsdesk.ml.registry import arch_spec

    for arch, sha in sorted(row.weights.items()):
        path = spec.weights_dir / arch_spec(arch).weights_file
        if path.is_file() and sha256_file(path) != sha:
            raise UserError(
                f"run {row.name!r} started from {arch} ImageNet weights with SHA-256 "
                f"{sha[:16]}..., but {path} now holds other bytes; resuming would mix two "
                "starting points", hint="import the weight file the run started from again, "
                "or start a new run")


def _train_and_import(ws: Workspace, study: Study, run_id: int, run_name: str, spec: CVSpec,
                      data: TrainingData, *, progress: ProgressFn,
                      cancel: CancelToken) -> tuple[CVSummary, int]:
    """Train, import the finished folds and set the run's final status; (summary, folds)."""
    from wbsdesk.ml.cv import run_cv

    try:
        summary = run_cv(spec, progress=progress, cancel=cancel)
        n = import_finished_folds(ws, run_id, spec.run_dir, data)
    except Cancelled:
        import_what_finished(ws, run_id, spec.run_dir, data)
        with ws.store.atomic():
            ws.store.set_run_status(run_id, "cancelled")
        log.info("run %s cancelled; resume with 'wbsdesk train %s --resume %s'", run_name,
                 study.name, run_name)
        raise
    except BaseException:
        import_what_finished(ws, run_id, spec.run_dir, data)
        with ws.store.atomic():
            ws.store.set_run_status(run_id, "failed")
        raise
    with ws.store.atomic():
        ws.store.set_run_status(run_id, "finished", device=summary.plan.device)
        ws.store.audit(study.id, "train_finish", {"run": run_name, "folds": n})
    return summary, n


def new_run_name(ws: Workspace, name: str) -> str:
    """A free name for a new run of study ``name``: ``<study>-<UTC date>-<time>``."""
    base = f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    run, n = base, 1
    while ws.store.run(run) is not None:
        n += 1
        run = f"{base}-{n}"
    return run


def train_job(root: Path, name: str, *, progress: ProgressFn = no_progress,
              cancel: CancelToken | None = None, **options: Any) -> dict[str, Any]:
    """:func:`train` in its own connection to the workspace at ``root`` (for a job process).

    ``options`` are :func:`train`'s keyword arguments. Returns the report as a dict.
    """
    with open_workspace(root) as ws:
        rep = train(ws, name, progress=progress, cancel=cancel, **options)
    return dict(rep.__dict__)


def stored_checkpoint_hashes(ws: Workspace, row: RunRow) -> dict[tuple[str, int], str]:
    """``(arch, fold)`` -> the SHA-256 the store recorded for each imported fold checkpoint
    of a run (what a fold model must match before it is loaded)."""
    return stored_hashes(ws, row.id)


#: Run statuses :func:`train` can resume (``running`` too: its process may have died).
RESUMABLE_STATUSES = frozenset({"cancelled", "failed", "running"})


def latest_resumable_run(ws: Workspace, name: str) -> str | None:
    """The newest run of study ``name`` that is not finished and that no process is
    training now (None if there is none)."""
    runs = [r for r in ws.store.runs(load_study(ws, name).id)
            if r.status in RESUMABLE_STATUSES and not run_in_use(ws.root / r.run_dir)]
    return runs[-1].name if runs else None


def list_runs(ws: Workspace, name: str) -> list[dict[str, Any]]:
    """A study's runs with their status and how many folds have finished.

    ``in_use`` is True while some process holds the run's training lock (a ``running`` run
    without it was interrupted and can be resumed).
    """
    study = load_study(ws, name)
    out = []
    for r in ws.store.runs(study.id):
        folds = ws.store.fold_results(r.id)
        out.append({"run": r.name, "status": r.status, "archs": r.archs,
                    "epochs": r.spec.get("epochs"), "folds_done": len(folds),
                    "folds_total": len(r.archs) * study.protocol.folds.k, "device": r.device,
                    "demo": r.demo, "started_at": r.started_at, "finished_at": r.finished_at,
                    "in_use": r.status == "running" and run_in_use(ws.root / r.run_dir)})
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
