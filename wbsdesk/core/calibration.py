"""Calibration of out-of-fold probabilities and of readers' rating levels.

Models
------
* **Reliability diagram**: ``n_bins`` equal-width bins of the predicted probability; per bin
  the mean predicted probability against the observed share of positives (with a Wilson
  interval). The bins follow ``sklearn.calibration.calibration_curve(strategy="uniform")``:
  edges ``numpy.linspace(0, 1, n_bins + 1)``, bin *b* holds ``edges[b] < p <= edges[b+1]``
  and the first bin also holds ``p = 0``. Empty bins are kept (``n = 0``, NaN means).
* **Expected calibration error** (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017):
  ``ECE = sum_b (n_b / N) * |observed_b - mean_predicted_b|`` over the same bins.
* **Brier score** (Brier 1950): ``mean((p - y)^2)``, 0 is perfect, 0.25 is a constant 0.5.

Readers
-------
For a rating scale of L levels, the observed share of target-group photos among the photos
given each level (with a Wilson interval): a well-calibrated reader's "Definitely" photos
are nearly all target-group photos, and the share rises with the level.

Rendering: :data:`RELIABILITY_COLUMNS`, :data:`MODEL_CALIBRATION_COLUMNS` and
:data:`RATING_LEVEL_COLUMNS` name the columns of :meth:`ModelCalibration.bin_rows`,
:meth:`ModelCalibration.summary_row` and :meth:`ReaderCalibration.level_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core._checks import as_scores, as_truth
from wbsdesk.core.proportions import wilson_interval
from wbsdesk.core.result_table import Column
from wbsdesk.errors import UserError

__all__ = [
    "MODEL_CALIBRATION_COLUMNS",
    "N_BINS",
    "RATING_LEVEL_COLUMNS",
    "RELIABILITY_COLUMNS",
    "ModelCalibration",
    "RatingLevel",
    "ReaderCalibration",
    "ReliabilityBin",
    "bin_index",
    "brier_score",
    "expected_calibration_error",
    "model_calibration",
    "reader_calibration",
    "reliability_bins",
]

#: Bins of the reliability diagram (the issue's and sklearn's usual 10).
N_BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram.

    ``mean_predicted``, ``observed`` and the interval are NaN for an empty bin.
    """

    index: int
    p_low: float
    p_high: float
    n: int
    n_pos: int
    mean_predicted: float
    observed: float
    ci_low: float
    ci_high: float


def _probabilities(y_true: Any, prob: Any) -> tuple[np.ndarray, np.ndarray]:
    y = as_truth(y_true)
    p = as_scores(prob, name="probabilities", n=y.size)
    if np.any((p < 0) | (p > 1)):
        bad = int(np.flatnonzero((p < 0) | (p > 1))[0])
        raise UserError(f"probabilities must lie in [0, 1]; index {bad} holds {p[bad]!r}.")
    return y, p


def _check_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or not 1 <= n_bins <= 1000:
        raise UserError(f"n_bins must be a whole number from 1 to 1000, got {n_bins!r}.")
    return int(n_bins)


def bin_index(prob: Any, n_bins: int = N_BINS) -> np.ndarray:
    """Reliability-bin index (0..n_bins-1) of each probability (sklearn's uniform bins)."""
    edges = np.linspace(0.0, 1.0, _check_bins(n_bins) + 1)
    return np.searchsorted(edges[1:-1], np.asarray(prob, dtype=float))


