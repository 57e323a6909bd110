"""Sample size / power (OR-Hillis) against RJafroc's documented examples on the Van Dyke data.

Reference: RJafroc vignette "Chapter 11, Vignette 4: RJafroc functions for ROC sample size
estimation using ORH method" (D. P. Chakraborty, 2019-10-31), on ``dataset02`` = the Van
Dyke et al. (1993) ratings in ``tests/data/van_dyke_1993.imrmc``; and the OR components that
OR-DBM MRMC 2.51 prints for these data (RJafroc ``inst/IowaResults/VanDyke.txt``).
"""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from wbsdesk.core import sizing, sizing_plan
from wbsdesk.core.mrmc_single import model_vs_readers
from wbsdesk.core.sizing import (
    VarianceComponents,
    cases_needed,
    power_limit,
    power_table,
    study_power,
)
from wbsdesk.core.sizing_pilot import (
    pilot_from_modalities,
    pilot_model_vs_readers,
    typed_pilot,
    typical_pilot,
)
from wbsdesk.core.sizing_plan import make_plan
from wbsdesk.errors import UserError

DATA = Path(__file__).resolve().parent.parent / "data" / "van_dyke_1993.imrmc"

#: OR-DBM MRMC 2.51 on the Van Dyke data (jackknife, trapezoidal AUC), 8 decimals.
PUBLISHED_OR = {"var_tr": 0.00020040, "cov1": 0.00034661, "cov2": 0.00034407,
                "cov3": 0.00023903, "var_error": 0.00080229}
PUBLISHED_DIFF = -0.04380032  # treatment 1 - 2 (spin-echo - cine)

#: RJafroc SsPowerTable(dataset02, FOM = "Wilcoxon", method = "ORH", option = "RRRC"):
#: readers -> (cases, power to 3 decimals); J = 3 needs "> 2000".
RJAFROC_TABLE = {
    4: (1089, 0.8), 5: (344, 0.801), 6: (251, 0.801), 7: (211, 0.801), 8: (188, 0.801),
    9: (173, 0.801), 10: (163, 0.802), 11: (155, 0.801), 12: (149, 0.802),
    13: (144, 0.801), 14: (140, 0.802), 15: (137, 0.802), 16: (134, 0.802),
    17: (131, 0.801), 18: (129, 0.801), 19: (127, 0.801), 20: (126, 0.802),
    21: (124, 0.801), 22: (123, 0.802), 23: (122, 0.802), 24: (121, 0.803),
    25: (120, 0.802), 26: (119, 0.802), 27: (118, 0.802), 28: (117, 0.801),
    29: (117, 0.803), 30: (116, 0.802), 31: (115, 0.801), 32: (115, 0.803),
    33: (114, 0.801), 34: (114, 0.803), 35: (113, 0.801), 36: (113, 0.802),
    37: (112, 0.8), 38: (112, 0.802), 39: (112, 0.803), 40: (111, 0.801),
    41: (111, 0.802), 42: (111, 0.803), 43: (110, 0.801), 44: (110, 0.802),
    45: (110, 0.802), 46: (110, 0.803), 47: (109, 0.801), 48: (109, 0.802),
    49: (109, 0.802), 50: (109, 0.803), 51: (108, 0.8), 52: (108, 0.801),
    53: (108, 0.802), 54: (108, 0.802), 55: (108, 0.803), 56: (107, 0.8),
    57: (107, 0.801), 58: (107, 0.801), 59: (107, 0.802), 60: (107, 0.802),
    61: (107, 0.803), 62: (107, 0.803), 63: (106, 0.8), 64: (106, 0.801),
    65: (106, 0.801), 66: (106, 0.802), 67: (106, 0.802), 68: (106, 0.802),
    69: (106, 0.803), 70: (106, 0.803), 71: (106, 0.804), 72: (105, 0.8),
    73: (105, 0.801), 74: (105, 0.801), 75: (105, 0.801), 76: (105, 0.802),
    77: (105, 0.802), 78: (105, 0.802), 79: (105, 0.803), 80: (105, 0.803),
    81: (105, 0.803), 82: (105, 0.803), 83: (104, 0.8), 84: (104, 0.8),
    85: (104, 0.801), 86: (104, 0.801), 87: (104, 0.801), 88: (104, 0.801),
    89: (104, 0.802), 90: (104, 0.802), 91: (104, 0.802), 92: (104, 0.802),
    93: (104, 0.802), 94: (104, 0.803), 95: (104, 0.803), 96: (104, 0.803),
    97: (104, 0.803), 98: (104, 0.804), 99: (104, 0.804), 100: (103, 0.8),
}


