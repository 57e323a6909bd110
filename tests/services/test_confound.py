"""Confound audit: planted confounds are found, the baseline uses exactly the stored folds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from tests.conftest import PROTOCOLS
from tests.services.conftest import TINY, tiny_protocol
from tests.services.test_analysis import add_run
from wbsdesk.core.baseline import FLAG_AUC, out_of_fold_logistic
from wbsdesk.core.capture import CAPTURE_STATISTICS, image_features
from wbsdesk.core.folds import assign_folds
from wbsdesk.errors import WbsdeskWarning
from wbsdesk.services import faces
from wbsdesk.services.confound import BASELINE_FEATURES, confound_audit
from wbsdesk.services.demo import write_demo_photos
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, folds

COUNTS = {"wbs": 30, "other_syndrome": 20, "healthy": 30}
CROP = 64
PHOTO = (200, 160)


def make_cropped_study(ws, name: str = "c", *, brighter_positives: bool = True,
                       seed: int = 0) -> dict[str, dict]:
    """A study with stored model crops and alignment results written by hand.

    Positives' crops are 25 grey levels brighter when ``brighter_positives``; healthy
    photos' crops start 16 px left of the photo, so a quarter of each lies outside it
    (padding share 0.25 by construction).
    """
    create_study(ws, name, PROTOCOLS / "demo.toml")
    study_id = ws.store.study(name).id
    rng = np.random.default_rng(seed)
    subjects: dict[str, dict] = {}
    (ws.root / "crops").mkdir(exist_ok=True)
    with ws.store.atomic():
        i = 0
        for group, n in COUNTS.items():
            for _ in range(n):
                key = f"C{i:03d}"
                sid = ws.store.insert_subject(study_id, key=key, group=group, sex="F",
                                              age_months=30.0, diagnosis=None, metadata={})
                pid = ws.store.insert_photo(sid, sha256=f"{i:064x}", stored_path=f"p/{i}.jpg",
                                            original_name=f"{key}.jpg", fmt="JPEG",
                                            width=PHOTO[0], height=PHOTO[1], is_primary=True)
                base = 90 + (25 if brighter_positives and group == "wbs" else 0)
                px = np.clip(rng.normal(base, 25, (CROP, CROP, 3)), 0, 255).astype(np.uint8)
                rel = f"crops/{key}.png"
                Image.fromarray(px).save(ws.root / rel)
                # crop x = photo x + tx: healthy crops start 16 px left of the photo
                tx = 16.0 if group == "healthy" else -50.0
                width = float(rng.uniform(60, 80))
                ws.store.upsert_crop(
                    pid, status="ok", reasons=[], method="mtcnn", n_faces=1,
                    bbox=[50.0, 40.0, width, width * 1.2], landmarks=None,
                    confidence=float(rng.uniform(0.95, 1.0)), model_crop_path=rel,
                    model_crop_sha256="0" * 64, reader_crop_path=None,
                    reader_crop_sha256=None, reader_window=None,
                    model_matrix=[[1.0, 0.0, tx], [0.0, 1.0, -40.0]], image_width=PHOTO[0],
                    image_height=PHOTO[1], settings={"model_crop_px": CROP, "padding": "grey"},
                    seconds=0.1)
                subjects[key] = {"id": sid, "photo": pid, "group": group, "pixels": px}
                i += 1
        assignment = assign_folds([s["id"] for s in subjects.values()],
                                  [s["group"] for s in subjects.values()], k=4, seed=3)
        ws.store.replace_folds(study_id, assignment, seed=3, k=4)
        for s in subjects.values():
            s["fold"] = assignment[s["id"]]
    return subjects


def _cnn(subjects, auc_shift: float = 0.8, seed: int = 1) -> dict[str, dict[int, float]]:
    rng = np.random.default_rng(seed)
    return {"resnet18": {s["photo"]: float(1 / (1 + np.exp(-(rng.normal(
        auc_shift if s["group"] == "wbs" else 0.0, 1.0))))) for s in subjects.values()}}


def _audit(ws, study="c"):
    """The confound audit and the texts of the WbsdeskWarnings it issued (if any)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WbsdeskWarning)
        res = confound_audit(ws, study)
    return res, [str(w.message) for w in caught if issubclass(w.category, WbsdeskWarning)]


def test_a_planted_brightness_confound_is_flagged_and_the_baseline_warns(ws):
    subjects = make_cropped_study(ws)
    add_run(ws, "c", subjects, _cnn(subjects), name="r1")
    res, texts = _audit(ws)
    assert res.run == "r1" and res.baseline_auc.auc > 0.85
    assert res.warning is not None and "ResNet-18" in res.warning
    assert res.warning in texts
    stats = {s.statistic.key: s for s in res.statistics}
    assert stats["brightness"].flagged and stats["brightness"].higher_in == "target"
    assert stats["brightness"].auc >= FLAG_AUC and stats["brightness"].smd > 1
    assert "Brightness" in res.flagged
    (cmp,) = res.comparisons
    assert cmp.model == "ResNet-18" and cmp.baseline_auc == res.baseline_auc.auc
    assert cmp.test.difference < 0


