"""Multi-reader multi-case (MRMC) ROC analysis: Obuchowski–Rockette with Hillis df.

Random readers and random cases (RRRC). ``theta[i, j]`` is the empirical AUC of reader j
in modality i (t modalities, r readers, the same cases for all). The OR model's error
covariances are averaged from the covariance matrix of the t * r AUCs, estimated over
cases either by the jackknife (leave one case out; ``(N - 1) / N * sum of products of
deviations``) or by DeLong's method:

* ``Var``: same modality, same reader;   ``Cov1``: different modality, same reader;
* ``Cov2``: same modality, different reader; ``Cov3``: different modality and reader.

With ``MS(T) = r / (t - 1) * sum_i (theta_i. - theta..)^2`` and
``MS(TR) = sum_ij (theta_ij - theta_i. - theta_.j + theta..)^2 / ((t - 1)(r - 1))``,
Hillis (2007, 2008)::

    den  = MS(TR) + r * max(Cov2 - Cov3, 0)
    F    = MS(T) / den                         ~ F(t - 1, ddf)
    ddf  = den^2 / (MS(TR)^2 / ((t - 1)(r - 1)))
    CI of theta_a. - theta_b. :  difference ± t_{ddf} * sqrt(2 den / r)

and for the reader-averaged AUC of one modality i (Hillis 2007, single-modality)::

    den_i = MS(R)_i + r * max(Cov2_i, 0),  SE_i = sqrt(den_i / r),
    df_i  = den_i^2 / (MS(R)_i^2 / (r - 1))

with ``MS(R)_i`` the variance of modality i's reader AUCs and ``Cov2_i`` its Cov2.

Single-modality analyses (readers' average AUC, one model vs. the readers) are in
:mod:`wbsdesk.core.mrmc_single`.

Mean squares of zero never divide: see :func:`wbsdesk.core._checks.inference`. CIs are not
clipped to [0, 1] (as in RJafroc).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from wbsdesk.core._checks import (
    ZERO_TOL,
    as_truth,
    check_ci_level,
    inference,
    readonly,
    require_both_classes,
    warn,
)
from wbsdesk.core.delong import _covariance, placements
from wbsdesk.errors import UserError

__all__ = [
    "CovMethod",
    "ModalityDifference",
    "ModalityEstimate",
    "MrmcResult",
    "ORComponents",
    "auc_covariance",
    "jackknife_aucs",
    "mrmc_test",
]

CovMethod = Literal["jackknife", "delong"]


def jackknife_aucs(y_true: Any, scores: Any) -> np.ndarray:
    """Leave-one-case-out AUCs.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool; at least 2 positive and 2 negative cases.
    scores : array-like of shape (k, n_cases)

    Returns
    -------
    ndarray of shape (k, n_cases)
        ``out[a, c]`` is the AUC of score set ``a`` without case ``c``, from placement
        values: ``(m AUC - V10_c) / (m - 1)`` for a positive case c and
        ``(n AUC - V01_c) / (n - 1)`` for a negative one.
    """
    y = as_truth(y_true)
    s = _scores(scores, y.size, ndim=2)
    require_both_classes(y, what="The jackknife", minimum=2)
    return _jackknife(s, y)[1]


def _jackknife(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full-sample AUCs (k,) and leave-one-case-out AUCs (k, n_cases)."""
    m = int(y.sum())
    n = y.size - m
    aucs, v10, v01 = placements(s, y)
    jk = np.empty(s.shape)
    jk[:, y] = (m * aucs[:, None] - v10) / (m - 1)
    jk[:, ~y] = (n * aucs[:, None] - v01) / (n - 1)
    return aucs, jk


