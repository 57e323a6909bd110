"""Confusion metrics, ROC/AUC, fold summaries, reader tables and sub-analysis helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from wbsdesk.core.metrics import ConfusionMetrics, confusion_metrics, fold_summary, reader_table
from wbsdesk.core.roc import auc_score, binary_read_roc, rating_roc, roc_curve
from wbsdesk.core.subsets import binary_truth, subset_mask
from wbsdesk.errors import UserError, WbsdeskWarning


def pair_count_auc(y, s):
    """O(n^2) Mann–Whitney: share of (positive, negative) pairs ordered right, ties 1/2."""
    pos = [v for v, t in zip(s, y, strict=True) if t]
    neg = [v for v, t in zip(s, y, strict=True) if not t]
    total = 0.0
    for a in pos:
        for b in neg:
            total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(pos) * len(neg))


@st.composite
def labelled_scores(draw, *, min_n=2, max_n=40, ties=True):
    n = draw(st.integers(min_n, max_n))
    y = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    y[0], y[1] = True, False
    if ties:
        s = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    else:
        s = draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=n, max_size=n,
                          unique=True))
    return np.array(y), np.array(s, dtype=float)


# ---------------------------------------------------------------- confusion metrics


def test_confusion_counts_and_rates():
    y = [1, 1, 1, 0, 0, 0, 0, 1]
    pred = [1, 0, 1, 0, 1, 0, 0, 1]
    m = confusion_metrics(y, pred)
    assert (m.tp, m.fp, m.tn, m.fn) == (3, 1, 3, 1)
    assert m.accuracy == 6 / 8
    assert m.precision == 3 / 4
    assert m.recall == m.sensitivity == 3 / 4
    assert m.specificity == 3 / 4
    assert m.f1 == pytest.approx(2 * 0.75 * 0.75 / 1.5)
    assert m.binary_auc == 0.75
    assert m.n == 8


def test_confusion_with_threshold_uses_greater_or_equal():
    y = np.array([True, False, True, False])
    m = confusion_metrics(y, [0.5, 0.5, 0.2, 0.1], threshold=0.5)
    assert (m.tp, m.fp, m.tn, m.fn) == (1, 1, 1, 1)


def test_confusion_accepts_bool_and_matches_sklearn():
    from sklearn.metrics import f1_score, precision_score, recall_score

    rng = np.random.default_rng(1)
    y = rng.random(200) < 0.3
    p = rng.random(200) < 0.4
    m = confusion_metrics(y, p)
    assert m.precision == pytest.approx(precision_score(y, p))
    assert m.recall == pytest.approx(recall_score(y, p))
    assert m.f1 == pytest.approx(f1_score(y, p))


def test_no_positive_calls_gives_nan_precision_with_warning():
    with pytest.warns(WbsdeskWarning, match="Precision"):
        m = confusion_metrics([1, 0, 1, 0], [0, 0, 0, 0])
    assert math.isnan(m.precision)
    assert m.f1 == 0.0  # 2tp/(2tp+fp+fn) = 0: defined
    assert m.recall == 0.0


def test_one_class_makes_specificity_nan_with_warning():
    with pytest.warns(WbsdeskWarning, match="Specificity"):
        m = confusion_metrics([1, 1], [1, 0])
    assert math.isnan(m.specificity)


@pytest.mark.parametrize(
    ("y", "pred", "kw", "match"),
    [
        ([0, 1, 2], [0, 1, 1], {}, "only 0 and 1"),
        ([0, 1], [0, 1, 1], {}, "3 case"),
        ([0, 1, 1], [0, 0.5, 1], {}, "binary calls"),
        ([0, 1, 1], [0, np.nan, 1], {"threshold": 0.5}, "NaN"),
        ([0, np.nan], [0, 1], {}, "missing"),
        ([], [], {}, "empty"),
        ([0, 1], [0.2, 0.4], {"threshold": float("nan")}, "finite"),
    ],
)
def test_confusion_rejects_bad_input(y, pred, kw, match):
    with pytest.raises(UserError, match=match):
        confusion_metrics(y, pred, **kw)


def test_from_counts_rejects_negative_counts():
    with pytest.raises(UserError):
        ConfusionMetrics.from_counts(-1, 0, 1, 1)


# ---------------------------------------------------------------- ROC and AUC


def test_auc_against_sklearn_and_pair_count_on_random_data():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(5, 80))
        y = rng.random(n) < 0.4
        y[:2] = [True, False]
        s = np.round(rng.normal(size=n) + y, 1)  # rounding makes ties
        assert auc_score(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert auc_score(y, s) == pytest.approx(pair_count_auc(y, s), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(labelled_scores())
def test_auc_equals_pair_count_with_ties(data):
    y, s = data
    assert auc_score(y, s) == pytest.approx(pair_count_auc(y, s), abs=1e-12)
    curve = roc_curve(y, s)
    assert curve.auc == auc_score(y, s)
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(curve.auc, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(labelled_scores(), st.sampled_from(["exp", "cube", "affine", "arctan"]))
def test_strictly_monotone_transform_keeps_auc(data, kind):
    y, s = data
    s = s / 7.0
    f = {"exp": np.exp, "cube": lambda v: v**3 + v, "affine": lambda v: 3.0 * v - 11.0,
         "arctan": np.arctan}[kind]
    assert auc_score(y, f(s)) == pytest.approx(auc_score(y, s), abs=1e-12)
    # a strictly decreasing transform mirrors the AUC
    assert auc_score(y, -s) == pytest.approx(1.0 - auc_score(y, s), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 15), st.integers(1, 15), st.floats(-5, 5, allow_nan=False))
def test_all_ties_count_one_half(m, n, value):
    y = np.r_[np.ones(m, bool), np.zeros(n, bool)]
    assert auc_score(y, np.full(m + n, value)) == 0.5


def test_single_tie_pair_counts_half():
    # one positive above one negative, one tied pair, one reversed: (1 + 0.5 + 0) ... / 4
    y = [1, 1, 0, 0]
    s = [2.0, 1.0, 1.0, 3.0]
    # pairs: (2,1)=1, (2,3)=0, (1,1)=0.5, (1,3)=0
    assert auc_score(y, s) == 1.5 / 4


def test_roc_curve_points_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.random(60) < 0.5
    s = np.round(rng.normal(size=60) + y, 1)
    c = roc_curve(y, s)
    fpr, tpr, thr = sk_roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(c.fpr, fpr)
    np.testing.assert_allclose(c.tpr, tpr)
    np.testing.assert_allclose(c.thresholds[1:], thr[1:])
    assert c.thresholds[0] == np.inf
    assert (c.fpr[0], c.tpr[0], c.fpr[-1], c.tpr[-1]) == (0, 0, 1, 1)
    assert not c.fpr.flags.writeable


def test_auc_needs_both_classes():
    with pytest.raises(UserError, match="only one class"):
        auc_score([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(UserError, match="NaN"):
        auc_score([1, 0, 1], [0.1, np.nan, 0.3])


def test_binary_read_roc_is_the_single_point_and_mann_whitney():
    rng = np.random.default_rng(11)
    y = rng.random(100) < 0.3
    calls = np.where(y, rng.random(100) < 0.7, rng.random(100) < 0.2)
    c = binary_read_roc(y, calls)
    m = confusion_metrics(y, calls)
    np.testing.assert_allclose(c.tpr, [0, m.recall, 1])
    np.testing.assert_allclose(c.fpr, [0, 1 - m.specificity, 1])
    assert c.auc == pytest.approx((m.recall + m.specificity) / 2)
    assert c.auc == pytest.approx(auc_score(y, calls), abs=1e-12)
    assert c.auc == pytest.approx(np.trapezoid(c.tpr, c.fpr), abs=1e-12)
    full = roc_curve(y, calls.astype(float))
    np.testing.assert_allclose(full.tpr, c.tpr)
    np.testing.assert_allclose(full.fpr, c.fpr)


def test_binary_read_roc_rejects_ratings():
    with pytest.raises(UserError, match="binary"):
        binary_read_roc([0, 1, 1], [1, 3, 5])


def test_rating_roc_has_a_point_per_level_including_unused():
    y = [0, 0, 0, 1, 1, 1]
    r = [1, 2, 4, 2, 4, 5]
    c = rating_roc(y, r, levels=[1, 2, 3, 4, 5])
    assert c.thresholds.tolist() == [np.inf, 5, 4, 3, 2, 1]
    assert c.tpr.tolist() == [0, 1 / 3, 2 / 3, 2 / 3, 1, 1]
    assert c.fpr.tolist() == [0, 0, 1 / 3, 1 / 3, 2 / 3, 1]
    assert c.auc == pytest.approx(pair_count_auc(y, r))
    assert c.auc == pytest.approx(np.trapezoid(c.tpr, c.fpr))
    assert rating_roc(y, r).thresholds.tolist() == [np.inf, 5, 4, 2, 1]
    with pytest.raises(UserError, match="not rating levels"):
        rating_roc(y, [1, 2, 7, 2, 4, 5], levels=[1, 2, 3, 4, 5])


# ---------------------------------------------------------------- fold summary


def test_fold_summary_mean_and_sample_sd():
    rng = np.random.default_rng(5)
    n = 100
    y = rng.random(n) < 0.35
    y[:10] = [True, False] * 5
    folds = np.arange(n) % 5
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.5 * y)))
    summ = fold_summary(y, s, folds)
    assert [r.fold for r in summ.rows] == [0, 1, 2, 3, 4]
    for k, row in enumerate(summ.rows):
        sel = folds == k
        assert row.n_cases == sel.sum()
        assert row.auc == pytest.approx(roc_auc_score(y[sel], s[sel]))
        assert row.confusion == confusion_metrics(y[sel], s[sel], threshold=0.5)
    for metric in ("accuracy", "precision", "recall", "f1", "auc"):
        vals = np.array([r.value(metric) for r in summ.rows])
        assert summ.mean[metric] == pytest.approx(vals.mean())
        assert summ.sd[metric] == pytest.approx(np.sqrt(((vals - vals.mean()) ** 2).sum() / 4))
    pop = fold_summary(y, s, folds, ddof=0)
    assert pop.sd["auc"] == pytest.approx(np.std([r.auc for r in summ.rows]))


def test_a_one_class_fold_is_named_and_left_out_of_its_metrics_only():
    # fold b holds positives only: its AUC and specificity are undefined, named, and the
    # mean of those metrics is over fold a alone (not n/a for the whole metric)
    with pytest.warns(WbsdeskWarning) as caught:
        s = fold_summary([1, 0, 1, 1, 1, 0], [0.9, 0.1, 0.8, 0.7, 0.2, 0.6],
                         ["a", "a", "b", "b", "c", "c"], ddof=1)
    texts = [str(w.message) for w in caught]
    assert any("AUC of fold b is undefined" in t and "positive cases only" in t
               for t in texts)
    assert any("Specificity of fold b" in t for t in texts)
    assert math.isnan(s.rows[1].auc)
    assert s.n_defined["auc"] == 2 and s.mean["auc"] == pytest.approx((1.0 + 0.0) / 2)
    assert s.n_defined["specificity"] == 2 and s.n_defined["accuracy"] == 3
    assert not math.isnan(s.sd["auc"])


def test_a_metric_defined_in_one_fold_has_a_mean_and_an_undefined_sd():
    with pytest.warns(WbsdeskWarning) as caught:
        s = fold_summary([1, 0, 1, 1], [0.9, 0.1, 0.8, 0.7], ["a", "a", "b", "b"])
    assert any("SD of auc needs more than 1 defined value(s) and has 1" in str(w.message)
               for w in caught)
    assert s.n_defined["auc"] == 1 and s.mean["auc"] == 1.0 and math.isnan(s.sd["auc"])


def test_fold_summary_single_fold_sd_is_nan_with_warning():
    with pytest.warns(WbsdeskWarning, match="SD"):
        s = fold_summary([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.7], [0, 0, 0, 0])
    assert math.isnan(s.sd["auc"])
    assert s.mean["auc"] == 1.0


# ---------------------------------------------------------------- reader table


def test_reader_table_rows_and_average():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    reads = {"A": [1, 1, 1, 0, 0, 0, 0, 0, 1, 0], "B": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]}
    t = reader_table(y, reads)
    a, b = t.rows
    assert (a.name, b.name) == ("A", "B")
    assert a.auc == pytest.approx((3 / 4 + 5 / 6) / 2)
    assert b.precision == 1.0
    for metric in ("accuracy", "precision", "recall", "specificity", "f1", "auc"):
        assert t.average.value(metric) == pytest.approx((a.value(metric) + b.value(metric)) / 2)
    assert t.average.name == "Average"
    assert t.average.confusion is None


def test_reader_without_positive_reads_gets_nan_precision_and_warning():
    y = [1, 1, 0, 0]
    with pytest.warns(WbsdeskWarning, match="reader 'lazy'"):
        t = reader_table(y, {"lazy": [0, 0, 0, 0], "ok": [1, 0, 0, 0]})
    lazy = t.rows[0]
    assert math.isnan(lazy.precision)
    assert lazy.recall == 0.0 and lazy.auc == 0.5 and lazy.f1 == 0.0
    assert math.isnan(t.average.precision)  # not silently averaged over the other reader


def test_reader_table_errors_name_the_reader():
    with pytest.raises(UserError, match="'R2'"):
        reader_table([1, 0], {"R1": [1, 0], "R2": [1, np.nan]})
    with pytest.raises(UserError, match="at least one reader"):
        reader_table([1, 0], {})


# ---------------------------------------------------------------- sub-analyses


def test_subset_mask_and_binary_truth():
    g = np.array(["wbs", "healthy", "other_syndrome", "wbs", "healthy"])
    assert binary_truth(g, "wbs").tolist() == [True, False, False, True, False]
    m = subset_mask(g, positive="wbs", controls=("healthy",))
    assert m.tolist() == [True, True, False, True, True]
    m2 = subset_mask(g, positive="wbs", controls=("other_syndrome",))
    assert m2.tolist() == [True, False, True, True, False]
    both = subset_mask(g, positive="wbs", controls=["healthy", "other_syndrome"])
    assert both.all()
    assert subset_mask(g, positive="wbs", controls="healthy").tolist() == m.tolist()


def test_an_absent_control_group_is_a_named_warning_not_a_refusal():
    g = ["wbs", "healthy", "wbs"]
    with pytest.warns(WbsdeskWarning, match="Control group 'other_syndrome' has no case"):
        m = subset_mask(g, positive="wbs", controls=("healthy", "other_syndrome"))
    assert m.tolist() == [True, True, True]
    with pytest.raises(UserError, match="do not occur") as exc:  # no control at all
        subset_mask(g, positive="wbs", controls=("other_syndrome",))
    assert "spelling" not in exc.value.hint and "excluded" in exc.value.hint


def test_subset_helpers_reject_unknown_groups():
    g = ["wbs", "healthy"]
    with pytest.raises(UserError, match="noonan"):
        subset_mask(g, positive="wbs", controls=("noonan",))
    with pytest.raises(UserError, match="both"):
        subset_mask(g, positive="wbs", controls=("wbs",))
    with pytest.raises(UserError, match="WBS"):
        binary_truth(g, "WBS")
    with pytest.raises(UserError, match="at least one control"):
        subset_mask(g, positive="wbs", controls=())


# ---------------------------------------------------------------- doctests of the core


@pytest.mark.parametrize("module", ["roc", "metrics", "subsets", "delong", "bootstrap",
                                    "mrmc", "mrmc_single", "stats"])
def test_docstring_examples(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"wbsdesk.core.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
