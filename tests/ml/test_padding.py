"""Model-crop padding: grey, edge and reflect fill what lies outside the photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from wbsdesk.core.capture import padding_share
from wbsdesk.ml import faces
from wbsdesk.ml.face_crops import NEUTRAL_GREY, render_model_crop


def _gradient(w: int = 120, h: int = 100) -> tuple[Image.Image, np.ndarray]:
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = np.linspace(10, 250, w).astype(np.uint8)[None, :]
    arr[..., 1] = np.linspace(20, 200, h).astype(np.uint8)[:, None]
    arr[..., 2] = 60
    return Image.fromarray(arr), arr


# crop x = photo x + 30, crop y = photo y + 10: 30 columns left and 10 rows above outside
SHIFT = np.array([[1.0, 0.0, 30.0], [0.0, 1.0, 10.0]])


def test_grey_padding_fills_outside_with_neutral_grey():
    img, arr = _gradient()
    crop = np.asarray(render_model_crop(img, SHIFT, 64))
    assert (crop[20, :29] == NEUTRAL_GREY).all() and (crop[:9, 40] == NEUTRAL_GREY).all()
    assert tuple(crop[20, 40]) == tuple(arr[10, 10])


def test_edge_padding_repeats_the_border_pixel():
    img, arr = _gradient()
    crop = np.asarray(render_model_crop(img, SHIFT, 64, padding="edge"))
    # left of the photo: its first column, row by row; above it: its first row
    assert np.array_equal(crop[20, :30], np.repeat(arr[10, :1], 30, axis=0))
    assert np.array_equal(crop[:10, 40], np.repeat(arr[:1, 10], 10, axis=0))
    assert not (crop == NEUTRAL_GREY).all(axis=2).any()


def test_reflect_padding_mirrors_about_the_border_pixel():
    img, arr = _gradient()
    crop = np.asarray(render_model_crop(img, SHIFT, 64, padding="reflect"))
    # crop column u samples photo x = u - 30 -> reflected index 30 - u (numpy "reflect")
    assert np.array_equal(crop[20, :30], arr[10, 30:0:-1])
    assert np.array_equal(crop[:10, 40], arr[10:0:-1, 10])
    ref = np.pad(arr, ((10, 0), (30, 0), (0, 0)), mode="reflect")[:64, :64]
    assert np.array_equal(crop, ref)


@pytest.mark.parametrize("padding", ["edge", "reflect"])
def test_a_crop_inside_the_photo_is_the_same_in_every_mode(padding):
    img, _ = _gradient(300, 300)
    m = np.array([[0.8, 0.1, -20.0], [-0.1, 0.8, -30.0]])
    grey = np.asarray(render_model_crop(img, m, 64))
    assert np.array_equal(np.asarray(render_model_crop(img, m, 64, padding=padding)), grey)


def test_a_shrinking_padded_crop_has_no_grey_and_matches_inside():
    img, _ = _gradient(600, 500)
    m = np.array([[0.2, 0.0, 40.0], [0.0, 0.2, 20.0]])  # 5x shrink, 40 px left pad
    grey = np.asarray(render_model_crop(img, m, 224)).astype(int)
    edge = np.asarray(render_model_crop(img, m, 224, padding="edge")).astype(int)
    assert not (edge == 128).all(axis=2)[:, :38].any()
    assert np.abs(grey[40:100, 80:140] - edge[40:100, 80:140]).max() <= 2


def test_unknown_padding_is_an_error():
    img, _ = _gradient()
    with pytest.raises(ValueError, match="padding"):
        render_model_crop(img, SHIFT, 64, padding="zero")


def test_padding_share_counts_the_grey_pixels_of_a_real_crop(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 100, (300, 260, 3), dtype=np.uint8)  # never neutral grey
    path = tmp_path / "p.png"
    Image.fromarray(arr).save(path)
    res = faces.manual_align(path, box=[-20, 40, 150, 170], model_crop_px=112,
                             reader_crop_px=128)
    crop = np.asarray(res.model_crop)
    grey = (crop == NEUTRAL_GREY).all(axis=2).mean()
    share = padding_share(res.model_matrix, res.image_size, 112)
    assert share > 0.05 and grey == pytest.approx(share, abs=0.02)
    padded = faces.manual_align(path, box=[-20, 40, 150, 170], model_crop_px=112,
                                reader_crop_px=128, padding="edge")
    assert (np.asarray(padded.model_crop) == NEUTRAL_GREY).all(axis=2).mean() == 0.0
    assert np.allclose(padded.model_matrix, res.model_matrix)