def read_van_dyke() -> tuple[np.ndarray, np.ndarray]:
    """Truth (114,) and ratings (2 modalities, 5 readers, 114 cases) of the iMRMC file."""
    lines = DATA.read_text(encoding="utf-8").splitlines()
    rows = [ln.split(",") for ln in lines[lines.index("BEGIN DATA:") + 1:] if ln]
    y = np.array([int(s) for r, _, _, s in rows if r == "-1"])
    scores = np.zeros((2, 5, y.size))
    for r, c, m, s in rows:
        if r != "-1":
            scores[("SE_MRI", "CINE_MRI").index(m), int(r) - 1, int(c) - 1] = float(s)
    return y, scores


@pytest.fixture(scope="module")
def van_dyke():
    y, s = read_van_dyke()
    return pilot_from_modalities(y, s[0], s[1], source="Van Dyke")


def test_van_dyke_pilot_gives_the_published_or_components(van_dyke):
    c = van_dyke.components
    assert c.pilot_cases == 114 and van_dyke.readers == 5
    assert (van_dyke.positives, van_dyke.controls) == (45, 69)
    for name, value in PUBLISHED_OR.items():
        assert round(getattr(c, name), 8) == pytest.approx(value, abs=1e-12), name
    # aided (cine) - unaided (spin-echo): the published 1 - 2 difference, sign reversed
    assert round(van_dyke.effect, 8) == pytest.approx(-PUBLISHED_DIFF, abs=1e-12)
    assert van_dyke.aucs == pytest.approx({"unaided": 0.89703704, "aided": 0.94083736},
                                          abs=5e-9)


def test_rjafroc_power_given_j6_k251(van_dyke):
    """SsPowerGivenJK(dataset02, J = 6, K = 251, method = "ORH", option = "RRRC")."""
    res = study_power(van_dyke.components, readers=6, cases=251, effect=van_dyke.effect)
    assert res.power == pytest.approx(0.8005403, abs=1e-6)
    assert (round(res.ncp, 2), round(res.ddf, 1), round(res.f_critical, 2)) == (8.91, 16.1,
                                                                                  4.49)
    # the sign of the effect does not matter
    assert study_power(van_dyke.components, readers=6, cases=251,
                       effect=-van_dyke.effect).power == res.power


@pytest.mark.parametrize(("analysis", "k", "power"), [("RRRC", 163, 0.8015625),
                                                      ("FRRC", 133, 0.8011167),
                                                      ("RRFC", 53, 0.8049666)])
def test_rjafroc_cases_given_j10(van_dyke, analysis, k, power):
    """SsSampleSizeKGivenJ(dataset02, J = 10, method = "ORH", option = ...)."""
    res = cases_needed(van_dyke.components, readers=10, effect=van_dyke.effect,
                       analysis=analysis)
    assert res.cases == k
    assert res.power == pytest.approx(power, abs=1e-6)
    before = study_power(van_dyke.components, readers=10, cases=k - 1,
                         effect=van_dyke.effect, analysis=analysis)
    assert before.power < 0.8 <= res.power


def test_rjafroc_power_table(van_dyke):
    """SsPowerTable(dataset02, method = "ORH", option = "RRRC"): every J from 3 to 100."""
    plan = make_plan(van_dyke, readers=range(3, 101))
    got = {r.readers: (r.cases_needed, round(r.power, 3)) for r in plan.rows}
    assert got.pop(3)[0] is None  # RJafroc: "> 2000"
    assert plan.rows[0].limit_power < 0.8  # no number of cases is enough with 3 readers
    assert got == RJAFROC_TABLE


def test_typical_set_is_the_published_van_dyke_set(van_dyke):
    typical = typical_pilot("van-dyke-1993")
    for name, value in PUBLISHED_OR.items():
        assert round(getattr(typical.components, name), 8) == pytest.approx(value, abs=1e-12)
        assert getattr(typical.components, name) == pytest.approx(
            getattr(van_dyke.components, name), rel=1e-12)
    assert "Van Dyke" in typical.reference and "RSNA" in typical.reference
    plan = make_plan(typical, readers=[4, 6, 10])
    assert [r.cases_needed for r in plan.rows] == [1089, 251, 163]
    with pytest.raises(UserError, match="Unknown typical set"):
        typical_pilot("nope")


