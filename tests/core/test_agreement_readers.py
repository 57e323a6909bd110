"""Reader agreement statistics against independent references: scikit-learn's weighted
kappa, Fleiss' (1971) published example, scipy's Friedman test, hand-worked cases and slow
textbook implementations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import friedmanchisquare
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from wbsdesk.core.agreement import cohens_kappa, fleiss_kappa, kendalls_w, percent_agreement
from wbsdesk.errors import UserError, WbsdeskWarning

#: Fleiss (1971), Table 1 as reproduced in many textbooks: 10 subjects, 14 raters, 5
#: categories (counts of raters per category); Fleiss' kappa = 0.210.
FLEISS_1971 = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
                        [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
                        [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])


def _ratings_of_counts(counts: np.ndarray) -> np.ndarray:
    """A (cases, raters) matrix holding each category as often as the counts say."""
    return np.array([np.repeat(np.arange(counts.shape[1]), row) for row in counts])


def _slow_fleiss(m: np.ndarray) -> float:
    """Fleiss' kappa by the textbook's loops."""
    n, r = m.shape
    cats = sorted({int(v) for v in m.ravel()})
    p_i = []
    p_j = {c: 0 for c in cats}
    for row in m:
        counts = {c: 0 for c in cats}
        for v in row:
            counts[int(v)] += 1
            p_j[int(v)] += 1
        p_i.append((sum(x * x for x in counts.values()) - r) / (r * (r - 1)))
    pbar = sum(p_i) / n
    pe = sum((x / (n * r)) ** 2 for x in p_j.values())
    return (pbar - pe) / (1 - pe)


def _slow_w(m: np.ndarray) -> float:
    """Kendall's W with the ties correction, by loops (mean ranks of ties)."""
    n, r = m.shape
    ranks = np.zeros((n, r))
    ties = 0.0
    for j in range(r):
        col = m[:, j]
        for i in range(n):
            below = sum(1 for x in col if x < col[i])
            same = sum(1 for x in col if x == col[i])
            ranks[i, j] = below + (same + 1) / 2
        for v in set(col.tolist()):
            t = sum(1 for x in col if x == v)
            ties += t**3 - t
    sums = [sum(ranks[i]) for i in range(n)]
    mean = sum(sums) / n
    s = sum((x - mean) ** 2 for x in sums)
    return 12 * s / (r * r * (n**3 - n) - r * ties)


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_weighted_kappa_matches_scikit_learn(weights):
    rng = np.random.default_rng(3)
    a = rng.integers(1, 6, 60)
    b = np.clip(a + rng.integers(-1, 2, 60), 1, 5)
    k = cohens_kappa(a, b, levels=[1, 2, 3, 4, 5], weights=weights)
    ref = cohen_kappa_score(a, b, weights=weights, labels=[1, 2, 3, 4, 5])
    assert k.kappa == pytest.approx(ref, abs=1e-12)
    assert k.ci_low < k.kappa < k.ci_high


def test_percent_agreement_by_hand_with_its_wilson_interval():
    p = percent_agreement([1, 0, 1, 1, 0, 0, 1, 1, 1, 0], [1, 0, 0, 1, 0, 1, 1, 1, 1, 0])
    assert (p.count, p.n, p.estimate) == (8, 10, 0.8)
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z / (1 + z * z / 10) * np.sqrt(0.8 * 0.2 / 10 + z * z / 400)
    assert (p.ci_low, p.ci_high) == pytest.approx((centre - half, centre + half))
    with pytest.raises(UserError, match="ratings_b has 1 values for 2"):
        percent_agreement([1, 0], [1])


def test_fleiss_kappa_reproduces_fleiss_1971():
    k = fleiss_kappa(_ratings_of_counts(FLEISS_1971), resamples=200, seed=1)
    assert round(k.kappa, 3) == 0.210
    assert k.kappa == pytest.approx(_slow_fleiss(_ratings_of_counts(FLEISS_1971)))
    assert (k.n_cases, k.n_raters) == (10, 14)


