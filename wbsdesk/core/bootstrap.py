"""Stratified bootstrap confidence intervals for any metric.

Resampling definition (the test suite re-implements exactly this)::

    rng = numpy.random.default_rng(seed)
    pos = numpy.flatnonzero(y_true == 1); neg = numpy.flatnonzero(y_true == 0)
    draws_pos = rng.integers(0, len(pos), size=(n_resamples, len(pos)))
    draws_neg = rng.integers(0, len(neg), size=(n_resamples, len(neg)))
    index[b] = concatenate([pos[draws_pos[b]], neg[draws_neg[b]]])
    values[b] = metric(y_true[index[b]], *(a[..., index[b]] for a in arrays))

Positives and negatives are resampled separately, so every resample keeps the original
class sizes (and an AUC is always defined). The resample indices depend only on ``seed``,
``n_resamples`` and the class sizes, so metrics bootstrapped with the same seed on the same
cases use the same resamples (paired).

The common metrics have vectorised implementations that give the *same* numbers as the
loop: pass ``"auc"`` (or :func:`~wbsdesk.core.roc.auc_score` itself), ``"auc_difference"``
(two score arrays, ``auc(a) - auc(b)``), or ``"accuracy"``, ``"precision"``, ``"recall"``,
``"sensitivity"``, ``"specificity"``, ``"f1"`` (one array of 0/1 calls). They count how
often each case is drawn (a (B, m) and a (B, n) count matrix); an AUC is then
``rowsum((C_pos @ Psi) * C_neg) / (m n)`` with ``Psi[i, j] = [x_i > y_j] + [x_i = y_j] / 2``
(exact in floating point), or, for very large m x n, a mid-rank computation per resample.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from wbsdesk.core._checks import (
    as_binary_reads,
    as_scores,
    as_truth,
    check_ci_level,
    readonly,
    require_both_classes,
    warn,
)
from wbsdesk.core.roc import _auc_rows, auc_score
from wbsdesk.errors import UserError

__all__ = ["VECTORISED_METRICS", "BootstrapResult", "bootstrap_ci", "stratified_indices"]

#: Metric names with a vectorised implementation, and how many arrays each takes.
VECTORISED_METRICS: dict[str, int] = {
    "auc": 1, "auc_difference": 2, "accuracy": 1, "precision": 1, "recall": 1,
    "sensitivity": 1, "specificity": 1, "f1": 1,
}
_PSI_MAX = 4_000_000  # largest m * n for the comparison-matrix AUC (32 MB of float64)
_CHUNK = 256


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap confidence interval.

    Attributes
    ----------
    estimate : float
        The metric on the original cases.
    ci_low, ci_high : float
    values : ndarray of shape (n_resamples,)
        The metric on every resample (NaN where it was undefined).
    ci_level : float
    method : str
        ``"percentile"`` or ``"basic"``.
    seed : int or None
    n_undefined : int
        Resamples whose value was NaN; they are left out of the quantiles.
    """

    estimate: float
    ci_low: float
    ci_high: float
    values: np.ndarray
    ci_level: float
    method: str
    seed: int | None
    n_undefined: int


