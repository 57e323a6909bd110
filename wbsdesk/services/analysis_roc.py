"""Plot-ready ROC data of a comparison (plain numpy; drawn by ``wbsdesk.gui.report_render``).

The band across folds
---------------------
Each fold's empirical ROC (its test cases only) is read off at a common grid of false-
positive rates, ``FPR_GRID`` = 0, 0.01, ..., 1. The empirical ROC joins its points with
straight lines; where it jumps vertically (several positives tied at one FPR) the *upper*
end is taken, so the curve read off at FPR = 0 is the sensitivity reached before the first
false positive. Across the k folds the band is the **mean ± 1 SD** of those TPRs (SD with
the protocol's ``sd_ddof``), clipped to [0, 1]; the per-grid-point minimum and maximum over
folds are kept too (``band.min`` / ``band.max``). The line drawn with the band is the pooled
out-of-fold ROC of all cases (one score per case), not the fold mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wbsdesk.core.stats import RocCurve, roc_curve

#: False-positive rates at which fold ROCs are read off for the band.
FPR_GRID = np.linspace(0.0, 1.0, 101)


def tpr_at(curve: RocCurve, grid: np.ndarray = FPR_GRID) -> np.ndarray:
    """Sensitivity of an empirical ROC at the given FPRs (upper end of vertical jumps).

    Examples
    --------
    >>> c = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> tpr_at(c, np.array([0.0, 0.25, 0.5, 1.0])).tolist()
    [0.5, 0.5, 1.0, 1.0]
    """
    fpr, tpr = np.asarray(curve.fpr, float), np.asarray(curve.tpr, float)
    x = np.asarray(grid, float)
    first = np.r_[True, fpr[1:] != fpr[:-1]]  # lowest TPR at each distinct FPR
    last = np.r_[fpr[1:] != fpr[:-1], True]  # highest TPR at each distinct FPR
    ux, lower, upper = fpr[last], tpr[first], tpr[last]
    j = np.clip(np.searchsorted(ux, x, side="left"), 1, ux.size - 1)
    on_vertex = np.isclose(ux[j], x, rtol=0.0, atol=1e-12)
    on_prev = np.isclose(ux[j - 1], x, rtol=0.0, atol=1e-12)
    # between two distinct FPRs the curve runs from the upper end of the left one to the
    # lower end of the right one
    frac = (x - ux[j - 1]) / (ux[j] - ux[j - 1])
    inside = upper[j - 1] + frac * (lower[j] - upper[j - 1])
    return np.where(on_vertex, upper[j], np.where(on_prev, upper[j - 1], inside))


@dataclass(frozen=True)
class RocBand:
    """Fold ROCs read off at ``fpr``: mean, SD, mean ± SD clipped (low/high), min, max."""

    fpr: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    low: np.ndarray
    high: np.ndarray
    min: np.ndarray
    max: np.ndarray
    n_folds: int
    ddof: int


def fold_band(y: np.ndarray, score: np.ndarray, folds: np.ndarray, *, ddof: int,
              grid: np.ndarray = FPR_GRID) -> RocBand:
    """The band across folds of one model's out-of-fold scores (see the module docstring).

    Parameters
    ----------
    y : ndarray of bool, shape (n,)
    score : ndarray of float, shape (n,)
    folds : ndarray, shape (n,)
        A fold holding one class only has no ROC and is left out of the band
        (:func:`~wbsdesk.core.stats.fold_summary` has warned about it); without any fold of
        both classes the band is NaN (and not drawn).
    ddof : int, keyword-only
        Delta degrees of freedom of the SD; with too few folds the SD is NaN and the band
        collapses to the mean (``fold_summary`` warns about the SD).

    Returns
    -------
    RocBand
    """
    usable = [f for f in np.unique(folds)
              if 0 < int(y[folds == f].sum()) < int((folds == f).sum())]
    if not usable:
        nan = np.full(grid.size, np.nan)
        return RocBand(fpr=grid.copy(), mean=nan, sd=nan, low=nan, high=nan, min=nan, max=nan,
                       n_folds=0, ddof=int(ddof))
    rows = np.array([tpr_at(roc_curve(y[folds == f], score[folds == f]), grid)
                     for f in usable])
    mean = rows.mean(axis=0)
    sd = rows.std(axis=0, ddof=ddof) if rows.shape[0] > ddof else np.full(grid.size, np.nan)
    spread = np.nan_to_num(sd)
    return RocBand(fpr=grid.copy(), mean=mean, sd=sd, low=np.clip(mean - spread, 0.0, 1.0),
                   high=np.clip(mean + spread, 0.0, 1.0), min=rows.min(axis=0),
                   max=rows.max(axis=0), n_folds=int(rows.shape[0]), ddof=int(ddof))


@dataclass(frozen=True)
class ModelRoc:
    """One model's pooled out-of-fold ROC and its band across folds (``None``: not drawn).

    ``baseline``: the trivial baseline of the confound audit (drawn dashed), not a CNN.
    """

    name: str
    label: str
    auc: float
    fpr: np.ndarray
    tpr: np.ndarray
    band: RocBand | None
    ensemble: bool
    baseline: bool = False


@dataclass(frozen=True)
class ReaderRoc:
    """One reader on the paired cases: the rating curve and the binary-read point."""

    name: str
    label: str
    simulated: bool
    rating_fpr: np.ndarray
    rating_tpr: np.ndarray
    rating_auc: float
    point_fpr: float
    point_tpr: float
    binary_auc: float


@dataclass(frozen=True)
class RocData:
    """Everything the ROC figure draws (like Figure 2 of Liu et al. 2021).

    ``n_*`` count the cases of the models' curves; ``paired_*`` those of the readers'
    (the photos every included reader rated). ``reference`` is the model drawn beside the
    readers (the ensemble, else the only architecture) on those same paired photos, its
    AUC theirs; ``None`` without readers.
    """

    models: tuple[ModelRoc, ...]
    readers: tuple[ReaderRoc, ...]
    positive_label: str
    control_label: str
    n_pos: int
    n_neg: int
    paired_pos: int
    paired_neg: int
    n_folds: int
    synthetic: bool
    reference: ModelRoc | None = None
    #: The runs compared, in order, when there are several (their curves are shaded apart:
    #: :func:`wbsdesk.core.architectures.model_color`).
    runs: tuple[str, ...] = ()

    def reader_label_list(self) -> Sequence[str]:
        """Reader labels in drawing order."""
        return [r.label for r in self.readers]
