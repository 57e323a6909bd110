"""Disagreement triage: the documented ranking, the fields of a row, Grad-CAM of a crop."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.gui.test_dashboard import _add_demo_run
from wbsdesk.errors import UserError
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.triage import disagreement_scores, disagreements, gradcam_overlay


@pytest.fixture
def comp_ws(demo_ws):
    """The demo workspace with a synthetic run, and its comparison (simulated readers)."""
    _add_demo_run(demo_ws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = build_comparison(demo_ws, "demo", include_simulated=True)
    return demo_ws, comp


def _with_known_values(comp):
    """The comparison with ratings and ensemble probabilities set to known values.

    Paired photo 3: every reader says 5, the ensemble 0.0 (score 1); photo 7: readers 1,
    ensemble 1.0 (score 1, after photo 3 on the tie); photo 10: readers 3 (0.5 on 0..1),
    ensemble 0.1 (score 0.4); every other photo: readers 3, ensemble 0.5 (score 0).
    """
    n = comp.paired.size
    ratings = np.full(n, 3.0)
    ratings[3], ratings[7] = 5.0, 1.0
    p_paired = np.full(n, 0.5)
    p_paired[3], p_paired[7], p_paired[10] = 0.0, 1.0, 0.1
    ens = np.full(comp.photo_ids.size, 0.5)
    ens[comp.paired] = p_paired
    models = tuple(dataclasses.replace(m, scores=ens) if m.name == "ensemble" else m
                   for m in comp.models)
    readers = tuple(dataclasses.replace(r, ratings=ratings.copy()) for r in comp.readers)
    return dataclasses.replace(comp, models=models, readers=readers)


def test_ranking_follows_the_documented_score(comp_ws):
    ws, comp = comp_ws
    known = _with_known_values(comp)
    rows = disagreements(ws, known, limit=5)
    assert len(rows) == 5
    assert [r["score"] for r in rows[:3]] == pytest.approx([1.0, 1.0, 0.4])
    assert all(r["score"] == pytest.approx(0.0) for r in rows[3:])
    expected = [int(comp.photo_ids[comp.paired[k]]) for k in (3, 7, 10)]
    assert [r["photo_id"] for r in rows[:3]] == expected
    top = rows[0]
    assert top["reader_score"] == 1.0 and top["model_probability"] == 0.0
    assert top["model_name"] == "ensemble"
    # the general formula, on the real comparison
    reader, prob, score = disagreement_scores(comp)
    np.testing.assert_allclose(prob, comp.model("ensemble").scores[comp.paired])
    levels = len(comp.protocol.reading.scale)
    mean = np.mean([r.ratings for r in comp.readers], axis=0)
    np.testing.assert_allclose(reader, (mean - 1) / (levels - 1))
    np.testing.assert_allclose(score, np.abs(reader - prob))
    all_rows = disagreements(ws, comp, limit=0)
    assert len(all_rows) == comp.paired.size
    assert [r["score"] for r in all_rows] == sorted(score.tolist(), reverse=True)


def test_a_row_has_every_field(comp_ws):
    ws, comp = comp_ws
    rows = disagreements(ws, comp, limit=3)
    crops = ws.store.crops(ws.store.study("demo").id)
    for row in rows:
        i = int(np.flatnonzero(comp.photo_ids == row["photo_id"])[0])
        assert row["subject"] == comp.subjects[i] and row["group"] == comp.groups[i]
        assert row["positive"] == bool(comp.y[i])
        assert set(row["models"]) == {"resnet18", "mobilenet_v2", "ensemble"}
        for m in comp.models:
            assert row["models"][m.name] == pytest.approx(float(m.scores[i]))
        crop = crops[row["photo_id"]]
        assert row["model_crop_path"] == ws.root / crop.model_crop_path
        assert row["reader_crop_path"] == ws.root / crop.reader_crop_path
        assert row["model_crop_path"].is_file() and row["reader_crop_path"].is_file()
        assert [r["name"] for r in row["readers"]] == [r.name for r in comp.readers]
        j = int(np.flatnonzero(comp.paired == i)[0])
        for rd, reader in zip(row["readers"], comp.readers, strict=True):
            assert rd["rating"] == int(reader.ratings[j])
            assert rd["binary"] == bool(reader.binary[j])
            stored = [x for x in ws.store.reads(reader.session_id)
                      if x["photo_id"] == row["photo_id"] and not x["practice"]]
            assert rd["response_s"] == pytest.approx(stored[0]["response_s"])


def test_no_readers_no_triage(comp_ws):
    ws, comp = comp_ws
    assert disagreements(ws, dataclasses.replace(comp, readers=())) == []


def _fake_fold_models(ws, run_dir: str, arch: str, folds: int = 2) -> None:
    """Write finished fold checkpoints of an untrained ``arch`` at 32 px (nothing trained),
    with their SHA-256 in ``done.json`` and in the store, as an imported run has them."""
    import torch

    from wbsdesk.ml.checkpoints import save_checkpoint
    from wbsdesk.ml.registry import build_model

    cfg = {"arch": arch, "num_outputs": 2, "input_px": 32,
           "normalize_mean": [0.485, 0.456, 0.406], "normalize_std": [0.229, 0.224, 0.225]}
    run_id = ws.store.run(Path(run_dir).name).id
    for k in range(1, folds + 1):
        torch.manual_seed(k)
        d = ws.root / run_dir / arch / f"fold{k}"
        sha = save_checkpoint(d / "checkpoint.pt",
                              {"model": build_model(arch).state_dict(), "config": cfg})
        (d / "done.json").write_text(json.dumps({"arch": arch, "fold": k,
                                                 "checkpoint_sha256": sha}))
        with ws.store.atomic():
            ws.store.db.execute("UPDATE run_folds SET checkpoint = ?, checkpoint_sha256 = ?"
                                " WHERE run_id = ? AND arch = ? AND fold = ?",
                                [f"{run_dir}/{arch}/fold{k}/checkpoint.pt", sha, run_id, arch,
                                 k])


def test_gradcam_overlay_is_an_rgb_image_of_the_crop_size(comp_ws):
    ws, comp = comp_ws
    run = ws.store.run(comp.run)
    _fake_fold_models(ws, run.run_dir, "resnet18")
    pid = int(comp.photo_ids[0])
    crop = ws.store.crops(ws.store.study("demo").id)[pid]
    with Image.open(ws.root / crop.model_crop_path) as im:
        size = im.size
    out = gradcam_overlay(ws, "demo", comp.run, pid, arch="resnet18")
    assert out.mode == "RGB" and out.size == size
    with pytest.raises(UserError, match="no finished fold model"):
        gradcam_overlay(ws, "demo", comp.run, pid, arch="mobilenet_v2")
    with pytest.raises(UserError, match="no architecture"):
        gradcam_overlay(ws, "demo", comp.run, pid, arch="vgg16")


def test_gradcam_refuses_a_fold_checkpoint_swapped_with_another_folds(comp_ws):
    ws, comp = comp_ws
    run = ws.store.run(comp.run)
    _fake_fold_models(ws, run.run_dir, "resnet18")
    one, two = (ws.root / run.run_dir / "resnet18" / f"fold{k}" for k in (1, 2))
    for name in ("checkpoint.pt", "checkpoint.pt.sha256", "done.json"):  # every file swapped
        a, b = (one / name).read_bytes(), (two / name).read_bytes()
        (one / name).write_bytes(b)
        (two / name).write_bytes(a)
    with pytest.raises(UserError) as err:  # the store still knows which file is which
        gradcam_overlay(ws, "demo", comp.run, int(comp.photo_ids[0]), arch="resnet18")
    text = str(err.value)
    assert f"run {comp.run!r}, resnet18 fold 1" in text and str(one / "checkpoint.pt") in text
    assert "the workspace database" in text and "weights_only" not in text
