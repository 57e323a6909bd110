"""Study set-up steps as job functions that open their own workspace.

A worker thread needs its own database connection and a spawned process cannot be handed
an open one, so each function here takes the workspace *folder*, opens it, runs one use
case and returns plain (picklable) results. All follow the job contract
``fn(*args, progress=..., cancel=...)``; the GUI runs them in a
:class:`~wbsdesk.gui.runners.ThreadJob` or :class:`~wbsdesk.gui.runners.ProcessJob`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn
from wbsdesk.services import faces, studies
from wbsdesk.services.face_review import CropPreview, preview_manual_crop
from wbsdesk.services.importer import ImportCheck, ImportReport, check_import, import_manifest
from wbsdesk.services.workspace import open_workspace


@dataclass(frozen=True)
class ImportOutcome:
    """An import and the fold assignment that followed it."""

    report: ImportReport
    folds: studies.FoldsReport


def check_import_job(root: str | Path, study: str, manifest: str | Path,
                     photos_dir: str | Path | None = None, *, group_column: str = "group",
                     progress: ProgressFn, cancel: CancelToken) -> ImportCheck:
    """Dry-run an import (:func:`~wbsdesk.services.importer.check_import`); writes nothing."""
    with open_workspace(root) as ws:
        return check_import(ws, study, Path(manifest),
                            Path(photos_dir) if photos_dir else None,
                            group_column=group_column, progress=progress, cancel=cancel)


def import_job(root: str | Path, study: str, manifest: str | Path,
               photos_dir: str | Path | None = None, *, group_column: str = "group",
               progress: ProgressFn, cancel: CancelToken) -> ImportOutcome:
    """Import a manifest (all or nothing), then assign the study's folds once.

    Returns
    -------
    ImportOutcome
        The import report and the folds (Table 3); folds already assigned are kept.
    """
    with open_workspace(root) as ws:
        report = import_manifest(ws, study, Path(manifest),
                                 Path(photos_dir) if photos_dir else None,
                                 group_column=group_column, progress=progress, cancel=cancel)
        progress(Progress(1, 1, "assigning folds"))
        return ImportOutcome(report, studies.folds(ws, study))


def align_job(root: str | Path, study: str, *, force: bool = False,
              workers: int | None = None, progress: ProgressFn,
              cancel: CancelToken) -> faces.AlignSummary:
    """Align a study's faces, with a pool of worker processes as ``wbsdesk align`` does.

    Each photo is committed when done, so a cancelled run resumes where it stopped.
    ``workers`` defaults to :func:`~wbsdesk.services.faces.align_study`'s choice.
    """
    with open_workspace(root) as ws:
        return faces.align_study(ws, study, force=force, workers=workers, progress=progress,
                                 cancel=cancel)


def preview_crop_job(root: str | Path, study: str, photo_id: int, *, box: Sequence[float],
                     landmarks: Sequence[float] | None = None, progress: ProgressFn,
                     cancel: CancelToken) -> CropPreview:
    """The crops a hand-placed box would give (:func:`preview_manual_crop`); stores nothing."""
    cancel.raise_if_cancelled()
    with open_workspace(root) as ws:
        return preview_manual_crop(ws, study, int(photo_id), box=box, landmarks=landmarks)


def apply_crop_job(root: str | Path, study: str, photo_id: int, *, box: Sequence[float],
                   landmarks: Sequence[float] | None = None, progress: ProgressFn,
                   cancel: CancelToken) -> dict[str, Any]:
    """Store a manual crop (:func:`~wbsdesk.services.faces.set_manual_crop`, audited)."""
    cancel.raise_if_cancelled()
    with open_workspace(root) as ws:
        return faces.set_manual_crop(ws, study, int(photo_id), box=list(box),
                                     landmarks=None if landmarks is None else list(landmarks))
