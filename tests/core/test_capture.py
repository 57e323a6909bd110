"""Capture statistics, image features and the confound-baseline maths of the core."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from wbsdesk.core import baseline, capture
from wbsdesk.core import face_geometry as geo
from wbsdesk.core.baseline import (
    FLAG_AUC,
    baseline_warning,
    check_subject_folds,
    compare_statistic,
    compare_with_models,
    out_of_fold_logistic,
    standardised_mean_difference,
)
from wbsdesk.core.capture import (
    CAPTURE_STATISTICS,
    colour_histograms,
    image_features,
    luma_statistics,
    padding_share,
    thumbnail,
)
from wbsdesk.core.delong import delong_test
from wbsdesk.errors import UserError

# ---------------------------------------------------------------------------------------------
# Padding share


def test_padding_share_of_shifted_and_scaled_crops_by_hand():
    # crop 100 px; photo 200 x 100. Identity: inside. Shift right by 30: 30 columns outside.
    assert padding_share([[1, 0, 0], [0, 1, 0]], (200, 100), 100) == 0.0
    assert padding_share([[1, 0, 30], [0, 1, 0]], (200, 100), 100) == pytest.approx(0.30)
    # scale 0.5 (crop covers 200 x 200 photo px) at the origin: rows 50..99 are below it
    assert padding_share([[0.5, 0, 0], [0, 0.5, 0]], (200, 100), 100) == pytest.approx(0.5)
    # both: 30 columns left and 20 rows above outside -> 1 - 0.7 * 0.8
    assert padding_share([[1, 0, 30], [0, 1, 20]], (500, 500), 100) == pytest.approx(0.44)


def test_padding_share_of_a_rotated_crop_counts_pixel_centres():
    # 45 degrees about the crop centre, photo exactly the crop's size: the crop's four
    # corners stick out as right isosceles triangles of height h = n/sqrt(2) - n/2, each of
    # area h^2, so the share is 4 h^2 / n^2 = 3 - 2 sqrt(2) ~ 0.1716
    n = 200
    c = n / 2
    rot = np.array([[math.cos(math.pi / 4), -math.sin(math.pi / 4)],
                    [math.sin(math.pi / 4), math.cos(math.pi / 4)]])
    m = np.hstack([rot, (np.array([c, c]) - rot @ np.array([c, c]))[:, None]])
    share = padding_share(m, (n, n), n)
    assert share == pytest.approx(3 - 2 * math.sqrt(2), abs=0.005)


def test_padding_share_refuses_a_broken_transform():
    with pytest.raises(UserError):
        padding_share([[1, 0], [0, 1]], (10, 10), 5)
    with pytest.raises(UserError):
        padding_share([[1, 0, 0], [0, 1, 0]], (0, 10), 5)


# ---------------------------------------------------------------------------------------------
# Image statistics and features


def _crop(seed: int, size: int = 224) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_luma_statistics_use_bt601_weights():
    px = _crop(0, 32)
    y = (0.299 * px[..., 0] + 0.587 * px[..., 1] + 0.114 * px[..., 2]) / 255
    assert luma_statistics(px) == pytest.approx((y.mean(), y.std()))


def test_thumbnail_is_the_block_mean_of_the_luma():
    px = _crop(1)
    y = (px.astype(float) @ [0.299, 0.587, 0.114]) / 255
    ref = y.reshape(8, 28, 8, 28).mean(axis=(1, 3)).ravel()
    assert np.allclose(thumbnail(px), ref)
    odd = _crop(2, 50)  # uneven blocks still average every pixel once
    yo = (odd.astype(float) @ [0.299, 0.587, 0.114]) / 255
    t = thumbnail(odd)
    assert t.shape == (64,) and t.min() >= yo.min() and t.max() <= yo.max()


def test_colour_histograms_equal_numpy_histograms():
    px = _crop(3)
    h = colour_histograms(px)
    for ch in range(3):
        ref, _ = np.histogram(px[..., ch], bins=8, range=(0, 256))
        assert np.allclose(h[ch * 8:(ch + 1) * 8], ref / ref.sum())
    assert image_features(px).shape == (64 + 24,)
    assert len(capture.image_feature_names()) == 88


# ---------------------------------------------------------------------------------------------
# Comparing one statistic between groups


def test_smd_by_hand():
    t, c = [2.0, 4.0, 6.0], [1.0, 2.0, 3.0]
    # means 4 and 2, variances 4 and 1 -> 2 / sqrt(2.5)
    assert standardised_mean_difference(t, c) == pytest.approx(2 / math.sqrt(2.5))
    assert math.isnan(standardised_mean_difference([1.0], c))
    assert math.isnan(standardised_mean_difference([0.288] * 46, [0.288] * 104))


def test_compare_statistic_gives_group_quartiles_smd_and_direction_free_auc():
    rng = np.random.default_rng(0)
    groups = np.array(["wbs"] * 40 + ["healthy"] * 50 + ["other"] * 30)
    x = np.r_[rng.normal(0.08, 0.03, 40), rng.normal(0.2, 0.05, 50), rng.normal(0.1, 0.04, 30)]
    x[5] = np.nan
    stat = CAPTURE_STATISTICS[0]
    r = compare_statistic(stat, x, groups, positive="wbs",
                          group_order=["wbs", "other", "healthy"])
    assert [g.group for g in r.groups] == ["wbs", "other", "healthy", "target", "controls"]
    hq = np.percentile(x[groups == "healthy"], [25, 50, 75])
    healthy = r.groups[2]
    assert (healthy.q1, healthy.median, healthy.q3) == pytest.approx(tuple(hq))
    assert r.groups[0].n == 39 and r.n_missing == 1
    y = groups == "wbs"
    keep = ~np.isnan(x)
    raw = roc_auc_score(y[keep], x[keep])
    assert raw < 0.5 and r.auc == pytest.approx(1 - raw) and r.higher_in == "controls"
    assert r.flagged == (r.auc >= FLAG_AUC) and r.flagged
    assert r.smd == pytest.approx(standardised_mean_difference(x[keep & y], x[keep & ~y]))
    assert len(r.summary_row()) == len(baseline.CAPTURE_SUMMARY_COLUMNS)
    assert len(r.group_rows()[0]) == len(baseline.CAPTURE_GROUP_COLUMNS)


# ---------------------------------------------------------------------------------------------
# The trivial baseline


def _baseline_data(seed: int, n: int = 120):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(bool)
    x = rng.normal(size=(n, 6))
    x[:, 0] += 1.5 * y  # a planted confound
    folds = np.arange(n) % 4 + 1
    rng.shuffle(folds)
    return x, y, folds


def test_out_of_fold_predictions_come_from_a_model_fitted_on_the_other_folds():
    x, y, folds = _baseline_data(0)
    probs = out_of_fold_logistic(x, y, folds, seed=3)
    for k in (1, 3):
        test = folds == k
        ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=10_000,
                                                                 random_state=3))
        ref.fit(x[~test], y[~test])
        assert np.allclose(probs[test], ref.predict_proba(x[test])[:, 1])
    assert roc_auc_score(y, probs) > 0.75


def test_the_test_fold_never_influences_its_own_predictions():
    x, y, folds = _baseline_data(1)
    before = out_of_fold_logistic(x, y, folds, seed=0)
    flipped = y.copy()
    flipped[folds == 2] = ~flipped[folds == 2]
    after = out_of_fold_logistic(x, flipped, folds, seed=0)
    assert np.array_equal(before[folds == 2], after[folds == 2])
    assert not np.allclose(before[folds != 2], after[folds != 2])


def test_missing_values_are_imputed_and_one_class_training_is_refused():
    x, y, folds = _baseline_data(2)
    x[::7, 1] = np.nan
    assert np.isfinite(out_of_fold_logistic(x, y, folds, seed=0)).all()
    with pytest.raises(UserError, match="one class"):
        out_of_fold_logistic(x, folds == 1, folds, seed=0)
    with pytest.raises(UserError, match="at least 2 folds"):
        out_of_fold_logistic(x, y, np.ones_like(folds), seed=0)


def test_a_subject_in_two_folds_is_refused():
    check_subject_folds(["a", "b", "a"], [1, 2, 1])
    with pytest.raises(UserError, match="'a' is in folds 1 and 2"):
        check_subject_folds(["a", "b", "a"], [1, 2, 2])


def test_comparison_with_models_is_the_paired_delong_test():
    x, y, folds = _baseline_data(3)
    b = out_of_fold_logistic(x, y, folds, seed=0)
    cnn = np.where(y, 0.7, 0.3) + np.random.default_rng(0).normal(0, 0.2, y.size)
    (r,) = compare_with_models(y, b, {"ResNet-18": cnn}, ci_level=0.9)
    ref = delong_test(y, cnn, b, ci_level=0.9)
    assert r.model == "ResNet-18"
    assert (r.test.difference, r.test.se, r.test.p_value, r.test.ci_low, r.test.ci_high) == (
        ref.difference, ref.se, ref.p_value, ref.ci_low, ref.ci_high)
    assert (r.model_auc, r.baseline_auc) == (ref.auc_a, ref.auc_b)
    assert len(r.row()) == len(baseline.BASELINE_COLUMNS)


def test_baseline_warning_within_005_of_the_best_cnn():
    assert baseline_warning(0.809, {"ResNet-18": 0.813, "VGG-16": 0.70}) is not None
    text = baseline_warning(0.809, {"ResNet-18": 0.813})
    assert "0.809" in text and "ResNet-18" in text and "0.813" in text
    assert "beats" in baseline_warning(0.85, {"ResNet-18": 0.813})
    assert baseline_warning(0.76, {"ResNet-18": 0.813}) is None   # 0.053 ahead
    assert baseline_warning(0.77, {"ResNet-18": 0.813}) is not None
    assert baseline_warning(0.8, {}) is None


@pytest.mark.parametrize("mod", [capture, baseline])
def test_doctests(mod):
    assert doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_geometry_helpers_used_by_padding_share_round_trip():
    m = geo.estimate_similarity(np.array([[10, 10], [30, 10], [20, 20], [12, 30], [28, 30]],
                                         float), geo.canonical_landmarks(64))
    pts = np.array([[0.5, 0.5], [63.5, 63.5]])
    back = geo.apply_affine(m, geo.apply_affine(geo.invert_affine(m), pts))
    assert np.allclose(back, pts)


def test_fast_padding_share_and_histograms_equal_their_definitions():
    """The broadcast padding share counts the same pixels as mapping every pixel centre
    through the inverse transform; 8-bit histogram bins equal (value * bins) // 256."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        angle, scale = rng.uniform(-0.6, 0.6), rng.uniform(0.3, 2.5)
        m = [[scale * np.cos(angle), -scale * np.sin(angle), rng.uniform(-150, 60)],
             [scale * np.sin(angle), scale * np.cos(angle), rng.uniform(-150, 60)]]
        size, n = (int(rng.integers(80, 400)), int(rng.integers(80, 400))), 64
        c = np.arange(n) + 0.5
        uu, vv = np.meshgrid(c, c)
        pts = geo.apply_affine(geo.invert_affine(m), np.column_stack([uu.ravel(),
                                                                      vv.ravel()]))
        out = ((pts[:, 0] < 0) | (pts[:, 0] >= size[0]) | (pts[:, 1] < 0)
               | (pts[:, 1] >= size[1]))
        assert capture.padding_share(m, size, n) == pytest.approx(out.mean(), abs=1.5 / n**2)
    px = rng.integers(0, 256, (30, 20, 3)).astype(np.uint8)
    for bins in (8, 16, 7):
        idx = (px.astype(np.int64) * bins) // 256
        want = np.concatenate([np.bincount(idx[..., ch].ravel(), minlength=bins) / 600
                               for ch in range(3)])
        assert np.array_equal(capture.colour_histograms(px, bins), want)
