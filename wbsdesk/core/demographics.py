"""Table 1: demographics of the target group vs. all controls, with p-values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class GroupDemographics:
    """One column of Table 1."""

    n: int
    age_n: int
    age_mean: float
    age_sd: float
    male: int
    female: int
    sex_unknown: int


@dataclass(frozen=True)
class Table1:
    """The paper's Table 1: target vs. controls, with the tests used."""

    target: GroupDemographics
    controls: GroupDemographics
    age_p: float
    age_test: str
    sex_p: float
    sex_test: str


def _describe(ages: np.ndarray, sexes: Sequence[str | None], ddof: int) -> GroupDemographics:
    known = ages[~np.isnan(ages)]
    mean = float(known.mean()) if known.size else float("nan")
    sd = float(known.std(ddof=ddof)) if known.size > ddof else float("nan")
    male = sum(1 for s in sexes if s == "M")
    female = sum(1 for s in sexes if s == "F")
    return GroupDemographics(n=len(sexes), age_n=int(known.size), age_mean=mean, age_sd=sd,
                             male=male, female=female, sex_unknown=len(sexes) - male - female)


def table1(is_target: Sequence[bool], age_months: Sequence[float | None],
           sex: Sequence[str | None], *, ttest: Literal["welch", "student"] = "welch",
           chi2_yates: bool = False, ddof: int = 1) -> Table1:
    """Demographics of the target group vs. all controls (the paper's Table 1).

    Age is compared with an independent-samples t-test (``scipy.stats.ttest_ind``; Welch's
    unequal-variance form by default, which reproduces the paper's p = 0.074 from its
    summary statistics, while Student's gives 0.108). Sex is compared with Pearson's
    chi-squared test on the 2 x 2 table (``scipy.stats.chi2_contingency``, no Yates
    correction by default). Missing ages and sexes are left out of their test.

    Parameters
    ----------
    is_target : sequence of bool, shape (n_subjects,)
        True for the target (positive) group.
    age_months : sequence of float or None, shape (n_subjects,)
    sex : sequence of {"M", "F", None}, shape (n_subjects,)
    ttest : {"welch", "student"}, keyword-only
    chi2_yates : bool, keyword-only
        Apply Yates' continuity correction.
    ddof : int, keyword-only
        Delta degrees of freedom of the SD (1 = sample SD).

    Returns
    -------
    Table1
        p-values are NaN when a test is undefined (e.g. a group without ages).

    Examples
    --------
    >>> t = table1([True, True, False, False], [10, 20, 30, 50], ["M", "F", "M", "M"])
    >>> t.target.age_mean, t.controls.male
    (15.0, 2)
    """
    target = np.asarray(is_target, dtype=bool)
    ages = np.array([np.nan if a is None else float(a) for a in age_months], dtype=float)
    sexes = list(sex)
    if not (len(target) == len(ages) == len(sexes)):
        raise ValueError("is_target, age_months and sex must have the same length")
    t_desc = _describe(ages[target], [s for s, t in zip(sexes, target, strict=True) if t], ddof)
    c_desc = _describe(ages[~target], [s for s, t in zip(sexes, target, strict=True) if not t],
                       ddof)
    a, b = ages[target], ages[~target]
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size >= 2 and b.size >= 2 and (np.ptp(a) > 0 or np.ptp(b) > 0):
        age_p = float(stats.ttest_ind(a, b, equal_var=(ttest == "student")).pvalue)
    else:
        age_p = float("nan")
    counts = np.array([[t_desc.male, t_desc.female], [c_desc.male, c_desc.female]])
    if (counts.sum(axis=0) > 0).all() and (counts.sum(axis=1) > 0).all():
        sex_p = float(stats.chi2_contingency(counts, correction=chi2_yates).pvalue)
    else:
        sex_p = float("nan")
    age_test = ("Welch's t-test" if ttest == "welch" else "Student's t-test") + " (two-sided)"
    sex_test = "Pearson's chi-squared" + (" with Yates' correction" if chi2_yates else "")
    return Table1(target=t_desc, controls=c_desc, age_p=age_p, age_test=age_test, sex_p=sex_p,
                  sex_test=sex_test)
