"""What a training request would do, before it does it: ``wbsdesk train NAME --plan``.

A run is a set of independent units, one per (architecture, fold); :func:`plan_run` lists
them with their training and test photos, batches per epoch, epochs, seed and state
(``pending``; for ``--resume``, ``started`` or ``done`` from the run folder), the run's
effective settings, and where the local scheduler would train them. Nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from wbsdesk.core.scheduling import UnitPlan, plan_units
from wbsdesk.core.training_request import SETTING_FLAGS, TrainRequest, settings_text
from wbsdesk.errors import UserError
from wbsdesk.services.studies import load_study
from wbsdesk.services.training_data import training_data
from wbsdesk.services.workspace import Workspace

__all__ = ["RunPlan", "plan_run"]


@dataclass(frozen=True)
class RunPlan:
    """The units a request would train and how."""

    study: str
    run: str | None
    archs: list[str]
    settings: dict[str, Any]
    settings_text: str
    units: list[UnitPlan]
    executor: str
    workers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain form (``--json``): units with their ``arch``, ``fold``, ``n_train``,
        ``n_test``, ``steps_per_epoch``, ``epochs``, ``epochs_done``, ``state``, ``seed``."""
        seed = self.settings.get("seed")
        return {"study": self.study, "run": self.run, "archs": self.archs,
                "settings": self.settings, "settings_text": self.settings_text,
                "executor": self.executor, "workers": self.workers,
                "units": [{**u.as_dict(), "seed": [seed, u.arch, u.fold]} for u in self.units]}


def plan_run(ws: Workspace, request: TrainRequest, *, probe: bool = True) -> RunPlan:
    """The units of the run ``request`` starts (or resumes), without training.

    Parameters
    ----------
    ws : Workspace
    request : TrainRequest
    probe : bool, keyword-only
        Also say where the local scheduler would train them (loads torch to look for GPUs
        and memory).

    Raises
    ------
    UserError
        As :func:`~wbsdesk.services.training.train` would, before it trains.
    """
    study = load_study(ws, request.study)
    data = training_data(ws, study)
    done: dict[tuple[str, int], int] = {}
    finished: set[tuple[str, int]] = set()
    if request.resume is not None:
        row = ws.store.run(request.resume)
        if row is None or row.study_id != study.id:
            raise UserError(f"no run named {request.resume!r} for study {study.name!r}",
                            hint=f"see 'wbsdesk runs {study.name}'")
        values = dict(row.spec)
        archs = list(row.archs)
        proto = json.loads(row.protocol_json).get("training", {})
        done, finished = _folder_state(ws.root / row.run_dir)
        run: str | None = row.name
    else:
        protocol = request.settings.apply(study.protocol)
        values = {**protocol.training.__dict__, "copies": protocol.augmentation.copies}
        archs = list(request.archs or protocol.training.architectures)
        proto = dict(study.protocol.training.__dict__)
        run = request.run_name
    settings = {k: values[k] for k in (*SETTING_FLAGS, "seed") if k in values}
    units = plan_units(archs, data.folds, epochs=int(values["epochs"]),
                       batch_size=int(values["batch_size"]), copies=int(values.get("copies", 1)),
                       done=done, finished=finished)
    workers: list[dict[str, Any]] = []
    executor = "ray" if request.ray_address else "local"
    if probe and executor == "local":
        workers = _local_workers(request, values, archs, data, sum(u.state != "done"
                                                                   for u in units))
    return RunPlan(study=study.name, run=run, archs=archs, settings=settings,
                   settings_text=settings_text(values, proto), units=units, executor=executor,
                   workers=workers)


def _folder_state(run_dir: Any) -> tuple[dict[tuple[str, int], int], set[tuple[str, int]]]:
    """Epochs each unit folder holds (``losses.json``) and the units that are done."""
    done: dict[tuple[str, int], int] = {}
    finished: set[tuple[str, int]] = set()
    for losses in run_dir.glob("*/fold*/losses.json"):
        d = losses.parent
        key = (d.parent.name, int(d.name.removeprefix("fold")))
        try:
            done[key] = len(json.loads(losses.read_text())["epoch_losses"])
        except (OSError, ValueError, KeyError):
            done[key] = 0
        if (d / "done.json").is_file():
            finished.add(key)
    return done, finished


def _local_workers(request: TrainRequest, values: dict[str, Any], archs: list[str],
                   data: Any, n_units: int) -> list[dict[str, Any]]:
    """Where the local scheduler would train the units (loads torch)."""
    from pathlib import Path

    from wbsdesk.ml.cvspec import CVSpec
    from wbsdesk.ml.scheduler import local_slots
    from wbsdesk.ml.train import plan_execution

    spec = CVSpec(run_dir=Path("."), archs=tuple(archs), photo_ids=data.photo_ids,
                  crop_paths=data.crop_paths, labels=data.labels, folds=data.folds,
                  input_px=int(values["input_px"]), batch_size=int(values["batch_size"]),
                  device=request.device, deterministic=request.deterministic,
                  workers=request.workers, devices=request.devices)
    plan = plan_execution(request.device, deterministic=request.deterministic)
    return [{"device": s.device, "threads": s.threads, "in_process": s.inline}
            for s in local_slots(spec, plan, n_units=max(1, n_units))]
