"""Power and sample size of a two-modality MRMC ROC study (Obuchowski–Rockette / Hillis).

A pivotal study compares the reader-averaged AUCs of two modalities (unaided vs. aided,
or the readers vs. a model, see :mod:`wbsdesk.core.sizing_pilot`) with J readers who all
read the same K cases. Its Obuchowski–Rockette (OR) model is described by five numbers
estimated from a pilot study of ``K*`` cases (:class:`VarianceComponents`):

* ``var_tr`` -- the modality-by-reader variance (does not shrink with more cases);
* ``var_error``, ``cov1``, ``cov2``, ``cov3`` -- the error variance of one reader's AUC and
  its covariances with the same reader in the other modality, another reader in the same
  modality, and another reader in the other modality. AUC (co)variances over cases shrink
  as ``1/K``, so for K cases they are the pilot's times ``K*/K``.

With ``d`` the difference of the modalities' reader-averaged AUCs to detect, ``s = K*/K``,
``e = var_error - cov1`` and ``b = max(cov2 - cov3, 0)``, the Hillis, Obuchowski & Berbaum
(2011) power of the OR/Hillis F test (numerator df 1) is::

    power  = P( F(1, ddf; lambda) > F_{1 - alpha}(1, ddf) ),   lambda = J d^2 / (2 den)

    random readers, random cases (RRRC):
        den = var_tr + s (e + (J - 1) b)
        ddf = den^2 / ((var_tr + s (e - b))^2 / (J - 1))          (Hillis 2008 ddf)
    fixed readers, random cases (FRRC):   den = s (e + (J - 1) b),   ddf = K - 1
    random readers, fixed cases (RRFC):   den = var_tr + s (e - b),   ddf = J - 1

``den`` is the expected value of the test's denominator (``MS(T*R) + J max(Cov2 - Cov3,
0)`` for RRRC) and ``var_tr + s (e - b)`` that of ``MS(T*R)``. The FRRC ddf ``K - 1``
follows RJafroc; it is slightly conservative next to the chi-square test of a fixed-reader
analysis. When ``var_tr + s (e - b)`` is zero, the RRRC ddf is infinite and the
F(1, inf) test is the chi-square(1) test.

The smallest K for a desired power is found by evaluating the power at every K = 2, 3, ...
(as RJafroc does) up to ``max_cases``; the power reachable with unlimited cases
(:func:`power_limit`) says at once when no K is enough, e.g. with too few random readers.
Everything here is deterministic (no simulation, no seed).

References
----------
.. [1] Hillis SL, Obuchowski NA, Berbaum KS (2011). Power estimation for multireader ROC
   methods: an updated and unified approach. Acad Radiol 18:129-142.
.. [2] Hillis SL (2008) / Hillis SL, Berbaum KS, Metz CE (2008). Recent developments in the
   Dorfman-Berbaum-Metz procedure for multireader ROC study analysis. Acad Radiol
   15:647-661 (the ddf).
.. [3] Obuchowski NA, Rockette HE (1995). Hypothesis testing of diagnostic accuracy for
   multiple readers and multiple tests: an ANOVA approach with dependent observations.
   Commun Stat Simul Comput 24:285-308.
.. [4] Chakraborty DP. RJafroc (R package): ``SsPowerGivenJK``, ``SsSampleSizeKGivenJ``,
   ``SsPowerTable`` with ``method = "ORH"``; vignette "ROC sample size estimation using
   ORH method" (Van Dyke data, ``dataset02``). Its documented numbers are reproduced in
   ``tests/core/test_sizing.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special, stats

from wbsdesk.core._sizing_checks import (
    ANALYSES,
    Analysis,
    check_alpha,
    check_analysis,
    check_cases,
    check_effect,
    check_power,
    check_readers,
)
from wbsdesk.errors import UserError

__all__ = [
    "ANALYSES",
    "MAX_CASES",
    "Analysis",
    "CasesNeeded",
    "PowerResult",
    "VarianceComponents",
    "cases_needed",
    "check_alpha",
    "check_effect",
    "check_power",
    "check_readers",
    "power_limit",
    "power_table",
    "study_power",
]

#: Largest number of cases searched by :func:`cases_needed` (RJafroc stops at 2000).
MAX_CASES = 10_000
_CHUNK = 1024
#: Relative size below which a (co)variance difference counts as rounding noise.
_REL_TOL = 1e-9


@dataclass(frozen=True)
class VarianceComponents:
    """Obuchowski–Rockette variance components on the AUC scale, from a pilot of K* cases.

    Attributes
    ----------
    var_tr : float
        Modality-by-reader variance, >= 0 (a negative pilot estimate is set to 0 by
        :mod:`wbsdesk.core.sizing_pilot`).
    cov1, cov2, cov3 : float
        Error covariances: same reader / other modality, other reader / same modality,
        other reader / other modality; each at most ``var_error`` in size.
    var_error : float
        Error variance of one reader's AUC over the pilot's cases, > 0.
    pilot_cases : int
        K*, the pilot's number of cases (the (co)variances scale with ``K*/K``).

    Raises
    ------
    UserError
        A negative or non-finite variance, a covariance larger than ``var_error``, values
        that are no covariance structure (``var_error - cov1 - (cov2 - cov3) < 0``), or
        fewer than 2 pilot cases.
    """

    var_tr: float
    cov1: float
    cov2: float
    cov3: float
    var_error: float
    pilot_cases: int

    def __post_init__(self) -> None:
        for name in ("var_tr", "cov1", "cov2", "cov3", "var_error"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating
                                                         | np.integer):
                raise UserError(f"{name} must be a number, got {value!r}.")
            if not math.isfinite(float(value)):
                raise UserError(f"{name} must be a finite number, got {value!r}.")
            object.__setattr__(self, name, float(value))
        k = self.pilot_cases
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
            raise UserError(f"The pilot's number of cases must be a whole number >= 2, "
                            f"got {k!r}.")
        object.__setattr__(self, "pilot_cases", int(k))
        if self.var_tr < 0:
            raise UserError(f"var_TR is a variance and cannot be negative (got "
                            f"{self.var_tr:g}).",
                            hint="A negative pilot estimate is usually entered as 0 "
                                 "(Hillis et al. 2011).")
        if self.var_error <= 0:
            raise UserError(f"var_error is a variance and must be positive (got "
                            f"{self.var_error:g}).")
        tol = _REL_TOL * self.var_error
        for name in ("cov1", "cov2", "cov3"):
            if abs(getattr(self, name)) > self.var_error + tol:
                raise UserError(f"{name} = {getattr(self, name):g} is larger in size than "
                                f"var_error = {self.var_error:g}; a covariance cannot exceed "
                                "the variance (its correlation would be beyond +-1).")
        if self.within - self.between < -tol:
            raise UserError(
                "These values are no covariance structure: var_error - cov1 - (cov2 - cov3) "
                f"= {self.within - self.between:g} is negative.",
                hint="Obuchowski and Rockette expect cov1 >= cov2 >= cov3 and "
                     "var_error - cov1 >= cov2 - cov3.")

    @property
    def within(self) -> float:
        """``var_error - cov1``: case variance of one reader's difference, per 2."""
        return self.var_error - self.cov1

    @property
    def between(self) -> float:
        """``max(cov2 - cov3, 0)``: case covariance of two readers' differences, per 2."""
        return max(self.cov2 - self.cov3, 0.0)

    def to_dict(self) -> dict[str, float | int]:
        """Plain values for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class PowerResult:
    """Power of one pivotal study (J readers, K cases) and the test's parameters."""

    readers: int
    cases: int
    effect: float
    alpha: float
    analysis: str
    power: float
    ncp: float
    ddf: float
    f_critical: float


