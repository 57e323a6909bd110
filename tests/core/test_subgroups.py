"""Subgroup AUCs: DeLong within each subgroup, statuses, and the tests of a difference."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats

from wbsdesk.core import subgroups
from wbsdesk.core.delong import delong_auc
from wbsdesk.core.subgroups import (
    SubgroupAuc,
    age_band_labels,
    age_bands,
    subgroup_aucs,
    subgroup_difference,
)
from wbsdesk.errors import UserError, WbsdeskWarning


def _data(seed: int, n: int = 240):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(bool)
    labels = np.array(rng.choice(["A", "B", "C"], n), dtype=object)
    shift = np.where(labels == "A", 2.0, np.where(labels == "B", 1.0, 0.3))
    score = rng.normal(shift * y, 1.0)
    return y, score, labels


def test_age_bands_are_half_open_with_an_open_end():
    edges = (0, 36, 72, 144)
    assert age_band_labels(edges) == ("0–<36 months", "36–<72 months", "72–<144 months",
                                      "≥144 months")
    got = age_bands([0, 35.9, 36, 71.99, 72, 143, 144, 900, None, float("nan")], edges)
    assert got == ("0–<36 months", "0–<36 months", "36–<72 months", "36–<72 months",
                   "72–<144 months", "72–<144 months", "≥144 months", "≥144 months",
                   "unknown", "unknown")
    assert age_bands([3], [6, 12]) == ("<6 months",)
    with pytest.raises(UserError):
        age_bands([3], [12, 6])


def test_each_subgroup_auc_is_delong_on_that_subgroup_alone():
    y, score, labels = _data(0)
    rows = subgroup_aucs(y, score, labels, scorer="m", dimension="site", ci_level=0.9)
    assert [r.subgroup for r in rows] == ["A", "B", "C"]
    for r in rows:
        inside = labels == r.subgroup
        d = delong_auc(y[inside], score[inside], ci_level=0.9)
        assert (r.auc, r.se, r.ci_low, r.ci_high) == (d.auc, d.se, d.ci_low, d.ci_high)
        assert (r.n_pos, r.n_neg) == (int(y[inside].sum()), int((~y[inside]).sum()))
        assert r.status == "ok" and r.scorer == "m" and r.dimension == "site"
        assert len(r.row()) == len(subgroups.SUBGROUP_COLUMNS)


def test_small_and_one_class_subgroups_are_marked_not_refused():
    y, score, labels = _data(1, n=120)
    labels = labels.copy()
    labels[:9] = "tiny"
    y = y.copy()
    y[:9] = [1, 1, 1, 0, 0, 0, 0, 1, 0]
    y[9:12] = True
    labels[9:12] = "only positives"
    rows = {r.subgroup: r for r in subgroup_aucs(y, score, labels, scorer="m", dimension="d")}
    assert rows["tiny"].status == "too small" and not math.isnan(rows["tiny"].auc)
    assert rows["only positives"].status == "one class"
    assert math.isnan(rows["only positives"].auc) and rows["only positives"].n_neg == 0
    # a subgroup with 1 control has an AUC but no DeLong CI
    one = subgroup_aucs([1, 1, 0], [0.9, 0.2, 0.5], ["x"] * 3, scorer="m", dimension="d")[0]
    assert one.auc == 0.5 and math.isnan(one.ci_low) and one.status == "too small"


def test_order_puts_unknown_last_and_follows_the_given_order():
    rows = subgroup_aucs([0, 1, 0, 1, 0, 1], [1, 2, 1, 2, 1, 2], ["unknown", "unknown", "M",
                         "M", "F", "F"], scorer="m", dimension="sex", min_per_class=1)
    assert [r.subgroup for r in rows] == ["F", "M", "unknown"]
    rows = subgroup_aucs([0, 1, 0, 1], [1, 2, 1, 2], ["b", "b", "a", "a"], scorer="m",
                         dimension="d", order=["b", "zzz", "a"], min_per_class=1)
    assert [r.subgroup for r in rows] == ["b", "a"]


def test_zero_variance_in_a_subgroup_is_a_named_warning():
    y = np.array([0] * 10 + [1] * 10 + [0] * 10 + [1] * 10)
    score = np.r_[np.zeros(10), np.ones(10), np.random.default_rng(0).random(20)]
    labels = ["perfect"] * 20 + ["noisy"] * 20
    with pytest.warns(WbsdeskWarning, match="sex = perfect"):
        rows = subgroup_aucs(y, score, labels, scorer="m", dimension="sex")
    perfect = next(r for r in rows if r.subgroup == "perfect")
    assert perfect.auc == 1.0 and math.isnan(perfect.ci_low)


def _row(name, auc, se, status="ok"):
    return SubgroupAuc("m", "d", name, 20, 20, auc, se, 0.0, 1.0, 0.95, status)


def test_two_subgroups_use_the_independent_samples_z_test():
    a, b = _row("F", 0.85, 0.04), _row("M", 0.70, 0.05)
    t = subgroup_difference([a, b])
    z = (0.85 - 0.70) / math.sqrt(0.04**2 + 0.05**2)
    assert t.method == "z" and t.df == 1 and t.subgroups == ("F", "M")
    assert t.statistic == pytest.approx(z)
    assert t.p_value == pytest.approx(2 * stats.norm.sf(z))
    assert math.isnan(t.p_holm)


def test_more_subgroups_use_the_chi_square_test_of_homogeneity():
    rows = [_row("A", 0.9, 0.03), _row("B", 0.8, 0.05), _row("C", 0.6, 0.06),
            _row("D", 0.99, 0.1, status="too small")]
    t = subgroup_difference(rows)
    w = np.array([1 / 0.03**2, 1 / 0.05**2, 1 / 0.06**2])
    a = np.array([0.9, 0.8, 0.6])
    mean = (w * a).sum() / w.sum()
    q = (w * (a - mean) ** 2).sum()
    assert t.method == "chi2" and t.df == 2 and t.subgroups == ("A", "B", "C")
    assert t.statistic == pytest.approx(q) and t.p_value == pytest.approx(stats.chi2.sf(q, 2))
    assert "D" in t.note


def test_for_two_subgroups_chi_square_and_z_agree():
    a, b = _row("F", 0.81, 0.045), _row("M", 0.74, 0.052)
    z = subgroup_difference([a, b])
    w = np.array([1 / 0.045**2, 1 / 0.052**2])
    x = np.array([0.81, 0.74])
    q = (w * (x - (w * x).sum() / w.sum()) ** 2).sum()
    assert z.statistic**2 == pytest.approx(q)
    assert z.p_value == pytest.approx(stats.chi2.sf(q, 1))


def test_no_test_with_fewer_than_two_interpretable_subgroups():
    t = subgroup_difference([_row("F", 0.8, 0.05), _row("M", float("nan"), float("nan"),
                                                        status="one class")])
    assert t.method == "none" and math.isnan(t.p_value) and "M" in t.note


def test_doctests():
    assert doctest.testmod(subgroups, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
