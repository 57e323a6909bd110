"""Threshold metrics, cross-validation fold summaries and reader tables (Liu et al. 2021).

* :func:`confusion_metrics` -- accuracy, precision, recall (sensitivity), specificity, F1;
* :func:`fold_summary` -- per-fold metrics plus mean and SD over folds (the paper's Table 4);
* :func:`reader_table` -- one row per reader plus the "Average" row (the paper's Table 5);

Sub-analyses (positive group vs. some control groups) are in :mod:`wbsdesk.core.subsets`.

Undefined rates (a zero denominator, e.g. precision of a reader who never calls
"positive") are returned as NaN together with a :class:`~wbsdesk.errors.WbsdeskWarning`;
they are never silently replaced by 0.

F1 is computed as ``2 tp / (2 tp + fp + fn)``, which equals the harmonic mean of precision
and recall whenever both are defined, and is 0 (not NaN) when there are positive cases but
no true positives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wbsdesk.core._checks import as_binary_reads, as_scores, as_truth, warn
from wbsdesk.core.roc import auc_score, binary_read_roc
from wbsdesk.errors import UserError

__all__ = [
    "METRIC_NAMES",
    "ConfusionMetrics",
    "FoldRow",
    "FoldSummary",
    "ReaderRow",
    "ReaderTable",
    "confusion_metrics",
    "fold_summary",
    "reader_table",
]

#: Metrics summarised per fold / per reader, in table order.
METRIC_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "specificity", "f1", "auc")


def _ratio(num: int, den: int, *, what: str, who: str) -> float:
    if den == 0:
        warn(f"{what} of {who} is undefined (zero denominator) and is reported as NaN.")
        return float("nan")
    return num / den


@dataclass(frozen=True)
class ConfusionMetrics:
    """Confusion counts at one threshold and the rates derived from them.

    Attributes
    ----------
    tp, fp, tn, fn : int
        True/false positives and negatives.
    accuracy : float
        ``(tp + tn) / n``.
    precision : float
        ``tp / (tp + fp)``; NaN (with a warning) when nothing was called positive.
    recall : float
        Sensitivity, ``tp / (tp + fn)``; NaN (with a warning) without positive cases.
    specificity : float
        ``tn / (tn + fp)``; NaN (with a warning) without negative cases.
    f1 : float
        ``2 tp / (2 tp + fp + fn)``; NaN (with a warning) only if that denominator is 0.
    """

    tp: int
    fp: int
    tn: int
    fn: int
    accuracy: float
    precision: float
    recall: float
    specificity: float
    f1: float

    @classmethod
    def from_counts(cls, tp: int, fp: int, tn: int, fn: int, *,
                    who: str = "the predictions") -> ConfusionMetrics:
        """Build the metrics from the four counts (``who`` names the source in warnings).

        Examples
        --------
        >>> m = ConfusionMetrics.from_counts(89, 46, 190, 15)
        >>> f"{100 * m.accuracy:.1f} {100 * m.precision:.1f} {100 * m.f1:.1f}"
        '82.1 65.9 74.5'
        """
        counts = (tp, fp, tn, fn)
        if any(int(c) != c or c < 0 for c in counts):
            raise UserError(f"Confusion counts must be non-negative integers, got {counts}.")
        tp, fp, tn, fn = (int(c) for c in counts)
        if tp + fp + tn + fn == 0:
            raise UserError("Confusion counts are all zero: there are no cases.")
        return cls(
            tp=tp, fp=fp, tn=tn, fn=fn,
            accuracy=(tp + tn) / (tp + fp + tn + fn),
            precision=_ratio(tp, tp + fp, what="Precision", who=who),
            recall=_ratio(tp, tp + fn, what="Recall (sensitivity)", who=who),
            specificity=_ratio(tn, tn + fp, what="Specificity", who=who),
            f1=_ratio(2 * tp, 2 * tp + fp + fn, what="F1", who=who),
        )

    @property
    def sensitivity(self) -> float:
        """Alias of :attr:`recall`."""
        return self.recall

    @property
    def binary_auc(self) -> float:
        """``(sensitivity + specificity) / 2``: the AUC of the single ROC point."""
        return (self.recall + self.specificity) / 2.0

    @property
    def n(self) -> int:
        """Number of cases."""
        return self.tp + self.fp + self.tn + self.fn


def confusion_metrics(y_true: Any, y_pred_or_score: Any, *,
                      threshold: float | None = None) -> ConfusionMetrics:
    """Confusion counts and rates of binary calls, or of scores cut at a threshold.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    y_pred_or_score : array-like of shape (n_cases,)
        0/1 calls when ``threshold`` is None; otherwise scores, and a case is called
        positive when ``score >= threshold``.
    threshold : float, optional
        Cut-off for scores (e.g. 0.5 for a probability: the arg-max of two outputs).

    Returns
    -------
    ConfusionMetrics

    Raises
    ------
    UserError
        On length mismatch, NaN values, or non-0/1 calls without a threshold.

    Examples
    --------
    >>> m = confusion_metrics([1, 1, 0, 0, 0], [0.9, 0.4, 0.6, 0.1, 0.2], threshold=0.5)
    >>> (m.tp, m.fp, m.tn, m.fn), m.accuracy, m.recall
    ((1, 1, 2, 1), 0.6, 0.5)
    """
    y = as_truth(y_true)
    if threshold is None:
        calls = as_binary_reads(y_pred_or_score, name="y_pred", n=y.size)
    else:
        thr = float(threshold)
        if not np.isfinite(thr):
            raise UserError(f"threshold must be a finite number, got {threshold!r}.")
        calls = as_scores(y_pred_or_score, name="y_score", n=y.size) >= thr
    return _from_calls(y, calls, who="the predictions")


def _from_calls(y: np.ndarray, calls: np.ndarray, *, who: str) -> ConfusionMetrics:
    tp = int(np.count_nonzero(calls & y))
    fp = int(np.count_nonzero(calls & ~y))
    fn = int(np.count_nonzero(~calls & y))
    tn = int(y.size - tp - fp - fn)
    return ConfusionMetrics.from_counts(tp, fp, tn, fn, who=who)


def _sd(values: np.ndarray, ddof: int, *, what: str) -> float:
    if values.size <= ddof:
        warn(f"The SD of {what} needs more than {ddof} defined value(s) and has "
             f"{values.size}; reported as NaN.")
        return float("nan")
    return float(np.std(values, ddof=ddof))


@dataclass(frozen=True)
class FoldRow:
    """Metrics of one cross-validation fold (its test cases only)."""

    fold: Any
    n_cases: int
    confusion: ConfusionMetrics
    auc: float

    def value(self, metric: str) -> float:
        """One of :data:`METRIC_NAMES`."""
        return self.auc if metric == "auc" else float(getattr(self.confusion, metric))


@dataclass(frozen=True)
class FoldSummary:
    """Per-fold metrics and their mean and SD over folds (Table 4 of the paper).

    ``mean[m]`` and ``sd[m]`` for ``m`` in :data:`METRIC_NAMES` are over the folds where
    the metric is defined (``n_defined[m]`` of them); the SD uses ``ddof``.
    """

    rows: tuple[FoldRow, ...]
    mean: Mapping[str, float]
    sd: Mapping[str, float]
    threshold: float
    ddof: int
    n_defined: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        return len(self.rows)


def fold_summary(y_true: Any, y_score: Any, folds: Any, *, threshold: float = 0.5,
                 ddof: int = 1) -> FoldSummary:
    """Metrics per cross-validation fold, and their mean ± SD over folds.

    Each fold's metrics are computed on that fold's test cases only: accuracy,
    precision, recall, specificity and F1 at ``score >= threshold``, and the AUC from the
    continuous scores. The summary is the plain (unweighted) mean over folds and the SD
    over folds: ``np.std(values, ddof=ddof)``; the default ``ddof=1`` is the sample SD
    (divisor k - 1 for k folds), the usual meaning of "mean ± SD" of k results.

    A metric undefined in a fold (NaN with a warning naming the fold: precision when the
    fold has no positive call, the AUC and recall or specificity of a fold holding one
    class only) is left out of that metric's mean and SD, which are over the folds where
    it is defined (``n_defined``); it is NaN only when no fold defines it.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    y_score : array-like of shape (n_cases,)
        Out-of-fold score of every case (e.g. predicted probability of the positive class).
    folds : array-like of shape (n_cases,)
        Fold label of every case (any hashable values); folds are reported in sorted order.
    threshold : float, default 0.5
        Cases with ``score >= threshold`` are called positive.
    ddof : int, default 1
        Delta degrees of freedom of the SD (0: population SD, 1: sample SD).

    Returns
    -------
    FoldSummary

    Raises
    ------
    UserError
        On malformed input.

    Warns
    -----
    WbsdeskWarning
        For every undefined value, naming its fold (a fold of one class: its AUC).

    Examples
    --------
    >>> s = fold_summary([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6], [1, 1, 2, 2])
    >>> [r.auc for r in s.rows], s.mean["auc"], round(s.sd["auc"], 4)
    ([1.0, 0.0], 0.5, 0.7071)
    """
    y = as_truth(y_true)
    s = as_scores(y_score, name="y_score", n=y.size)
    f = np.asarray(folds)
    if f.shape != y.shape:
        raise UserError(f"folds has shape {f.shape} but the truth has {y.shape}.")
    if int(ddof) != ddof or ddof < 0:
        raise UserError(f"ddof must be a non-negative integer, got {ddof!r}.")
    thr = float(threshold)
    rows = []
    for fold in np.unique(f):
        sel = f == fold
        fold_key = fold.item() if hasattr(fold, "item") else fold
        who = f"fold {fold_key}"
        n_pos = int(y[sel].sum())
        if n_pos in (0, int(sel.sum())):
            has = "positive" if n_pos else "control"
            warn(f"AUC of {who} is undefined (the fold holds {has} cases only) and is "
                 "reported as NaN.")
            auc = float("nan")
        else:
            auc = auc_score(y[sel], s[sel])
        conf = _from_calls(y[sel], s[sel] >= thr, who=who)
        rows.append(FoldRow(fold=fold_key, n_cases=int(sel.sum()), confusion=conf, auc=auc))
    mean: dict[str, float] = {}
    sd: dict[str, float] = {}
    n_defined: dict[str, int] = {}
    for m in METRIC_NAMES:
        vals = np.array([r.value(m) for r in rows])
        vals = vals[np.isfinite(vals)]
        n_defined[m] = int(vals.size)
        mean[m] = float(np.mean(vals)) if vals.size else float("nan")
        sd[m] = _sd(vals, int(ddof), what=m) if vals.size else float("nan")
    return FoldSummary(rows=tuple(rows), mean=mean, sd=sd, threshold=thr, ddof=int(ddof),
                       n_defined=n_defined)


@dataclass(frozen=True)
class ReaderRow:
    """One row of a reader table. ``confusion`` is None for the "Average" row."""

    name: str
    accuracy: float
    precision: float
    recall: float
    specificity: float
    f1: float
    auc: float
    confusion: ConfusionMetrics | None = None

    def value(self, metric: str) -> float:
        """One of :data:`METRIC_NAMES`."""
        return float(getattr(self, metric))


@dataclass(frozen=True)
class ReaderTable:
    """Readers' rows and their "Average" row (Table 5 of the paper)."""

    rows: tuple[ReaderRow, ...]
    average: ReaderRow


