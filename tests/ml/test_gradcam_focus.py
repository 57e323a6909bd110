"""Grad-CAM falls where the signal is, names its feature map, and warns when that is coarse."""

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
from wbsdesk.ml.explain import cam_grid, gradcam, overlay
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
    assert cam_grid(model, PX) == (16, 16)
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


@pytest.mark.parametrize(("arch", "px", "grid"), [
    ("resnet18", 64, (2, 2)), ("resnet18", 224, (7, 7)), ("mobilenet_v2", 64, (2, 2)),
    ("vgg16", 64, (4, 4))])
def test_the_feature_map_size_grad_cam_reads(arch, px, grid):
    model = build_model(arch)
    model.train()
    assert cam_grid(model, px) == grid
    assert model.training  # the mode is kept


def test_the_overlay_uses_the_core_colour_ramp():
    assert explain.colorize is core_colorize
    heat = np.linspace(0, 1, 16 * 16, dtype=np.float32).reshape(16, 16)
    out = np.asarray(overlay(Image.new("RGB", (16, 16), (0, 0, 0)), heat, alpha=1.0),
                     dtype=float)
    expected = core_colorize(heat) * (0.35 + 0.65 * heat)[..., None]
    assert np.abs(out - expected).max() <= 1.0
