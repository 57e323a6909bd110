"""Training use cases: a study's cross-validation run from a :class:`TrainRequest`, resume.

The wizard, the Training view, the CLI and the Ray driver all build one
:class:`~wbsdesk.core.training_request.TrainRequest`. The training job
(:func:`wbsdesk.ml.cv.run_cv`) writes only files into the run folder; this module imports
each unit (architecture x fold) into the store as soon as it finishes, in one transaction,
idempotently, so ``runs`` and the Training view show finished units while the run goes on.
Run queries (:func:`list_runs`, :func:`get_run`, ...) live in :mod:`wbsdesk.services.runs`
and are re-exported here.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wbsdesk import __version__
from wbsdesk.config import ensure_private_dir
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.core.scheduling import UnitsFailedError
from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.services.fold_import import (
    import_finished_folds,
    import_fold,
    import_what_finished,
    stored_hashes,
)
from wbsdesk.services.photos import sha256_file
from wbsdesk.services.run_lock import RunLock
from wbsdesk.services.runs import (
    RESUMABLE_STATUSES,
    get_run,
    latest_resumable_run,
    list_runs,
    run_aucs,
    run_losses,
    run_settings,
    stored_checkpoint_hashes,
)
from wbsdesk.services.studies import Study, load_study
from wbsdesk.services.training_data import TrainingData, training_data
from wbsdesk.services.workspace import Workspace, open_workspace
from wbsdesk.store.runs import RunRow

if TYPE_CHECKING:  # torch stays out of processes that only list runs (the GUI)
    from wbsdesk.ml.cv import CVSpec, CVSummary

__all__ = ["CHECKPOINT_SECONDS", "RESUMABLE_STATUSES", "RunSettings", "TrainReport",
           "TrainRequest", "TrainingData", "get_run", "import_finished_folds",
           "latest_resumable_run", "list_runs", "load_study", "new_run_name", "run_aucs",
           "run_losses", "stored_checkpoint_hashes", "train", "train_job", "training_data"]

log = logging.getLogger(__name__)

#: Least time between two checkpoints of a fold. On a GPU an epoch takes about a second and
#: a VGG checkpoint is 1.1 GB, so checkpointing every epoch would be most of the work; a
#: crash or kill costs at most this much training (a cancel, too: it keeps the last one).
CHECKPOINT_SECONDS = 60.0


@dataclass(frozen=True)
class TrainReport:
    """What ``train`` did; ``settings`` is :func:`~wbsdesk.services.runs.run_settings`."""

    run: str
    status: str
    run_dir: str
    archs: list[str]
    device: str
    folds_imported: int
    seconds: float
    summary: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)


def _versions() -> dict[str, str]:
    import torch
    import torchvision

    return {"wbsdesk": __version__, "torch": torch.__version__,
            "torchvision": torchvision.__version__, "python": platform.python_version()}


def train(ws: Workspace, request: TrainRequest, *, progress: ProgressFn = no_progress,
          cancel: CancelToken | None = None) -> TrainReport:
    """Run (or resume) the study protocol's cross-validation as ``request`` asks.

    Parameters
    ----------
    ws : Workspace
    request : TrainRequest
        The study, architectures, run settings (overrides of the protocol's input size,
        batch size, learning rate, schedule, epochs), device(s), workers or Ray cluster,
        and the run to resume. Missing ImageNet files stop the run before it starts,
        naming the files and the command that installs them.
    progress, cancel : keyword-only
        The job contract: every report carries a
        :class:`~wbsdesk.core.train_events.TrainEvent`. A cancelled run stays resumable.

    Raises
    ------
    UserError
        A study not ready for training, settings out of range, a run that cannot resume.
    UnitsFailedError
        Some units failed (named with their architecture and fold); the others are
        imported and the run stays resumable.
    Cancelled
        When ``cancel`` was set.
    """
    if not isinstance(request, TrainRequest):
        raise TypeError("train() takes a TrainRequest, e.g. "
                        "train(ws, TrainRequest('study', deterministic=True))")
    t0 = time.perf_counter()
    cancel = cancel or CancelToken()
    study = load_study(ws, request.study)
    data = training_data(ws, study)
    # The run's lock is held from here until training has ended, however it ends.
    with contextlib.ExitStack() as hold:
        if request.resume is not None:
            spec, run_id, run_name = _resume(ws, study, data, request, hold)
        else:
            spec, run_id, run_name = _start(ws, study, data, request, hold)
        log.info("training run %s of %s: %s", run_name, study.name, ", ".join(spec.archs))
        summary, n = _train_and_import(ws, study, run_id, run_name, spec, data,
                                       progress=progress, cancel=cancel)
    row = ws.store.run(run_name)
    return TrainReport(run=run_name, status="finished", run_dir=str(spec.run_dir),
                       archs=list(spec.archs), device=summary.plan.device, folds_imported=n,
                       seconds=round(time.perf_counter() - t0, 1), summary=summary.as_dict(),
                       settings=run_settings(row) if row is not None else {})


def _execution(request: TrainRequest) -> dict[str, Any]:
    """The spec's execution fields a request sets (they never change what is trained)."""
    return {"workers": request.workers, "devices": request.devices,
            "ray_address": request.ray_address}


