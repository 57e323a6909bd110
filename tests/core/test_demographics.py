"""Table 1 against scipy, and the paper's own numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from wbsdesk.core.demographics import table1


def test_table1_matches_scipy():
    rng = np.random.default_rng(3)
    n = 120
    target = rng.random(n) < 0.35
    ages = rng.gamma(2.0, 18.0, n)
    sex = np.where(rng.random(n) < 0.55, "M", "F")
    t = table1(target, ages.tolist(), sex.tolist())
    assert t.target.n == target.sum() and t.controls.n == (~target).sum()
    assert t.target.age_mean == pytest.approx(ages[target].mean())
    assert t.target.age_sd == pytest.approx(ages[target].std(ddof=1))
    assert t.age_p == pytest.approx(stats.ttest_ind(ages[target], ages[~target],
                                                    equal_var=False).pvalue)
    counts = [[(sex[target] == "M").sum(), (sex[target] == "F").sum()],
              [(sex[~target] == "M").sum(), (sex[~target] == "F").sum()]]
    assert t.sex_p == pytest.approx(stats.chi2_contingency(counts, correction=False).pvalue)
    s = table1(target, ages.tolist(), sex.tolist(), ttest="student", chi2_yates=True)
    assert s.age_p == pytest.approx(stats.ttest_ind(ages[target], ages[~target]).pvalue)
    assert s.sex_p == pytest.approx(stats.chi2_contingency(counts, correction=True).pvalue)
    assert "Welch" in t.age_test and "Student" in s.age_test


def test_paper_table1_conventions():
    # Table 1 of the paper: 32.98 +- 32.62 (n=104) vs 40.65 +- 43.45 (n=236), p = 0.074;
    # sex 61/43 vs 123/113, p = 0.270. Welch reproduces the age p; Pearson without Yates
    # is closest for sex (0.265).
    welch = stats.ttest_ind_from_stats(32.98, 32.62, 104, 40.65, 43.45, 236, equal_var=False)
    assert round(welch.pvalue, 3) == 0.074
    chi = stats.chi2_contingency([[61, 43], [123, 113]], correction=False)
    assert abs(chi.pvalue - 0.270) < 0.01
    # the same counts through table1 give the same chi-squared p
    target = [True] * 104 + [False] * 236
    sex = ["M"] * 61 + ["F"] * 43 + ["M"] * 123 + ["F"] * 113
    t = table1(target, [None] * 340, sex)
    assert t.sex_p == pytest.approx(chi.pvalue)
    assert (t.target.male, t.target.female, t.controls.male, t.controls.female) == (61, 43,
                                                                                    123, 113)


def test_missing_values_are_left_out_and_undefined_tests_are_nan():
    t = table1([True, True, False], [10.0, None, 20.0], ["M", None, "M"])
    assert t.target.age_n == 1 and t.target.sex_unknown == 1
    assert math.isnan(t.age_p) and math.isnan(t.target.age_sd)
    assert math.isnan(t.sex_p)  # nobody is female: chi-squared undefined