def auc_covariance(y_true: Any, scores: Any, *, cov: CovMethod = "jackknife"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of k score sets on the same cases and their covariance over cases.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
    scores : array-like of shape (k, n_cases)
    cov : {"jackknife", "delong"}
        Jackknife: ``(N - 1) / N * sum_c (J_c - mean J)(J_c - mean J)^T`` over the
        N leave-one-out AUC vectors ``J_c``; DeLong: ``S10 / m + S01 / n``.

    Returns
    -------
    aucs : ndarray of shape (k,)
    covariance : ndarray of shape (k, k)
    """
    y = as_truth(y_true)
    s = _scores(scores, y.size, ndim=2)
    require_both_classes(y, what="The AUC covariance", minimum=2)
    return _auc_cov(s, y, cov)


def _auc_cov(s: np.ndarray, y: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    if method == "delong":
        return _covariance(s, y)
    if method != "jackknife":
        raise UserError(f"cov must be 'jackknife' or 'delong', got {method!r}.")
    aucs, jk = _jackknife(s, y)
    d = jk - jk.mean(axis=1, keepdims=True)
    n_cases = y.size
    c = (n_cases - 1) / n_cases * (d @ d.T)
    return aucs, (c + c.T) / 2.0


def _scores(scores: Any, n: int, *, ndim: int,
            labels: Sequence[tuple[str, Sequence[str]]] = ()) -> np.ndarray:
    """Validate scores of shape (..., n); ``labels`` = (kind, names) per leading axis."""
    arr = np.asarray(scores)
    if arr.dtype == bool:
        arr = arr.astype(float)
    if not np.issubdtype(arr.dtype, np.number):
        raise UserError(f"Scores must be numeric, got values of type {arr.dtype}.")
    arr = arr.astype(float)
    if arr.ndim != ndim or arr.shape[-1] != n:
        want = {3: "(modalities, readers, cases)", 2: "(score sets, cases)"}.get(ndim, "")
        raise UserError(f"Scores must have shape {want} with {n} cases, got {arr.shape}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        lead = where[:-1]
        label = ", ".join(f"{kind} {names[k]!r}" for (kind, names), k in
                          zip(labels, lead, strict=False))
        label = label or f"score set {lead}"
        raise UserError(f"Scores of {label} have {int(bad[lead].sum())} missing or "
                        f"infinite value(s) (NaN/inf), first at case index {where[-1]}.",
                        hint="Every reader must score every case.")
    return arr


def _names(given: Sequence[str] | None, count: int, kind: str) -> tuple[str, ...]:
    if given is None:
        return tuple(f"{kind} {k + 1}" for k in range(count))
    out = tuple(str(g) for g in given)
    if len(out) != count:
        raise UserError(f"{len(out)} {kind} name(s) given for {count} {kind}(s).")
    return out


@dataclass(frozen=True)
class ORComponents:
    """Obuchowski–Rockette variance components and mean squares."""

    var: float
    cov1: float
    cov2: float
    cov3: float
    ms_t: float
    ms_r: float
    ms_tr: float


@dataclass(frozen=True)
class ModalityEstimate:
    """Reader-averaged AUC of one modality with its Hillis (2007) single-modality CI."""

    name: str
    auc: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    ms_r: float
    var: float
    cov2: float


@dataclass(frozen=True)
class ModalityDifference:
    """``difference = auc(a) - auc(b)`` of reader-averaged AUCs, with t test and CI."""

    a: str
    b: str
    difference: float
    se: float
    df: float
    t: float
    p_value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class MrmcResult:
    """OR/Hillis RRRC analysis of t >= 2 modalities.

    ``aucs`` has shape (t, r); ``covariance`` (t r, t r) is ordered modality-major
    (index ``i * r + j``). ``p_value`` tests equality of all modality means.
    """

    modality_names: tuple[str, ...]
    reader_names: tuple[str, ...]
    aucs: np.ndarray
    covariance: np.ndarray
    components: ORComponents
    f_stat: float
    df_num: int
    df_den: float
    p_value: float
    modalities: tuple[ModalityEstimate, ...]
    differences: tuple[ModalityDifference, ...]
    cov_method: str
    ci_level: float


def _hillis_df(den: float, ms: float, dof: int) -> float:
    if ms * ms <= ZERO_TOL * ZERO_TOL:
        return float("inf") if den > ZERO_TOL else float("nan")
    return den * den / (ms * ms / dof)


def _single(values: np.ndarray, cov: np.ndarray, level: float, *, what: str
            ) -> tuple[float, float, float, tuple[float, float, float, float], float, float,
                       float]:
    """Single-modality OR/Hillis analysis of r values with covariance (r, r).

    Returns ``(mean, se, df, (t, p, lo, hi), ms_r, var, cov2)``.
    """
    r = values.size
    mean = float(values.mean())
    ms_r = float(((values - mean) ** 2).sum() / (r - 1))
    off = ~np.eye(r, dtype=bool)
    var = float(np.diag(cov).mean())
    cov2 = float(cov[off].mean())
    den = ms_r + r * max(cov2, 0.0)
    se = float(np.sqrt(max(den, 0.0) / r))
    df = _hillis_df(den, ms_r, r - 1)
    return mean, se, df, inference(mean, se, df, level, what=what), ms_r, var, cov2


def _components(theta: np.ndarray, c4: np.ndarray) -> ORComponents:
    t, r = theta.shape
    same_m = np.eye(t, dtype=bool)[:, None, :, None]
    same_r = np.eye(r, dtype=bool)[None, :, None, :]
    same_m, same_r = np.broadcast_arrays(same_m, same_r)
    grand = theta.mean()
    m_i, m_j = theta.mean(axis=1), theta.mean(axis=0)
    resid = theta - m_i[:, None] - m_j[None, :] + grand
    return ORComponents(
        var=float(c4[same_m & same_r].mean()),
        cov1=float(c4[~same_m & same_r].mean()) if t > 1 else float("nan"),
        cov2=float(c4[same_m & ~same_r].mean()),
        cov3=float(c4[~same_m & ~same_r].mean()) if t > 1 else float("nan"),
        ms_t=float(r * ((m_i - grand) ** 2).sum() / (t - 1)) if t > 1 else float("nan"),
        ms_r=float(t * ((m_j - grand) ** 2).sum() / (r - 1)),
        ms_tr=float((resid**2).sum() / ((t - 1) * (r - 1))) if t > 1 else float("nan"),
    )


def _prepare(y_true: Any, scores: Any, ndim: int,
             labels: Sequence[tuple[str, Sequence[str]]]) -> tuple[np.ndarray, np.ndarray]:
    y = as_truth(y_true)
    s = _scores(scores, y.size, ndim=ndim, labels=labels)
    require_both_classes(y, what="The MRMC analysis", minimum=2)
    return y, s


def _n_of(scores: Any, axis: int, ndim: int) -> int:
    shape = np.shape(scores)
    if len(shape) != ndim:
        want = {3: "(modalities, readers, cases)", 2: "(readers, cases)"}[ndim]
        raise UserError(f"Scores must have shape {want}, got {shape}.")
    return int(shape[axis])


def mrmc_test(y_true: Any, scores: Any, *, cov: CovMethod = "jackknife",
              ci_level: float = 0.95, modality_names: Sequence[str] | None = None,
              reader_names: Sequence[str] | None = None) -> MrmcResult:
    """Obuchowski–Rockette RRRC test of t >= 2 modalities with Hillis df.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool; at least 2 positive and 2 negative cases.
    scores : array-like of shape (t, r, n_cases)
        Score (rating, probability or 0/1 call) of every modality, reader and case.
    cov : {"jackknife", "delong"}, default "jackknife"
        How the covariance of the t * r AUCs is estimated over cases.
    ci_level : float, default 0.95
    modality_names, reader_names : sequence of str, optional

    Returns
    -------
    MrmcResult
        F test of equal modality means, per-modality reader-averaged AUCs with Hillis
        single-modality CIs, and every pairwise difference ``a - b`` (a listed first).

    Raises
    ------
    UserError
        Fewer than 2 modalities or readers, fewer than 2 cases of a class, or NaN scores
        (the message names the modality and reader).
    """
    level = check_ci_level(ci_level)
    t, r = _n_of(scores, 0, 3), _n_of(scores, 1, 3)
    if t < 2:
        raise UserError(f"The MRMC test needs at least 2 modalities, got {t}.",
                        hint="For one modality use reader_average_auc or model_vs_readers.")
    if r < 2:
        raise UserError(f"The MRMC analysis needs at least 2 readers, got {r}.")
    mods = _names(modality_names, t, "modality")
    rdrs = _names(reader_names, r, "reader")
    y, s = _prepare(y_true, scores, 3, (("modality", mods), ("reader", rdrs)))
    aucs, c = _auc_cov(s.reshape(t * r, -1), y, cov)
    theta = aucs.reshape(t, r)
    c4 = c.reshape(t, r, t, r)
    comp = _components(theta, c4)
    den = comp.ms_tr + r * max(comp.cov2 - comp.cov3, 0.0)
    ddf = _hillis_df(den, comp.ms_tr, (t - 1) * (r - 1))
    f_stat, p = _f_test(comp.ms_t, den, t - 1, ddf)
    modalities = []
    for i in range(t):
        mean, se, df, (_, _, lo, hi), ms_r, var, cov2 = _single(
            theta[i], c4[i, :, i, :], level, what=f"CI of modality {mods[i]!r}")
        modalities.append(ModalityEstimate(name=mods[i], auc=mean, se=se, df=df, ci_low=lo,
                                           ci_high=hi, ms_r=ms_r, var=var, cov2=cov2))
    se_diff = float(np.sqrt(2.0 * max(den, 0.0) / r))
    diffs = []
    for a in range(t):
        for b in range(a + 1, t):
            d = float(theta[a].mean() - theta[b].mean())
            stat, pd, lo, hi = inference(d, se_diff, ddf, level,
                                         what=f"{mods[a]!r} vs {mods[b]!r}")
            diffs.append(ModalityDifference(a=mods[a], b=mods[b], difference=d, se=se_diff,
                                            df=ddf, t=stat, p_value=pd, ci_low=lo, ci_high=hi))
    return MrmcResult(modality_names=mods, reader_names=rdrs, aucs=readonly(theta),
                      covariance=readonly(c), components=comp, f_stat=f_stat, df_num=t - 1,
                      df_den=ddf, p_value=p, modalities=tuple(modalities),
                      differences=tuple(diffs), cov_method=cov, ci_level=level)


def _f_test(ms_t: float, den: float, df_num: int, ddf: float) -> tuple[float, float]:
    if den <= ZERO_TOL:
        if ms_t <= ZERO_TOL:
            warn("MRMC F test: the modality means are equal and the error mean square is "
                 "zero (identical modalities); reported as F = 0, p = 1.")
            return 0.0, 1.0
        warn("MRMC F test: the denominator mean square is zero, so F and p cannot be "
             "computed; reported as NaN.")
        return float("nan"), float("nan")
    f_stat = ms_t / den
    if np.isinf(ddf):
        return f_stat, float(stats.chi2.sf(f_stat * df_num, df_num))
    return f_stat, float(stats.f.sf(f_stat, df_num, ddf))
