"""Reading a Grad-CAM heatmap: colour scale, coarse maps, heat on the face, flat washes."""

from __future__ import annotations

import numpy as np
import pytest

from wbsdesk.core import face_geometry as geo
from wbsdesk.core.colormap import colorize, colour_ramp
from wbsdesk.core.heatmaps import (
    coarse_map_warning,
    face_mask,
    folds_text,
    heat_focus,
    template_face_box,
)


def test_the_colour_scale_runs_from_dark_blue_to_dark_red_through_the_overlays_colours():
    ramp = colour_ramp(256)
    assert ramp.shape == (256, 3) and ramp.dtype == np.uint8
    assert ramp[0].tolist() == [0, 0, 128] and ramp[-1].tolist() == [128, 0, 0]
    t = np.linspace(0, 1, 256)
    assert np.array_equal(ramp, colorize(t))
    # cold half blue, warm half red: the scale reads low -> high like the overlay
    assert ramp[:128, 2].mean() > ramp[:128, 0].mean()
    assert ramp[128:, 0].mean() > ramp[128:, 2].mean()
    with pytest.raises(ValueError):
        colour_ramp(1)


@pytest.mark.parametrize(("grid", "px", "warned"), [
    ((2, 2), 64, True), ((1, 1), 32, True), ((4, 4), 64, True), ((4, 4), 128, True),
    ((5, 5), 160, False), ((7, 7), 224, False), ((14, 14), 224, False)])
def test_a_feature_map_of_four_cells_or_fewer_is_too_coarse(grid, px, warned):
    text = coarse_map_warning(grid, px)
    assert (text is not None) == warned
    if warned:
        assert f"only {grid[0]}×{grid[1]} at {px} px input" in text
        assert "cannot localise features" in text


def test_the_template_face_box_holds_the_template_landmarks():
    x, y, w, h = template_face_box(224)
    pts = geo.canonical_landmarks(224)
    assert np.all((pts[:, 0] > x) & (pts[:, 0] < x + w) & (pts[:, 1] > y) & (pts[:, 1] < y + h))
    # the box runs from mid-forehead to chin: about 0.6 x 0.8 of the crop, centred
    assert 0.55 < w / 224 < 0.7 and 0.75 < h / 224 < 0.9
    assert x + w / 2 == pytest.approx(112, abs=2)
    mask = face_mask((224, 224))
    for px, py in pts:
        assert mask[int(py), int(px)]
    assert not mask[2, 2] and not mask[221, 221]
    assert face_mask((64, 64)).mean() == pytest.approx(mask.mean(), abs=0.02)


def test_a_constant_heatmap_is_reported_as_flat():
    focus = heat_focus(np.full((64, 64), 0.7))
    assert focus.flat and focus.sd == 0.0
    assert focus.entropy == pytest.approx(1.0)
    assert focus.mass_share == pytest.approx(focus.area_share)  # heat ignores the face
    assert focus.lift == pytest.approx(1.0)
    assert "flat" in focus.text()
    empty = heat_focus(np.zeros((8, 8)))
    assert empty.flat and empty.to_dict()["mass_share"] is None
    assert "the heatmap is empty" in empty.text()


def test_heat_on_the_nose_is_peaked_and_on_the_face():
    heat = np.zeros((64, 64))
    nose = geo.canonical_landmarks(64)[2]
    yy, xx = np.mgrid[0:64, 0:64]
    heat += np.exp(-((xx - nose[0]) ** 2 + (yy - nose[1]) ** 2) / (2 * 4.0 ** 2))
    focus = heat_focus(heat)
    assert not focus.flat
    assert focus.mass_share > 0.99 and focus.area_share == pytest.approx(0.40, abs=0.03)
    assert focus.lift > 2 and focus.entropy < 0.7 and focus.sd > 0.1
    assert "of the heat lies on the face" in focus.text()
    # heat in a corner, outside the face
    corner = np.zeros((64, 64))
    corner[:8, :8] = 1.0
    assert heat_focus(corner).mass_share == 0.0


def test_folds_are_named_compactly():
    assert folds_text([1, 2, 3, 4, 5]) == "folds 1–5"
    assert folds_text([3]) == "fold 3"
    assert folds_text([1, 2]) == "folds 1 and 2"
