"""Obuchowski–Rockette / Hillis MRMC analysis against explicit textbook formulas."""

from __future__ import annotations

import itertools
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from wbsdesk.core.delong import delong_covariance
from wbsdesk.core.mrmc import auc_covariance, jackknife_aucs, mrmc_test
from wbsdesk.core.mrmc_single import model_vs_readers, reader_average_auc
from wbsdesk.errors import UserError, WbsdeskWarning

# 2 modalities x 3 readers x 8 cases (4 WBS, 4 controls), ratings 1..5.
Y = [1, 1, 1, 1, 0, 0, 0, 0]
S = [
    [[5, 4, 3, 2, 3, 1, 2, 1], [4, 4, 5, 1, 2, 3, 1, 1], [5, 3, 3, 3, 2, 2, 1, 4]],
    [[5, 5, 4, 3, 2, 1, 1, 2], [4, 5, 3, 3, 1, 2, 3, 1], [5, 4, 4, 2, 3, 1, 1, 2]],
]


def pair_auc(y, s):
    pos = [v for v, t in zip(s, y, strict=True) if t]
    neg = [v for v, t in zip(s, y, strict=True) if not t]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def or_by_hand(y, scores, ci_level=0.95):
    """OR quantities with explicit loops: jackknife covariances, Cov1-3, MS(T), MS(TR)."""
    scores = np.asarray(scores, float)
    t, r, n_cases = scores.shape
    theta = np.array([[pair_auc(y, scores[i, j]) for j in range(r)] for i in range(t)])
    # leave-one-case-out AUCs
    jk = np.zeros((t, r, n_cases))
    for c in range(n_cases):
        keep = [k for k in range(n_cases) if k != c]
        yk = [y[k] for k in keep]
        for i in range(t):
            for j in range(r):
                jk[i, j, c] = pair_auc(yk, scores[i, j, keep])
    jbar = jk.mean(axis=2)

    def cov(i, j, ip, jp):
        return (n_cases - 1) / n_cases * sum(
            (jk[i, j, c] - jbar[i, j]) * (jk[ip, jp, c] - jbar[ip, jp]) for c in range(n_cases))

    var, cov1, cov2, cov3 = [], [], [], []
    for i, j, ip, jp in itertools.product(range(t), range(r), range(t), range(r)):
        value = cov(i, j, ip, jp)
        if i == ip and j == jp:
            var.append(value)
        elif i != ip and j == jp:
            cov1.append(value)
        elif i == ip and j != jp:
            cov2.append(value)
        else:
            cov3.append(value)
    var, cov1, cov2, cov3 = (float(np.mean(v)) for v in (var, cov1, cov2, cov3))
    m_i = theta.mean(axis=1)
    m_j = theta.mean(axis=0)
    grand = theta.mean()
    ms_t = r / (t - 1) * sum((m_i[i] - grand) ** 2 for i in range(t))
    ms_tr = sum((theta[i, j] - m_i[i] - m_j[j] + grand) ** 2
                for i in range(t) for j in range(r)) / ((t - 1) * (r - 1))
    den = ms_tr + r * max(cov2 - cov3, 0.0)
    f_stat = ms_t / den
    ddf = den**2 / (ms_tr**2 / ((t - 1) * (r - 1)))
    p = stats.f.sf(f_stat, t - 1, ddf)
    tq = stats.t.ppf(0.5 + ci_level / 2, ddf)
    d = m_i[0] - m_i[1]
    half = tq * math.sqrt(2 / r * den)
    single = []
    for i in range(t):
        ms_r_i = sum((theta[i, j] - m_i[i]) ** 2 for j in range(r)) / (r - 1)
        cov2_i = np.mean([cov(i, j, i, jp) for j in range(r) for jp in range(r) if j != jp])
        den_i = ms_r_i + r * max(cov2_i, 0.0)
        df_i = den_i**2 / (ms_r_i**2 / (r - 1))
        h = stats.t.ppf(0.5 + ci_level / 2, df_i) * math.sqrt(den_i / r)
        single.append((m_i[i], df_i, m_i[i] - h, m_i[i] + h))
    return {
        "theta": theta, "var": var, "cov1": cov1, "cov2": cov2, "cov3": cov3, "ms_t": ms_t,
        "ms_tr": ms_tr, "F": f_stat, "ddf": ddf, "p": p, "diff": d,
        "diff_ci": (d - half, d + half), "single": single,
    }


