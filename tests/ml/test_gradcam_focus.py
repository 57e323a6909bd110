"""The heatmap falls where the signal is, reads a map fine enough for the input, and names it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from wbsdesk.core import face_geometry as geo
from wbsdesk.core.colormap import colorize as core_colorize
from wbsdesk.core.heatmaps import face_mask, heat_focus
from wbsdesk.ml import explain
from wbsdesk.ml.explain import cam_map, gradcam, overlay
from wbsdesk.ml.registry import build_model

PX = 64
SQUARE = 8


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _nose_box() -> tuple[int, int]:
    x, y = geo.canonical_landmarks(PX)[2]
    return int(np.rint(x)) - SQUARE // 2, int(np.rint(y)) - SQUARE // 2


def _crops(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise crops; the positives have a bright square on the template's nose tip."""
    x = torch.from_numpy(rng.normal(0.0, 0.5, (n, 3, PX, PX)).astype(np.float32))
    y = torch.arange(n) % 2
    x0, y0 = _nose_box()
    x[y == 1, :, y0:y0 + SQUARE, x0:x0 + SQUARE] = 2.5
    return x, y


def _small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),  # 16 x 16 map at 64 px
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))


def test_heat_falls_on_the_planted_nose_signal_not_as_a_flat_wash():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = _small_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(30):
        x, y = _crops(16, rng)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    assert cam_map(model, torch.zeros(3, PX, PX))[1].grid == (16, 16)
    x, y = _crops(8, rng)
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() == 1.0  # it learned the square
    x0, y0 = _nose_box()
    around = np.zeros((PX, PX), dtype=bool)  # the square and a 4 px margin
    around[y0 - 4:y0 + SQUARE + 4, x0 - 4:x0 + SQUARE + 4] = True
    for img in x[y == 1][:3]:
        heat = gradcam(model, img)
        nose = heat_focus(heat, around)
        face = heat_focus(heat)
        assert nose.mass_share > 0.5, nose  # most heat on 6 % of the crop
        assert nose.area_share < 0.07
        assert face.mass_share > 0.9 and face.lift > 2 and not face.flat
        assert face.entropy < 0.85
    assert face_mask((PX, PX))[y0 + SQUARE // 2, x0 + SQUARE // 2]


@pytest.mark.parametrize(("arch", "px", "layer", "grid", "method", "last_grid"), [
    ("resnet18", 224, "layer4", (7, 7), "Grad-CAM", (7, 7)),  # the paper's input: last block
    ("resnet18", 64, "layer2", (8, 8), "LayerCAM", (2, 2)),  # the demo's: an earlier stage
    ("resnet18", 16, "layer1", (4, 4), "LayerCAM", (1, 1)),  # the finest there is
    ("mobilenet_v2", 224, "features.18", (7, 7), "Grad-CAM", (7, 7)),
    ("mobilenet_v2", 64, "features.6", (8, 8), "LayerCAM", (2, 2)),
    ("vgg16", 224, "features.29", (14, 14), "Grad-CAM", (14, 14)),
    ("vgg16", 64, "features.22", (8, 8), "LayerCAM", (4, 4))])
def test_the_feature_map_a_heatmap_reads(arch, px, layer, grid, method, last_grid):
    model = build_model(arch)
    model.train()
    _, choice = cam_map(model, torch.zeros(3, px, px))
    assert (choice.layer, choice.grid, choice.method, choice.last_grid) == \
        (layer, grid, method, last_grid)
    assert choice.is_last == (method == "Grad-CAM")
    assert model.training  # the mode is kept


def _train_resnet18(rng: np.random.Generator) -> nn.Module:
    torch.manual_seed(0)
    model = build_model("resnet18")
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    model.train()
    for _ in range(40):
        x, y = _crops(16, rng)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model


def test_resnet18_at_the_demos_64_px_points_at_the_planted_signal():
    """At 64 px the last block is 2 x 2 and its Grad-CAM only ever shows a quadrant; the
    map read instead (layer2, 8 x 8, LayerCAM) finds the square on the nose tip."""
    rng = np.random.default_rng(1)
    model = _train_resnet18(rng)
    x, y = _crops(16, rng)
    model.eval()
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() >= 0.9  # it learned the square
    x0, y0 = _nose_box()
    around = np.zeros((PX, PX), dtype=bool)
    around[y0 - 4:y0 + SQUARE + 4, x0 - 4:x0 + SQUARE + 4] = True
    for img in x[y == 1][:3]:
        heat, choice = cam_map(model, img)
        assert (choice.layer, choice.method) == ("layer2", "LayerCAM")
        on = heat_focus(heat, around)
        assert on.lift > 4 and not on.flat, on  # the square and margin are 6 % of the crop
        last, _ = cam_map(model, img, layer="layer4")
        assert heat_focus(last, around).lift < 1.5  # measured 6.5 against 1.03


def test_the_overlay_uses_the_core_colour_ramp():
    assert explain.colorize is core_colorize
    heat = np.linspace(0, 1, 16 * 16, dtype=np.float32).reshape(16, 16)
    out = np.asarray(overlay(Image.new("RGB", (16, 16), (0, 0, 0)), heat, alpha=1.0),
                     dtype=float)
    expected = core_colorize(heat) * (0.35 + 0.65 * heat)[..., None]
    assert np.abs(out - expected).max() <= 1.0