def test_fleiss_kappa_by_hand_and_against_the_slow_version():
    hand = [[1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 0]]
    # P-bar = (1 + 1 + 1/3 + 1) / 4, Pe = (7/12)^2 + (5/12)^2
    pbar, pe = (10 / 3) / 4, (49 + 25) / 144
    assert fleiss_kappa(hand, resamples=100).kappa == pytest.approx((pbar - pe) / (1 - pe))
    rng = np.random.default_rng(8)
    truth = rng.random(80) < 0.4
    m = np.array([(truth ^ (rng.random(80) < e)).astype(int) for e in (0.1, 0.2, 0.3, 0.15)]).T
    assert fleiss_kappa(m, resamples=100).kappa == pytest.approx(_slow_fleiss(m))


def test_fleiss_bootstrap_is_its_definition_and_seeded():
    rng = np.random.default_rng(2)
    m = (rng.random((40, 3)) < 0.5).astype(int)
    m[:, 1] = np.where(rng.random(40) < 0.8, m[:, 0], m[:, 1])
    k = fleiss_kappa(m, resamples=300, seed=11, ci_level=0.9)
    draw = np.random.default_rng(11)
    boot = []
    for _ in range(300):
        rows = m[draw.integers(0, 40, 40)]
        counts = np.stack([(rows == 0).sum(axis=1), (rows == 1).sum(axis=1)], axis=1)
        boot.append(sm_fleiss(counts))
    assert (k.ci_low, k.ci_high) == pytest.approx(tuple(np.quantile(boot, [0.05, 0.95])))
    assert fleiss_kappa(m, resamples=300, seed=11, ci_level=0.9) == k
    assert k.ci_low < k.kappa < k.ci_high


def test_fleiss_kappa_of_one_category_is_nan_with_a_warning():
    with pytest.warns(WbsdeskWarning, match="Fleiss' kappa is undefined"):
        k = fleiss_kappa([[1, 1], [1, 1], [1, 1]])
    assert np.isnan(k.kappa) and np.isnan(k.ci_low)


def test_kendalls_w_equals_friedman_over_m_n_minus_1_and_the_slow_version():
    rng = np.random.default_rng(5)
    latent = rng.normal(size=25)
    m = np.column_stack([np.clip(np.round(latent * 1.2 + rng.normal(0, s, 25) + 3), 1, 5)
                         for s in (0.4, 0.7, 1.0)])
    w = kendalls_w(m, resamples=200, seed=3)
    friedman = friedmanchisquare(*m)  # blocks = raters, treatments = cases
    assert w.w == pytest.approx(friedman.statistic / (3 * 24))
    assert w.chi2 == pytest.approx(friedman.statistic)
    assert w.p_value == pytest.approx(friedman.pvalue)
    assert w.w == pytest.approx(_slow_w(m))
    assert w.ci_low < w.w < w.ci_high


def test_kendalls_w_by_hand():
    # three raters rank four cases the same way: W = 1
    assert kendalls_w([[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]], resamples=50).w == 1.0
    # two raters in opposite orders of three cases: rank sums all 4, S = 0, W = 0
    assert kendalls_w([[1, 3], [2, 2], [3, 1]], resamples=50).w == pytest.approx(0.0)
    # with ties: ranks (1.5, 1.5, 3), (1.5, 1.5, 3) and (2, 1, 3); sums 5, 4, 9; S = 14;
    # ties: two raters with one pair each, T = 6 each; W = 12*14 / (9*24 - 3*12) = 168/180
    w = kendalls_w([[1, 1, 2], [1, 1, 1], [2, 2, 3]], resamples=50)
    assert w.w == pytest.approx(168 / 180)


def test_kendalls_w_undefined_and_bad_shapes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WbsdeskWarning, match="Kendall's W is undefined"):
            kendalls_w([[3, 3], [3, 3], [3, 3]])
    with pytest.raises(UserError, match="at least 2 cases and 2 raters"):
        kendalls_w([[1, 2, 3]])
