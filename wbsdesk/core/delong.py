"""DeLong variance and covariance of empirical AUCs (fast mid-rank algorithm).

DeLong, DeLong & Clarke-Pearson (1988) estimate the covariance of correlated empirical
AUCs from the *structural components* (placement values) of each case. Sun & Xu (2014)
showed that these follow from three mid-rankings, so no m x n comparison matrix is
formed:

* ``T_Z``: mid-ranks of all m + n scores, ``T_X``: of the m positives among themselves,
  ``T_Y``: of the n negatives among themselves;
* ``V10_i = (T_Z(X_i) - T_X(X_i)) / n`` (share of negatives below positive i, ties 1/2),
  ``V01_j = 1 - (T_Z(Y_j) - T_Y(Y_j)) / m`` (share of positives above negative j);
* ``AUC = mean(V10) = mean(V01)`` and
  ``Cov = S10 / m + S01 / n``, with ``S10``, ``S01`` the sample covariance matrices
  (divisor m - 1 and n - 1) of the V10 and V01 vectors across score sets.

Confidence intervals are Wald intervals, ``estimate ± z * SE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core._checks import (
    ZERO_TOL,
    as_scores,
    as_truth,
    check_ci_level,
    inference,
    readonly,
    require_both_classes,
    warn,
    z_or_t_quantile,
)

__all__ = [
    "DelongAuc",
    "DelongCovariance",
    "DelongTest",
    "delong_auc",
    "delong_covariance",
    "delong_test",
    "midranks",
]


@dataclass(frozen=True)
class DelongCovariance:
    """AUCs of k score sets on the same cases and their DeLong covariance matrix.

    Attributes
    ----------
    aucs : ndarray of shape (k,)
    cov : ndarray of shape (k, k)
        Symmetric, positive semi-definite.
    n_pos, n_neg : int
    """

    aucs: np.ndarray
    cov: np.ndarray
    n_pos: int
    n_neg: int


def midranks(a: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties sharing their mean rank) along each row of ``a`` (k, n).

    Equal to ``scipy.stats.rankdata(a, axis=1, method="average")`` (the ranks are exact
    halves), without its per-call overhead: a report with 25 models ranks some thousand
    small arrays.

    Examples
    --------
    >>> midranks(np.array([[0.2, 0.1, 0.2, 0.5]])).tolist()
    [[2.5, 1.0, 2.5, 4.0]]
    """
    a = np.atleast_2d(np.asarray(a, dtype=float))
    k, n = a.shape
    if n == 0:
        return np.zeros((k, 0))
    order = np.argsort(a, axis=1, kind="stable")
    s = np.take_along_axis(a, order, axis=1)
    pos = np.broadcast_to(np.arange(n), (k, n))
    starts = np.ones((k, n), dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    ends = np.ones((k, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, pos, n)[:, ::-1], axis=1)[:, ::-1]
    out = np.empty((k, n))
    np.put_along_axis(out, order, (first + last) / 2.0 + 1.0, axis=1)
    return out


def placements(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and placement values of validated scores (shape (k, n)) and truth (bool, (n,)).

    Returns ``(aucs (k,), v10 (k, n_pos), v01 (k, n_neg))``. Internal building block of
    :func:`delong_covariance` and of the case jackknife in :mod:`wbsdesk.core.mrmc`.
    """
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    tz = midranks(scores)
    tx = midranks(scores[:, y])
    ty = midranks(scores[:, ~y])
    tz_pos = tz[:, y]
    v10 = (tz_pos - tx) / n_neg
    v01 = 1.0 - (tz[:, ~y] - ty) / n_pos
    aucs = (tz_pos.sum(axis=1) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return aucs, v10, v01


def _covariance(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    aucs, v10, v01 = placements(scores, y)
    s10 = np.atleast_2d(np.cov(v10, ddof=1))
    s01 = np.atleast_2d(np.cov(v01, ddof=1))
    cov = s10 / n_pos + s01 / n_neg
    return aucs, (cov + cov.T) / 2.0


def _prepare(y_true: Any, scores: Any, *, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    y = as_truth(y_true)
    s = as_scores(scores, name="scores" if ndim == 2 else "score", n=y.size, ndim=ndim)
    require_both_classes(y, what="The DeLong variance", minimum=2)
    return y, s


def delong_covariance(y_true: Any, scores: Any) -> DelongCovariance:
    """AUCs of several score sets on the same cases, and their DeLong covariance.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool; at least 2 positive and 2 negative cases.
    scores : array-like of shape (k, n_cases)
        One row per score set (model, reader, modality).

    Returns
    -------
    DelongCovariance

    Raises
    ------
    UserError
        Fewer than 2 cases of a class, NaN/inf scores, or shape mismatch.

    Examples
    --------
    >>> r = delong_covariance([0, 0, 1, 1], [[0.1, 0.4, 0.35, 0.8], [1, 2, 3, 4]])
    >>> r.aucs.tolist(), r.cov.shape
    ([0.75, 1.0], (2, 2))
    """
    y, s = _prepare(y_true, scores, ndim=2)
    if s.shape[0] == 0:
        s = s.reshape(0, y.size)
    aucs, cov = _covariance(s, y)
    n_pos = int(y.sum())
    return DelongCovariance(aucs=readonly(aucs), cov=readonly(cov), n_pos=n_pos,
                            n_neg=int(y.size - n_pos))


@dataclass(frozen=True)
class DelongAuc:
    """An AUC with its DeLong variance and a Wald confidence interval."""

    auc: float
    variance: float
    se: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_pos: int
    n_neg: int


def delong_auc(y_true: Any, score: Any, *, ci_level: float = 0.95) -> DelongAuc:
    """AUC, its DeLong variance and SE, and a Wald CI.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool; at least 2 positive and 2 negative cases.
    score : array-like of shape (n_cases,)
        Scores, ratings or 0/1 calls.
    ci_level : float, default 0.95

    Returns
    -------
    DelongAuc
        ``ci = auc ± z_{(1+ci_level)/2} * se``, clipped to [0, 1]. When the variance is
        zero (perfect separation or all scores tied) the CI is NaN and a
        :class:`~wbsdesk.errors.WbsdeskWarning` is issued.

    Examples
    --------
    >>> r = delong_auc([0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.7, 0.9])
    >>> round(r.auc, 4), round(r.variance, 5)
    (0.8889, 0.02469)
    """
    level = check_ci_level(ci_level)
    y, s = _prepare(y_true, score, ndim=1)
    aucs, cov = _covariance(s[None, :], y)
    auc, var = float(aucs[0]), max(float(cov[0, 0]), 0.0)
    se = float(np.sqrt(var))
    if var <= ZERO_TOL:
        warn(f"The DeLong variance of the AUC ({auc:.4g}) is zero (perfect separation or "
             "all scores tied); its confidence interval is reported as NaN.")
        lo = hi = float("nan")
    else:
        half = z_or_t_quantile(level, np.inf) * se
        lo, hi = max(auc - half, 0.0), min(auc + half, 1.0)
    n_pos = int(y.sum())
    return DelongAuc(auc=auc, variance=var, se=se, ci_low=lo, ci_high=hi, ci_level=level,
                     n_pos=n_pos, n_neg=int(y.size - n_pos))


@dataclass(frozen=True)
class DelongTest:
    """Paired comparison of two correlated AUCs (``difference = auc_a - auc_b``)."""

    auc_a: float
    auc_b: float
    difference: float
    variance: float
    se: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    ci_level: float
    covariance: np.ndarray


def delong_test(y_true: Any, score_a: Any, score_b: Any, *,
                ci_level: float = 0.95) -> DelongTest:
    """DeLong test of two AUCs measured on the same cases.

    ``Var(A - B) = Var(A) + Var(B) - 2 Cov(A, B)``; ``z = (A - B) / SE``; the p-value is
    two-sided from the standard normal, and the CI is ``(A - B) ± z_crit * SE``.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool; at least 2 positive and 2 negative cases.
    score_a, score_b : array-like of shape (n_cases,)
        The two score sets, same cases in the same order.
    ci_level : float, default 0.95

    Returns
    -------
    DelongTest
        With a zero variance of the difference, p and CI are NaN and a WbsdeskWarning is
        issued; if the difference is also zero (identical rankings), z = 0 and p = 1.

    Examples
    --------
    >>> y = [0, 0, 0, 1, 1, 1]
    >>> r = delong_test(y, [0.1, 0.3, 0.6, 0.4, 0.7, 0.9], [0.2, 0.1, 0.5, 0.3, 0.4, 0.6])
    >>> round(r.difference, 4), round(r.p_value, 3)
    (0.1111, 0.48)
    """
    level = check_ci_level(ci_level)
    y = as_truth(y_true)
    a = as_scores(score_a, name="score_a", n=y.size)
    b = as_scores(score_b, name="score_b", n=y.size)
    require_both_classes(y, what="The DeLong test", minimum=2)
    aucs, cov = _covariance(np.vstack([a, b]), y)
    diff = float(aucs[0] - aucs[1])
    var = max(float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]), 0.0)
    se = float(np.sqrt(var))
    z, p, lo, hi = inference(diff, se, np.inf, level, what="DeLong test")
    return DelongTest(auc_a=float(aucs[0]), auc_b=float(aucs[1]), difference=diff,
                      variance=var, se=se, z=z, p_value=p, ci_low=lo, ci_high=hi,
                      ci_level=level, covariance=readonly(cov))