def test_hand_worked_aucs():
    # modality 1, reader 1: positives 5,4,3,2 vs negatives 3,1,2,1:
    # 4 + 4 + (0.5 + 3) + (0.5 + 2) = 14 of 16 pairs -> 7/8
    expected = [["7/8", "13/16", "13/16"], ["1", "15/16", "29/32"]]
    res = mrmc_test(Y, S)
    got = [[str(Fraction(v).limit_denominator(64)) for v in row] for row in res.aucs]
    assert got == expected


def test_or_hillis_matches_explicit_formulas():
    hand = or_by_hand(Y, S)
    res = mrmc_test(Y, S, modality_names=["A", "B"], reader_names=["r1", "r2", "r3"])
    np.testing.assert_allclose(res.aucs, hand["theta"], atol=1e-14)
    comp = res.components
    for key in ("var", "cov1", "cov2", "cov3", "ms_t", "ms_tr"):
        assert getattr(comp, key) == pytest.approx(hand[key], rel=1e-10, abs=1e-15), key
    assert res.f_stat == pytest.approx(hand["F"], rel=1e-10)
    assert res.df_num == 1
    assert res.df_den == pytest.approx(hand["ddf"], rel=1e-10)
    assert res.p_value == pytest.approx(hand["p"], rel=1e-9)
    (diff,) = res.differences
    assert (diff.a, diff.b) == ("A", "B")
    assert diff.difference == pytest.approx(hand["diff"])
    assert (diff.ci_low, diff.ci_high) == pytest.approx(hand["diff_ci"], rel=1e-9)
    # with two modalities the t test of the difference is the F test
    assert diff.t**2 == pytest.approx(res.f_stat)
    assert diff.p_value == pytest.approx(res.p_value)
    for mod, (auc, df, lo, hi) in zip(res.modalities, hand["single"], strict=True):
        assert mod.auc == pytest.approx(auc)
        assert mod.df == pytest.approx(df, rel=1e-9)
        assert (mod.ci_low, mod.ci_high) == pytest.approx((lo, hi), rel=1e-9)


def test_jackknife_by_placements_equals_deleting_cases():
    rng = np.random.default_rng(4)
    y = np.r_[np.ones(5, bool), np.zeros(7, bool)]
    s = rng.integers(1, 6, size=(3, 12)).astype(float)
    jk = jackknife_aucs(y, s)
    for c in range(12):
        keep = np.arange(12) != c
        for k in range(3):
            assert jk[k, c] == pytest.approx(pair_auc(y[keep], s[k, keep]), abs=1e-14)


def test_delong_option_uses_delong_covariance():
    s = np.asarray(S, float)
    res = mrmc_test(Y, s, cov="delong")
    ref = delong_covariance(Y, s.reshape(6, 8))
    np.testing.assert_allclose(res.covariance, ref.cov, atol=1e-15)
    _, c = auc_covariance(Y, s.reshape(6, 8), cov="delong")
    np.testing.assert_allclose(c, ref.cov, atol=1e-15)
    assert res.cov_method == "delong"
    with pytest.raises(UserError, match="jackknife"):
        mrmc_test(Y, s, cov="bootstrap")


def test_reader_average_auc_matches_single_modality_formula():
    hand = or_by_hand(Y, S)
    est = reader_average_auc(Y, S[1])
    auc, df, lo, hi = hand["single"][1]
    assert (est.auc, est.df, est.ci_low, est.ci_high) == pytest.approx((auc, df, lo, hi))


# ---------------------------------------------------------------- model vs readers (1T-RRRC)