@dataclass(frozen=True)
class CasesNeeded:
    """The smallest number of cases reaching ``target`` power with ``readers`` readers.

    ``cases`` is None when no K up to ``max_cases`` reaches it; ``limit_power`` is the
    power with unlimited cases (when it is below ``target``, no K is enough).
    """

    readers: int
    cases: int | None
    power: float
    target: float
    limit_power: float
    max_cases: int

    @property
    def reachable(self) -> bool:
        """Whether some K <= max_cases reaches the target power."""
        return self.cases is not None


def _terms(c: VarianceComponents, readers: np.ndarray, cases: np.ndarray, analysis: str
           ) -> tuple[np.ndarray, np.ndarray]:
    """Expected denominator and Hillis ddf, broadcast over ``readers`` and ``cases``."""
    s = c.pilot_cases / cases
    j = readers.astype(float)
    if analysis == "FRRC":
        den = s * (c.within + (j - 1.0) * c.between)
        ddf = np.broadcast_to(cases - 1.0, np.broadcast_shapes(den.shape, cases.shape))
        return np.broadcast_to(den, ddf.shape), ddf
    ms_tr = c.var_tr + s * (c.within - c.between)
    if analysis == "RRFC":
        return ms_tr + 0.0 * j, (j - 1.0) + 0.0 * s
    den = c.var_tr + s * (c.within + (j - 1.0) * c.between)
    with np.errstate(divide="ignore", invalid="ignore"):
        ddf = np.where(ms_tr > 0.0, den * den * (j - 1.0) / (ms_tr * ms_tr), np.inf)
    return den, ddf


