"""AUCs within subgroups (sex, age band, any metadata column) and a test of their difference.

Each scorer (model or reader) gets, within every subgroup, its empirical AUC with the DeLong
variance and a Wald CI (:func:`wbsdesk.core.delong.delong_auc`), and the numbers of
positives and controls. A subgroup is

* ``"ok"`` with at least :data:`MIN_PER_CLASS` positives and as many controls;
* ``"too small"`` ("too small to interpret") below that: its AUC and CI are shown, but it
  takes no part in the test of a difference;
* ``"one class"`` when it holds no positive or no control: no AUC. A
  :class:`~wbsdesk.errors.WbsdeskWarning` names it, and the rest of the audit goes on.

Test of a difference between subgroups
--------------------------------------
The subgroups are disjoint sets of cases, so their AUCs are independent. Among the ``"ok"``
subgroups with a positive DeLong variance ``V_i``:

* two subgroups: the independent-samples z test ``z = (A_1 - A_2) / sqrt(V_1 + V_2)``,
  two-sided (Hanley & McNeil 1982, *Radiology* 143:29-36, with DeLong variances);
* more than two: the chi-square test of homogeneity ``Q = sum_i w_i (A_i - A_w)^2``,
  ``w_i = 1 / V_i``, ``A_w = sum_i w_i A_i / sum_i w_i``, on ``k - 1`` degrees of freedom
  (Cochran's Q, Cochran 1954, *Biometrics* 10:101-129; for AUCs see Zhou, Obuchowski &
  McClish, *Statistical Methods in Diagnostic Medicine*, 2nd ed., Wiley 2011). For two
  subgroups Q equals z squared, so both give the same p-value.

Rendering: :data:`SUBGROUP_COLUMNS` and :data:`DIFFERENCE_COLUMNS` name the columns of
:meth:`SubgroupAuc.row` and :meth:`SubgroupDifference.row`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from wbsdesk.core._checks import ZERO_TOL, as_scores, as_truth, check_ci_level, warn
from wbsdesk.core.delong import delong_auc
from wbsdesk.core.result_table import Column
from wbsdesk.core.roc import auc_score
from wbsdesk.errors import UserError, WbsdeskWarning

__all__ = [
    "DIFFERENCE_COLUMNS",
    "MIN_PER_CLASS",
    "STATUS_LABEL",
    "STATUS_TEXT",
    "SUBGROUP_COLUMNS",
    "UNKNOWN",
    "SubgroupAuc",
    "SubgroupDifference",
    "age_band_labels",
    "age_bands",
    "subgroup_aucs",
    "subgroup_difference",
]

#: Fewer positives or controls than this: "too small to interpret".
MIN_PER_CLASS = 10
#: Subgroup label of cases whose value is missing.
UNKNOWN = "unknown"

Status = Literal["ok", "too small", "one class"]
#: What each status means, for a table's notes.
STATUS_TEXT = {
    "ok": "",
    "too small": f"too small to interpret (fewer than {MIN_PER_CLASS} positives or controls)",
    "one class": "one class only (no positive or no control): no AUC",
}
#: The status as a table shows it (:meth:`SubgroupAuc.row`).
STATUS_LABEL = {"ok": "ok", "too small": "too small to interpret",
                "one class": "one class only"}


def age_band_labels(edges: Sequence[float]) -> tuple[str, ...]:
    """Labels of the bands ``[e_0, e_1), ..., [e_last, inf)`` (months).

    Examples
    --------
    >>> age_band_labels([0, 36, 72, 144])
    ('0–<36 months', '36–<72 months', '72–<144 months', '≥144 months')
    """
    e = [float(v) for v in edges]
    labels = [f"{_num(lo)}–<{_num(hi)} months" for lo, hi in itertools.pairwise(e)]
    return (*labels, f"≥{_num(e[-1])} months")


def _num(v: float) -> str:
    return f"{v:g}"


def age_bands(ages: Sequence[float | None], edges: Sequence[float]) -> tuple[str, ...]:
    """The age-band label of each age (months); ``"unknown"`` when missing.

    Bands are half-open ``[e_i, e_{i+1})``; the last is open-ended. An age below the first
    edge is labelled ``"<e_0 months"``.

    Parameters
    ----------
    ages : sequence of float or None
    edges : sequence of float
        Lower edges, increasing, non-negative (``[statistics] age_bands_months``).

    Examples
    --------
    >>> age_bands([3, 36, None, 200], [0, 36, 72, 144])
    ('0–<36 months', '36–<72 months', 'unknown', '≥144 months')
    """
    e = np.asarray(edges, dtype=float)
    if e.size == 0 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0) or e[0] < 0:
        raise UserError("age band edges must be increasing, finite and non-negative.")
    labels = age_band_labels(e)
    out = []
    for a in ages:
        if a is None or (isinstance(a, float) and math.isnan(a)):
            out.append(UNKNOWN)
        elif a < e[0]:
            out.append(f"<{_num(e[0])} months")
        else:
            out.append(labels[int(np.searchsorted(e, a, side="right")) - 1])
    return tuple(out)


@dataclass(frozen=True)
class SubgroupAuc:
    """One scorer's AUC within one subgroup.

    Attributes
    ----------
    scorer : str
        Model or reader label.
    dimension : str
        What splits the cases: ``"sex"``, ``"age band"`` or a metadata column.
    subgroup : str
    n_pos, n_neg : int
    auc, se, ci_low, ci_high : float
        NaN when not computable (``"one class"``; CI also with < 2 of a class or a zero
        variance).
    ci_level : float
    status : {"ok", "too small", "one class"}
    """

    scorer: str
    dimension: str
    subgroup: str
    n_pos: int
    n_neg: int
    auc: float
    se: float
    ci_low: float
    ci_high: float
    ci_level: float
    status: Status

    @property
    def variance(self) -> float:
        """The DeLong variance (``se ** 2``)."""
        return self.se ** 2

    def row(self) -> tuple[Any, ...]:
        """One row in :data:`SUBGROUP_COLUMNS` order (the status as :data:`STATUS_LABEL`)."""
        return (self.scorer, self.dimension, self.subgroup, self.n_pos, self.n_neg, self.auc,
                self.se, self.ci_low, self.ci_high, STATUS_LABEL[self.status])


def _one(y: np.ndarray, s: np.ndarray, *, scorer: str, dimension: str, subgroup: str,
         level: float, min_per_class: int) -> SubgroupAuc:
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    nan = float("nan")
    base = {"scorer": scorer, "dimension": dimension, "subgroup": subgroup, "n_pos": n_pos,
            "n_neg": n_neg, "ci_level": level}
    if min(n_pos, n_neg) == 0:
        return SubgroupAuc(**base, auc=nan, se=nan, ci_low=nan, ci_high=nan,
                           status="one class")
    status: Status = "ok" if min(n_pos, n_neg) >= min_per_class else "too small"
    if min(n_pos, n_neg) < 2:
        return SubgroupAuc(**base, auc=auc_score(y, s), se=nan, ci_low=nan, ci_high=nan,
                           status=status)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WbsdeskWarning)
        d = delong_auc(y, s, ci_level=level)
    if caught:  # zero variance: say which subgroup
        warn(f"{scorer}, {dimension} = {subgroup}: the DeLong variance of the AUC "
             f"({d.auc:.3g}) is zero (perfect separation or all scores tied); its CI is NaN.")
    return SubgroupAuc(**base, auc=d.auc, se=d.se, ci_low=d.ci_low, ci_high=d.ci_high,
                       status=status)


def subgroup_aucs(y_true: Any, score: Any, labels: Sequence[str], *, scorer: str,
                  dimension: str, order: Sequence[str] | None = None,
                  ci_level: float = 0.95, min_per_class: int = MIN_PER_CLASS
                  ) -> tuple[SubgroupAuc, ...]:
    """AUC with DeLong CI of one scorer within each subgroup.

    Parameters
    ----------
    y_true : array-like of shape (n_cases,)
        Truth, 0/1 or bool.
    score : array-like of shape (n_cases,)
        The scorer's scores (probabilities or ratings).
    labels : sequence of str, length n_cases
        Each case's subgroup.
    scorer, dimension : str, keyword-only
        Names carried into the rows.
    order : sequence of str, optional
        Subgroups in display order (default: sorted, ``"unknown"`` last). Subgroups
        without cases are left out.
    ci_level : float, default 0.95
    min_per_class : int, default 10
        Below this many positives or controls a subgroup is "too small".

    Returns
    -------
    tuple of SubgroupAuc
        Does not warn about "one class" subgroups (the caller names them once for all
        scorers); warns about zero variances naming the subgroup.

    Examples
    --------
    >>> rows = subgroup_aucs([0, 1, 0, 1, 1], [0.2, 0.8, 0.3, 0.6, 0.9],
    ...                      ["F", "F", "M", "M", "X"], scorer="m", dimension="sex",
    ...                      min_per_class=1)
    >>> [(r.subgroup, r.auc, r.status) for r in rows]
    [('F', 1.0, 'ok'), ('M', 1.0, 'ok'), ('X', nan, 'one class')]
    """
    level = check_ci_level(ci_level)
    y = as_truth(y_true)
    s = as_scores(score, name="score", n=y.size)
    lab = np.asarray([str(v) for v in labels], dtype=object)
    if lab.size != y.size:
        raise UserError(f"labels has {lab.size} case(s) but the truth has {y.size}.")
    present = set(lab.tolist())
    groups = ([g for g in order if g in present] + sorted(present - set(order))
              if order is not None else _default_order(present))
    return tuple(_one(y[lab == g], s[lab == g], scorer=scorer, dimension=dimension,
                      subgroup=g, level=level, min_per_class=min_per_class)
                 for g in groups)


def _default_order(present: set[str]) -> list[str]:
    return sorted(present - {UNKNOWN}) + ([UNKNOWN] if UNKNOWN in present else [])


@dataclass(frozen=True)
class SubgroupDifference:
    """Test that a scorer's AUC is the same in every interpretable subgroup.

    Attributes
    ----------
    scorer, dimension : str
    method : {"z", "chi2", "none"}
        Independent-samples z test (2 subgroups), chi-square test of homogeneity (> 2), or
        none (fewer than 2 usable subgroups; statistic and p are NaN).
    subgroups : tuple of str
        The subgroups tested (``"ok"`` status, positive variance).
    statistic : float
        z (signed, first minus second subgroup) or Q.
    df : int
        Degrees of freedom of Q (1 for z, 0 for none).
    p_value : float
        Two-sided.
    p_holm : float
        Holm-adjusted over the family of tests the caller adjusts together (NaN until
        set; see :func:`dataclasses.replace`).
    note : str
        Why subgroups were left out, or why no test was made.
    """

    scorer: str
    dimension: str
    method: Literal["z", "chi2", "none"]
    subgroups: tuple[str, ...]
    statistic: float
    df: int
    p_value: float
    p_holm: float
    note: str

    def row(self) -> tuple[Any, ...]:
        """One row in :data:`DIFFERENCE_COLUMNS` order."""
        return (self.scorer, self.dimension, self.method, " vs. ".join(self.subgroups),
                self.statistic, self.df, self.p_value, self.p_holm, self.note)


def subgroup_difference(rows: Sequence[SubgroupAuc]) -> SubgroupDifference:
    """Test of a difference in AUC between the interpretable subgroups of one scorer.

    Parameters
    ----------
    rows : sequence of SubgroupAuc
        One scorer's rows along one dimension (from :func:`subgroup_aucs`).

    Returns
    -------
    SubgroupDifference

    Examples
    --------
    >>> from wbsdesk.core.subgroups import SubgroupAuc
    >>> a = SubgroupAuc("m", "sex", "F", 20, 20, 0.9, 0.05, 0.8, 1.0, 0.95, "ok")
    >>> b = SubgroupAuc("m", "sex", "M", 20, 20, 0.7, 0.05, 0.6, 0.8, 0.95, "ok")
    >>> t = subgroup_difference([a, b])
    >>> t.method, round(t.statistic, 4), round(t.p_value, 4)
    ('z', 2.8284, 0.0047)
    """
    rows = list(rows)
    if not rows:
        raise UserError("no subgroup to test.")
    scorer, dimension = rows[0].scorer, rows[0].dimension
    usable = [r for r in rows if r.status == "ok" and np.isfinite(r.se)
              and r.variance > ZERO_TOL]
    left = [r.subgroup for r in rows if r not in usable]
    note = (f"not tested: {', '.join(left)} (too small, one class or zero variance)"
            if left else "")
    nan = float("nan")
    names = tuple(r.subgroup for r in usable)
    if len(usable) < 2:
        why = "fewer than 2 subgroups with enough positives and controls"
        return SubgroupDifference(scorer, dimension, "none", names, nan, 0, nan, nan,
                                  f"{why}; {note}" if note else why)
    a = np.array([r.auc for r in usable])
    v = np.array([r.variance for r in usable])
    if len(usable) == 2:
        z = float((a[0] - a[1]) / np.sqrt(v.sum()))
        p = float(2.0 * stats.norm.sf(abs(z)))
        return SubgroupDifference(scorer, dimension, "z", names, z, 1, p, nan, note)
    w = 1.0 / v
    mean = float((w * a).sum() / w.sum())
    q = float((w * (a - mean) ** 2).sum())
    df = len(usable) - 1
    return SubgroupDifference(scorer, dimension, "chi2", names, q, df,
                              float(stats.chi2.sf(q, df)), nan, note)


#: Columns of :meth:`SubgroupAuc.row`.
SUBGROUP_COLUMNS = (
    Column("scorer", "Model / reader", "", "text"),
    Column("dimension", "By", "", "text"),
    Column("subgroup", "Subgroup", "", "text"),
    Column("n_pos", "Positives", "photos", "count"),
    Column("n_neg", "Controls", "photos", "count"),
    Column("auc", "AUC", "", "number"),
    Column("se", "SE (DeLong)", "", "number"),
    Column("ci_low", "CI low", "AUC (DeLong, Wald)", "number"),
    Column("ci_high", "CI high", "AUC (DeLong, Wald)", "number"),
    Column("status", "Status", "", "text"),
)
#: Columns of :meth:`SubgroupDifference.row`.
DIFFERENCE_COLUMNS = (
    Column("scorer", "Model / reader", "", "text"),
    Column("dimension", "By", "", "text"),
    Column("method", "Test", "z: independent-samples z; chi2: homogeneity", "text"),
    Column("subgroups", "Subgroups tested", "", "text"),
    Column("statistic", "Statistic", "z or chi-square", "number"),
    Column("df", "df", "", "count"),
    Column("p_value", "p", "two-sided", "p_value"),
    Column("p_holm", "p (Holm)", "adjusted over all tests of the audit", "p_value"),
    Column("note", "Note", "", "text"),
)