def reliability_bins(y_true: Any, prob: Any, *, n_bins: int = N_BINS,
                     ci_level: float = 0.95) -> tuple[ReliabilityBin, ...]:
    """The bins of a reliability diagram, empty ones included.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    prob : array-like of shape (n_cases,)
        Predicted probabilities of the positive class, in [0, 1].
    n_bins : int, default 10
    ci_level : float, default 0.95
        Level of the Wilson interval of each bin's observed share.

    Returns
    -------
    tuple of ReliabilityBin
        ``n_bins`` bins in order. The non-empty bins' ``observed`` and ``mean_predicted``
        equal ``calibration_curve(y_true, prob, n_bins=n_bins, strategy="uniform")``.

    Examples
    --------
    >>> b = reliability_bins([0, 0, 1, 1], [0.05, 0.15, 0.12, 0.95], n_bins=10)
    >>> [(x.index, x.n, x.observed) for x in b if x.n]
    [(0, 1, 0.0), (1, 2, 0.5), (9, 1, 1.0)]
    """
    y, p = _probabilities(y_true, prob)
    k = _check_bins(n_bins)
    edges = np.linspace(0.0, 1.0, k + 1)
    ids = bin_index(p, k)
    out = []
    for b in range(k):
        inside = ids == b
        n, n_pos = int(inside.sum()), int(y[inside].sum())
        prop = wilson_interval(n_pos, n, ci_level=ci_level)
        mean_p = float(p[inside].mean()) if n else float("nan")
        out.append(ReliabilityBin(index=b, p_low=float(edges[b]), p_high=float(edges[b + 1]),
                                  n=n, n_pos=n_pos, mean_predicted=mean_p,
                                  observed=prop.estimate, ci_low=prop.ci_low,
                                  ci_high=prop.ci_high))
    return tuple(out)


def expected_calibration_error(y_true: Any, prob: Any, *, n_bins: int = N_BINS) -> float:
    """Expected calibration error over ``n_bins`` equal-width bins.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.6], n_bins=2), 4)
    0.1
    """
    y, p = _probabilities(y_true, prob)
    k = _check_bins(n_bins)
    ids = bin_index(p, k)
    sum_p = np.bincount(ids, weights=p, minlength=k)
    sum_y = np.bincount(ids, weights=y.astype(float), minlength=k)
    # |sum_y - sum_p| / N per bin == (n_b / N) * |observed_b - mean_predicted_b|
    return float(np.abs(sum_y - sum_p).sum() / y.size)


def brier_score(y_true: Any, prob: Any) -> float:
    """Mean squared difference between probability and outcome (0 is perfect).

    Examples
    --------
    >>> round(brier_score([0, 1], [0.1, 0.8]), 6)
    0.025
    """
    y, p = _probabilities(y_true, prob)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class ModelCalibration:
    """Calibration of one model's out-of-fold probabilities.

    Attributes
    ----------
    name, label : str
        The model's key (architecture or ``"ensemble"``) and display name.
    n, n_pos : int
        Cases and positives.
    bins : tuple of ReliabilityBin
        The reliability diagram (``n_bins`` bins, empty ones included).
    ece : float
        Expected calibration error over the same bins.
    brier : float
        Brier score.
    """

    name: str
    label: str
    n: int
    n_pos: int
    bins: tuple[ReliabilityBin, ...]
    ece: float
    brier: float

    def summary_row(self) -> tuple[Any, ...]:
        """One row in :data:`MODEL_CALIBRATION_COLUMNS` order."""
        return (self.label, self.n, self.n_pos, self.ece, self.brier)

    def bin_rows(self) -> list[tuple[Any, ...]]:
        """One row per bin in :data:`RELIABILITY_COLUMNS` order."""
        return [(self.label, b.index + 1, b.p_low, b.p_high, b.n, b.n_pos, b.mean_predicted,
                 b.observed, b.ci_low, b.ci_high) for b in self.bins]


def model_calibration(name: str, y_true: Any, prob: Any, *, label: str | None = None,
                      n_bins: int = N_BINS, ci_level: float = 0.95) -> ModelCalibration:
    """Reliability bins, ECE and Brier score of one model's probabilities.

    Examples
    --------
    >>> c = model_calibration("m", [0, 0, 1, 1], [0.1, 0.4, 0.6, 0.9])
    >>> round(c.brier, 3), round(c.ece, 3)
    (0.085, 0.25)
    """
    y, p = _probabilities(y_true, prob)
    return ModelCalibration(
        name=name, label=label or name, n=int(y.size), n_pos=int(y.sum()),
        bins=reliability_bins(y, p, n_bins=n_bins, ci_level=ci_level),
        ece=expected_calibration_error(y, p, n_bins=n_bins), brier=brier_score(y, p))


