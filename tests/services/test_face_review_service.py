"""The face review's data: every primary photo with its status, filters, crop previews."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import PROTOCOLS, make_photo, snapshot, write_manifest
from wbsdesk.errors import UserError
from wbsdesk.services import faces
from wbsdesk.services.face_review import (
    FILTERS,
    LANDMARK_NAMES,
    face_overview,
    filter_counts,
    preview_manual_crop,
)
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study
from wbsdesk.services.workspace import open_workspace

BOX = [20.0, 24.0, 60.0, 70.0]
LANDMARKS = [38, 48, 62, 48, 50, 62, 40, 76, 60, 76]


@pytest.fixture
def review_ws(ws, tmp_path):
    """Four subjects: two cropped by hand, one not aligned, one without a face (excluded)."""
    d = tmp_path / "photos"
    rows = []
    for i in range(4):
        make_photo(d / f"p{i}.png", seed=70 + i)
        rows.append({"subject_id": f"K{i}", "photo": f"p{i}.png",
                     "group": ("wbs", "healthy")[i % 2]})
    create_study(ws, "r", PROTOCOLS / "demo.toml")
    import_manifest(ws, "r", write_manifest(d / "m.csv", rows))
    study = ws.store.study("r")
    photos = {p.original_name: p for p in ws.store.photos(study.id)}
    for name in ("p0.png", "p1.png"):
        faces.set_manual_crop(ws, "r", photos[name].id, box=BOX, landmarks=LANDMARKS)
    with ws.store.atomic():
        ws.store.upsert_crop(photos["p3.png"].id, status="needs_review", reasons=["no_face"],
                             method="mtcnn", n_faces=0, settings={})
    faces.exclude_subject(ws, "r", "K3", reason="profile photo only")
    return ws


def test_overview_lists_every_primary_photo_with_its_state(review_ws):
    entries = {e.subject: e for e in face_overview(review_ws, "r")}
    assert list(entries) == ["K0", "K1", "K2", "K3"]
    k0, k2, k3 = entries["K0"], entries["K2"], entries["K3"]
    assert k0.status == "ok" and k0.method == "manual" and not k0.needs_attention
    assert k0.bbox == tuple(BOX) and len(k0.landmarks) == 5
    assert k0.reader_crop.is_file() and k0.model_crop.is_file() and k0.photo_path.is_file()
    assert k2.status == "not_aligned" and k2.needs_attention and k2.reader_crop is None
    assert "not aligned" in k2.why
    assert k3.excluded and k3.exclusion_reason == "profile photo only"
    assert not k3.needs_attention and "no face" in k3.why
    counts = filter_counts(list(entries.values()))
    assert set(counts) == set(FILTERS)
    assert counts == {"all": 4, "needs_review": 1, "no_face": 0, "ok": 2, "manual": 2,
                      "excluded": 1}
    # the overview agrees with the gate training uses
    assert [r["subject"] for r in faces.review_list(review_ws, "r")] == ["K2"]


def test_preview_is_what_apply_stores_and_writes_nothing(review_ws):
    ws = review_ws
    study = ws.store.study("r")
    p2 = next(p for p in ws.store.photos(study.id) if p.original_name == "p2.png")
    ws.close()
    before = snapshot(ws.root)
    with open_workspace(ws.root) as w:
        prev = preview_manual_crop(w, "r", p2.id, box=BOX, landmarks=LANDMARKS)
    assert snapshot(ws.root) == before, "a preview changed the workspace"
    assert prev.photo_id == p2.id and prev.box == tuple(BOX)
    assert prev.model_crop.size == (224, 224)  # demo protocol: model crop 224 px
    assert prev.reader_crop.size == (512, 512)  # and reader crop 512 px
    assert np.allclose(prev.landmarks, np.reshape(LANDMARKS, (5, 2)))
    with open_workspace(ws.root) as w:
        row = faces.set_manual_crop(w, "r", p2.id, box=BOX, landmarks=LANDMARKS)
        with Image.open(w.root / row["model_crop_path"]) as stored:
            assert np.array_equal(np.asarray(stored.convert("RGB")),
                                  np.asarray(prev.model_crop))
        # without landmarks the box alone gives an upright crop
        box_only = preview_manual_crop(w, "r", p2.id, box=BOX)
        assert len(box_only.landmarks) == 5 and box_only.model_crop.size == (224, 224)


def test_preview_refuses_unusable_input(review_ws):
    study = review_ws.store.study("r")
    pid = review_ws.store.photos(study.id)[0].id
    with pytest.raises(UserError, match="positive width"):
        preview_manual_crop(review_ws, "r", pid, box=[1, 2, 0, 3])
    with pytest.raises(UserError, match="five landmarks"):
        preview_manual_crop(review_ws, "r", pid, box=BOX, landmarks=[1, 2, 3])
    with pytest.raises(UserError, match="does not lie on"):
        preview_manual_crop(review_ws, "r", pid, box=[5000, 5000, 10, 10])
    with pytest.raises(UserError, match="no photo"):
        preview_manual_crop(review_ws, "r", 99_999, box=BOX)


def test_an_int_reference_is_only_a_photo_id(ws, tmp_path):
    """Subject IDs that look like photo ids do not make a GUI crop ambiguous."""
    d = tmp_path / "p"
    rows = [{"subject_id": str(i + 2), "photo": f"x{i}.png", "group": "wbs"} for i in range(3)]
    for i in range(3):
        make_photo(d / f"x{i}.png", seed=90 + i)
    create_study(ws, "n", PROTOCOLS / "demo.toml")
    import_manifest(ws, "n", write_manifest(d / "m.csv", rows))
    photos = ws.store.photos(ws.store.study("n").id)
    target = photos[1]  # photo id 2 belongs to subject "3"; subject "2" owns photo 1
    with pytest.raises(UserError, match="2 photos"):
        faces.set_manual_crop(ws, "n", str(target.id), box=BOX)
    row = faces.set_manual_crop(ws, "n", target.id, box=BOX)
    assert row["photo_id"] == target.id


def test_landmark_names_follow_the_manual_crop_order():
    assert len(LANDMARK_NAMES) == 5
    assert "left" in LANDMARK_NAMES[0] and "eye" in LANDMARK_NAMES[0]
    assert "right" in LANDMARK_NAMES[1] and "nose" in LANDMARK_NAMES[2]
    assert "mouth" in LANDMARK_NAMES[3] and "mouth" in LANDMARK_NAMES[4]
