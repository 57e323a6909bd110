"""Agreement of two raters: Cohen's kappa with its asymptotic CI (a wrapper of statsmodels).

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
from wbsdesk.errors import UserError

__all__ = ["KAPPA_WEIGHTS", "Kappa", "cohens_kappa", "kappa_from_table"]

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
