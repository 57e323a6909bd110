"""Fold models from a run folder, ensemble predictions, Grad-CAM and overlays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from wbsdesk.errors import UserError
from wbsdesk.ml.cv import CVSpec, run_cv
from wbsdesk.ml.data import decode_crops, preprocess
from wbsdesk.ml.explain import colorize, explain_crop, gradcam, overlay
from wbsdesk.ml.infer import load_fold_models, load_run_models, predict_crops
from wbsdesk.ml.registry import build_model, list_archs

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 2-architecture x 2-fold x 1-epoch run on 12 tiny crops."""
    root = tmp_path_factory.mktemp("infer")
    rng = np.random.default_rng(3)
    paths, labels, folds = [], [], []
    for i in range(12):
        arr = rng.integers(0, 200, size=(36, 36, 3), dtype=np.uint8)
        arr[8:28, 8:28, i % 2] = 255
        paths.append(root / f"c{i}.png")
        Image.fromarray(arr).save(paths[-1])
        labels.append(i % 2)
        folds.append(i // 2 % 2 + 1)
    spec = CVSpec(run_dir=root / "run", archs=("resnet18", "mobilenet_v2"),
                  photo_ids=[f"p{i}" for i in range(12)], crop_paths=paths, labels=labels,
                  folds=folds, epochs=1, batch_size=4, input_px=32, seed=3, device="cpu",
                  deterministic=True, num_threads=1, copies=1)
    return spec, run_cv(spec)


def test_load_fold_models_rebuilds_from_checkpoints(run):
    spec, _ = run
    fms = load_fold_models(spec.run_dir, "resnet18")
    assert [f.fold for f in fms] == [1, 2]
    assert all(not f.model.training and f.input_px == 32 for f in fms)
    assert fms[0].model.fc.out_features == 2
    with pytest.raises(UserError, match="no finished fold"):
        load_fold_models(spec.run_dir, "vgg16")


def test_predictions_match_oof_and_ensemble_is_the_mean(run):
    spec, summary = run
    pred = predict_crops(spec.run_dir, spec.crop_paths)
    n = len(spec.photo_ids)
    assert set(pred.per_arch) == {"resnet18", "mobilenet_v2"}
    for arch, per_fold in pred.per_fold.items():
        assert per_fold.shape == (2, n)
        np.testing.assert_allclose(pred.per_arch[arch], per_fold.mean(axis=0))
        # The fold model predicts its held-out photos exactly as the run's OOF did.
        for row, k in enumerate((1, 2)):
            for i, pid in enumerate(spec.photo_ids):
                if spec.folds[i] == k:
                    assert per_fold[row, i] == pytest.approx(summary.oof[arch][pid], abs=1e-5)
    np.testing.assert_allclose(pred.ensemble, (pred.per_arch["resnet18"]
                                               + pred.per_arch["mobilenet_v2"]) / 2)
    assert np.all((pred.ensemble >= 0) & (pred.ensemble <= 1))
    # Pre-loaded models and decoded tensors give the same answer.
    models = load_run_models(spec.run_dir, ["resnet18"])
    again = predict_crops(models, decode_crops(spec.crop_paths, size=32))
    np.testing.assert_allclose(again.per_arch["resnet18"], pred.per_arch["resnet18"], atol=1e-6)


@pytest.mark.parametrize("arch", list_archs())
def test_gradcam_is_a_finite_map_in_unit_range(arch):
    torch.manual_seed(0)
    model = build_model(arch)
    crop = Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), np.uint8))
    x = preprocess(crop, size=32, mean=MEAN, std=STD)
    heat = gradcam(model, x)
    assert heat.shape == (32, 32) and heat.dtype == np.float32
    assert np.isfinite(heat).all() and heat.min() >= 0 and heat.max() <= 1
    assert all(p.grad is None for p in model.parameters())  # weights untouched
    img = overlay(crop, heat)
    assert img.mode == "RGB" and img.size == crop.size


def test_explain_a_trained_fold_model(run):
    spec, _ = run
    fm = load_fold_models(spec.run_dir, "mobilenet_v2")[0]
    crop = Image.open(spec.crop_paths[0])
    heat, img = explain_crop(fm.model, crop, size=fm.input_px, mean=MEAN, std=STD)
    assert heat.shape == (32, 32) and np.isfinite(heat).all()
    assert heat.min() >= 0 and heat.max() <= 1
    assert img.mode == "RGB" and img.size == (36, 36)


def test_colour_map_and_overlay_extremes():
    ramp = colorize(np.array([[0.0, 0.5, 1.0]]))
    assert ramp.shape == (1, 3, 3) and ramp.dtype == np.uint8
    assert ramp[0, 0, 2] > ramp[0, 0, 0]  # cold is blue
    assert ramp[0, 2, 0] > ramp[0, 2, 2]  # hot is red
    grey = Image.new("L", (10, 8), 128)
    out = overlay(grey, np.zeros((4, 4)), alpha=0.0)
    assert out.mode == "RGB" and np.all(np.asarray(out) == 128)
    assert np.asarray(overlay(grey, np.full((4, 4), np.nan))).shape == (8, 10, 3)


def test_gradcam_of_a_plain_model_uses_its_last_conv():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 2))
    heat = gradcam(net, torch.randn(3, 16, 20))
    assert heat.shape == (16, 20) and np.isfinite(heat).all()


def test_decode_handles_any_crop_size(tmp_path: Path):
    Image.new("RGB", (60, 40), (255, 0, 0)).save(tmp_path / "wide.jpg")
    Image.new("L", (20, 20), 200).save(tmp_path / "grey.png")
    out = decode_crops([tmp_path / "wide.jpg", tmp_path / "grey.png"], size=24)
    assert out.shape == (2, 3, 24, 24) and out.dtype == torch.uint8
    assert out[0, 0].float().mean() > 240 and out[1].float().mean() == pytest.approx(200, abs=1)
    with pytest.raises(UserError, match="cannot read"):
        decode_crops([tmp_path / "missing.png"], size=24)
