"""Agreement of raters: Cohen's kappa, percent agreement, Fleiss' kappa and Kendall's W.

Two raters (e.g. a reader's first and repeat reads of the same photos): Cohen's kappa,
weighted for an ordinal scale, with its asymptotic CI (a wrapper of statsmodels), and the
percent agreement with its Wilson interval (:func:`percent_agreement`). Several raters on
the same cases: Fleiss' kappa (statsmodels ``fleiss_kappa``, :func:`fleiss_kappa`) and
Kendall's coefficient of concordance W with the ties correction (:func:`kendalls_w`), each
with a seeded percentile bootstrap interval over the cases.

Cohen's kappa:

``statsmodels.stats.inter_rater.cohens_kappa`` computes kappa (Cohen 1960), the weighted
kappa (Cohen 1968; linear = Cicchetti-Allison, quadratic = Fleiss-Cohen weights) and the
large-sample variances of Fleiss, Cohen & Everitt (1969): the standard error ``se`` gives
the Wald interval ``kappa ± z * se``, and the variance under H0 (kappa = 0) the z test.
statsmodels fixes its own interval at 95 %; here any ``ci_level`` is used with the same SE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from wbsdesk.core._checks import as_scores, check_ci_level, warn, z_or_t_quantile
from wbsdesk.core.proportions import Proportion, wilson_interval
from wbsdesk.errors import UserError

__all__ = ["KAPPA_WEIGHTS", "FleissKappa", "Kappa", "KendallW", "cohens_kappa", "fleiss_kappa",
           "kappa_from_table", "kendalls_w", "percent_agreement"]

Weights = Literal["none", "linear", "quadratic"]
#: Accepted ``weights``: unweighted, linear (Cicchetti-Allison), quadratic (Fleiss-Cohen).
KAPPA_WEIGHTS: tuple[str, ...] = ("none", "linear", "quadratic")


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two raters on the same cases.

    Attributes
    ----------
    kappa : float
    se : float
        Asymptotic standard error (Fleiss, Cohen & Everitt 1969).
    ci_low, ci_high : float
        ``kappa ± z_{(1+ci_level)/2} * se``, clipped to [-1, 1].
    ci_level : float
    z, p_value : float
        Test of H0: kappa = 0 (two-sided, with the SE under H0).
    observed_agreement, expected_agreement : float
        Share of cases on the diagonal, and expected by chance from the margins
        (unweighted definitions, also for a weighted kappa).
    n : int
        Cases rated by both.
    weights : {"none", "linear", "quadratic"}
    table : ndarray of shape (k, k)
        Counts: rater A's category in rows, rater B's in columns.
    """

    kappa: float
    se: float
    ci_low: float
    ci_high: float
    ci_level: float
    z: float
    p_value: float
    observed_agreement: float
    expected_agreement: float
    n: int
    weights: str
    table: np.ndarray


def kappa_from_table(table: Any, *, weights: Weights = "none",
                     ci_level: float = 0.95) -> Kappa:
    """Cohen's kappa of a square contingency table.

    Parameters
    ----------
    table : array-like of shape (k, k)
        Non-negative counts, rater A in rows and rater B in columns, categories in the
        same (ordinal, for a weighted kappa) order.
    weights : {"none", "linear", "quadratic"}, default "none"
    ci_level : float, default 0.95

    Returns
    -------
    Kappa
        When chance agreement is 1 (both raters used one and the same category) kappa is
        undefined: every number is NaN and a WbsdeskWarning is issued.

    Raises
    ------
    UserError
        A table that is not square, has negative or non-whole counts, or is empty.

    Examples
    --------
    >>> k = kappa_from_table([[20, 5], [10, 15]])
    >>> round(k.kappa, 3), round(k.se, 4)
    (0.4, 0.127)
    """
    level = check_ci_level(ci_level)
    if weights not in KAPPA_WEIGHTS:
        raise UserError(f"weights must be one of {', '.join(KAPPA_WEIGHTS)}, got {weights!r}.")
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2:
        raise UserError(f"a kappa table must be square with at least 2 categories, "
                        f"got shape {t.shape}.")
    if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t != np.round(t)):
        raise UserError("a kappa table must hold non-negative whole counts.")
    n = int(t.sum())
    if n == 0:
        raise UserError("the kappa table is empty: no case was rated by both raters.")
    po = float(np.trace(t)) / n
    pe = float((t.sum(axis=1) / n) @ (t.sum(axis=0) / n))
    nan = float("nan")
    if pe >= 1.0 - 1e-12:
        warn("Cohen's kappa is undefined: both raters put every case in the same single "
             "category (chance agreement is 1); it is reported as NaN.")
        return Kappa(kappa=nan, se=nan, ci_low=nan, ci_high=nan, ci_level=level, z=nan,
                     p_value=nan, observed_agreement=po, expected_agreement=pe, n=n,
                     weights=weights, table=t)
    from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

    wt = None if weights == "none" else weights
    res = sm_cohens_kappa(t, wt=wt)
    kappa, se, se0 = float(res.kappa), float(res.std_kappa), float(res.std_kappa0)
    half = z_or_t_quantile(level, np.inf) * se
    z = kappa / se0 if se0 > 0 else nan
    p = float(res.pvalue_two_sided) if se0 > 0 else nan
    return Kappa(kappa=kappa, se=se, ci_low=max(kappa - half, -1.0),
                 ci_high=min(kappa + half, 1.0),
                 ci_level=level, z=float(z), p_value=p, observed_agreement=po,
                 expected_agreement=pe, n=n, weights=weights, table=t)


