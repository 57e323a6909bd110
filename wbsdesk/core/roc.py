"""Empirical ROC curves and the area under them (Mann–Whitney, ties count one half).

Three kinds of reads share one definition of the empirical ROC: a case is called positive
at threshold ``t`` when its score is ``>= t``; thresholds run over the distinct scores from
the highest down, preceded by ``+inf`` so the curve starts at (0, 0) and ends at (1, 1).

* continuous model scores: :func:`roc_curve` (one point per distinct score);
* 5-level ratings: :func:`rating_roc` (one point per rating level);
* binary reads: :func:`binary_read_roc`, the single point (1 - specificity, sensitivity),
  whose polygon (0, 0) -> point -> (1, 1) has area (sensitivity + specificity) / 2.

The AUC is always the Mann–Whitney statistic ``P(X > Y) + P(X = Y) / 2`` (X a positive
case's score, Y a negative case's), computed from mid-ranks, which equals the trapezoidal
area under the empirical curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from wbsdesk.core._checks import (
    as_binary_reads,
    as_scores,
    as_truth,
    readonly,
    require_both_classes,
)
from wbsdesk.errors import UserError

__all__ = ["RocCurve", "auc_score", "binary_read_roc", "rating_roc", "roc_curve"]


@dataclass(frozen=True)
class RocCurve:
    """An empirical ROC curve.

    Attributes
    ----------
    fpr, tpr : ndarray of shape (n_points,)
        False- and true-positive rates, non-decreasing, from (0, 0) to (1, 1).
    thresholds : ndarray of shape (n_points,)
        ``thresholds[k]`` gives point ``k``: cases with ``score >= thresholds[k]`` are
        called positive. Decreasing; ``thresholds[0]`` is ``+inf``.
    auc : float
        Area under the curve (Mann–Whitney, ties count one half).
    n_pos, n_neg : int
        Number of positive and negative cases.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    n_pos: int
    n_neg: int


