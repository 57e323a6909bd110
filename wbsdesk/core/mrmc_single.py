"""Single-modality MRMC analyses (random readers, random cases; Hillis 2007 df).

* :func:`reader_average_auc` -- the readers' average AUC with the single-modality
  Obuchowski–Rockette/Hillis CI;
* :func:`model_vs_readers` -- one model's AUC against the readers' average on the same
  cases (the "CAD vs. radiologists" analysis, RJafroc's "1T-RRRC", after Hillis 2007,
  section 5.3).

:func:`model_vs_readers` applies the single-modality analysis (see
:mod:`wbsdesk.core.mrmc`) to the differences ``psi_j = theta_j - theta_model``. By default
the covariance of the ``psi_j`` is estimated over cases *including* the model's own
case-sampling variability and its correlation with the readers: the model is scored on
the same cases, so its AUC is an estimate from these cases, not a known constant (this is
also what RJafroc's "1T-RRRC" does: it subtracts the CAD's jackknife AUCs before
estimating the covariances). ``fixed_model=True`` instead treats the model's AUC as a
known constant (Hillis's test of H0: mean reader AUC = theta_0), which ignores the model's
uncertainty and is only right if its AUC was fixed independently of these cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core._checks import as_scores, as_truth, check_ci_level, readonly
from wbsdesk.core.mrmc import (
    CovMethod,
    ModalityEstimate,
    _auc_cov,
    _n_of,
    _names,
    _prepare,
    _single,
)
from wbsdesk.errors import UserError

__all__ = ["ModelVsReaders", "model_vs_readers", "reader_average_auc"]


def reader_average_auc(y_true: Any, reader_scores: Any, *, cov: CovMethod = "jackknife",
                       ci_level: float = 0.95, name: str = "readers",
                       reader_names: Sequence[str] | None = None) -> ModalityEstimate:
    """Readers' average AUC with the Hillis (2007) single-modality RRRC CI.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
    reader_scores : array-like of shape (r, n_cases)
        r >= 2 readers' scores (ratings or 0/1 calls) on the same cases.
    cov : {"jackknife", "delong"}, default "jackknife"
    ci_level : float, default 0.95
    name : str
        Label of the result.
    reader_names : sequence of str, optional
        Used in error messages (e.g. which reader has a missing score).

    Returns
    -------
    ModalityEstimate
        ``auc`` is the mean of the readers' AUCs; ``ci_low``/``ci_high`` use
        ``SE = sqrt((MS(R) + r max(Cov2, 0)) / r)`` and the Hillis df.
    """
    level = check_ci_level(ci_level)
    r = _n_of(reader_scores, 0, 2)
    if r < 2:
        raise UserError(f"The reader-averaged AUC CI needs at least 2 readers, got {r}.")
    y, s = _prepare(y_true, reader_scores, 2, (("reader", _names(reader_names, r, "reader")),))
    aucs, c = _auc_cov(s, y, cov)
    mean, se, df, (_, _, lo, hi), ms_r, var, cov2 = _single(aucs, c, level,
                                                             what=f"CI of {name!r}")
    return ModalityEstimate(name=name, auc=mean, se=se, df=df, ci_low=lo, ci_high=hi,
                            ms_r=ms_r, var=var, cov2=cov2)


@dataclass(frozen=True)
class ModelVsReaders:
    """One model's AUC against the readers' average (1T-RRRC).

    ``readers_minus_model`` is ``mean_reader_auc - model_auc`` (RJafroc's sign: negative
    when the model is better); its CI and the readers' mean CI share the Hillis df.
    ``var`` and ``cov2`` are the OR error variance and Cov2 of the differences
    ``theta_j - theta_model`` (of the readers' AUCs alone when ``fixed_model``).
    """

    model_auc: float
    reader_names: tuple[str, ...]
    reader_aucs: np.ndarray
    mean_reader_auc: float
    readers_minus_model: float
    se: float
    df: float
    t: float
    p_value: float
    ci_low: float
    ci_high: float
    reader_mean_ci: tuple[float, float]
    ms_r: float
    var: float
    cov2: float
    fixed_model: bool
    cov_method: str
    ci_level: float


def model_vs_readers(y_true: Any, model_score: Any, reader_scores: Any, *,
                     cov: CovMethod = "jackknife", ci_level: float = 0.95,
                     fixed_model: bool = False,
                     reader_names: Sequence[str] | None = None) -> ModelVsReaders:
    """Test one model's AUC against the readers' average AUC on the same cases (1T-RRRC).

    The single-modality OR model with Hillis df is applied to the differences
    ``psi_j = theta_j - theta_model``::

        MS(R) = var(psi, ddof=1),  den = MS(R) + r max(Cov2_psi, 0)
        t = mean(psi) / sqrt(den / r),  df = den^2 / (MS(R)^2 / (r - 1))

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool; at least 2 positive and 2 negative cases.
    model_score : array-like of shape (n_cases,)
        The model's scores (e.g. out-of-fold probabilities).
    reader_scores : array-like of shape (r, n_cases)
        r >= 2 readers' scores or 0/1 calls.
    cov : {"jackknife", "delong"}, default "jackknife"
    ci_level : float, default 0.95
    fixed_model : bool, default False
        False (default, as RJafroc "1T-RRRC"): ``Cov(psi)`` is estimated over cases from
        the jointly resampled model and reader AUCs, so the model's own case-sampling
        variance and its correlation with the readers count. True: the model's AUC is a
        known constant and only the readers' AUC covariance is used (narrower CI,
        appropriate only if the model's AUC was fixed independently of these cases).
    reader_names : sequence of str, optional

    Returns
    -------
    ModelVsReaders
    """
    level = check_ci_level(ci_level)
    r = _n_of(reader_scores, 0, 2)
    if r < 2:
        raise UserError(f"Comparing a model with readers needs at least 2 readers, got {r}.")
    rdrs = _names(reader_names, r, "reader")
    y = as_truth(y_true)
    model = as_scores(model_score, name="model_score", n=y.size)
    _, s = _prepare(y, reader_scores, 2, (("reader", rdrs),))
    aucs, c = _auc_cov(np.vstack([model, s]), y, cov)
    theta0, theta = float(aucs[0]), aucs[1:]
    if fixed_model:
        cov_psi = c[1:, 1:]
    else:
        lin = np.hstack([-np.ones((r, 1)), np.eye(r)])
        cov_psi = lin @ c @ lin.T
    psi = theta - theta0
    mean, se, df, (stat, p, lo, hi), ms_r, var, cov2 = _single(
        psi, cov_psi, level, what="Model vs. readers")
    return ModelVsReaders(
        model_auc=theta0, reader_names=rdrs, reader_aucs=readonly(theta.copy()),
        mean_reader_auc=float(theta.mean()), readers_minus_model=mean, se=se, df=df,
        t=stat, p_value=p, ci_low=lo, ci_high=hi, reader_mean_ci=(lo + theta0, hi + theta0),
        ms_r=ms_r, var=var, cov2=cov2, fixed_model=bool(fixed_model), cov_method=cov,
        ci_level=level)
