"""Write a small workspace with the wbsdesk that is importable (to keep one made by a release).

``tests/data/release_0_1_0_workspace.tar.gz`` was written by this script running on the
0.1.0 code, before the aided-reading migration (``0006_aided_reading``): a study of six
subjects with reader crops, two physicians (one finished blind session, one interrupted
after two reads), a training run with out-of-fold predictions and an audit log. The
migration tests unpack it and open it with the current code. Run it as::

    PYTHONPATH=/path/to/release/checkout python tests/data/make_release_workspace.py OUT.tar.gz
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

PROTOCOL = """name = "release"
title = "A study made by wbsdesk 0.1.0"
[groups]
names = ["wbs", "other_syndrome", "healthy"]
positive = "wbs"
[reading]
seconds_per_photo = 0.2
response_window_seconds = 0.3
"""
GROUPS = ("wbs", "other_syndrome", "healthy")
N_SUBJECTS = 6


def _jpeg(seed: int, side: int) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


def build(root: Path, scratch: Path) -> None:
    """Write the workspace at ``root`` (``scratch`` holds the photos to import)."""
    from wbsdesk.core.session import ReadRecord
    from wbsdesk.services import reading
    from wbsdesk.services.importer import import_manifest
    from wbsdesk.services.studies import create_study
    from wbsdesk.services.workspace import open_workspace

    proto = scratch / "release.toml"
    proto.write_text(PROTOCOL, encoding="utf-8")
    rows = []
    for i in range(N_SUBJECTS):
        (scratch / f"r{i}.jpg").write_bytes(_jpeg(100 + i, 96))
        rows.append({"subject_id": f"REL-{i:02d}", "photo": f"r{i}.jpg",
                     "group": GROUPS[i % 3]})
    with open(scratch / "m.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open_workspace(root) as ws:
        create_study(ws, "release", proto)
        import_manifest(ws, "release", scratch / "m.csv")
        study = ws.store.study("release")
        photos = ws.store.photos(study.id)
        with ws.store.atomic():
            for p in photos:
                data = _jpeg(500 + p.id, 128)
                sha = hashlib.sha256(data).hexdigest()
                rel = f"crops/{sha[:2]}/{sha}.jpg"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(data)
                ws.store.upsert_crop(p.id, status="ok", reasons=[], method="manual",
                                     n_faces=1, reader_crop_path=rel, reader_crop_sha256=sha,
                                     settings={})
        for name, role in (("Dr A", "pediatrician"), ("Dr B", "clinical geneticist")):
            reading.add_reader(ws, name, role=role, years=7)
        for name, n_reads in (("Dr A", N_SUBJECTS), ("Dr B", 2)):
            setup = reading.open_session(ws, "release", name, seed=11)
            for s in setup.plan[:n_reads]:
                rating = None if s.position == 1 else 1 + (s.photo_id % 5)
                t = 100.0 + 2 * s.position
                reading.record_read(ws, setup.session_id, ReadRecord(
                    position=s.position, photo_id=s.photo_id, practice=s.practice,
                    rating=rating,
                    binary_read=None if rating is None else setup.reading.binary_read(rating),
                    shown_mono=t, hidden_mono=t + 0.2,
                    answered_mono=None if rating is None else t + 0.1,
                    shown_at="2025-01-01T10:00:00.000+00:00",
                    hidden_at="2025-01-01T10:00:00.200+00:00",
                    answered_at=None if rating is None else "2025-01-01T10:00:00.100+00:00",
                    display_s=0.2, response_s=None if rating is None else 0.1,
                    after_interruption=False))
            if n_reads == N_SUBJECTS:
                reading.finish_session(ws, setup.session_id)
            setup.release()
        with ws.store.atomic():
            run_id = ws.store.insert_run(
                study.id, name="release-run", run_dir="runs/release-run",
                archs=["resnet18"], protocol_json=study.protocol_json, spec={"epochs": 1},
                seed=1, device="cpu", versions={"wbsdesk": "0.1.0"}, weights={})
            for fold in (1, 2):
                preds = [(p.id, round(0.1 + 0.13 * i, 3)) for i, p in enumerate(photos)
                         if i % 2 == fold - 1]
                ws.store.upsert_fold_result(
                    run_id, arch="resnet18", fold=fold, epochs=1, losses=[0.7],
                    checkpoint=f"runs/release-run/resnet18/fold{fold}/checkpoint.pt",
                    checkpoint_sha256="0" * 64, n_train=3, n_test=3, train_seconds=1.0,
                    images_per_second=3.0, predictions=preds)
            ws.store.set_run_status(run_id, "finished")


def main(out: str) -> None:
    """Build the workspace in a scratch folder and pack it as ``out`` (tar.gz, ``ws/``)."""
    with tempfile.TemporaryDirectory() as tmp:
        root, scratch = Path(tmp) / "ws", Path(tmp) / "in"
        scratch.mkdir()
        build(root, scratch)
        with tarfile.open(out, "w:gz") as tar:
            for p in sorted(root.rglob("*")):
                rel = p.relative_to(root)
                if rel.parts[0] in ("logs", "locks", "tmp"):
                    continue
                tar.add(p, arcname=str(Path("ws") / rel), recursive=False)


if __name__ == "__main__":
    main(sys.argv[1])
