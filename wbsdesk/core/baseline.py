"""Confound audit: capture statistics by group, and a trivial baseline on the CNN's folds.

A CNN that separates the groups may be reading *how the photos were taken* (framing,
padding, lighting, resolution) rather than the faces. Two checks make that visible:

1. **Each capture statistic alone** (:func:`compare_statistic`): per group its median and
   IQR; the standardised mean difference (target vs. controls,
   ``(mean_t - mean_c) / sqrt((sd_t^2 + sd_c^2) / 2)``, Austin 2009, *Stat Med*
   28:3083-3107); and its AUC as a score, direction-free (``max(AUC, 1 - AUC)``). A
   statistic whose AUC alone is at least :data:`FLAG_AUC` is flagged.
2. **A trivial baseline** (:func:`out_of_fold_logistic`): an L2 logistic regression
   (scikit-learn; median imputation, standardised features, seeded) on the capture
   statistics plus an 8 x 8 thumbnail and colour histograms of the model crop, trained on
   each fold's training subjects and predicting its test subjects, on exactly the CNN's
   folds: its out-of-fold probabilities are compared with each CNN by the paired DeLong
   test (:func:`compare_with_models`), and :func:`baseline_warning` gives the text to show
   when it comes within :data:`WARN_MARGIN` AUC of the best CNN.

Rendering: :data:`CAPTURE_SUMMARY_COLUMNS`, :data:`CAPTURE_GROUP_COLUMNS` and
:data:`BASELINE_COLUMNS` name the columns of :meth:`StatisticComparison.summary_row`,
:meth:`StatisticComparison.group_rows` and :meth:`BaselineComparison.row`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

from wbsdesk.core._checks import as_truth, check_ci_level
from wbsdesk.core.capture import CaptureStatistic
from wbsdesk.core.delong import DelongTest, delong_test
from wbsdesk.core.proportions import holm
from wbsdesk.core.result_table import Column
from wbsdesk.core.roc import auc_score
from wbsdesk.errors import UserError

__all__ = [
    "BASELINE_COLUMNS",
    "CAPTURE_GROUP_COLUMNS",
    "CAPTURE_SUMMARY_COLUMNS",
    "FLAG_AUC",
    "WARN_MARGIN",
    "BaselineComparison",
    "GroupDistribution",
    "StatisticComparison",
    "baseline_warning",
    "check_subject_folds",
    "compare_statistic",
    "compare_with_models",
    "direction_free_auc",
    "out_of_fold_logistic",
    "standardised_mean_difference",
]

#: A capture statistic whose AUC alone reaches this is flagged.
FLAG_AUC = 0.65
#: The baseline warning is raised when the baseline's AUC is within this of the best CNN's.
WARN_MARGIN = 0.05
#: Inverse L2 strength of the baseline's logistic regression (scikit-learn's default).
BASELINE_C = 1.0


def standardised_mean_difference(target: Any, controls: Any) -> float:
    """``(mean_t - mean_c) / sqrt((var_t + var_c) / 2)`` with sample variances (ddof 1).

    NaN when either side has fewer than 2 values, or when both SDs and the difference are
    zero; ``±inf`` when only the SDs are zero. Differences and SDs below 1e-9 of the values'
    scale count as zero (identical values have a rounding-noise variance).

    Examples
    --------
    >>> round(standardised_mean_difference([1, 2, 3], [2, 3, 4]), 3)
    -1.0
    """
    t = np.asarray(target, dtype=float)
    c = np.asarray(controls, dtype=float)
    if t.size < 2 or c.size < 2:
        return float("nan")
    diff = float(t.mean() - c.mean())
    pooled = float(np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2.0))
    tol = 1e-9 * max(float(np.abs(t).max()), float(np.abs(c).max()), 1e-300)
    diff = 0.0 if abs(diff) <= tol else diff
    if pooled <= tol:
        return float("nan") if diff == 0.0 else float(np.copysign(np.inf, diff))
    return diff / pooled


def direction_free_auc(y_true: Any, values: Any) -> tuple[float, float]:
    """``(max(AUC, 1 - AUC), AUC)`` of a statistic used as a score for the positives.

    Examples
    --------
    >>> direction_free_auc([0, 0, 1, 1], [4, 3, 2, 1])
    (1.0, 0.0)
    """
    raw = auc_score(y_true, values)
    return max(raw, 1.0 - raw), raw


@dataclass(frozen=True)
class GroupDistribution:
    """Median and interquartile range of a statistic in one group (NaNs left out)."""

    group: str
    n: int
    median: float
    q1: float
    q3: float


def _distribution(group: str, x: np.ndarray) -> GroupDistribution:
    x = x[np.isfinite(x)]
    if not x.size:
        nan = float("nan")
        return GroupDistribution(group, 0, nan, nan, nan)
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return GroupDistribution(group, int(x.size), float(med), float(q1), float(q3))


@dataclass(frozen=True)
class StatisticComparison:
    """One capture statistic across the groups.

    Attributes
    ----------
    statistic : CaptureStatistic
        Key, label, unit and source.
    groups : tuple of GroupDistribution
        Per group (protocol order), then ``"target"`` and ``"controls"`` pooled.
    smd : float
        Standardised mean difference, target minus controls.
    auc : float
        Direction-free AUC of the statistic alone (target vs. controls).
    higher_in : {"target", "controls", "neither"}
        Which side has the higher values by the AUC.
    flagged : bool
        ``auc >= FLAG_AUC``.
    n_missing : int
        Cases without a value (left out of this statistic).
    """

    statistic: CaptureStatistic
    groups: tuple[GroupDistribution, ...]
    smd: float
    auc: float
    higher_in: str
    flagged: bool
    n_missing: int

    def summary_row(self) -> tuple[Any, ...]:
        """One row in :data:`CAPTURE_SUMMARY_COLUMNS` order."""
        by = {g.group: g for g in self.groups}
        t, c = by["target"], by["controls"]
        return (self.statistic.label, self.statistic.unit, t.median, t.q1, t.q3, c.median,
                c.q1, c.q3, self.smd, self.auc, self.higher_in, self.flagged,
                self.statistic.source)

    def group_rows(self) -> list[tuple[Any, ...]]:
        """One row per group in :data:`CAPTURE_GROUP_COLUMNS` order."""
        return [(self.statistic.label, self.statistic.unit, g.group, g.n, g.median, g.q1,
                 g.q3) for g in self.groups]


def compare_statistic(statistic: CaptureStatistic, values: Any, groups: Sequence[str], *,
                      positive: str, group_order: Sequence[str]) -> StatisticComparison:
    """Distributions by group, SMD and direction-free AUC of one capture statistic.

    Parameters
    ----------
    statistic : CaptureStatistic
    values : array-like of shape (n_cases,)
        NaN where unknown (left out).
    groups : sequence of str, length n_cases
        Each case's group; every group other than ``positive`` is a control.
    positive : str, keyword-only
    group_order : sequence of str, keyword-only
        Groups in display order.

    Returns
    -------
    StatisticComparison
        With fewer than one known value on a side the AUC is NaN and nothing is flagged.
    """
    x = np.asarray(values, dtype=float)
    g = np.asarray(groups, dtype=object)
    if x.shape != g.shape:
        raise UserError(f"{statistic.label}: {x.size} value(s) for {g.size} case(s).")
    known = np.isfinite(x)
    y = g == positive
    dists = [_distribution(str(name), x[g == name]) for name in group_order]
    dists += [_distribution("target", x[y]), _distribution("controls", x[~y])]
    xt, xc = x[known & y], x[known & ~y]
    if xt.size and xc.size:
        auc, raw = direction_free_auc(y[known], x[known])
        higher = "target" if raw > 0.5 else "controls" if raw < 0.5 else "neither"
    else:
        auc, higher = float("nan"), "neither"
    return StatisticComparison(statistic=statistic, groups=tuple(dists),
                               smd=standardised_mean_difference(xt, xc), auc=auc,
                               higher_in=higher, flagged=bool(auc >= FLAG_AUC),
                               n_missing=int((~known).sum()))


def check_subject_folds(subjects: Sequence[str], folds: Sequence[int]) -> None:
    """Raise unless every subject has exactly one fold.

    Raises
    ------
    UserError
        Naming the first subject found in two folds.
    """
    seen: dict[str, int] = {}
    for s, f in zip(subjects, folds, strict=True):
        if seen.setdefault(s, int(f)) != int(f):
            raise UserError(f"subject {s!r} is in folds {seen[s]} and {int(f)}: a subject "
                            "must never be in two folds")


def out_of_fold_logistic(features: Any, y_true: Any, folds: Any, *, seed: int,
                         c: float = BASELINE_C) -> np.ndarray:
    """Out-of-fold probabilities of a standardised logistic regression on given folds.

    For every fold *k*, a pipeline (median imputation of NaN, standardisation, L2 logistic
    regression with ``C = c`` and ``random_state = seed``) is fitted on the cases of the
    other folds and predicts the cases of fold *k*: each case is scored by a model that did
    not see it, exactly as the CNN's cross-validation does.

    Parameters
    ----------
    features : array-like of shape (n_cases, n_features)
        NaN allowed (imputed by the training cases' median; a column with no value in a
        training set is dropped by the imputer).
    y_true : array-like of shape (n_cases,)
    folds : array-like of int, shape (n_cases,)
        The fold of each case; at least 2 folds.
    seed : int, keyword-only
    c : float, keyword-only, default 1.0

    Returns
    -------
    ndarray of shape (n_cases,)
        Probability of the positive class.

    Raises
    ------
    UserError
        Fewer than 2 folds, or a training set with only one class.
    """
    x = np.asarray(features, dtype=float)
    y = as_truth(y_true)
    f = np.asarray(folds)
    if x.ndim != 2 or x.shape[0] != y.size or f.shape != y.shape:
        raise UserError(f"features {x.shape}, truth {y.shape} and folds {f.shape} must "
                        "describe the same cases.")
    if np.isinf(x).any():
        raise UserError("baseline features must be finite (NaN marks a missing value).")
    fold_ids = np.unique(f)
    if fold_ids.size < 2:
        raise UserError("the baseline needs at least 2 folds.")
    out = np.full(y.size, np.nan)
    # one BLAS thread: a few hundred cases fit ~4x faster than with threads competing for
    # the cores (and the result does not depend on the thread count)
    with threadpool_limits(1):
        for k in fold_ids:
            _fit_fold(x, y, f, k, seed, c, out)
    return out


def _fit_fold(x: np.ndarray, y: np.ndarray, f: np.ndarray, k: Any, seed: int, c: float,
              out: np.ndarray) -> None:
    """Fit on every fold but ``k`` and write fold ``k``'s probabilities into ``out``."""
    test = f == k
    train = ~test
    if np.unique(y[train]).size < 2:
        raise UserError(f"the training cases of fold {k} hold only one class; the "
                        "baseline cannot be fitted.")
    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
        LogisticRegression(C=c, max_iter=10_000, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[train], y[train])
    out[test] = model.predict_proba(x[test])[:, 1]