def stratified_indices(y_true: Any, *, n_resamples: int, seed: int | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified bootstrap draws, as defined in the module docstring.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
    n_resamples : int
    seed : int or None

    Returns
    -------
    pos, neg : ndarray of shape (m,) and (n,)
        Indices of the positive and negative cases.
    draws_pos, draws_neg : ndarray of shape (n_resamples, m) and (n_resamples, n)
        Positions into ``pos`` and ``neg``; resample b is
        ``concatenate([pos[draws_pos[b]], neg[draws_neg[b]]])``.
    """
    y = as_truth(y_true)
    m, n = require_both_classes(y, what="The stratified bootstrap")
    draws_pos, draws_neg = _draws(seed, int(n_resamples), m, n)
    return np.flatnonzero(y), np.flatnonzero(~y), draws_pos, draws_neg


def _draws(seed: int | None, n_resamples: int, m: int, n: int
           ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    draws_pos = rng.integers(0, m, size=(n_resamples, m))
    draws_neg = rng.integers(0, n, size=(n_resamples, n))
    return draws_pos, draws_neg


@functools.lru_cache(maxsize=4)
def _cached_counts(seed: int, n_resamples: int, m: int, n: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Count matrices of the draws; they depend only on these four numbers, and a report
    bootstraps many metrics of the same cases with the same seed."""
    draws_pos, draws_neg = _draws(seed, n_resamples, m, n)
    return readonly(_counts(draws_pos, m)), readonly(_counts(draws_neg, n))


def _counts(draws: np.ndarray, size: int) -> np.ndarray:
    b = draws.shape[0]
    flat = (np.arange(b)[:, None] * size + draws).ravel()
    return np.bincount(flat, minlength=b * size).reshape(b, size).astype(float)


def _auc_resampled(x: np.ndarray, z: np.ndarray, cpos: np.ndarray, cneg: np.ndarray,
                   draws: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """AUC of every resample: x positives' scores, z negatives' scores."""
    m, n = x.size, z.size
    if m * n <= _PSI_MAX or draws is None:
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        return np.einsum("bj,bj->b", cpos @ psi, cneg) / (m * n)
    draws_pos, draws_neg = draws
    y = np.concatenate([np.ones(m, bool), np.zeros(n, bool)])
    out = np.empty(draws_pos.shape[0])
    for start in range(0, out.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        out[sl] = _auc_rows(np.hstack([x[draws_pos[sl]], z[draws_neg[sl]]]), y)
    return out


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _vectorised(name: str, arrays: list[np.ndarray], pos: np.ndarray, neg: np.ndarray,
                counts: tuple[np.ndarray, np.ndarray],
                draws: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Metric of every resample from the count matrices (draws: for the rank-based AUC)."""
    m, n = pos.size, neg.size
    cpos, cneg = counts
    if name in ("auc", "auc_difference"):
        vals = [_auc_resampled(a[pos], a[neg], cpos, cneg, draws) for a in arrays]
        return vals[0] if name == "auc" else vals[0] - vals[1]
    calls = arrays[0].astype(bool)
    tp = cpos @ calls[pos]
    fp = cneg @ calls[neg]
    fn, tn = m - tp, n - fp
    if name == "accuracy":
        return (tp + tn) / (m + n)
    if name == "precision":
        return _safe_div(tp, tp + fp)
    if name in ("recall", "sensitivity"):
        return tp / m
    if name == "specificity":
        return tn / n
    return _safe_div(2 * tp, 2 * tp + fp + fn)  # f1


def _estimate_named(name: str, y: np.ndarray, arrays: list[np.ndarray]) -> float:
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    counts = np.ones((1, pos.size)), np.ones((1, neg.size))
    draws = np.arange(pos.size)[None, :], np.arange(neg.size)[None, :]
    return float(_vectorised(name, arrays, pos, neg, counts, draws)[0])


def _check_arrays(name: str | None, arrays: tuple[Any, ...], n: int) -> list[np.ndarray]:
    if name is None:
        out = []
        for k, a in enumerate(arrays):
            arr = np.asarray(a)
            if arr.ndim == 0 or arr.shape[-1] != n:
                raise UserError(f"Array {k + 1} passed to the bootstrap has shape {arr.shape}; "
                                f"its last axis must list the {n} cases.")
            out.append(arr)
        return out
    need = VECTORISED_METRICS[name]
    if len(arrays) != need:
        raise UserError(f"Metric {name!r} takes {need} array(s), got {len(arrays)}.")
    if name.startswith("auc"):
        return [as_scores(a, name=f"scores {k + 1}", n=n) for k, a in enumerate(arrays)]
    return [as_binary_reads(arrays[0], name="calls", n=n).astype(float)]


def bootstrap_ci(metric: str | Callable[..., float], y_true: Any, *arrays: Any,
                 n_resamples: int = 2000, seed: int | None = 2021, ci_level: float = 0.95,
                 method: Literal["percentile", "basic"] = "percentile") -> BootstrapResult:
    """Stratified bootstrap CI of a metric (positives and negatives resampled separately).

    Parameters
    ----------
    metric : str or callable
        A name from :data:`VECTORISED_METRICS`, or ``metric(y_true, *arrays) -> float``.
        :func:`~wbsdesk.core.roc.auc_score` itself is recognised and vectorised.
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool, both classes present.
    *arrays : array-like, each with last axis of length n_cases
        Scores or calls, resampled along their last axis together with ``y_true``.
    n_resamples : int, default 2000
    seed : int or None, default 2021
        Seed of ``numpy.random.default_rng`` (the protocol's default bootstrap seed).
    ci_level : float, default 0.95
    method : {"percentile", "basic"}, default "percentile"
        ``percentile``: the (1 - ci_level)/2 and (1 + ci_level)/2 quantiles of the
        resampled values (``numpy.quantile``, linear interpolation); ``basic``:
        ``2 * estimate`` minus those quantiles, in swapped order.

    Returns
    -------
    BootstrapResult
        Resamples where the metric is undefined (NaN, e.g. precision without positive
        calls) are left out of the quantiles with a WbsdeskWarning; if all are, the CI is
        NaN.

    Examples
    --------
    >>> r = bootstrap_ci("auc", [0, 0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.4, 0.7, 0.9],
    ...                  n_resamples=500, seed=1)
    >>> round(r.estimate, 4), r.values.shape, r.ci_low <= r.estimate <= r.ci_high
    (0.8889, (500,), True)
    """
    level = check_ci_level(ci_level)
    if method not in ("percentile", "basic"):
        raise UserError(f"method must be 'percentile' or 'basic', got {method!r}.")
    if int(n_resamples) != n_resamples or n_resamples < 2:
        raise UserError(f"n_resamples must be an integer >= 2, got {n_resamples!r}.")
    y = as_truth(y_true)
    name: str | None
    if isinstance(metric, str):
        if metric not in VECTORISED_METRICS:
            raise UserError(f"Unknown metric {metric!r}; choose one of "
                            f"{sorted(VECTORISED_METRICS)} or pass a function.")
        name = metric
    elif callable(metric):
        name = "auc" if metric is auc_score else None
    else:
        raise UserError(f"metric must be a name or a function, got {type(metric).__name__}.")
    arrs = _check_arrays(name, arrays, y.size)
    b_count = int(n_resamples)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    m, n = require_both_classes(y, what="The stratified bootstrap")
    if name is not None:
        estimate = _estimate_named(name, y, arrs)
        if isinstance(seed, int | np.integer) and m * n <= _PSI_MAX:
            values = _vectorised(name, arrs, pos, neg, _cached_counts(int(seed), b_count, m, n),
                                 None)
        else:
            draws = _draws(seed, b_count, m, n)
            counts = _counts(draws[0], m), _counts(draws[1], n)
            values = _vectorised(name, arrs, pos, neg, counts, draws)
    else:
        draws_pos, draws_neg = _draws(seed, b_count, m, n)
        estimate = float(metric(y, *arrs))
        values = np.empty(int(n_resamples))
        for b in range(values.size):
            idx = np.concatenate([pos[draws_pos[b]], neg[draws_neg[b]]])
            values[b] = float(metric(y[idx], *(a[..., idx] for a in arrs)))
    return _interval(estimate, values, level, method, seed)


def _interval(estimate: float, values: np.ndarray, level: float, method: str,
              seed: int | None) -> BootstrapResult:
    undefined = int(np.isnan(values).sum())
    ok = values[~np.isnan(values)]
    if undefined:
        warn(f"The metric is undefined (NaN) in {undefined} of {values.size} bootstrap "
             "resamples; they are left out of the confidence interval.")
    if ok.size == 0 or np.isnan(estimate):
        lo = hi = float("nan")
    else:
        q_lo, q_hi = np.quantile(ok, [(1 - level) / 2, (1 + level) / 2])
        if method == "percentile":
            lo, hi = float(q_lo), float(q_hi)
        else:
            lo, hi = float(2 * estimate - q_hi), float(2 * estimate - q_lo)
    return BootstrapResult(estimate=float(estimate), ci_low=lo, ci_high=hi,
                           values=readonly(values), ci_level=level, method=method,
                           seed=seed, n_undefined=undefined)
