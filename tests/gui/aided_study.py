"""A tiny aided reading study: reader crops, a finished run's scores and a prepared aid.

The run's out-of-fold predictions are written directly (no training); heatmap files, when
asked for, are drawn here (a bright square) and recorded like :func:`prepare_aid` does.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from tests.gui.reading_study import make_reading_study
from wbsdesk.services import aid as aid_service
from wbsdesk.services.studies import load_study


def aided_protocol(design: str = "sequential_aided", *, aid: str = '["probability"]',
                   washout: float = 28.0, aided_seconds: float | None = None) -> str:
    """Extra ``[reading]`` lines of an aided design."""
    text = f'design = "{design}"\naid = {aid}\nwashout_days = {washout}\n'
    if aided_seconds is not None:
        text += f"aided_seconds = {aided_seconds}\n"
    return text


def score_of(photo_id: int) -> float:
    """The fake run's out-of-fold score of a photo (distinct, easy to spot on screen)."""
    return round(0.05 + (photo_id * 0.137) % 0.9, 3)


def add_run(ws, study_name: str, *, name: str = "run1", skip: frozenset[int] = frozenset(),
            archs: tuple[str, ...] = ("resnet18",)) -> str:
    """A finished run with an out-of-fold score of every scored photo except ``skip``."""
    study = load_study(ws, study_name)
    ids = aid_service.scored_photo_ids(ws, study)
    with ws.store.atomic():
        run_id = ws.store.insert_run(study.id, name=name, run_dir=f"runs/{name}",
                                     archs=list(archs), protocol_json=study.protocol.to_json(),
                                     spec={"epochs": 1}, seed=1, device="cpu",
                                     versions={"torch": "test"}, weights={})
        for arch in archs:
            for fold in (1, 2):
                preds = [(p, score_of(p)) for i, p in enumerate(ids)
                         if i % 2 == fold - 1 and p not in skip]
                ws.store.upsert_fold_result(
                    run_id, arch=arch, fold=fold, epochs=1, losses=[0.5],
                    checkpoint=f"runs/{name}/{arch}/fold{fold}/checkpoint.pt",
                    checkpoint_sha256="0" * 64, n_train=3, n_test=3, train_seconds=1.0,
                    images_per_second=1.0, predictions=preds)
        ws.store.set_run_status(run_id, "finished")
    return name


def _heat_png(ws, crop_rel: str) -> tuple[str, str]:
    with Image.open(ws.root / crop_rel) as im:
        arr = np.array(im.convert("RGB"))
    h, w = arr.shape[:2]
    arr[h // 3: 2 * h // 3, w // 3: 2 * w // 3] = (255, 40, 0)  # a red hot spot
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    data = buf.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    rel = f"aids/{sha[:2]}/{sha}.png"
    (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
    (ws.root / rel).write_bytes(data)
    return rel, sha


def prepare_fake_aid(ws, study_name: str, *, heatmaps: bool = False,
                     run: str = "run1") -> int:
    """Make the study's aid from ``run`` (probabilities; drawn heatmaps if asked)."""
    if not heatmaps:
        return aid_service.prepare_aid(ws, study_name, run, heatmaps=False).id
    study = load_study(ws, study_name)
    row = ws.store.run(run)
    ids = aid_service.scored_photo_ids(ws, study)
    scores, folds = aid_service.out_of_fold_scores(ws, study, row, row.archs, ids)
    crops = ws.store.crops(study.id)
    rows = [(p, scores[p], folds[p], *_heat_png(ws, crops[p].reader_crop_path)) for p in ids]
    with ws.store.atomic():
        set_id = ws.store.insert_aid_set(study.id, run_id=row.id, model="ensemble",
                                         archs=row.archs, heatmaps=True, aids=rows)
        ws.store.set_setting(f"aid_set.{study.id}", str(set_id))
    return set_id


def make_aided_study(ws, tmp_path, *, n: int = 4, design: str = "sequential_aided",
                     aid: str = '["probability"]', heatmaps: bool = False,
                     washout: float = 28.0, aided_seconds: float | None = None,
                     prepare: bool = True, **protocol) -> str:
    """Study ``tiny`` of an aided design with a finished run and (``prepare``) its aid."""
    name = make_reading_study(ws, tmp_path, n=n, extra=aided_protocol(
        design, aid=aid, washout=washout, aided_seconds=aided_seconds), **protocol)
    add_run(ws, name)
    if prepare:
        prepare_fake_aid(ws, name, heatmaps=heatmaps)
    return name