def one_treatment_by_hand(y, model, readers, *, fixed_model):
    readers = np.asarray(readers, float)
    r, n_cases = readers.shape
    theta0 = pair_auc(y, model)
    theta = np.array([pair_auc(y, s) for s in readers])
    psi = theta - theta0
    jk = np.zeros((r, n_cases))
    for c in range(n_cases):
        keep = [k for k in range(n_cases) if k != c]
        yk = [y[k] for k in keep]
        base = 0.0 if fixed_model else pair_auc(yk, np.asarray(model)[keep])
        for j in range(r):
            jk[j, c] = pair_auc(yk, readers[j, keep]) - base
    d = jk - jk.mean(axis=1, keepdims=True)
    cov = (n_cases - 1) / n_cases * d @ d.T
    cov2 = np.mean([cov[j, jp] for j in range(r) for jp in range(r) if j != jp])
    ms_r = np.var(psi, ddof=1)
    den = ms_r + r * max(cov2, 0.0)
    t_stat = psi.mean() / math.sqrt(den / r)
    df = den**2 / (ms_r**2 / (r - 1))
    p = 2 * stats.t.sf(abs(t_stat), df)
    half = stats.t.ppf(0.975, df) * math.sqrt(den / r)
    return theta0, psi.mean(), t_stat, df, p, (psi.mean() - half, psi.mean() + half)


@pytest.mark.parametrize("fixed", [False, True])
def test_model_vs_readers_matches_explicit_formulas(fixed):
    model = [0.9, 0.8, 0.45, 0.6, 0.5, 0.1, 0.3, 0.2]
    theta0, diff, t_stat, df, p, ci = one_treatment_by_hand(Y, model, S[0], fixed_model=fixed)
    res = model_vs_readers(Y, model, S[0], fixed_model=fixed)
    assert res.model_auc == pytest.approx(theta0)
    assert res.readers_minus_model == pytest.approx(diff)
    assert res.t == pytest.approx(t_stat, rel=1e-9)
    assert res.df == pytest.approx(df, rel=1e-9)
    assert res.p_value == pytest.approx(p, rel=1e-9)
    assert (res.ci_low, res.ci_high) == pytest.approx(ci, rel=1e-9)
    assert res.reader_mean_ci == pytest.approx((ci[0] + theta0, ci[1] + theta0))


def test_one_treatment_equals_two_treatment_with_replicated_model():
    """RJafroc's note: 1T-RRRC gives the same F, ddf and p as ORH on (CAD x r, readers)."""
    model = np.array([0.9, 0.8, 0.45, 0.6, 0.5, 0.1, 0.3, 0.2])
    readers = np.asarray(S[0], float)
    one = model_vs_readers(Y, model, readers)
    two = mrmc_test(Y, np.stack([np.tile(model, (3, 1)), readers]))
    assert two.f_stat == pytest.approx(one.t**2, rel=1e-9)
    assert two.df_den == pytest.approx(one.df, rel=1e-9)
    assert two.p_value == pytest.approx(one.p_value, rel=1e-9)


# ---------------------------------------------------------------- properties


@st.composite
def mrmc_data(draw):
    n = draw(st.integers(6, 12))
    y = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    y[:4] = [True, True, False, False]
    r = draw(st.integers(2, 3))
    flat = draw(st.lists(st.integers(1, 5), min_size=2 * r * n, max_size=2 * r * n))
    scores = np.array(flat, float).reshape(2, r, n)
    return np.array(y), scores


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WbsdeskWarning)
        return fn(*args, **kw)


def same(a, b):
    return a == pytest.approx(b, rel=1e-7, abs=1e-10, nan_ok=True)


@settings(max_examples=30, deadline=None)
@given(mrmc_data(), st.sampled_from(["jackknife", "delong"]))
def test_identical_modalities_give_zero_difference_and_p_one(data, cov):
    y, scores = data
    scores[1] = scores[0]
    with pytest.warns(WbsdeskWarning):
        res = mrmc_test(y, scores, cov=cov)
    assert res.differences[0].difference == 0.0
    assert res.p_value == 1.0
    assert res.differences[0].p_value == 1.0