def _auc_rows(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUC of every row of ``scores`` (shape (..., n)) against truth ``y`` (bool, (n,)).

    Mid-ranks are multiples of 1/2, so the rank sum is exact and the AUC is the exact
    ratio rounded once.
    """
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    ranks = rankdata(scores, axis=-1, method="average")
    rank_sum = ranks[..., y].sum(axis=-1)
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def auc_score(y_true: Any, y_score: Any) -> float:
    """Area under the empirical ROC curve (Mann–Whitney U / (n_pos * n_neg)).

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool (1 = positive, e.g. WBS).
    y_score : array-like of shape (n_cases,)
        Higher means more likely positive. Continuous scores, ratings or 0/1 calls.

    Returns
    -------
    float
        ``P(score_pos > score_neg) + 0.5 * P(score_pos == score_neg)``.

    Raises
    ------
    UserError
        If only one class is present, lengths differ, or a score is NaN/inf.

    Examples
    --------
    >>> auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> auc_score([0, 1], [0.5, 0.5])  # a tie counts one half
    0.5
    """
    y = as_truth(y_true)
    s = as_scores(y_score, name="y_score", n=y.size)
    require_both_classes(y, what="The AUC")
    return float(_auc_rows(s, y))


def _curve_from_thresholds(y: np.ndarray, s: np.ndarray, thresholds: np.ndarray) -> RocCurve:
    """Points of the empirical ROC at the given decreasing thresholds."""
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    pos_sorted = np.sort(s[y])
    neg_sorted = np.sort(s[~y])
    # number of scores >= t, for each threshold t
    tps = n_pos - np.searchsorted(pos_sorted, thresholds, side="left")
    fps = n_neg - np.searchsorted(neg_sorted, thresholds, side="left")
    return RocCurve(
        fpr=readonly(fps / n_neg),
        tpr=readonly(tps / n_pos),
        thresholds=readonly(np.asarray(thresholds, dtype=float)),
        auc=float(_auc_rows(s, y)),
        n_pos=n_pos,
        n_neg=n_neg,
    )


def roc_curve(y_true: Any, y_score: Any) -> RocCurve:
    """Empirical ROC curve with one point per distinct score.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    y_score : array-like of shape (n_cases,)
        Scores; higher means more likely positive.

    Returns
    -------
    RocCurve
        ``n_points = n_distinct_scores + 1``; point 0 is (0, 0) at threshold ``+inf``,
        the last point is (1, 1) at the lowest score.

    Examples
    --------
    >>> c = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> c.fpr.tolist(), c.tpr.tolist(), c.auc
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], 0.75)
    """
    y = as_truth(y_true)
    s = as_scores(y_score, name="y_score", n=y.size)
    require_both_classes(y, what="The ROC curve")
    thresholds = np.concatenate([[np.inf], np.unique(s)[::-1]])
    return _curve_from_thresholds(y, s, thresholds)


def rating_roc(y_true: Any, ratings: Any, *, levels: Any = None) -> RocCurve:
    """Empirical ROC of ordinal ratings, one operating point per rating level.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    ratings : array-like of shape (n_cases,)
        Ordinal ratings, higher = more confident the case is positive (e.g. 1..5).
    levels : array-like, optional
        All possible levels (e.g. ``[1, 2, 3, 4, 5]``). Every level gets a point, even an
        unused one, so curves of different readers line up. Default: the levels observed.

    Returns
    -------
    RocCurve
        Thresholds ``[+inf, highest level, ..., lowest level]``.

    Raises
    ------
    UserError
        If a rating is not one of ``levels``.

    Examples
    --------
    >>> c = rating_roc([0, 0, 1, 1], [1, 3, 3, 5], levels=[1, 2, 3, 4, 5])
    >>> c.tpr.tolist(), c.fpr.tolist(), c.auc
    ([0.0, 0.5, 0.5, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.5, 0.5, 1.0], 0.875)
    """
    y = as_truth(y_true)
    r = as_scores(ratings, name="ratings", n=y.size)
    require_both_classes(y, what="The rating ROC curve")
    if levels is None:
        lv = np.unique(r)
    else:
        lv = np.unique(as_scores(levels, name="levels"))
        unknown = np.setdiff1d(np.unique(r), lv)
        if unknown.size:
            raise UserError(
                f"ratings hold value(s) {unknown.tolist()} that are not rating levels "
                f"{lv.tolist()}."
            )
    thresholds = np.concatenate([[np.inf], lv[::-1]])
    return _curve_from_thresholds(y, r, thresholds)


def binary_read_roc(y_true: Any, reads: Any) -> RocCurve:
    """ROC of binary (yes/no) reads: the single point (1 - specificity, sensitivity).

    The curve is (0, 0) -> (1 - spec, sens) -> (1, 1); its area is exactly
    ``(sensitivity + specificity) / 2``, which is also the Mann–Whitney AUC of the 0/1
    calls. This is how a human reader's AUC in Liu et al. (2021), Table 5, arises.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    reads : array-like of shape (n_cases,)
        The reader's calls, 0/1 or bool (1 = "positive").

    Returns
    -------
    RocCurve
        Three points at thresholds ``[+inf, 1, 0]``; ``auc = (sens + spec) / 2``.

    Examples
    --------
    >>> c = binary_read_roc([1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1])
    >>> c.tpr.tolist(), c.fpr.tolist(), c.auc
    ([0.0, 0.75, 1.0], [0.0, 0.5, 1.0], 0.625)
    """
    y = as_truth(y_true)
    calls = as_binary_reads(reads, name="reads", n=y.size)
    n_pos, n_neg = require_both_classes(y, what="The ROC of binary reads")
    tp = int((calls & y).sum())
    fp = int((calls & ~y).sum())
    sens = tp / n_pos
    spec = (n_neg - fp) / n_neg
    return RocCurve(
        fpr=readonly(np.array([0.0, fp / n_neg, 1.0])),
        tpr=readonly(np.array([0.0, sens, 1.0])),
        thresholds=readonly(np.array([np.inf, 1.0, 0.0])),
        auc=(sens + spec) / 2.0,
        n_pos=n_pos,
        n_neg=n_neg,
    )
