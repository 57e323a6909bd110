"""What a study hands to cross-validation: its included primary photos, labels and folds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wbsdesk.errors import UserError
from wbsdesk.services.faces import require_faces_ok
from wbsdesk.services.studies import Study
from wbsdesk.services.workspace import Workspace

__all__ = ["TrainingData", "training_data"]


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