def _power(c: VarianceComponents, readers: np.ndarray, cases: np.ndarray, effect: float,
           alpha: float, analysis: str) -> tuple[np.ndarray, ...]:
    """Power, noncentrality, ddf and critical F (arrays of the broadcast shape)."""
    den, ddf = _terms(c, readers, cases, analysis)
    if np.any(den <= 0.0):
        raise UserError(f"With these variance components the {ANALYSES[analysis]} test has no "
                        "error variance, so its power is undefined.",
                        hint="Check var_TR, var_error and the covariances.")
    ncp = readers * effect * effect / (2.0 * den)
    ddf, ncp = np.broadcast_arrays(ddf, ncp)
    return (*_f_power(ncp, ddf, alpha), ncp, ddf)


def _f_power(ncp: np.ndarray, ddf: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``P(F(1, ddf; ncp) > F_{1-alpha}(1, ddf))`` and the critical values (chi2 at inf)."""
    finite = np.isfinite(ddf)
    f_crit = np.empty(ddf.shape)
    power = np.empty(ddf.shape)
    if finite.any():
        d = ddf[finite]
        f_crit[finite] = special.fdtri(1.0, d, 1.0 - alpha)
        # scipy.special.ncfdtr is the noncentral F CDF (stats.ncf.sf misbehaves at ncp 0)
        power[finite] = 1.0 - special.ncfdtr(1.0, d, ncp[finite], f_crit[finite])
    if (~finite).any():
        f_crit[~finite] = stats.chi2.isf(alpha, 1)
        power[~finite] = stats.ncx2.sf(f_crit[~finite], 1, ncp[~finite])
    return np.clip(power, 0.0, 1.0), f_crit


def study_power(components: VarianceComponents, *, readers: int, cases: int, effect: float,
                alpha: float = 0.05, analysis: Analysis = "RRRC") -> PowerResult:
    """Power of a pivotal study of ``readers`` readers and ``cases`` cases.

    Parameters
    ----------
    components : VarianceComponents
    readers : int
        J, at least 2 for random readers (RRRC, RRFC), at least 1 for FRRC.
    cases : int
        K, at least 2.
    effect : float
        The AUC difference to detect (its sign does not matter).
    alpha : float, default 0.05
    analysis : {"RRRC", "FRRC", "RRFC"}, default "RRRC"

    Returns
    -------
    PowerResult

    Examples
    --------
    RJafroc's ORH example on the Van Dyke data (J = 6, K = 251; power 0.8005403):

    >>> vc = VarianceComponents(var_tr=0.00020040, cov1=0.00034661, cov2=0.00034407,
    ...                         cov3=0.00023903, var_error=0.00080229, pilot_cases=114)
    >>> round(study_power(vc, readers=6, cases=251, effect=0.0438003).power, 3)
    0.801
    """
    analysis = check_analysis(analysis)  # type: ignore[assignment]
    j = check_readers(readers, analysis)
    k = check_cases(cases)
    d = check_effect(effect)
    a = check_alpha(alpha)
    pw, f_crit, ncp, ddf = _power(components, np.array(float(j)), np.array(float(k)), d, a,
                                  analysis)
    return PowerResult(readers=j, cases=k, effect=d, alpha=a, analysis=analysis,
                       power=float(pw), ncp=float(ncp), ddf=float(ddf),
                       f_critical=float(f_crit))


def power_limit(components: VarianceComponents, *, readers: int, effect: float,
                alpha: float = 0.05, analysis: Analysis = "RRRC") -> float:
    """Power with unlimited cases (K -> infinity).

    With fixed readers, or with ``var_tr == 0``, it is 1. Otherwise only the
    modality-by-reader variance is left: ``den = var_tr``, ``ddf = J - 1``.
    """
    analysis = check_analysis(analysis)  # type: ignore[assignment]
    j = check_readers(readers, analysis)
    d = check_effect(effect)
    a = check_alpha(alpha)
    if analysis == "FRRC" or components.var_tr <= 0.0:
        return 1.0
    ncp = np.array(j * d * d / (2.0 * components.var_tr))
    return float(_f_power(ncp, np.array(j - 1.0), a)[0])


def cases_needed(components: VarianceComponents, *, readers: int, effect: float,
                 power: float = 0.8, alpha: float = 0.05, analysis: Analysis = "RRRC",
                 max_cases: int = MAX_CASES) -> CasesNeeded:
    """The smallest number of cases K whose power reaches ``power`` with J readers.

    Parameters
    ----------
    components : VarianceComponents
    readers : int
    effect : float
    power : float, default 0.8
        Desired power, in (0, 1).
    alpha : float, default 0.05
    analysis : {"RRRC", "FRRC", "RRFC"}, default "RRRC"
    max_cases : int, default MAX_CASES
        Largest K tried.

    Returns
    -------
    CasesNeeded
        ``cases`` is the first K = 2, 3, ... with power >= ``power``, or None.
    """
    analysis = check_analysis(analysis)  # type: ignore[assignment]
    j = check_readers(readers, analysis)
    d = check_effect(effect)
    target = check_power(power)
    a = check_alpha(alpha)
    top = check_cases(max_cases)
    limit = power_limit(components, readers=j, effect=d, alpha=a, analysis=analysis)
    if limit > target:
        for start in range(2, top + 1, _CHUNK):
            ks = np.arange(start, min(start + _CHUNK, top + 1), dtype=float)
            pw = _power(components, np.array(float(j)), ks, d, a, analysis)[0]
            hit = np.flatnonzero(pw >= target)
            if hit.size:
                i = int(hit[0])
                return CasesNeeded(readers=j, cases=int(ks[i]), power=float(pw[i]),
                                   target=target, limit_power=limit, max_cases=top)
    return CasesNeeded(readers=j, cases=None, power=float("nan"), target=target,
                       limit_power=limit, max_cases=top)


def power_table(components: VarianceComponents, *, readers: Sequence[int],
                cases: Sequence[int], effect: float, alpha: float = 0.05,
                analysis: Analysis = "RRRC") -> np.ndarray:
    """Power of every (J, K) pair.

    Returns
    -------
    ndarray of shape (len(readers), len(cases))
        ``out[a, b]`` is the power with ``readers[a]`` readers and ``cases[b]`` cases.
    """
    analysis = check_analysis(analysis)  # type: ignore[assignment]
    js = np.array([check_readers(j, analysis) for j in readers], dtype=float)
    ks = np.array([check_cases(k) for k in cases], dtype=float)
    if js.size == 0 or ks.size == 0:
        raise UserError("A power table needs at least one number of readers and of cases.")
    d = check_effect(effect)
    a = check_alpha(alpha)
    return _power(components, js[:, None], ks[None, :], d, a, analysis)[0]
