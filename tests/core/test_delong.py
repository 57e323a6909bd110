"""DeLong AUC variance/covariance against a slow structural-components implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from wbsdesk.core.delong import delong_auc, delong_covariance, delong_test
from wbsdesk.errors import UserError, WbsdeskWarning


def psi(a, b):
    return 1.0 if a > b else 0.5 if a == b else 0.0


def slow_delong(y, scores):
    """DeLong et al. (1988) by definition: placement values from an m x n double loop.

    scores: list of k score vectors. Returns (aucs, covariance matrix).
    """
    y = np.asarray(y, bool)
    k = len(scores)
    pos = [np.asarray(s)[y] for s in scores]
    neg = [np.asarray(s)[~y] for s in scores]
    m, n = int(y.sum()), int((~y).sum())
    v10 = np.zeros((k, m))
    v01 = np.zeros((k, n))
    for r in range(k):
        for i in range(m):
            v10[r, i] = sum(psi(pos[r][i], neg[r][j]) for j in range(n)) / n
        for j in range(n):
            v01[r, j] = sum(psi(pos[r][i], neg[r][j]) for i in range(m)) / m
    aucs = v10.mean(axis=1)
    s10 = np.zeros((k, k))
    s01 = np.zeros((k, k))
    for r in range(k):
        for q in range(k):
            s10[r, q] = sum((v10[r, i] - aucs[r]) * (v10[q, i] - aucs[q])
                            for i in range(m)) / (m - 1)
            s01[r, q] = sum((v01[r, j] - aucs[r]) * (v01[q, j] - aucs[q])
                            for j in range(n)) / (n - 1)
    return aucs, s10 / m + s01 / n


@st.composite
def cases(draw, k=1, max_n=25):
    n = draw(st.integers(4, max_n))
    y = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    y[:4] = [True, True, False, False]
    rows = [draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)) for _ in range(k)]
    return np.array(y), [np.array(r, float) for r in rows]


def test_single_auc_variance_matches_slow_version_with_ties():
    rng = np.random.default_rng(2)
    y = rng.random(60) < 0.4
    y[:4] = [True, True, False, False]
    s = np.round(rng.normal(size=60) + y, 1)
    aucs, cov = slow_delong(y, [s])
    r = delong_auc(y, s)
    assert r.auc == pytest.approx(aucs[0], abs=1e-12)
    assert r.variance == pytest.approx(cov[0, 0], rel=1e-10)
    assert r.se == pytest.approx(math.sqrt(cov[0, 0]))
    z = stats.norm.ppf(0.975)
    assert r.ci_low == pytest.approx(r.auc - z * r.se)
    assert r.ci_high == pytest.approx(r.auc + z * r.se)
    r90 = delong_auc(y, s, ci_level=0.9)
    assert r90.ci_high - r90.ci_low == pytest.approx(2 * stats.norm.ppf(0.95) * r.se)


def test_hand_worked_variance():
    # positives 0.4, 0.7, 0.9; negatives 0.1, 0.3, 0.6
    # V10 = (2/3, 1, 1), V01 = (1, 1, 2/3): both sample variances 1/27
    # Var = (1/27)/3 + (1/27)/3 = 2/81
    r = delong_auc([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.7, 0.9])
    assert r.auc == pytest.approx(8 / 9)
    assert r.variance == pytest.approx(2 / 81)


@settings(max_examples=40, deadline=None)
@given(cases(k=3))
def test_covariance_matrix_matches_slow_version(data):
    y, rows = data
    aucs, cov = slow_delong(y, rows)
    r = delong_covariance(y, np.vstack(rows))
    np.testing.assert_allclose(r.aucs, aucs, atol=1e-12)
    np.testing.assert_allclose(r.cov, cov, atol=1e-12)
    np.testing.assert_array_equal(r.cov, r.cov.T)
    assert np.linalg.eigvalsh(r.cov).min() > -1e-12


@settings(max_examples=40, deadline=None)
@given(cases(k=2))
def test_paired_test_matches_slow_version(data):
    y, (a, b) = data
    aucs, cov = slow_delong(y, [a, b])
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = aucs[0] - aucs[1]
    if var <= 1e-13:
        with pytest.warns(WbsdeskWarning):
            r = delong_test(y, a, b)
        assert (r.p_value == 1.0) if abs(diff) <= 1e-12 else math.isnan(r.p_value)
        return
    r = delong_test(y, a, b)
    assert r.difference == pytest.approx(diff, abs=1e-12)
    assert r.variance == pytest.approx(var, abs=1e-12)
    assert r.z == pytest.approx(diff / math.sqrt(var), rel=1e-8, abs=1e-10)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(abs(diff) / math.sqrt(var)), rel=1e-8)
    half = stats.norm.ppf(0.975) * math.sqrt(var)
    assert (r.ci_low, r.ci_high) == pytest.approx((diff - half, diff + half), abs=1e-10)


def test_paired_test_known_example():
    y = [0, 0, 0, 1, 1, 1]
    a = [0.1, 0.3, 0.6, 0.4, 0.7, 0.9]
    b = [0.2, 0.1, 0.5, 0.3, 0.4, 0.6]
    _, cov = slow_delong(y, [np.array(a), np.array(b)])
    r = delong_test(y, a, b)
    assert (r.auc_a, r.auc_b) == pytest.approx((8 / 9, 7 / 9))
    assert r.covariance == pytest.approx(cov)
    swapped = delong_test(y, b, a)
    assert swapped.difference == pytest.approx(-r.difference)
    assert swapped.p_value == pytest.approx(r.p_value)


def test_all_ties_give_half_zero_variance_and_warning():
    y = [0, 0, 1, 1, 1]
    with pytest.warns(WbsdeskWarning, match="zero"):
        r = delong_auc(y, [3, 3, 3, 3, 3])
    assert r.auc == 0.5 and r.variance == 0.0
    assert math.isnan(r.ci_low) and math.isnan(r.ci_high)


def test_perfect_separation_warns_instead_of_a_zero_width_ci():
    with pytest.warns(WbsdeskWarning):
        r = delong_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert r.auc == 1.0 and math.isnan(r.ci_low)


def test_identical_score_sets_give_p_one_with_warning():
    y = [0, 0, 0, 1, 1, 1]
    s = [0.1, 0.3, 0.6, 0.4, 0.7, 0.9]
    with pytest.warns(WbsdeskWarning, match="both zero"):
        r = delong_test(y, s, s)
    assert r.difference == 0.0 and r.p_value == 1.0


def test_zero_variance_but_nonzero_difference_is_nan():
    # both perfectly separating or perfectly tied: var 0 for each, difference 0.5
    y = [0, 0, 1, 1]
    with pytest.warns(WbsdeskWarning, match="NaN"):
        r = delong_test(y, [1, 2, 3, 4], [5, 5, 5, 5])
    assert r.difference == 0.5
    assert math.isnan(r.p_value) and math.isnan(r.ci_low)


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 1, 1, 1], [1, 2, 3, 4], "at least 2"),
        ([0, 0, 1, 1], [1, np.nan, 3, 4], "NaN"),
        ([0, 0, 1, 1], [1, 2, 3], "3 case"),
    ],
)
def test_delong_rejects_bad_input(y, s, match):
    with pytest.raises(UserError, match=match):
        delong_auc(y, s)


def test_delong_rejects_bad_ci_level():
    with pytest.raises(UserError, match="ci_level"):
        delong_auc([0, 0, 1, 1], [1, 2, 3, 4], ci_level=95)


def test_midranks_equal_scipys_average_ranks_exactly():
    """The placements' own ranking (no scipy per-call overhead) gives scipy's midranks."""
    from scipy.stats import rankdata

    from wbsdesk.core.delong import midranks

    rng = np.random.default_rng(3)
    for shape in ((1, 1), (3, 7), (5, 120), (2, 301)):
        a = np.round(rng.normal(size=shape), 1)  # many ties
        assert np.array_equal(midranks(a), rankdata(a, axis=1, method="average"))
        b = rng.normal(size=shape)
        assert np.array_equal(midranks(b), rankdata(b, axis=1, method="average"))
    assert np.array_equal(midranks(np.full((2, 4), 0.5)), np.full((2, 4), 2.5))
