"""Wilson intervals, Holm's adjustment and Cohen's kappa against hand-worked cases."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats

from wbsdesk.core import agreement, proportions
from wbsdesk.core.agreement import cohens_kappa, kappa_from_table
from wbsdesk.core.proportions import holm, wilson_interval
from wbsdesk.errors import UserError, WbsdeskWarning


def _wilson_by_hand(k: int, n: int, level: float) -> tuple[float, float]:
    z = stats.norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n", "level"), [(3, 10, 0.95), (0, 7, 0.95), (7, 7, 0.9),
                                               (46, 150, 0.99)])
def test_wilson_interval_equals_the_score_formula(k, n, level):
    r = wilson_interval(k, n, ci_level=level)
    lo, hi = _wilson_by_hand(k, n, level)
    assert r.estimate == k / n and (r.count, r.n, r.ci_level) == (k, n, level)
    assert r.ci_low == pytest.approx(max(lo, 0.0), abs=1e-12)
    assert r.ci_high == pytest.approx(min(hi, 1.0), abs=1e-12)


def test_wilson_interval_of_3_in_10_worked_by_hand():
    # z^2 = 3.8415: centre (0.3 + 0.19207) / 1.38415 = 0.35550,
    # half 1.96 * sqrt(0.021 + 0.009604) / 1.38415 = 0.24772 -> (0.1078, 0.6032)
    r = wilson_interval(3, 10)
    assert (round(r.ci_low, 4), round(r.ci_high, 4)) == (0.1078, 0.6032)


def test_wilson_interval_of_nothing_is_nan_and_bad_counts_are_refused():
    r = wilson_interval(0, 0)
    assert math.isnan(r.estimate) and math.isnan(r.ci_low) and r.n == 0
    for k, n in ((4, 3), (-1, 3), (1.5, 3)):
        with pytest.raises(UserError):
            wilson_interval(k, n)


def test_holm_adjusts_step_down_like_the_hand_worked_family():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> monotone: 0.03, 0.06, 0.06
    r = holm([0.01, 0.04, 0.03])
    assert r.p_adjusted == pytest.approx((0.03, 0.06, 0.06))
    assert r.reject == (True, False, False) and r.family_size == 3


def test_holm_leaves_tests_not_computed_out_of_the_family():
    r = holm([0.02, float("nan"), 0.04])
    assert r.family_size == 2
    assert r.p_adjusted[0] == pytest.approx(0.04) and r.p_adjusted[2] == pytest.approx(0.04)
    assert math.isnan(r.p_adjusted[1]) and r.reject[1] is False
    assert holm([]).family_size == 0
    with pytest.raises(UserError):
        holm([0.5, 1.2])


def test_kappa_of_a_2x2_table_by_hand():
    t = np.array([[20, 5], [10, 15]], dtype=float)
    n = t.sum()
    po = np.trace(t) / n
    rows, cols = t.sum(1) / n, t.sum(0) / n
    pe = rows @ cols
    kappa = (po - pe) / (1 - pe)
    # Fleiss, Cohen & Everitt (1969) large-sample variance
    p = t / n
    a = sum(p[i, i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(2))
    b = (1 - kappa) ** 2 * sum(p[i, j] * (cols[i] + rows[j]) ** 2
                               for i in range(2) for j in range(2) if i != j)
    c = (kappa - pe * (1 - kappa)) ** 2
    se = math.sqrt((a + b - c) / ((1 - pe) ** 2 * n))
    r = kappa_from_table(t, ci_level=0.90)
    assert (po, pe, kappa) == pytest.approx((0.7, 0.5, 0.4))
    assert r.kappa == pytest.approx(0.4) and r.se == pytest.approx(se)
    z = stats.norm.ppf(0.95)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.4 - z * se, 0.4 + z * se))
    assert r.observed_agreement == pytest.approx(0.7) and r.n == 50


def test_kappa_from_ratings_counts_unused_levels_and_weights_by_hand():
    a = [1, 1, 2, 3, 5, 5, 4, 2]
    b = [1, 2, 2, 3, 4, 5, 4, 1]
    r = cohens_kappa(a, b, levels=[1, 2, 3, 4, 5])
    assert r.table.shape == (5, 5) and r.table.sum() == 8
    t = r.table / 8
    po, pe = np.trace(t), t.sum(1) @ t.sum(0)
    assert r.kappa == pytest.approx((po - pe) / (1 - pe))
    w = np.abs(np.subtract.outer(np.arange(5), np.arange(5))) / 4  # linear disagreement
    expected = np.outer(t.sum(1), t.sum(0))
    lin = cohens_kappa(a, b, levels=[1, 2, 3, 4, 5], weights="linear")
    assert lin.kappa == pytest.approx(1 - (w * t).sum() / (w * expected).sum())
    quad = cohens_kappa(a, b, levels=[1, 2, 3, 4, 5], weights="quadratic")
    assert quad.kappa == pytest.approx(1 - (w**2 * t).sum() / (w**2 * expected).sum())


def test_kappa_refuses_bad_input_and_warns_when_undefined():
    with pytest.raises(UserError, match="not one of the levels"):
        cohens_kappa([1, 6], [1, 2], levels=[1, 2, 3, 4, 5])
    with pytest.raises(UserError):
        kappa_from_table([[1, 2, 3]])
    with pytest.raises(UserError):
        cohens_kappa([1, 2], [1, 2], levels=[1, 2], weights="cubic")
    with pytest.warns(WbsdeskWarning, match="undefined"):
        r = cohens_kappa([2, 2, 2], [2, 2, 2], levels=[1, 2, 3])
    assert math.isnan(r.kappa)


@pytest.mark.parametrize("mod", [proportions, agreement])
def test_doctests(mod):
    assert doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_holm_equals_statsmodels_and_runs_no_garbage_collection(monkeypatch):
    """statsmodels' multipletests(method="holm") calls gc.collect() each time (0.2 s per
    family in a report process): holm gives its numbers without it."""
    import gc

    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(5)
    families = [rng.uniform(0, 0.2, 25), np.array([0.01, 0.01, 0.02, 0.5, 0.01]),
                rng.uniform(0, 1, 7), np.array([0.049])]
    expected = [multipletests(f, alpha=0.05, method="holm") for f in families]

    def no_gc(*_a, **_k):
        raise AssertionError("holm ran a garbage collection")

    monkeypatch.setattr(gc, "collect", no_gc)
    for f, (rej, adj, _, _) in zip(families, expected, strict=True):
        r = holm(f)
        assert np.allclose(r.p_adjusted, np.minimum(adj, 1.0), rtol=0, atol=1e-15)
        assert r.reject == tuple(bool(x) for x in rej)