def test_the_padding_share_comes_from_the_stored_transform(ws):
    subjects = make_cropped_study(ws, brighter_positives=False)
    res, _ = _audit(ws)
    pad = res.values["padding_share"]
    healthy = res.groups == "healthy"
    assert np.allclose(pad[healthy], 0.25) and np.allclose(pad[~healthy], 0.0)
    by = {g.group: g for g in res.statistics[0].groups}
    assert by["healthy"].median == pytest.approx(0.25) and by["wbs"].median == 0.0
    # wbs (0) vs controls (healthy 0.25, other 0): P(control > wbs) + ties / 2 = 0.8
    assert res.statistics[0].auc == pytest.approx(0.8) and res.statistics[0].flagged
    assert res.padding == {"grey": 80}
    box = res.values["face_box_share"]
    key = sorted(subjects)[0]
    assert box[0] == pytest.approx(ws.store.crops(ws.store.study("c").id)[
        subjects[key]["photo"]].bbox[2] ** 2 * 1.2 / (PHOTO[0] * PHOTO[1]))
    assert np.allclose(res.values["megapixels"], PHOTO[0] * PHOTO[1] / 1e6)


def test_without_a_confound_the_baseline_is_near_chance_and_silent(ws):
    subjects = make_cropped_study(ws, brighter_positives=False, seed=5)
    add_run(ws, "c", subjects, _cnn(subjects, auc_shift=3.0), name="r1")
    res = confound_audit(ws, "c")
    assert res.baseline_auc.auc < 0.9  # the padding alone still separates somewhat
    assert res.warning is None and not res.statistics[5].flagged  # brightness


def test_the_baseline_uses_exactly_the_stored_folds(ws):
    subjects = make_cropped_study(ws)
    add_run(ws, "c", subjects, _cnn(subjects), name="r1")
    res, _ = _audit(ws)
    stored = ws.store.folds(ws.store.study("c").id)
    expect = [stored[subjects[k]["id"]] for k in res.subjects]
    assert res.folds.tolist() == expect
    assert len(set(res.subjects)) == len(res.subjects)  # one photo, one fold per subject
    # the same out-of-fold fit, rebuilt from the crops and values by hand, on those folds
    feats = np.array([image_features(subjects[k]["pixels"]) for k in res.subjects])
    stats = np.column_stack([res.values[s.key] for s in CAPTURE_STATISTICS])
    y = res.groups == "wbs"
    ref = out_of_fold_logistic(np.hstack([stats, feats]), y, np.array(expect), seed=res.seed)
    assert np.allclose(res.baseline, ref)
    only = out_of_fold_logistic(stats, y, np.array(expect), seed=res.seed)
    assert res.capture_only_auc.auc == roc_auc_score(y, only)
    assert res.n_features == len(BASELINE_FEATURES) == 7 + 88


def test_without_a_run_the_stored_folds_are_used_and_no_cnn_is_compared(ws):
    make_cropped_study(ws)
    res, _ = _audit(ws)
    assert res.run is None and res.comparisons == () and res.warning is None
    assert any("no finished training run" in n for n in res.notes)
    assert set(res.folds.tolist()) == {1, 2, 3, 4}


def test_tables_render_every_part(ws):
    subjects = make_cropped_study(ws)
    add_run(ws, "c", subjects, _cnn(subjects), name="r1")
    tables = {t.name: t for t in _audit(ws)[0].tables()}
    assert set(tables) == {"confound_statistics", "confound_groups", "confound_baseline_auc",
                           "confound_baseline"}
    summary = tables["confound_statistics"].records()
    assert [r["statistic"] for r in summary] == [s.label for s in CAPTURE_STATISTICS]
    assert any(n.startswith("A trivial baseline") for n in tables["confound_statistics"].notes)
    assert any("Padding of the model crops: grey (80 crops)" in n
               for n in tables["confound_statistics"].notes)
    assert len(tables["confound_groups"].rows) == 7 * 5
    rows = tables["confound_baseline_auc"].records()
    assert [r["features"] for r in rows] == [95, 7]
    assert rows[1]["score"] == "capture statistics only"


@pytest.mark.parametrize("padding", ["grey", "edge"])
def test_aligned_study_records_its_padding_with_the_crops(ws, tmp_path, padding):
    manifest = write_demo_photos(tmp_path / "faces", seed=5, counts=TINY)
    proto = tmp_path / "pad.toml"
    proto.write_text(tiny_protocol(tmp_path).read_text().replace(
        "detect_max_side = 640", f'detect_max_side = 640\npadding = "{padding}"'))
    create_study(ws, "t", proto)
    import_manifest(ws, "t", manifest)
    folds(ws, "t")
    faces.align_study(ws, "t", known_faces=True, workers=1)
    crops = ws.store.crops(ws.store.study("t").id)
    assert {c.settings["padding"] for c in crops.values()} == {padding}
    res = confound_audit(ws, "t")
    assert res.padding == {padding: len(crops)}
    assert np.isfinite(res.values["padding_share"]).all()
    assert np.isfinite(res.values["brightness"]).all()
    grey = [(np.asarray(Image.open(ws.root / c.model_crop_path)) == 128).all(axis=2).mean()
            for c in crops.values()]
    if padding == "edge":
        assert max(grey) < 1e-3  # no grey fill; a photo may hold the odd mid-grey pixel