@settings(max_examples=30, deadline=None)
@given(mrmc_data(), st.sampled_from(["jackknife", "delong"]))
def test_swapping_modalities_flips_difference_only(data, cov):
    y, scores = data
    a = quiet(mrmc_test, y, scores, cov=cov)
    b = quiet(mrmc_test, y, scores[::-1], cov=cov)
    assert same(b.differences[0].difference, -a.differences[0].difference)
    assert same(b.f_stat, a.f_stat)
    assert same(b.p_value, a.p_value)
    assert same(b.df_den, a.df_den)
    assert same(b.differences[0].ci_low, -a.differences[0].ci_high)


@settings(max_examples=30, deadline=None)
@given(mrmc_data(), st.randoms(use_true_random=False))
def test_permuting_readers_or_cases_changes_nothing(data, rnd):
    y, scores = data
    base = quiet(mrmc_test, y, scores)
    readers = list(range(scores.shape[1]))
    rnd.shuffle(readers)
    cases = list(range(y.size))
    rnd.shuffle(cases)
    for res in (quiet(mrmc_test, y, scores[:, readers]),
                quiet(mrmc_test, y[cases], scores[:, :, cases])):
        assert same(res.f_stat, base.f_stat)
        assert same(res.p_value, base.p_value)
        assert same(res.df_den, base.df_den)
        for k in ("var", "cov1", "cov2", "cov3", "ms_t", "ms_tr"):
            assert same(getattr(res.components, k), getattr(base.components, k))
        for m0, m1 in zip(base.modalities, res.modalities, strict=True):
            assert same(m1.ci_low, m0.ci_low) and same(m1.ci_high, m0.ci_high)


# ---------------------------------------------------------------- degenerate input


def test_too_few_readers_or_modalities():
    s = np.asarray(S, float)
    with pytest.raises(UserError, match="at least 2 readers"):
        mrmc_test(Y, s[:, :1])
    with pytest.raises(UserError, match="at least 2 modalities"):
        mrmc_test(Y, s[:1])
    with pytest.raises(UserError, match="at least 2 readers"):
        model_vs_readers(Y, s[0, 0], s[0, :1])
    with pytest.raises(UserError, match="at least 2 readers"):
        reader_average_auc(Y, s[0, :1])


def test_one_class_and_nan_scores_are_user_errors():
    s = np.asarray(S, float)
    with pytest.raises(UserError, match="only one class"):
        mrmc_test([1] * 8, s)
    s[1, 2, 5] = np.nan
    with pytest.raises(UserError, match=r"modality 'B', reader 'r3'.*case index 5"):
        mrmc_test(Y, s, modality_names=["A", "B"], reader_names=["r1", "r2", "r3"])
    with pytest.raises(UserError, match="model_score"):
        model_vs_readers(Y, [0.1] * 7 + [np.nan], S[0])


def test_all_ties_give_half_and_p_one_with_warning():
    flat = np.full((2, 3, 8), 3.0)
    with pytest.warns(WbsdeskWarning):
        res = mrmc_test(Y, flat)
    assert (res.aucs == 0.5).all()
    assert res.components.var == 0.0
    assert res.p_value == 1.0


def test_zero_denominator_with_different_modalities_is_nan_with_warning():
    tied = np.full((3, 8), 3.0)
    perfect = np.tile(np.array(Y, float), (3, 1))
    with pytest.warns(WbsdeskWarning, match="cannot be computed"):
        res = mrmc_test(Y, np.stack([tied, perfect]))
    assert res.differences[0].difference == -0.5
    assert math.isnan(res.p_value) and math.isnan(res.f_stat)
    assert math.isnan(res.differences[0].p_value)


def test_model_vs_tied_readers_uses_normal_limit():
    readers = np.full((3, 8), 3.0)  # AUC 0.5 each: MS(R) = 0, df -> infinity
    model = [0.9, 0.8, 0.45, 0.6, 0.5, 0.1, 0.3, 0.2]
    res = model_vs_readers(Y, model, readers)
    assert res.df == math.inf
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(res.t)))