@dataclass(frozen=True)
class BaselineComparison:
    """A CNN against the trivial baseline on the same cases (paired DeLong test).

    ``p_holm`` is the p-value Holm-adjusted over the family of every model compared with
    the baseline (NaN when not adjusted).
    """

    model: str
    model_auc: float
    baseline_auc: float
    test: DelongTest
    p_holm: float = float("nan")

    def row(self) -> tuple[Any, ...]:
        """One row in :data:`BASELINE_COLUMNS` order."""
        t = self.test
        return (self.model, self.model_auc, self.baseline_auc, t.difference, t.ci_low,
                t.ci_high, t.z, t.p_value, self.p_holm)


def compare_with_models(y_true: Any, baseline: Any, models: dict[str, Any], *,
                        ci_level: float = 0.95) -> tuple[BaselineComparison, ...]:
    """Paired DeLong test of each model's scores against the baseline's (model - baseline).

    The p-values are Holm-adjusted over the models compared (one family, ``p_holm``).

    Examples
    --------
    >>> r = compare_with_models([0, 0, 1, 1], [0.2, 0.6, 0.4, 0.8], {"m": [0.1, 0.2, 0.8, 0.9]})
    >>> r[0].model_auc, r[0].baseline_auc
    (1.0, 0.75)
    """
    level = check_ci_level(ci_level)
    out = []
    for name, score in models.items():
        t = delong_test(y_true, score, baseline, ci_level=level)
        out.append(BaselineComparison(model=name, model_auc=t.auc_a, baseline_auc=t.auc_b,
                                      test=t))
    if not out:
        return ()
    adjusted = holm([c.test.p_value for c in out]).p_adjusted
    return tuple(BaselineComparison(c.model, c.model_auc, c.baseline_auc, c.test, float(q))
                 for c, q in zip(out, adjusted, strict=True))


