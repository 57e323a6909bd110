"""Setting up an aided study from the GUI: the runs to choose from, and the preparing job.

:func:`aid_options` lists what the admin may choose for a study (its finished runs with
their architectures, the protocol's model and heatmap choice) and :func:`aid_coverage`
checks a choice before anything starts: it names the photos to read that the run has no
out-of-fold score for (the same check, and message, as :func:`~wbsdesk.services.aid.
prepare_aid`). :func:`prepare_aid_job` is the long job itself (Grad-CAM heatmaps take
minutes on a CPU), a plain function run in a spawned process by the GUI: it opens the
workspace itself and returns the new aid's summary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbsdesk.core.jobs import CancelToken, ProgressFn
from wbsdesk.errors import UserError
from wbsdesk.services import aid as aid_service
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

__all__ = ["AidOptions", "RunChoice", "aid_coverage", "aid_options", "prepare_aid_job"]


@dataclass(frozen=True)
class RunChoice:
    """A finished run the aid can come from."""

    name: str
    archs: tuple[str, ...]
    started_at: str


@dataclass(frozen=True)
class AidOptions:
    """What the admin chooses from for a study's aid.

    ``design`` is the protocol's ``[reading] design``; ``model`` and ``heatmaps`` are what
    its sessions show (``aid_model``; ``"heatmap" in aid``), so an aid of another model, or
    one without heatmaps when they are shown, would be refused when a session starts.
    """

    study: str
    design: str
    model: str
    heatmaps: bool
    runs: tuple[RunChoice, ...]
    current: dict[str, Any] | None


def aid_options(ws: Workspace, study_name: str) -> AidOptions:
    """The study's finished runs (newest first), the protocol's choice and the current aid."""
    study = load_study(ws, study_name)
    reading = study.protocol.reading
    runs = [r for r in ws.store.runs(study.id) if r.status == "finished"]
    runs.sort(key=lambda r: r.id, reverse=True)
    current = aid_service.current_aid(ws, study_name)
    return AidOptions(study=study.name, design=reading.design, model=reading.aid_model,
                      heatmaps="heatmap" in reading.aid,
                      runs=tuple(RunChoice(r.name, tuple(r.archs), r.started_at)
                                 for r in runs),
                      current=current.summary() if current is not None else None)


def aid_coverage(ws: Workspace, study_name: str, run: str, model: str) -> str | None:
    """Why ``run`` cannot give the aid with ``model`` (naming missing photos), or None.

    Examples of refusals: the run has no out-of-fold score for some photos to read (they
    are named), it did not train ``model``, the study has no photos to read.
    """
    study = load_study(ws, study_name)
    row = ws.store.run(run)
    try:
        if row is None or row.study_id != study.id:
            raise UserError(f"study {study.name!r} has no run {run!r}")
        archs = aid_service._archs_of(row, model)
        photo_ids = aid_service.scored_photo_ids(ws, study)
        if not photo_ids:
            raise UserError(f"study {study.name!r} has no photos to read")
        aid_service.out_of_fold_scores(ws, study, row, archs, photo_ids)
    except UserError as exc:
        return exc.message
    return None


def prepare_aid_job(root: Path | str, study: str, run: str, *, model: str, heatmaps: bool,
                    device: str = "auto", progress: ProgressFn,
                    cancel: CancelToken) -> dict[str, Any]:
    """Prepare the study's aid from ``run`` (a job function: it opens the workspace).

    Returns
    -------
    dict
        :meth:`~wbsdesk.services.aid.AidSet.summary` of the aid, now the study's.

    Raises
    ------
    UserError
        The run does not cover every photo to read (named), is not finished, or lacks the
        model; nothing is stored then.
    """
    with open_workspace(Path(root)) as ws:
        aid = aid_service.prepare_aid(ws, study, run, model=model, heatmaps=heatmaps,
                                      device=device, progress=progress, cancel=cancel)
        log.info("prepared the aid of %s from run %s (%s, heatmaps %s)", study, run, model,
                 heatmaps)
        return aid.summary()
