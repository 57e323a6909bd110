"""Input checks shared by the statistics modules (private).

Every check raises :class:`~wbsdesk.errors.UserError` with a message that names the
offending argument, so that a bad column in a user's file surfaces as a plain sentence.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
from scipy import stats

from wbsdesk.errors import UserError, WbsdeskWarning

#: Absolute size below which a variance / mean square is treated as zero. AUC-scale
#: quantities are at most 1, so floating-point noise sits around 1e-16; a genuine AUC
#: variance is far above this for any realistic number of cases.
ZERO_TOL = 1e-13
#: Absolute size below which an AUC (difference) estimate is treated as zero.
EST_TOL = 1e-12


def warn(message: str) -> None:
    """Issue a :class:`WbsdeskWarning` attributed to the caller of the public function."""
    warnings.warn(message, WbsdeskWarning, stacklevel=3)


def as_truth(y_true: Any, *, name: str = "y_true") -> np.ndarray:
    """Validate a 1-D 0/1 (or bool) truth vector and return it as ``bool``."""
    arr = np.asarray(y_true)
    if arr.ndim != 1:
        raise UserError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    if arr.size == 0:
        raise UserError(f"{name} is empty.")
    if arr.dtype == bool:
        return arr.copy()
    if not np.issubdtype(arr.dtype, np.number):
        raise UserError(f"{name} must hold 0/1 (or True/False), got values of type {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        bad = np.flatnonzero(np.isnan(arr))
        raise UserError(f"{name} has {bad.size} missing (NaN) value(s), first at index {bad[0]}.")
    ok = (arr == 0) | (arr == 1)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise UserError(
            f"{name} must hold only 0 and 1; index {bad[0]} holds {arr[bad[0]]!r}.",
            hint="Convert group labels to 0/1 first, e.g. with binary_truth().",
        )
    return arr == 1


def require_both_classes(y: np.ndarray, *, what: str, minimum: int = 1) -> tuple[int, int]:
    """Return (positives, negatives), raising if either is below ``minimum``."""
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos < minimum or n_neg < minimum:
        need = "at least one" if minimum == 1 else f"at least {minimum}"
        raise UserError(
            f"{what} needs {need} positive and {need} negative case(s); "
            f"got {n_pos} positive and {n_neg} negative.",
            hint="Check the truth column: only one class is present." if min(n_pos, n_neg) == 0
            else None,
        )
    return n_pos, n_neg


def as_scores(x: Any, *, name: str, n: int | None = None, ndim: int = 1) -> np.ndarray:
    """Validate a float array of scores (finite, given ndim, last axis of length ``n``)."""
    arr = np.asarray(x)
    if arr.dtype == bool:
        arr = arr.astype(float)
    if not np.issubdtype(arr.dtype, np.number):
        raise UserError(f"{name} must be numeric, got values of type {arr.dtype}.")
    arr = arr.astype(float, copy=False)
    if arr.ndim != ndim:
        raise UserError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}.")
    if n is not None and arr.shape[-1] != n:
        raise UserError(
            f"{name} has {arr.shape[-1]} case(s) but the truth has {n}.",
            hint="Scores and truth must list the same cases in the same order.",
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        idx = tuple(int(i) for i in where)
        pos = idx[0] if len(idx) == 1 else idx
        raise UserError(
            f"{name} has {int(bad.sum())} missing or infinite value(s) (NaN/inf), "
            f"first at index {pos}.",
            hint="Every case needs a score; remove or re-score the missing cases.",
        )
    return arr


def as_binary_reads(x: Any, *, name: str, n: int) -> np.ndarray:
    """Validate a 1-D vector of 0/1 calls of length ``n`` and return it as ``bool``."""
    arr = as_scores(x, name=name, n=n)
    ok = (arr == 0) | (arr == 1)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise UserError(
            f"{name} must hold binary calls (0/1); index {bad[0]} holds {arr[bad[0]]!r}.",
            hint="Dichotomise ratings first (e.g. rating >= 4 means 'WBS').",
        )
    return arr == 1


def check_ci_level(ci_level: float) -> float:
    """Return ``ci_level`` as float, raising unless 0 < ci_level < 1."""
    level = float(ci_level)
    if not 0.0 < level < 1.0:
        raise UserError(f"ci_level must lie strictly between 0 and 1, got {ci_level!r}.")
    return level


def readonly(arr: np.ndarray) -> np.ndarray:
    """Mark an array read-only (results live in frozen dataclasses)."""
    arr = np.asarray(arr)
    arr.flags.writeable = False
    return arr


def z_or_t_quantile(ci_level: float, df: float) -> float:
    """Two-sided critical value: Student t with ``df`` (normal when df is inf)."""
    return _quantile(float(ci_level), float(df))


@functools.lru_cache(maxsize=256)
def _quantile(ci_level: float, df: float) -> float:
    # scipy's ppf costs ~0.3 ms a call; a report asks for the same few hundreds of times
    q = 0.5 + ci_level / 2.0
    return float(stats.norm.ppf(q) if np.isinf(df) else stats.t.ppf(q, df))


def inference(estimate: float, se: float, df: float, ci_level: float, *,
                what: str) -> tuple[float, float, float, float]:
    """Two-sided test of ``estimate == 0`` and its CI, guarding a zero standard error.

    Returns ``(statistic, p_value, ci_low, ci_high)`` with a t reference distribution on
    ``df`` degrees of freedom (the normal when ``df`` is inf).

    A standard error of (numerically) zero never divides: a WbsdeskWarning is issued and
    the p-value and CI are NaN -- except when the estimate is also zero (e.g. a modality
    compared with an identical copy of itself), where the statistic is 0, p = 1 and the
    CI is the single point (estimate, estimate), still with the warning.
    """
    from scipy import stats

    if not np.isfinite(se) or se <= ZERO_TOL or not (df > 0):
        if np.isfinite(se) and se <= ZERO_TOL and abs(estimate) <= ZERO_TOL:
            warn(f"{what}: the difference and its variance are both zero "
                 "(identical results); reported as statistic 0, p = 1.")
            return 0.0, 1.0, float(estimate), float(estimate)
        warn(f"{what}: the variance estimate is zero or undefined, so the test and CI "
             "cannot be computed; p-value and CI are NaN.")
        nan = float("nan")
        return nan, nan, nan, nan
    stat = estimate / se
    p = 2.0 * (stats.norm.sf(abs(stat)) if np.isinf(df) else stats.t.sf(abs(stat), df))
    half = z_or_t_quantile(ci_level, df) * se
    return float(stat), float(min(p, 1.0)), float(estimate - half), float(estimate + half)