@dataclass(frozen=True)
class RatingLevel:
    """Target-group photos among those a reader gave one rating level."""

    level: int
    label: str
    n: int
    n_pos: int
    observed: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class ReaderCalibration:
    """The observed share of target-group photos at each level of a reader's scale.

    Attributes
    ----------
    name, label : str
    n, n_pos : int
        Rated photos and target-group photos among them.
    levels : tuple of RatingLevel
        One per scale level, lowest first (levels never used have ``n = 0``, NaN share).
    """

    name: str
    label: str
    n: int
    n_pos: int
    levels: tuple[RatingLevel, ...]

    def level_rows(self) -> list[tuple[Any, ...]]:
        """One row per level in :data:`RATING_LEVEL_COLUMNS` order."""
        return [(self.label, lv.level, lv.label, lv.n, lv.n_pos, lv.observed, lv.ci_low,
                 lv.ci_high) for lv in self.levels]


def reader_calibration(name: str, y_true: Any, ratings: Any, *, scale: Sequence[str],
                       label: str | None = None, ci_level: float = 0.95) -> ReaderCalibration:
    """Observed share of positives among the photos rated at each level.

    Parameters
    ----------
    name : str
    y_true : array-like of shape (n_rated,)
        Truth of the photos the reader rated.
    ratings : array-like of shape (n_rated,)
        Ratings 1..L (1-based level of ``scale``).
    scale : sequence of str
        The level names, lowest first (L = ``len(scale)``).
    label : str, optional
    ci_level : float, default 0.95
        Level of each share's Wilson interval.

    Returns
    -------
    ReaderCalibration

    Raises
    ------
    UserError
        A rating outside 1..L.

    Examples
    --------
    >>> r = reader_calibration("A", [0, 1, 1, 0, 1], [1, 3, 3, 3, 3], scale=["no", "?", "yes"])
    >>> [(lv.level, lv.n, lv.observed) for lv in r.levels]
    [(1, 1, 0.0), (2, 0, nan), (3, 4, 0.75)]
    """
    y = as_truth(y_true)
    r = as_scores(ratings, name="ratings", n=y.size)
    levels = np.arange(1, len(scale) + 1)
    bad = ~np.isin(r, levels)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserError(f"ratings must be whole levels 1..{len(scale)}; index {i} holds "
                        f"{r[i]!r}.")
    rows = []
    for lv, text in zip(levels, scale, strict=True):
        at = r == lv
        prop = wilson_interval(int(y[at].sum()), int(at.sum()), ci_level=ci_level)
        rows.append(RatingLevel(level=int(lv), label=text, n=prop.n, n_pos=prop.count,
                                observed=prop.estimate, ci_low=prop.ci_low,
                                ci_high=prop.ci_high))
    return ReaderCalibration(name=name, label=label or name, n=int(y.size),
                             n_pos=int(y.sum()), levels=tuple(rows))


#: Columns of :meth:`ModelCalibration.summary_row`.
MODEL_CALIBRATION_COLUMNS = (
    Column("model", "Model", "", "text"),
    Column("cases", "Cases", "photos", "count"),
    Column("positives", "Positives", "photos", "count"),
    Column("ece", "ECE", "probability", "number"),
    Column("brier", "Brier score", "probability²", "number"),
)
#: Columns of :meth:`ModelCalibration.bin_rows` (the reliability diagram's points).
RELIABILITY_COLUMNS = (
    Column("model", "Model", "", "text"),
    Column("bin", "Bin", "", "count"),
    Column("p_low", "From", "probability (exclusive)", "number"),
    Column("p_high", "To", "probability (inclusive)", "number"),
    Column("cases", "Cases", "photos", "count"),
    Column("positives", "Positives", "photos", "count"),
    Column("mean_predicted", "Mean predicted", "probability", "number"),
    Column("observed", "Observed share", "proportion", "number"),
    Column("ci_low", "CI low", "proportion (Wilson)", "number"),
    Column("ci_high", "CI high", "proportion (Wilson)", "number"),
)
#: Columns of :meth:`ReaderCalibration.level_rows`.
RATING_LEVEL_COLUMNS = (
    Column("reader", "Reader", "", "text"),
    Column("level", "Level", "", "count"),
    Column("level_label", "Rating", "", "text"),
    Column("photos", "Photos", "photos", "count"),
    Column("positives", "Target-group photos", "photos", "count"),
    Column("observed", "Observed share", "proportion", "number"),
    Column("ci_low", "CI low", "proportion (Wilson)", "number"),
    Column("ci_high", "CI high", "proportion (Wilson)", "number"),
)
