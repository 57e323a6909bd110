"""Face-crop geometry: similarity estimation, the template, windows, orientation, choice."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from wbsdesk.core import face_geometry as geo


def _similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = math.radians(angle_deg)
    c, s = scale * math.cos(a), scale * math.sin(a)
    return np.array([[c, -s, tx], [s, c, ty]])


def test_docstring_examples_hold():
    assert doctest.testmod(geo).failed == 0


@pytest.mark.parametrize("seed", range(5))
def test_similarity_estimation_recovers_a_known_transform_exactly(seed):
    rng = np.random.default_rng(seed)
    truth = _similarity(rng.uniform(0.05, 8), rng.uniform(-180, 180), *rng.uniform(-500, 500, 2))
    src = rng.uniform(0, 4000, size=(5, 2))
    est = geo.estimate_similarity(src, geo.apply_affine(truth, src))
    np.testing.assert_allclose(est, truth, rtol=1e-9, atol=1e-7)
    scale, angle = geo.similarity_parameters(est)
    assert scale == pytest.approx(math.sqrt(abs(np.linalg.det(truth[:, :2]))))
    assert math.cos(math.radians(angle)) == pytest.approx(truth[0, 0] / scale)


def test_similarity_is_least_squares_and_never_reflects():
    rng = np.random.default_rng(7)
    src = rng.uniform(0, 100, size=(5, 2))
    mirrored = src * np.array([-1.0, 1.0])
    est = geo.estimate_similarity(src, mirrored)
    assert np.linalg.det(est[:, :2]) > 0
    # a perturbed fit is no worse than nearby similarities (least squares)
    dst = geo.apply_affine(_similarity(1.3, 20, 5, -3), src) + rng.normal(0, 2, (5, 2))
    best = geo.estimate_similarity(src, dst)

    def cost(m):
        return float(((geo.apply_affine(m, src) - dst) ** 2).sum())

    for step in (1e-3, -1e-3):
        for a, b, tx, ty in np.eye(4) * step:
            bumped = best + np.array([[a, -b, tx], [b, a, ty]])
            assert cost(best) < cost(bumped)


def test_similarity_rejects_bad_input():
    with pytest.raises(ValueError):
        geo.estimate_similarity(np.ones((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError):
        geo.estimate_similarity(np.zeros((5, 2)), np.zeros((4, 2)))


def test_affine_helpers_round_trip():
    m = _similarity(2.5, 33, 10, -4)
    pts = np.array([[1.0, 2.0], [30.0, -5.0]])
    back = geo.apply_affine(geo.invert_affine(m), geo.apply_affine(m, pts))
    np.testing.assert_allclose(back, pts)
    np.testing.assert_allclose(geo.compose_affine(geo.invert_affine(m), m)[:, :2], np.eye(2),
                               atol=1e-12)


@pytest.mark.parametrize("size", [112, 224, 299])
def test_template_is_level_symmetric_and_scales_with_the_crop(size):
    t = geo.canonical_landmarks(size)
    assert t.shape == (5, 2)
    assert t[0, 1] == pytest.approx(t[1, 1])  # eyes level
    assert t[3, 1] == pytest.approx(t[4, 1])  # mouth corners level
    mid = size / 2
    assert t[0, 0] + t[1, 0] == pytest.approx(2 * mid)  # mirror pairs
    assert t[3, 0] + t[4, 0] == pytest.approx(2 * mid)
    assert t[2, 0] == pytest.approx(mid)
    assert t[0, 1] < t[2, 1] < t[3, 1]  # eyes above nose above mouth
    assert t[1, 0] - t[0, 0] == pytest.approx(0.28 * size)
    # room for forehead above the eyes and chin below the mouth
    assert t[0, 1] > 0.35 * size and t[3, 1] < 0.72 * size
    np.testing.assert_allclose(t, geo.canonical_landmarks(224) * size / 224)


def test_template_has_zero_roll_and_rejects_a_bad_size():
    assert geo.eye_roll_degrees(geo.canonical_landmarks()) == 0.0
    with pytest.raises(ValueError):
        geo.canonical_landmarks(0)


def test_landmarks_in_box_sit_inside_and_symmetric():
    box = (100.0, 50.0, 80.0, 110.0)
    pts = geo.landmarks_in_box(box)
    assert np.all(pts[:, 0] > 100) and np.all(pts[:, 0] < 180)
    assert np.all(pts[:, 1] > 50) and np.all(pts[:, 1] < 160)
    assert pts[0, 0] + pts[1, 0] == pytest.approx(2 * 140)
    assert geo.eye_roll_degrees(pts) == 0.0


@pytest.mark.parametrize("face_area", [(0.30, 0.60), 0.45, (0.2, 0.3), 0.9])
def test_reader_window_is_square_centred_and_gives_the_area_share(face_area):
    box = (1000.0, 1300.0, 900.0, 1250.0)
    x, y, side = geo.reader_window(box, face_area=face_area)
    share = np.mean(face_area)
    assert box[2] * box[3] / side**2 == pytest.approx(share)
    assert x + side / 2 == pytest.approx(box[0] + box[2] / 2)
    assert y + side / 2 == pytest.approx(box[1] + box[3] / 2)
    if isinstance(face_area, tuple):
        assert face_area[0] <= box[2] * box[3] / side**2 <= face_area[1]


def test_reader_window_rejects_bad_input():
    with pytest.raises(ValueError):
        geo.reader_window((0, 0, 0, 10))
    with pytest.raises(ValueError):
        geo.reader_window((0, 0, 10, 10), face_area=0.0)
    with pytest.raises(ValueError):
        geo.reader_window((0, 0, float("nan"), 10))


# numpy equivalents of showing a stored image under each EXIF orientation
_DISPLAY = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.T[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_affine_maps_stored_pixels_to_displayed_pixels(orientation):
    h, w = 5, 7
    stored = np.arange(h * w).reshape(h, w)
    shown = _DISPLAY[orientation](stored)
    matrix, size = geo.orientation_affine(orientation, w, h)
    assert size == (shown.shape[1], shown.shape[0])
    for (row, col), value in np.ndenumerate(stored):
        x, y = geo.apply_affine(matrix, [col + 0.5, row + 0.5])
        assert shown[int(y), int(x)] == value
        assert x % 1 == pytest.approx(0.5) and y % 1 == pytest.approx(0.5)


def test_unknown_orientation_is_upright():
    m, size = geo.orientation_affine(0, 10, 20)
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]])
    assert size == (10, 20)


def test_choose_face_rules():
    big, half_wide, small = [0, 0, 100, 120], [300, 0, 50, 60], [500, 0, 40, 40]
    assert geo.choose_face(np.zeros((0, 4)), np.zeros(0)).reasons == ("no_face",)
    # largest confident wins; a face half as wide (a quarter of the area) counts as another
    choice = geo.choose_face(np.array([half_wide, big]), np.array([0.99, 0.95]))
    assert (choice.index, choice.reasons, choice.status) == (1, ("multiple_faces",),
                                                           "needs_review")
    # a smaller background face does not, nor does an unconfident big one
    assert geo.choose_face(np.array([big, small]), np.array([0.99, 0.99])).reasons == ()
    choice = geo.choose_face(np.array([big, big]), np.array([0.99, 0.8]))
    assert (choice.index, choice.reasons, choice.status) == (0, (), "ok")
    # nothing confident: the largest is still offered, marked low_confidence
    choice = geo.choose_face(np.array([small, big]), np.array([0.85, 0.8]))
    assert (choice.index, choice.reasons) == (1, ("low_confidence",))
    # too small for the protocol
    choice = geo.choose_face(np.array([small]), np.array([0.99]), min_face_px=64)
    assert choice.reasons == ("face_too_small",)
    assert set(geo.REASON_CODES) == {"no_face", "low_confidence", "multiple_faces",
                                     "face_too_small"}


def _enclosing_radius(vectors: np.ndarray) -> float:
    """Textbook minimum enclosing circle by brute force over pairs and triples."""
    pts = [np.asarray(v, float) for v in vectors]
    candidates = []
    for i in range(len(pts)):
        for j in range(i + 1, len(pts)):
            candidates.append(((pts[i] + pts[j]) / 2, np.linalg.norm(pts[i] - pts[j]) / 2))
            for k in range(j + 1, len(pts)):
                (ax, ay), (bx, by), (cx, cy) = pts[i], pts[j], pts[k]
                d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
                if abs(d) < 1e-12:
                    continue
                ux = ((ax**2 + ay**2) * (by - cy) + (bx**2 + by**2) * (cy - ay)
                      + (cx**2 + cy**2) * (ay - by)) / d
                uy = ((ax**2 + ay**2) * (cx - bx) + (bx**2 + by**2) * (ax - cx)
                      + (cx**2 + cy**2) * (bx - ax)) / d
                centre = np.array([ux, uy])
                candidates.append((centre, np.linalg.norm(pts[i] - centre)))
    return min(r for c, r in candidates
               if all(np.linalg.norm(p - c) <= r + 1e-9 for p in pts))


def _worst_error_at(src: np.ndarray, dst: np.ndarray, a: float, b: float) -> float:
    """Best worst-case error for a fixed rotation-scale (a, b): the translation is free."""
    rot = np.array([[a, -b], [b, a]])
    return _enclosing_radius(dst - src @ rot.T)


def test_minimax_similarity_hand_worked_case_beats_least_squares():
    # two points fixed on the x axis, a third lifted by h: the best any similarity can do
    # is to split the lift (h / 2), while least squares moves only a third (max 2h / 3)
    src = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    dst = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    matrix, error = geo.minimax_similarity(src, dst)
    assert error == pytest.approx(1.5, abs=1e-6)
    np.testing.assert_allclose(matrix, [[1, 0, 0], [0, 1, 1.5]], atol=1e-5)
    least = geo.estimate_similarity(src, dst)
    assert np.linalg.norm(geo.apply_affine(least, src) - dst, axis=1).max() == pytest.approx(2.0)


@pytest.mark.parametrize("seed", range(6))
def test_minimax_similarity_matches_a_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    src = geo.canonical_landmarks(224) + rng.normal(0, 4, (5, 2))
    dst = geo.canonical_landmarks(224)
    matrix, error = geo.minimax_similarity(src, dst)
    a, b = matrix[0, 0], matrix[1, 0]
    # its own error is what it says, and its translation is the enclosing circle's centre
    assert error == pytest.approx(np.linalg.norm(geo.apply_affine(matrix, src) - dst,
                                                 axis=1).max(), abs=1e-9)
    assert error == pytest.approx(_worst_error_at(src, dst, a, b), abs=1e-5)
    # no rotation-scale on a grid around it does better (the problem is convex)
    for da in np.linspace(-0.02, 0.02, 9):
        for db in np.linspace(-0.02, 0.02, 9):
            assert _worst_error_at(src, dst, a + da, b + db) >= error - 1e-5
    least = geo.estimate_similarity(src, dst)
    assert error <= np.linalg.norm(geo.apply_affine(least, src) - dst, axis=1).max() + 1e-12


def test_minimax_similarity_is_exact_when_a_similarity_fits():
    rng = np.random.default_rng(3)
    src = rng.normal(0, 50, (5, 2))
    angle = 0.3
    truth = np.array([[2 * math.cos(angle), -2 * math.sin(angle), 7],
                      [2 * math.sin(angle), 2 * math.cos(angle), -4]])
    matrix, error = geo.minimax_similarity(src, geo.apply_affine(truth, src))
    assert error < 1e-6
    np.testing.assert_allclose(matrix, truth, atol=1e-6)
