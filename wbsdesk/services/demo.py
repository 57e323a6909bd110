"""The demo study: procedurally drawn synthetic faces, imported through the real import path."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wbsdesk.config import bundled_protocol
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.errors import UserError
from wbsdesk.services import faces, reading, studies
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

DEMO_STUDY = "demo"
DEMO_SEED = 2021
#: The paper's 104 / 91 / 145 subjects scaled to 150.
GROUP_COUNTS = {"wbs": 46, "other_syndrome": 40, "healthy": 64}
#: Age (months) mean / SD per group, after the paper's Table 1 (controls 40.65 +- 43.45).
_AGE = {"wbs": (33.0, 30.0), "other_syndrome": (40.0, 38.0), "healthy": (41.0, 40.0)}
_MALE = {"wbs": 61 / 104, "other_syndrome": 0.52, "healthy": 0.52}
#: The paper's other-syndrome mix (Noonan 43, Down 10, Loeys-Dietz 4, ...).
_OTHER = {"Noonan syndrome (synthetic)": 43, "Down syndrome (synthetic)": 10,
          "Loeys-Dietz syndrome (synthetic)": 4, "DiGeorge syndrome (synthetic)": 3,
          "Marfan syndrome (synthetic)": 3, "Alagille syndrome (synthetic)": 3,
          "Other rare syndrome (synthetic)": 25}
PHOTO_SIZE = (480, 600)


@dataclass(frozen=True)
class DemoResult:
    """What ``build_demo`` made."""

    study: str
    subjects: int
    groups: dict[str, int]
    seed: int
    seconds: float
    run: str | None = None


def write_demo_photos(folder: Path, *, seed: int = DEMO_SEED,
                      counts: dict[str, int] | None = None,
                      progress: ProgressFn = no_progress,
                      cancel: CancelToken | None = None) -> Path:
    """Draw the demo subjects into ``folder`` and write their ``manifest.csv``.

    Deterministic: the same seed and counts give byte-identical files. Subject IDs are
    shuffled across groups so they do not reveal the group. Each row also carries the known
    face box and 5 landmarks (``face_box``, ``landmarks``) and ``synthetic = 1``.

    Returns
    -------
    Path
        The manifest file.
    """
    from wbsdesk.services.synthetic_faces import draw_subject

    cancel = cancel or CancelToken()
    counts = dict(GROUP_COUNTS if counts is None else counts)
    rng = np.random.default_rng(seed)
    plan = [g for g, n in counts.items() for _ in range(n)]
    order = rng.permutation(len(plan))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, idx in enumerate(order):
        cancel.raise_if_cancelled()
        progress(Progress(i, len(plan), "drawing synthetic faces"))
        group = plan[idx]
        sub = np.random.default_rng([seed, i])
        male = sub.random() < _MALE[group]
        mean, sd = _AGE[group]
        age = float(np.clip(sub.gamma((mean / sd) ** 2, sd**2 / mean), 6, 180).round(1))
        diagnosis = ""
        if group == "wbs":
            diagnosis = "Williams-Beuren syndrome (synthetic)"
        elif group == "other_syndrome":
            names = list(_OTHER)
            w = np.array(list(_OTHER.values()), dtype=float)
            diagnosis = names[int(sub.choice(len(names), p=w / w.sum()))]
        _, face = draw_subject(group, sub, sex="M" if male else "F", age_months=age,
                               size=PHOTO_SIZE)
        sid = f"DEMO-{i + 1:03d}"
        name = f"{sid}.jpg"
        face.image.save(folder / name, "JPEG", quality=92)
        x, y, w_, h_ = face.bbox
        rows.append({"subject_id": sid, "photo": name, "group": group,
                     "sex": "M" if male else "F", "age_months": f"{age:g}",
                     "diagnosis": diagnosis, "primary": "1", "synthetic": "1",
                     "face_box": json.dumps([round(v, 2) for v in (x, y, w_, h_)]),
                     "landmarks": json.dumps(np.round(face.landmarks, 2).tolist())})
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def build_demo(ws: Workspace, *, seed: int = DEMO_SEED, train: bool = True,
               counts: dict[str, int] | None = None, progress: ProgressFn = no_progress,
               cancel: CancelToken | None = None) -> DemoResult:
    """Build the study ``demo`` in ``ws``: synthetic photos, import, folds, crops, simulated
    readers and (``train``) a quick CPU training run of the demo protocol.

    ``counts`` (subjects per group) defaults to :data:`GROUP_COUNTS`; the self-test uses a
    smaller demo. A cancelled or failed training leaves the study in place (resumable with
    ``wbsdesk train demo --resume RUN``); any earlier failure removes the study again.

    Raises
    ------
    UserError
        If the workspace already has a study named ``demo``.
    """
    t0 = time.perf_counter()
    if ws.store.study(DEMO_STUDY) is not None:
        raise UserError(f"the workspace {ws.root} already has a study named {DEMO_STUDY!r}",
                        hint="use 'wbsdesk demo --if-missing', or another --workspace")
    scratch = ws.tmp_dir / f"demo-{seed}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        manifest = write_demo_photos(scratch, seed=seed, counts=counts, progress=progress,
                                     cancel=cancel)
        study = studies.create_study(ws, DEMO_STUDY, bundled_protocol("demo"))
        try:
            import_manifest(ws, DEMO_STUDY, manifest, progress=progress, cancel=cancel)
            studies.folds(ws, DEMO_STUDY)
            # The generator knows each face's box and landmarks: crop through the manual
            # path (MTCNN finds ~97 % of these synthetic faces at p >= 0.9, not all).
            faces.align_study(ws, DEMO_STUDY, known_faces=True, workers=1, progress=progress,
                              cancel=cancel)
            # Four simulated readers (flagged simulated everywhere) so the comparison views
            # have human reads on a fresh machine.
            reading.add_simulated_readers(ws, DEMO_STUDY, seed=seed)
        except BaseException:
            with ws.store.atomic():
                ws.store.delete_study(study.id)
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    run = None
    if train:
        from wbsdesk.services import training

        run = training.train(ws, DEMO_STUDY, demo=True, progress=progress, cancel=cancel).run
    secs = time.perf_counter() - t0
    log.info("built the demo study (seed %d) in %.1f s", seed, secs)
    groups = dict(GROUP_COUNTS if counts is None else counts)
    return DemoResult(study=DEMO_STUDY, subjects=sum(groups.values()), groups=groups,
                      seed=seed, seconds=secs, run=run)
