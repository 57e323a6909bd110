"""A tiny synthetic-face study for the wizard tests: photos, manifests, a seconds-long protocol."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWizard

from tests.conftest import PROTOCOLS, make_photo
from wbsdesk.services.demo import write_demo_photos

NEXT = QWizard.WizardButton.NextButton
#: Subjects per group: two folds each with both classes.
COUNTS = {"wbs": 4, "other_syndrome": 2, "healthy": 4}
#: The subject whose photo is noise: no face, so it always needs review.
NO_FACE = "NOFACE-1"


def protocol_file(tmp_path: Path, name: str = "tiny") -> Path:
    """The demo protocol at test size: 2 folds, ResNet-18 only, 1 epoch at 32 px."""
    text = (PROTOCOLS / "demo.toml").read_text(encoding="utf-8")
    for old, new in (('name = "demo"', f'name = "{name}"'), ("k = 5", "k = 2"),
                     ("input_px = 64", "input_px = 32"), ("epochs = 8", "epochs = 1"),
                     ("batch_size = 16", "batch_size = 4"),
                     ('architectures = ["resnet18", "mobilenet_v2"]',
                      'architectures = ["resnet18"]'),
                     ("bootstrap_resamples = 2000", "bootstrap_resamples = 200")):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _rows(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def photo_folder(tmp_path: Path, *, seed: int = 11) -> tuple[Path, Path, Path]:
    """Synthetic faces plus one noise photo: (folder, clean manifest, bad manifest).

    The bad manifest has an unknown group and a photo that is not in the folder.
    """
    folder = tmp_path / "incoming"
    manifest = write_demo_photos(folder, seed=seed, counts=COUNTS, with_practice=False)
    rows = _rows(manifest)
    make_photo(folder / "noise.png", seed=3, size=(320, 400))
    rows.append({**rows[-1], "subject_id": NO_FACE, "photo": "noise.png", "group": "healthy",
                 "diagnosis": "", "face_box": "", "landmarks": ""})
    clean = _write(folder / "subjects.csv", rows)
    manifest.unlink()
    bad_rows = [dict(r) for r in rows]
    bad_rows[1]["group"] = "helthy"
    bad_rows[2]["photo"] = "missing.jpg"
    bad = _write(folder / "subjects_bad.csv", bad_rows)
    return folder, clean, bad


def known_faces(manifest: Path) -> dict[str, tuple[list[float], list[float]]]:
    """Subject ID -> (box, flat landmarks) that the generator drew (faces only)."""
    out = {}
    for r in _rows(manifest):
        if r.get("face_box"):
            box = json.loads(r["face_box"])
            lm = [v for pt in json.loads(r["landmarks"]) for v in pt]
            out[r["subject_id"]] = (box, lm)
    return out


def prepared_study(ws, tmp_path: Path, name: str = "t") -> tuple[str, Path]:
    """Create, import and fold study ``name``; crop the faces from the known boxes.

    The noise photo is left as MTCNN would leave it (no face, needs review). No torch is
    loaded. Returns the study name and the clean manifest.
    """
    from wbsdesk.services import faces
    from wbsdesk.services.importer import import_manifest
    from wbsdesk.services.studies import create_study, folds

    _, clean, _ = photo_folder(tmp_path)
    create_study(ws, name, protocol_file(tmp_path))
    import_manifest(ws, name, clean)
    folds(ws, name)
    study = ws.store.study(name)
    keys = {s.id: s.key for s in ws.store.subjects(study.id)}
    known = known_faces(clean)
    for p in ws.store.photos(study.id):
        key = keys[p.subject_id]
        if key in known:
            box, lm = known[key]
            faces.set_manual_crop(ws, name, p.id, box=box, landmarks=lm)
        else:
            with ws.store.atomic():
                ws.store.upsert_crop(p.id, status="needs_review", reasons=["no_face"],
                                     method="mtcnn", n_faces=0, settings={})
    return name, clean


def can_go_on(w) -> bool:
    """What the user sees: is the wizard's Next (or commit) button enabled?"""
    for which in (NEXT, QWizard.WizardButton.CommitButton):
        b = w.button(which)
        if b.isVisible():
            return b.isEnabled()
    return False


def shot(w, path: Path) -> np.ndarray:
    """Grab ``w`` as a PNG (as ``--screenshot`` does) and return its pixels (not empty)."""
    assert w.grab().save(str(path), "PNG")
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    assert arr.shape[0] > 300 and arr.std() > 5
    return arr


def drag(canvas, start, end) -> None:
    """Press, move and release the left button from photo pixel ``start`` to ``end``."""
    a = canvas.photo_to_widget(*start).toPoint()
    b = canvas.photo_to_widget(*end).toPoint()
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for k in (0.3, 0.7, 1.0):
        QTest.mouseMove(canvas, QPoint(round(a.x() + k * (b.x() - a.x())),
                                       round(a.y() + k * (b.y() - a.y()))))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def click_at(canvas, xy) -> None:
    """Click photo pixel ``xy`` on a photo canvas."""
    QTest.mouseClick(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     canvas.photo_to_widget(*xy).toPoint())