def test_brute_force_simulation_of_one_power_value(van_dyke):
    """Simulate the OR model itself at J = 6, K = 251 and run the OR/Hillis F test.

    AUCs: theta_ij = mu_i + (tau R)_ij + e_ij with (tau R) ~ N(0, var_TR) and e ~ N(0, the
    OR covariance scaled by K*/K); F = MS(T) / (MS(T*R) + J max(Cov2 - Cov3, 0)) with the
    Hillis ddf of the simulated MS(T*R). Hillis's noncentral-F power is an approximation,
    good to about 0.01 here.
    """
    c = van_dyke.components
    j, k, d, n = 6, 251, van_dyke.effect, 40_000
    scale = c.pilot_cases / k
    same_t = np.eye(2)[:, None, :, None].astype(bool)
    same_r = np.eye(j)[None, :, None, :].astype(bool)
    same_t, same_r = np.broadcast_arrays(same_t, same_r)
    cov = np.select([same_t & same_r, same_r, same_t], [c.var_error, c.cov1, c.cov2], c.cov3)
    chol = np.linalg.cholesky(cov.reshape(2 * j, 2 * j) * scale)
    rng = np.random.default_rng(20110129)
    theta = (rng.standard_normal((n, 2 * j)) @ chol.T).reshape(n, 2, j)
    theta += rng.normal(0.0, np.sqrt(c.var_tr), (n, 2, j))
    theta[:, 1] += d
    m_t, m_r, grand = theta.mean(2), theta.mean(1), theta.mean((1, 2))
    ms_t = j * ((m_t - grand[:, None]) ** 2).sum(1)
    resid = theta - m_t[:, :, None] - m_r[:, None, :] + grand[:, None, None]
    ms_tr = (resid**2).sum((1, 2)) / (j - 1)
    den = ms_tr + j * scale * c.between
    ddf = den**2 / (ms_tr**2 / (j - 1))
    simulated = float((stats.f.sf(ms_t / den, 1, ddf) < 0.05).mean())
    formula = study_power(c, readers=j, cases=k, effect=d).power
    assert simulated == pytest.approx(formula, abs=0.015)
    # ... and far from the power at other case counts (the check can tell them apart)
    assert abs(simulated - study_power(c, readers=j, cases=180, effect=d).power) > 0.05


def test_model_vs_readers_pilot_is_the_single_modality_test():
    """(readers, model x J) OR components are half the 1T-RRRC psi = reader - model ones."""
    rng = np.random.default_rng(5)
    y = np.r_[np.ones(30), np.zeros(40)].astype(int)
    model = y * 1.2 + rng.normal(0, 1, y.size)
    readers = np.array([np.clip(np.round(3 + y * sk + rng.normal(0, 1, y.size)), 1, 5)
                        for sk in (1.0, 1.5, 0.6, 1.2)])
    pilot = pilot_model_vs_readers(y, model, readers)
    one = model_vs_readers(y, model, readers)
    c = pilot.components
    assert 2 * (c.var_error - c.cov1) == pytest.approx(one.var, rel=1e-10)
    assert 2 * (c.cov2 - c.cov3) == pytest.approx(one.cov2, rel=1e-10)
    assert 2 * pilot.var_tr_estimate == pytest.approx(
        one.ms_r - one.var + max(one.cov2, 0.0), rel=1e-10)
    assert c.cov1 == pytest.approx(c.cov3, rel=1e-10)  # the model has no reader variance
    assert pilot.effect == pytest.approx(one.readers_minus_model, rel=1e-12)
    assert pilot.design == "readers-vs-model" and pilot.readers == 4


