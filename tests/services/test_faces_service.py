"""Aligning a study: statuses, the readiness gate, manual crops, exclusion, resume."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import PROTOCOLS, make_photo, write_manifest
from wbsdesk.core.jobs import CancelToken
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.services import faces
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study

skimage_data = pytest.importorskip("skimage.data")


def _astronaut(path, *, variant: int = 0):
    img = Image.fromarray(skimage_data.astronaut())
    if variant:
        img = img.crop((variant * 4, 0, 512, 512 - variant * 4))
    img.save(path, quality=92)
    return path


@pytest.fixture
def face_study(ws, tmp_path):
    d = tmp_path / "faces"
    d.mkdir()
    _astronaut(d / "astro0.jpg")
    _astronaut(d / "astro1.jpg", variant=1)
    make_photo(d / "noise.png", seed=4, size=(300, 300))
    create_study(ws, "f", PROTOCOLS / "liu2021_wbs.toml")
    import_manifest(ws, "f", write_manifest(d / "m.csv", [
        {"subject_id": "A0", "photo": "astro0.jpg", "group": "wbs"},
        {"subject_id": "A1", "photo": "astro1.jpg", "group": "healthy"},
        {"subject_id": "N", "photo": "noise.png", "group": "healthy"}]))
    return ws


def test_align_gives_ok_and_needs_review_and_stores_clean_crops(face_study):
    ws = face_study
    with pytest.raises(UserError, match="3 photo"):
        faces.require_faces_ok(ws, "f", purpose="training")
    s = faces.align_study(ws, "f", workers=1)
    assert (s.aligned, s.ok, s.needs_review) == (3, 2, 1)
    study = ws.store.study("f")
    crops = ws.store.crops(study.id)
    by_name = {p.original_name: crops[p.id] for p in ws.store.photos(study.id)}
    a = by_name["astro0.jpg"]
    assert a.status == "ok" and a.method == "mtcnn" and a.confidence > 0.95
    assert a.settings["model_crop_px"] == 224 and len(a.landmarks) == 5
    with Image.open(ws.root / a.model_crop_path) as m:
        assert m.size == (224, 224) and not m.info.get("exif") and not m.getexif()
    with Image.open(ws.root / a.reader_crop_path) as r:
        assert r.size == (768, 768) and not r.info.get("exif") and not r.getexif()
    assert by_name["noise.png"].reasons == ["no_face"]
    # the gate names the photo that is not ready, and only that one
    with pytest.raises(UserError) as info:
        faces.require_faces_ok(ws, "f", purpose="reading")
    assert "N (noise.png): no face found" in str(info.value)
    assert "astro" not in str(info.value)
    assert [r["subject"] for r in faces.review_list(ws, "f")] == ["N"]
    # a second run skips everything
    again = faces.align_study(ws, "f", workers=1)
    assert (again.aligned, again.skipped) == (0, 3)


def test_manual_crop_round_trip_and_gate_opens(face_study):
    ws = face_study
    faces.align_study(ws, "f", workers=1)
    study = ws.store.study("f")
    a0 = next(p for p in ws.store.photos(study.id) if p.original_name == "astro0.jpg")
    auto = ws.store.crops(study.id)[a0.id]
    lm = ",".join(f"{v:.1f}" for pt in auto.landmarks for v in pt)
    box = ",".join(f"{v:.1f}" for v in auto.bbox)
    row = faces.set_manual_crop(ws, "f", "A0", box=box, landmarks=lm)
    assert row["method"] == "manual" and row["status"] == "ok"
    new = ws.store.crops(study.id)[row["photo_id"]]
    with Image.open(ws.root / new.model_crop_path) as m1, \
            Image.open(ws.root / auto.model_crop_path) as m0:
        diff = np.abs(np.asarray(m1, float) - np.asarray(m0, float)).mean()
    assert diff < 3.0  # same landmarks, same warp (up to rounding of the stored points)
    faces.set_manual_crop(ws, "f", "noise.png", box="60,60,150,180")
    faces.require_faces_ok(ws, "f", purpose="training")  # no exception now
    actions = [a["action"] for a in ws.store.audit_log(study.id)]
    assert actions.count("manual_crop") == 2
    # --force re-aligns automatic crops but keeps manual ones
    s = faces.align_study(ws, "f", workers=1, force=True)
    assert s.aligned == 1


def test_manual_crop_input_errors(face_study):
    with pytest.raises(UserError, match="4 numbers"):
        faces.set_manual_crop(face_study, "f", "A0", box="1,2,3")
    with pytest.raises(UserError, match="positive width"):
        faces.set_manual_crop(face_study, "f", "A0", box="1,2,0,3")
    with pytest.raises(UserError, match="10 numbers"):
        faces.set_manual_crop(face_study, "f", "A0", box="1,2,3,4", landmarks="1,2")
    with pytest.raises(UserError, match="no photo"):
        faces.set_manual_crop(face_study, "f", "ZZZ", box="1,2,3,4")


def test_exclusion_is_audited_and_lifts_the_gate(face_study):
    ws = face_study
    faces.align_study(ws, "f", workers=1)
    faces.exclude_subject(ws, "f", "N", reason="not a face photo")
    faces.require_faces_ok(ws, "f", purpose="training")
    study = ws.store.study("f")
    log = ws.store.audit_log(study.id)
    assert log[-1]["action"] == "exclude" and log[-1]["detail"]["reason"] == "not a face photo"
    faces.exclude_subject(ws, "f", "N", reason=None)
    with pytest.raises(UserError, match=r"noise\.png"):
        faces.require_faces_ok(ws, "f", purpose="training")
    with pytest.raises(UserError, match="needs a reason"):
        faces.exclude_subject(ws, "f", "N", reason="  ")


def test_resume_after_cancel_skips_finished_photos(face_study):
    ws = face_study
    token = CancelToken()

    def progress(p):
        if p.done == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        faces.align_study(ws, "f", workers=1, progress=progress, cancel=token)
    study = ws.store.study("f")
    assert len(ws.store.crops(study.id)) == 1
    s = faces.align_study(ws, "f", workers=1)
    assert (s.aligned, s.skipped) == (2, 1)
    assert len(ws.store.crops(study.id)) == 3