def cohens_kappa(ratings_a: Any, ratings_b: Any, *, levels: Any, weights: Weights = "none",
                 ci_level: float = 0.95) -> Kappa:
    """Cohen's kappa of two raters' ratings of the same cases.

    Parameters
    ----------
    ratings_a, ratings_b : array-like of shape (n_cases,)
        Each rater's category per case, same cases in the same order.
    levels : array-like of shape (k,)
        Every category of the scale, in order (e.g. ``1..5``): categories nobody used
        still count for the weights and the table.
    weights : {"none", "linear", "quadratic"}, default "none"
        Unweighted kappa, or a weighted kappa for an ordinal scale.
    ci_level : float, default 0.95

    Returns
    -------
    Kappa

    Raises
    ------
    UserError
        Different lengths, missing values, or a rating that is not one of ``levels``.

    Examples
    --------
    >>> k = cohens_kappa([1, 1, 2, 2, 3], [1, 2, 2, 2, 3], levels=[1, 2, 3])
    >>> round(k.kappa, 3)
    0.688
    """
    lv = np.asarray(levels, dtype=float).reshape(-1)
    if lv.size < 2 or np.unique(lv).size != lv.size:
        raise UserError("levels must list at least 2 distinct categories.")
    a = as_scores(ratings_a, name="ratings_a")
    b = as_scores(ratings_b, name="ratings_b", n=a.size)
    index = {float(v): i for i, v in enumerate(lv)}
    table = np.zeros((lv.size, lv.size))
    for name, r in (("ratings_a", a), ("ratings_b", b)):
        bad = [v for v in r if float(v) not in index]
        if bad:
            raise UserError(f"{name} holds {bad[0]!r}, which is not one of the levels "
                            f"{lv.tolist()}.")
    for x, y in zip(a, b, strict=True):
        table[index[float(x)], index[float(y)]] += 1
    return kappa_from_table(table, weights=weights, ci_level=ci_level)