def test_power_behaves():
    c = typical_pilot().components
    table = power_table(c, readers=[4, 6, 10], cases=[50, 100, 200, 400], effect=0.05)
    assert np.all(np.diff(table, axis=1) > 0) and np.all(np.diff(table, axis=0) > 0)
    # a vanishing effect has power alpha; unlimited cases: fixed readers reach power 1
    assert study_power(c, readers=6, cases=100, effect=1e-9).power == pytest.approx(0.05)
    assert power_limit(c, readers=2, effect=0.05, analysis="FRRC") == 1.0
    assert 0.05 < power_limit(c, readers=4, effect=0.05) < 1.0
    # a zero var_TR: more cases always help; the ddf goes to infinity when MS(T*R) would be 0
    flat = VarianceComponents(var_tr=0.0, cov1=0.0004, cov2=0.0003, cov3=0.0002,
                              var_error=0.0008, pilot_cases=100)
    assert power_limit(flat, readers=3, effect=0.05) == 1.0
    tight = VarianceComponents(var_tr=0.0, cov1=0.0004, cov2=0.0004, cov3=0.0,
                               var_error=0.0008, pilot_cases=100)
    assert np.isinf(study_power(tight, readers=4, cases=100, effect=0.05).ddf)


def test_every_answer_is_the_first_k_reaching_the_power():
    c = typical_pilot().components
    for j in (5, 8, 20):
        for target in (0.7, 0.9):
            res = cases_needed(c, readers=j, effect=0.06, power=target)
            lo = study_power(c, readers=j, cases=res.cases - 1, effect=0.06).power
            assert lo < target <= res.power
    capped = cases_needed(c, readers=5, effect=0.0438, power=0.9, max_cases=300)
    assert capped.cases is None and capped.limit_power > 0.9  # reachable, but not by 300


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"var_tr": -0.0001}, "var_TR is a variance and cannot be negative"),
    ({"var_error": -0.0008}, "var_error is a variance and must be positive"),
    ({"cov2": 0.002}, "cov2 = 0.002 is larger in size than var_error"),
    ({"cov1": 0.0007, "cov3": 0.0}, "no covariance structure"),
    ({"pilot_cases": 1}, "whole number >= 2"),
    ({"cov1": float("nan")}, "cov1 must be a finite number"),
])
def test_bad_components_are_refused(kwargs, message):
    base = {"var_tr": 0.0002, "cov1": 0.00035, "cov2": 0.00034, "cov3": 0.00024,
            "var_error": 0.0008, "pilot_cases": 114}
    with pytest.raises(UserError, match=message):
        typed_pilot(**{**base, **kwargs})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"power": 1.0}, "desired power must be between 0 and 1"),
    ({"power": 0.0}, "desired power must be between 0 and 1"),
    ({"alpha": 1.5}, "alpha must be between 0 and 1"),
    ({"readers": [1]}, "needs at least 2 readers"),
    ({"effect": 0.0}, "must be non-zero"),
    ({"effect": 1.2}, "between -1 and 1"),
    ({"cases": [1]}, "must be >= 2"),
    ({"analysis": "XYZ"}, "Unknown analysis"),
])
def test_bad_plan_inputs_are_refused(kwargs, message):
    with pytest.raises(UserError, match=message):
        make_plan(typical_pilot(), **kwargs)


def test_fixed_readers_allow_one_reader_and_typed_components_need_an_effect():
    one = make_plan(typical_pilot(), readers=[1], analysis="FRRC")
    assert one.rows[0].cases_needed is not None
    typed = typed_pilot(**PUBLISHED_OR, pilot_cases=114)
    with pytest.raises(UserError, match="give the effect size"):
        make_plan(typed)
    assert make_plan(typed, effect=0.0438, readers=[6]).rows[0].cases_needed == 251


def test_pilot_from_one_reader_is_refused():
    y, s = read_van_dyke()
    with pytest.raises(UserError, match="at least 2"):
        pilot_from_modalities(y, s[0][:1], s[1][:1])
    with pytest.raises(UserError, match="at least 2"):
        pilot_model_vs_readers(y, s[0][0], s[1][:1])


def test_plan_json_is_plain_and_splits_cases_by_the_pilot_mix(van_dyke):
    import json

    plan = make_plan(van_dyke, readers=[3, 6], cases=[100])
    data = json.loads(json.dumps(plan.to_dict(), allow_nan=False))
    six = data["readers"][1]
    assert six["cases_needed"] == 251 and six["positives"] + six["controls"] == 251
    assert six["positives"] == round(251 * 45 / 114)
    assert data["readers"][0]["cases_needed"] is None
    assert data["power_table"]["power"][1][0] == pytest.approx(
        study_power(van_dyke.components, readers=6, cases=10,
                    effect=van_dyke.effect).power)
    assert data["pilot"]["components"]["pilot_cases"] == 114


def test_sizing_doctests():
    assert doctest.testmod(sizing).failed == 0
    assert doctest.testmod(sizing_plan).failed == 0