def baseline_warning(baseline_auc: float, model_aucs: dict[str, float], *,
                     margin: float = WARN_MARGIN) -> str | None:
    """The text to show when the baseline comes within ``margin`` AUC of the best CNN.

    Returns ``None`` when the best CNN is ahead by ``margin`` or more (or there is none).

    Examples
    --------
    >>> baseline_warning(0.809, {"ResNet-18": 0.813}) is not None
    True
    >>> baseline_warning(0.70, {"ResNet-18": 0.813}) is None
    True
    """
    if not model_aucs or not np.isfinite(baseline_auc):
        return None
    best = max(model_aucs, key=lambda k: model_aucs[k])
    gap = model_aucs[best] - baseline_auc
    if gap >= margin:
        return None
    where = ("beats" if gap < 0 else "comes within "
             f"{margin:.2f} AUC of")
    return (f"A trivial baseline (logistic regression on capture statistics, an 8×8 "
            f"thumbnail and colour histograms of the model crop, on the same folds) reaches "
            f"AUC {baseline_auc:.3f} and {where} the best CNN ({best}, "
            f"{model_aucs[best]:.3f}). The CNN may be reading how the photos were taken "
            "rather than the faces: check the flagged capture statistics before believing "
            "the model.")


#: Columns of :meth:`StatisticComparison.summary_row`.
CAPTURE_SUMMARY_COLUMNS = (
    Column("statistic", "Statistic", "", "text"),
    Column("unit", "Unit", "", "text"),
    Column("target_median", "Target median", "statistic's unit", "number"),
    Column("target_q1", "Target Q1", "statistic's unit", "number"),
    Column("target_q3", "Target Q3", "statistic's unit", "number"),
    Column("controls_median", "Controls median", "statistic's unit", "number"),
    Column("controls_q1", "Controls Q1", "statistic's unit", "number"),
    Column("controls_q3", "Controls Q3", "statistic's unit", "number"),
    Column("smd", "SMD", "standardised mean difference, target - controls", "number"),
    Column("auc", "AUC alone", "max(AUC, 1 - AUC)", "number"),
    Column("higher_in", "Higher in", "", "text"),
    Column("flagged", f"AUC ≥ {FLAG_AUC}", "", "flag"),
    Column("source", "Computed from", "", "text"),
)
#: Columns of :meth:`StatisticComparison.group_rows`.
CAPTURE_GROUP_COLUMNS = (
    Column("statistic", "Statistic", "", "text"),
    Column("unit", "Unit", "", "text"),
    Column("group", "Group", "", "text"),
    Column("n", "Photos", "photos", "count"),
    Column("median", "Median", "statistic's unit", "number"),
    Column("q1", "Q1", "statistic's unit", "number"),
    Column("q3", "Q3", "statistic's unit", "number"),
)
#: Columns of :meth:`BaselineComparison.row`.
BASELINE_COLUMNS = (
    Column("model", "Model", "", "text"),
    Column("model_auc", "Model AUC", "", "number"),
    Column("baseline_auc", "Baseline AUC", "", "number"),
    Column("difference", "Difference", "model - baseline AUC", "number"),
    Column("ci_low", "CI low", "difference (DeLong)", "number"),
    Column("ci_high", "CI high", "difference (DeLong)", "number"),
    Column("z", "z", "", "number"),
    Column("p_value", "p", "two-sided, paired DeLong", "p_value"),
    Column("p_holm", "p (Holm)", "adjusted over every model compared with the baseline",
           "p_value", note="Holm's step-down adjustment over the models of this table "
                           "(family-wise error rate)."),
)