def percent_agreement(ratings_a: Any, ratings_b: Any, *, ci_level: float = 0.95) -> Proportion:
    """Share of cases on which two raters give the same answer, with its Wilson interval.

    Parameters
    ----------
    ratings_a, ratings_b : array-like of shape (n_cases,)
        The two raters' answers (e.g. yes/no reads as 0/1), same cases in the same order.
    ci_level : float, default 0.95

    Returns
    -------
    Proportion
        ``count`` cases agree out of ``n``; NaN estimate and interval when ``n`` is 0.

    Examples
    --------
    >>> p = percent_agreement([1, 0, 1, 1], [1, 0, 0, 1])
    >>> p.count, p.n, round(p.estimate, 2), round(p.ci_low, 3)
    (3, 4, 0.75, 0.301)
    """
    a = np.asarray(ratings_a).reshape(-1)
    b = np.asarray(ratings_b).reshape(-1)
    if a.size != b.size:
        raise UserError(f"ratings_b has {b.size} values for {a.size} in ratings_a.")
    return wilson_interval(int(np.sum(a == b)), int(a.size), ci_level=ci_level)


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa of several raters on the same cases, with a bootstrap interval.

    Attributes
    ----------
    kappa : float
        NaN when undefined (every rating in one category).
    ci_low, ci_high : float
        Percentile interval of ``resamples`` bootstrap resamples of the cases (seeded);
        resamples where kappa is undefined are left out.
    ci_level : float
    n_cases, n_raters, resamples, seed : int
    """

    kappa: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_cases: int
    n_raters: int
    resamples: int
    seed: int


def _rating_matrix(ratings: Any, *, what: str) -> np.ndarray:
    m = as_scores(ratings, name=what, ndim=2)
    if m.shape[0] < 2 or m.shape[1] < 2:
        raise UserError(f"{what} needs at least 2 cases and 2 raters, got shape {m.shape}.")
    return m


def _percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(ok, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def fleiss_kappa(ratings: Any, *, ci_level: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> FleissKappa:
    """Fleiss' kappa (Fleiss 1971) of raters' categories, with a bootstrap CI over cases.

    Parameters
    ----------
    ratings : array-like of shape (n_cases, n_raters)
        Each rater's category of each case (whole numbers, e.g. 0/1 yes/no reads); every
        rater rated every case.
    ci_level : float, default 0.95
    resamples : int, default 2000
        Bootstrap resamples of the cases (rows), drawn with ``seed``.
    seed : int, default 0

    Returns
    -------
    FleissKappa
        NaN kappa (and a WbsdeskWarning) when every rating is the same category.

    Examples
    --------
    >>> k = fleiss_kappa([[1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 0]], resamples=200)
    >>> round(k.kappa, 4)
    0.6571
    """
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    level = check_ci_level(ci_level)
    m = _rating_matrix(ratings, what="ratings")
    if np.any(m != np.round(m)):
        raise UserError("Fleiss' kappa needs whole-number categories.")
    counts, _ = aggregate_raters(m.astype(int))
    n, r = m.shape
    nan = float("nan")

    def kappa_of(table: np.ndarray) -> float:
        p = table.sum(axis=0) / table.sum()
        if np.max(p) >= 1.0 - 1e-12:
            return nan
        return float(sm_fleiss(table, method="fleiss"))

    kappa = kappa_of(counts)
    if not np.isfinite(kappa):
        warn("Fleiss' kappa is undefined: every rating is in the same category; it is "
             "reported as NaN.")
        return FleissKappa(nan, nan, nan, level, n, r, int(resamples), int(seed))
    rng = np.random.default_rng(seed)
    boot = np.array([kappa_of(counts[rng.integers(0, n, n)]) for _ in range(int(resamples))])
    lo, hi = _percentile(boot, level)
    return FleissKappa(kappa, lo, hi, level, n, r, int(resamples), int(seed))


@dataclass(frozen=True)
class KendallW:
    """Kendall's coefficient of concordance W of several raters' ratings of the same cases.

    Attributes
    ----------
    w : float
        0 (no agreement in ranking the cases) .. 1 (the same ranking); ties corrected.
    chi2, df, p_value : float
        Friedman's test of no concordance: ``chi2 = m (n - 1) W`` on ``n - 1`` df.
    ci_low, ci_high : float
        Percentile interval of ``resamples`` bootstrap resamples of the cases (seeded).
    ci_level : float
    n_cases, n_raters, resamples, seed : int
    """

    w: float
    chi2: float
    df: int
    p_value: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_cases: int
    n_raters: int
    resamples: int
    seed: int


def _w_of(m: np.ndarray) -> float:
    """Kendall's W of a (cases, raters) matrix with the ties correction; NaN if undefined."""
    from scipy.stats import rankdata

    n, r = m.shape
    ranks = rankdata(m, axis=0)
    sums = ranks.sum(axis=1)
    s = float(np.sum((sums - sums.mean()) ** 2))
    t = (m[:, :, None] == np.unique(m)[None, None, :]).sum(axis=0).astype(float)
    ties = float(np.sum(t**3 - t))  # over raters and their tied groups
    denom = r**2 * (n**3 - n) - r * ties
    return 12.0 * s / denom if denom > 1e-12 else float("nan")


def kendalls_w(ratings: Any, *, ci_level: float = 0.95, resamples: int = 2000,
               seed: int = 0) -> KendallW:
    """Kendall's W (Kendall & Babington Smith 1939) of raters' ordinal ratings.

    Each rater's ratings are ranked over the cases (ties share their mean rank) and W is
    corrected for the ties (Siegel & Castellan 1988, eq. 9.16), as a rating scale with a
    few levels has many.

    Parameters
    ----------
    ratings : array-like of shape (n_cases, n_raters)
        Every rater rated every case.
    ci_level : float, default 0.95
    resamples : int, default 2000
        Bootstrap resamples of the cases (rows), drawn with ``seed``.
    seed : int, default 0

    Returns
    -------
    KendallW
        NaN (and a WbsdeskWarning) when every rater gave every case the same rating.

    Examples
    --------
    >>> w = kendalls_w([[1, 1, 2], [2, 2, 1], [3, 3, 3]], resamples=100)
    >>> round(w.w, 4), w.df
    (0.7778, 2)
    """
    from scipy.stats import chi2 as chi2_dist

    level = check_ci_level(ci_level)
    m = _rating_matrix(ratings, what="ratings")
    n, r = m.shape
    w = _w_of(m)
    nan = float("nan")
    if not np.isfinite(w):
        warn("Kendall's W is undefined: every rater gave every case the same rating; it "
             "is reported as NaN.")
        return KendallW(nan, nan, n - 1, nan, nan, nan, level, n, r, int(resamples), int(seed))
    chi2 = r * (n - 1) * w
    rng = np.random.default_rng(seed)
    boot = np.array([_w_of(m[rng.integers(0, n, n)]) for _ in range(int(resamples))])
    lo, hi = _percentile(boot, level)
    return KendallW(w, chi2, n - 1, float(chi2_dist.sf(chi2, n - 1)), lo, hi, level, n, r,
                    int(resamples), int(seed))
