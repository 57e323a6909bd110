"""Stratified bootstrap: exact agreement with the defining loop, vectorised metrics."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import wbsdesk.core.bootstrap as bootstrap_module
from wbsdesk.core.bootstrap import bootstrap_ci, stratified_indices
from wbsdesk.core.metrics import confusion_metrics
from wbsdesk.core.roc import auc_score
from wbsdesk.errors import UserError, WbsdeskWarning


def reference_values(metric, y, arrays, *, n_resamples, seed):
    """The documented definition, written out: one Generator, positives drawn first."""
    y = np.asarray(y).astype(bool)
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(y)
    neg = np.flatnonzero(~y)
    draws_pos = rng.integers(0, len(pos), size=(n_resamples, len(pos)))
    draws_neg = rng.integers(0, len(neg), size=(n_resamples, len(neg)))
    out = []
    for b in range(n_resamples):
        idx = np.concatenate([pos[draws_pos[b]], neg[draws_neg[b]]])
        out.append(metric(y[idx], *(np.asarray(a)[idx] for a in arrays)))
    return np.array(out, dtype=float)


@pytest.fixture
def data():
    rng = np.random.default_rng(42)
    n = 90
    y = rng.random(n) < 0.3
    y[:2] = [True, False]
    score = np.round(rng.normal(size=n) + 1.2 * y, 1)  # ties on purpose
    other = np.round(rng.normal(size=n) + 0.6 * y, 1)
    calls = (score > 0.6).astype(int)
    return y, score, other, calls


def test_auc_bootstrap_equals_the_defining_loop_exactly(data):
    y, score, _, _ = data
    ref = reference_values(auc_score, y, [score], n_resamples=300, seed=2021)
    for metric in ("auc", auc_score):
        r = bootstrap_ci(metric, y, score, n_resamples=300, seed=2021)
        np.testing.assert_array_equal(r.values, ref)
    generic = bootstrap_ci(lambda yy, ss: auc_score(yy, ss), y, score, n_resamples=300,
                           seed=2021)
    np.testing.assert_array_equal(generic.values, ref)
    lo, hi = np.quantile(ref, [0.025, 0.975])
    assert (generic.ci_low, generic.ci_high) == (lo, hi)
    assert generic.estimate == auc_score(y, score)
    # and the resampled AUCs agree with sklearn
    sk = reference_values(roc_auc_score, y, [score], n_resamples=60, seed=2021)
    ours = bootstrap_ci("auc", y, score, n_resamples=60, seed=2021)
    np.testing.assert_allclose(ours.values, sk, atol=1e-12)


def test_rank_path_for_large_samples_equals_loop(data, monkeypatch):
    y, score, _, _ = data
    monkeypatch.setattr(bootstrap_module, "_PSI_MAX", 0)
    r = bootstrap_ci("auc", y, score, n_resamples=300, seed=5)
    ref = reference_values(auc_score, y, [score], n_resamples=300, seed=5)
    np.testing.assert_array_equal(r.values, ref)


def test_auc_difference_is_paired(data):
    y, score, other, _ = data
    r = bootstrap_ci("auc_difference", y, score, other, n_resamples=200, seed=9)
    ref = reference_values(lambda yy, a, b: auc_score(yy, a) - auc_score(yy, b), y,
                           [score, other], n_resamples=200, seed=9)
    np.testing.assert_allclose(r.values, ref, atol=1e-15)
    assert r.estimate == pytest.approx(auc_score(y, score) - auc_score(y, other))


@pytest.mark.parametrize("name", ["accuracy", "precision", "recall", "sensitivity",
                                  "specificity", "f1"])
def test_vectorised_confusion_metrics_equal_loop(data, name):
    y, _, _, calls = data
    attr = "recall" if name == "sensitivity" else name
    ref = reference_values(lambda yy, c: getattr(confusion_metrics(yy, c), attr), y, [calls],
                           n_resamples=200, seed=3)
    r = bootstrap_ci(name, y, calls, n_resamples=200, seed=3)
    np.testing.assert_allclose(r.values, ref, rtol=0, atol=1e-15)
    assert r.estimate == pytest.approx(getattr(confusion_metrics(y, calls), attr))


def test_basic_interval(data):
    y, score, _, _ = data
    p = bootstrap_ci("auc", y, score, n_resamples=400, seed=1)
    b = bootstrap_ci("auc", y, score, n_resamples=400, seed=1, method="basic")
    np.testing.assert_array_equal(p.values, b.values)
    assert b.ci_low == pytest.approx(2 * p.estimate - p.ci_high)
    assert b.ci_high == pytest.approx(2 * p.estimate - p.ci_low)


def test_resamples_keep_class_sizes_and_seed_reproducibility(data):
    y = data[0]
    pos, neg, dp, dn = stratified_indices(y, n_resamples=50, seed=8)
    assert dp.shape == (50, y.sum()) and dn.shape == (50, (~y).sum())
    assert y[pos].all() and not y[neg].any()
    a = bootstrap_ci("auc", y, data[1], n_resamples=50, seed=8)
    b = bootstrap_ci("auc", y, data[1], n_resamples=50, seed=8)
    c = bootstrap_ci("auc", y, data[1], n_resamples=50, seed=9)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)


def test_undefined_resamples_are_dropped_with_warning():
    y = np.array([1] * 3 + [0] * 20)
    calls = np.zeros(23, int)
    calls[0] = 1  # a single positive call: many resamples lose it
    with pytest.warns(WbsdeskWarning, match="undefined"):
        r = bootstrap_ci("precision", y, calls, n_resamples=200, seed=0)
    assert r.n_undefined == int(np.isnan(r.values).sum()) > 0
    assert not math.isnan(r.ci_low)


def test_bad_arguments():
    y, s = [0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]
    with pytest.raises(UserError, match="Unknown metric"):
        bootstrap_ci("gini", y, s)
    with pytest.raises(UserError, match="takes 2"):
        bootstrap_ci("auc_difference", y, s)
    with pytest.raises(UserError, match="method"):
        bootstrap_ci("auc", y, s, method="bca")
    with pytest.raises(UserError, match="only one class"):
        bootstrap_ci("auc", [1, 1, 1, 1], s)
    with pytest.raises(UserError, match="binary"):
        bootstrap_ci("f1", y, s)
    with pytest.raises(UserError, match="n_resamples"):
        bootstrap_ci("auc", y, s, n_resamples=1)


def test_report_sized_workload_is_fast():
    """340 cases: 4 readers x 5 metrics + 5 architectures x 5 folds x 6 metrics + ensemble."""
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(104, bool), np.zeros(236, bool)]
    folds = np.arange(340) % 5
    start = time.perf_counter()
    for _ in range(4):
        calls = (rng.random(340) < 0.4).astype(int)
        for m in ("accuracy", "precision", "recall", "f1"):
            bootstrap_ci(m, y, calls)
        bootstrap_ci("auc", y, calls)
    for _ in range(6):
        s = rng.random(340) + 0.3 * y
        bootstrap_ci("auc", y, s)
        for k in range(5):
            sel = folds == k
            bootstrap_ci("auc", y[sel], s[sel])
            for m in ("accuracy", "precision", "recall", "f1"):
                bootstrap_ci(m, y[sel], (s[sel] >= 0.5).astype(int))
    assert time.perf_counter() - start < 6.0  # goal 3 s on a desktop; slack for CI
