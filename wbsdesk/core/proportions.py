"""Binomial proportions and multiple-testing corrections: thin typed wrappers of statsmodels.

* :func:`wilson_interval` -- the Wilson score interval of a proportion (Wilson 1927),
  ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
* :func:`holm` -- Holm's step-down adjustment of p-values (Holm 1979), controlling the
  family-wise error rate, ``statsmodels.stats.multitest.multipletests(method="holm")``.

statsmodels does the arithmetic; these wrappers validate inputs into
:class:`~wbsdesk.errors.UserError`, give typed results and keep NaN p-values (a test that
could not be computed) out of the family instead of failing. statsmodels is imported on
first use (it brings pandas: about 0.8 s), so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wbsdesk.core._checks import check_ci_level
from wbsdesk.errors import UserError

__all__ = ["HolmResult", "Proportion", "holm", "wilson_interval"]


@dataclass(frozen=True)
class Proportion:
    """A proportion ``count / n`` with its Wilson score interval.

    ``estimate``, ``ci_low`` and ``ci_high`` are NaN when ``n`` is 0.
    """

    count: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float


def wilson_interval(count: int, n: int, *, ci_level: float = 0.95) -> Proportion:
    """The proportion ``count / n`` and its Wilson score confidence interval.

    Parameters
    ----------
    count : int
        Successes, ``0 <= count <= n``.
    n : int
        Trials, ``n >= 0`` (0 gives NaN estimate and interval).
    ci_level : float, default 0.95

    Returns
    -------
    Proportion

    Raises
    ------
    UserError
        Negative or non-integer counts, ``count > n``, or a level outside (0, 1).

    Examples
    --------
    >>> p = wilson_interval(3, 10)
    >>> round(p.estimate, 3), round(p.ci_low, 4), round(p.ci_high, 4)
    (0.3, 0.1078, 0.6032)
    """
    level = check_ci_level(ci_level)
    for name, v in (("count", count), ("n", n)):
        if isinstance(v, bool) or int(v) != v or v < 0:
            raise UserError(f"{name} must be a non-negative whole number, got {v!r}.")
    count, n = int(count), int(n)
    if count > n:
        raise UserError(f"count ({count}) cannot exceed n ({n}).")
    if n == 0:
        nan = float("nan")
        return Proportion(count=0, n=0, estimate=nan, ci_low=nan, ci_high=nan, ci_level=level)
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(count, n, alpha=1.0 - level, method="wilson")
    return Proportion(count=count, n=n, estimate=count / n, ci_low=float(max(lo, 0.0)),
                      ci_high=float(min(hi, 1.0)), ci_level=level)


@dataclass(frozen=True)
class HolmResult:
    """Holm-adjusted p-values, in the input order.

    Attributes
    ----------
    p_values, p_adjusted : tuple of float
        Raw and adjusted p-values (NaN stays NaN and is not counted in the family).
    reject : tuple of bool
        ``p_adjusted <= alpha`` (False for NaN).
    alpha : float
    family_size : int
        Number of finite p-values adjusted together.
    """

    p_values: tuple[float, ...]
    p_adjusted: tuple[float, ...]
    reject: tuple[bool, ...]
    alpha: float
    family_size: int


def holm(p_values: Sequence[float], *, alpha: float = 0.05) -> HolmResult:
    """Holm's step-down adjustment of a family of p-values.

    Parameters
    ----------
    p_values : sequence of float
        Raw p-values in [0, 1]; NaN marks a test that was not computed and is left out.
    alpha : float, default 0.05
        Family-wise error rate for ``reject``.

    Returns
    -------
    HolmResult

    Raises
    ------
    UserError
        A p-value outside [0, 1] or an ``alpha`` outside (0, 1).

    Examples
    --------
    >>> r = holm([0.01, 0.04, 0.03])
    >>> [round(p, 3) for p in r.p_adjusted], r.reject
    ([0.03, 0.06, 0.06], (True, False, False))
    """
    a = check_ci_level(alpha)
    p = np.asarray(p_values, dtype=float).reshape(-1)
    finite = np.isfinite(p)
    if np.any(np.isinf(p)) or np.any((p[finite] < 0) | (p[finite] > 1)):
        raise UserError("p-values must lie between 0 and 1 (NaN for a test not computed).")
    adjusted = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    if finite.any():
        # Holm's step-down, as statsmodels' multipletests(method="holm") computes it (the
        # tests compare the two); not called here because it runs a full gc.collect() on
        # every call, 0.2 s in a report process, for each family of tests.
        q = p[finite]
        order = np.argsort(q, kind="stable")
        steps = np.arange(q.size, 0, -1)
        adj = np.empty(q.size)
        adj[order] = np.minimum(np.maximum.accumulate(q[order] * steps), 1.0)
        passed = q[order] <= a / steps
        first_fail = int(np.argmin(passed)) if not passed.all() else q.size
        rej = np.zeros(q.size, dtype=bool)
        rej[order[:first_fail]] = True
        adjusted[finite] = adj
        reject[finite] = rej
    return HolmResult(p_values=tuple(float(v) for v in p),
                      p_adjusted=tuple(float(v) for v in adjusted),
                      reject=tuple(bool(v) for v in reject), alpha=a,
                      family_size=int(finite.sum()))
