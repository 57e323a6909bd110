"""Calibration: Brier and reliability bins against scikit-learn, ECE against its definition."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from wbsdesk.core import calibration
from wbsdesk.core.calibration import (
    brier_score,
    expected_calibration_error,
    model_calibration,
    reader_calibration,
    reliability_bins,
)
from wbsdesk.errors import UserError


def _cases(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(rng.beta(2, 3, n) + 0.35 * y, 0, 1)
    # values on the bin edges and the ends, where the bin convention matters
    p[:8] = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0]
    return y, p


def _slow_ece(y, p, n_bins):
    """ECE by its definition, one case at a time (bins (e_b, e_b+1], the first with 0)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    members = [[] for _ in range(n_bins)]
    for yi, pi in zip(y, p, strict=True):
        for b in range(n_bins):
            if edges[b] < pi <= edges[b + 1] or (b == 0 and pi == 0.0):
                members[b].append((yi, pi))
                break
    total = 0.0
    for m in members:
        if m:
            acc = sum(v[0] for v in m) / len(m)
            conf = sum(v[1] for v in m) / len(m)
            total += len(m) / len(y) * abs(acc - conf)
    return total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brier_equals_sklearn(seed):
    y, p = _cases(seed)
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-15)


@pytest.mark.parametrize(("seed", "n_bins"), [(0, 10), (1, 10), (2, 5), (3, 7)])
def test_reliability_bins_equal_sklearn_uniform_calibration_curve(seed, n_bins):
    y, p = _cases(seed)
    bins = reliability_bins(y, p, n_bins=n_bins)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    used = [b for b in bins if b.n]
    assert len(bins) == n_bins and sum(b.n for b in bins) == y.size
    assert np.allclose([b.observed for b in used], prob_true)
    assert np.allclose([b.mean_predicted for b in used], prob_pred)
    assert [b.index for b in bins] == list(range(n_bins))
    assert bins[0].p_low == 0.0 and bins[-1].p_high == 1.0


def test_empty_bins_are_kept_as_nan():
    bins = reliability_bins([0, 1, 1], [0.05, 0.95, 0.92])
    assert [b.n for b in bins] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert math.isnan(bins[4].observed) and math.isnan(bins[4].mean_predicted)
    assert bins[9].observed == 1.0 and bins[9].ci_high == 1.0 and bins[9].ci_low < 1.0


@pytest.mark.parametrize(("seed", "n_bins"), [(0, 10), (1, 10), (4, 3), (5, 15)])
def test_ece_equals_the_slow_definition(seed, n_bins):
    y, p = _cases(seed)
    assert expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(
        _slow_ece(y, p, n_bins), abs=1e-12)


def test_ece_hand_worked_case():
    # 10 bins: 0.05 (y=0) alone in bin 1: |0 - 0.05| * 1/5
    # 0.62, 0.68 (y=1, 0) in bin 7: |0.5 - 0.65| * 2/5
    # 0.91, 0.99 (y=1, 1) in bin 10: |1 - 0.95| * 2/5
    y = [0, 1, 0, 1, 1]
    p = [0.05, 0.62, 0.68, 0.91, 0.99]
    expected = 0.05 / 5 + 0.15 * 2 / 5 + 0.05 * 2 / 5
    assert expected == pytest.approx(0.09)
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


def test_model_calibration_collects_bins_ece_and_brier():
    y, p = _cases(7)
    c = model_calibration("resnet18", y, p, label="ResNet-18")
    assert (c.name, c.label, c.n, c.n_pos) == ("resnet18", "ResNet-18", y.size, int(y.sum()))
    assert c.brier == brier_score(y, p) and c.ece == expected_calibration_error(y, p)
    rows = c.bin_rows()
    assert len(rows) == 10 and len(rows[0]) == len(calibration.RELIABILITY_COLUMNS)
    assert len(c.summary_row()) == len(calibration.MODEL_CALIBRATION_COLUMNS)


def test_probabilities_outside_0_1_are_refused():
    with pytest.raises(UserError, match=r"\[0, 1\]"):
        brier_score([0, 1], [0.2, 1.2])
    with pytest.raises(UserError):
        reliability_bins([0, 1], [0.2, 0.4], n_bins=0)


def test_reader_calibration_counts_target_photos_per_level():
    scale = ["Definitely not", "Probably not", "Unsure", "Probably", "Definitely"]
    y = [0, 0, 0, 1, 0, 1, 1, 1, 1, 0]
    r = [1, 1, 2, 2, 3, 4, 4, 5, 5, 4]
    c = reader_calibration("Dr A", y, r, scale=scale)
    got = [(lv.level, lv.label, lv.n, lv.n_pos) for lv in c.levels]
    assert got == [(1, "Definitely not", 2, 0), (2, "Probably not", 2, 1), (3, "Unsure", 1, 0),
                   (4, "Probably", 3, 2), (5, "Definitely", 2, 2)]
    assert c.levels[3].observed == pytest.approx(2 / 3)
    assert c.levels[4].ci_low < 1.0 == c.levels[4].ci_high
    assert len(c.level_rows()[0]) == len(calibration.RATING_LEVEL_COLUMNS)
    with pytest.raises(UserError, match=r"1\.\.5"):
        reader_calibration("Dr A", [0, 1], [1, 6], scale=scale)


def test_doctests():
    assert doctest.testmod(calibration, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