def reader_table(y_true: Any, reads: Mapping[str, Any]) -> ReaderTable:
    """Metrics of each reader's binary calls and the average over readers.

    Each reader's AUC is that of the single ROC point, ``(sensitivity + specificity) / 2``
    (see :func:`~wbsdesk.core.roc.binary_read_roc`). The "Average" row is the arithmetic
    mean of the readers' unrounded values, metric by metric; in particular its F1 is the
    mean of the readers' F1 values, not the F1 of the mean precision and recall.

    This matches Liu et al. (2021), Table 5: with the confusion counts that reproduce the
    four rows, the means are 74.63, 57.21, 66.83, 61.49 and 72.45 %, printed as
    74.6, 57.2, 66.8, 61.5 and 72.4. (Averaging the rounded row values instead gives
    74.65 and 66.85 for accuracy and recall, which round half-up to 74.7 and 66.9, and
    the F1 of the mean precision and recall would be 61.6.)

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    reads : mapping of str to array-like of shape (n_cases,)
        Each reader's 0/1 calls, in display order.

    Returns
    -------
    ReaderTable
        A metric that is undefined for one reader (NaN, warned) makes the average NaN.

    Examples
    --------
    >>> t = reader_table([1, 1, 0, 0], {"A": [1, 0, 0, 0], "B": [1, 1, 1, 0]})
    >>> [r.auc for r in t.rows], t.average.auc
    ([0.75, 0.75], 0.75)
    """
    y = as_truth(y_true)
    if not reads:
        raise UserError("The reader table needs at least one reader.")
    rows = []
    for name, calls in reads.items():
        label = str(name)
        c = as_binary_reads(calls, name=f"reads of {label!r}", n=y.size)
        conf = _from_calls(y, c, who=f"reader {label!r}")
        try:
            auc = binary_read_roc(y, c).auc
        except UserError as exc:
            raise UserError(f"Reader {label!r}: {exc.message}", hint=exc.hint) from exc
        rows.append(ReaderRow(name=label, accuracy=conf.accuracy, precision=conf.precision,
                              recall=conf.recall, specificity=conf.specificity, f1=conf.f1,
                              auc=auc, confusion=conf))
    avg = {m: float(np.mean([r.value(m) for r in rows])) for m in METRIC_NAMES}
    return ReaderTable(rows=tuple(rows), average=ReaderRow(name="Average", **avg))