def _resume(ws: Workspace, study: Study, data: TrainingData, request: TrainRequest,
            hold: contextlib.ExitStack) -> tuple[CVSpec, int, str]:
    from wbsdesk.ml.cv import CVSpec

    name = request.resume
    row = ws.store.run(name) if name else None
    if row is None or row.study_id != study.id:
        raise UserError(f"no run named {name!r} for study {study.name!r}",
                        hint=f"see 'wbsdesk runs {study.name}'")
    if row.status == "finished":
        raise UserError(f"run {name!r} is already finished")
    stored = {k: v for k, v in row.spec.items() if k != "data_sha256"}
    spec = CVSpec(**{**stored, "photo_ids": data.photo_ids, "crop_paths": data.crop_paths,
                     "labels": data.labels, "folds": data.folds,
                     "run_dir": ws.root / row.run_dir, **_execution(request)})
    if spec.data_fingerprint() != row.spec.get("data_sha256"):
        raise UserError(f"the photos, labels or folds of {study.name!r} changed since run "
                        f"{name!r} started; it cannot be resumed",
                        hint="start a new run instead")
    # refused (UserError) while another process trains this run
    hold.enter_context(RunLock(spec.run_dir, row.name))
    _check_weights_unchanged(row, spec)
    with ws.store.atomic():
        ws.store.set_run_status(row.id, "running")
    return spec, row.id, row.name


def _start(ws: Workspace, study: Study, data: TrainingData, request: TrainRequest,
           hold: contextlib.ExitStack) -> tuple[CVSpec, int, str]:
    from wbsdesk.ml.cv import CVSpec
    from wbsdesk.ml.weights import require_weights

    protocol = request.settings.apply(study.protocol)
    training = protocol.training
    init = request.weights or training.init
    chosen = list(request.archs or training.architectures)
    weight_files = require_weights(chosen) if init == "imagenet" else {}
    run_name = request.run_name or new_run_name(ws, study.name)
    if ws.store.run(run_name) is not None:
        raise UserError(f"a run named {run_name!r} exists already")
    run_dir = ensure_private_dir(ensure_private_dir(ws.runs_dir) / run_name)
    spec = CVSpec.from_protocol(
        training, protocol.augmentation, run_dir=run_dir, photo_ids=data.photo_ids,
        crop_paths=data.crop_paths, labels=data.labels, folds=data.folds,
        weights_dir="default" if init == "imagenet" else None, archs=tuple(chosen),
        device=request.device, deterministic=request.deterministic,
        checkpoint_seconds=CHECKPOINT_SECONDS, **_execution(request))
    stored = {**spec.as_dict(), "data_sha256": spec.data_fingerprint()}
    for key in ("photo_ids", "crop_paths", "labels", "folds", "run_dir"):
        stored.pop(key)
    hashes = {a: sha256_file(p) for a, p in weight_files.items()}
    hold.enter_context(RunLock(run_dir, run_name))
    with ws.store.atomic():
        run_id = ws.store.insert_run(
            study.id, name=run_name, run_dir=run_dir.relative_to(ws.root).as_posix(),
            archs=chosen, protocol_json=study.protocol.to_json(), spec=stored,
            seed=spec.seed, device=request.device, versions=_versions(), weights=hashes,
            demo=request.demo)
        ws.store.audit(study.id, "train_start", {
            "run": run_name, "archs": chosen, "epochs": spec.epochs, "init": init,
            "settings": request.settings.overrides()})
    return spec, run_id, run_name


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
    """Train, importing each unit as it finishes; set the run's final status.

    Returns ``(summary, units imported)``.
    """
    from wbsdesk.ml.cv import run_cv
    from wbsdesk.ml.cvspec import fold_dir

    imported: set[tuple[str, int]] = set()
    stored = stored_hashes(ws, run_id)

    def on_progress(p: Progress) -> None:
        ev = p.event
        if ev is not None and ev.arch is not None and ev.fold is not None \
                and ev.state in ("finished", "skipped"):
            key = (ev.arch, ev.fold)
            if key not in imported and (ev.state == "finished" or key not in stored):
                import_fold(ws, run_id, fold_dir(spec.run_dir, *key), data,
                            stored=stored.get(key))
            imported.add(key)
        progress(p)

    try:
        summary = run_cv(spec, progress=on_progress, cancel=cancel)
        n = import_finished_folds(ws, run_id, spec.run_dir, data, skip=imported)
    except Cancelled:
        import_what_finished(ws, run_id, spec.run_dir, data, skip=imported)
        with ws.store.atomic():
            ws.store.set_run_status(run_id, "cancelled")
        log.info("run %s cancelled; resume with 'wbsdesk train %s --resume %s'", run_name,
                 study.name, run_name)
        raise
    except UnitsFailedError as exc:
        import_what_finished(ws, run_id, spec.run_dir, data, skip=imported)
        with ws.store.atomic():
            ws.store.set_run_status(run_id, "failed")
        raise UnitsFailedError(exc.failures, hint=(
            f"the units that finished are kept; fix the cause and train only the others "
            f"with 'wbsdesk train {study.name} --resume {run_name}'")) from None
    except BaseException:
        import_what_finished(ws, run_id, spec.run_dir, data, skip=imported)
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


def train_job(root: Path, request: TrainRequest, *, progress: ProgressFn = no_progress,
              cancel: CancelToken | None = None) -> dict[str, Any]:
    """:func:`train` in its own connection to the workspace at ``root`` (for a job process).

    Returns the report as a dict.
    """
    with open_workspace(root) as ws:
        rep = train(ws, request, progress=progress, cancel=cancel)
    return dict(rep.__dict__)
