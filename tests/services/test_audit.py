"""Calibration and subgroup audits: numbers equal the core on the same arrays; no refusal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import PROTOCOLS
from tests.services.test_analysis import add_reader, add_run, synthetic_probs, synthetic_ratings
from wbsdesk.core import calibration as cal
from wbsdesk.core.delong import delong_auc
from wbsdesk.core.folds import assign_folds
from wbsdesk.core.proportions import holm
from wbsdesk.core.subgroups import subgroup_difference
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.audit import calibration_audit, subgroup_audit
from wbsdesk.services.studies import create_study

COUNTS = {"wbs": 40, "other_syndrome": 30, "healthy": 50}
SCALE = ("Definitely not", "Probably not", "Unsure", "Probably", "Definitely")


def make_audit_study(ws, name: str = "a", *, seed: int = 4,
                     protocol=PROTOCOLS / "demo.toml") -> dict[str, dict]:
    """A demo.toml study whose subjects carry sex, age and a ``source`` metadata column.

    Every subject of 150 months or more is a control (an age band with one class), and a
    few subjects have no sex (the ``unknown`` subgroup).
    """
    create_study(ws, name, protocol)
    study_id = ws.store.study(name).id
    rng = np.random.default_rng(seed)
    subjects: dict[str, dict] = {}
    with ws.store.atomic():
        i = 0
        for group, n in COUNTS.items():
            for j in range(n):
                key = f"{name.upper()}{i:03d}"
                age = float(rng.uniform(2, 140)) if group == "wbs" or j % 6 else 160.0 + j
                sex = None if j % 17 == 3 else "MF"[int(rng.integers(2))]
                sid = ws.store.insert_subject(
                    study_id, key=key, group=group, sex=sex, age_months=round(age, 1),
                    diagnosis=None, metadata={"source": "phone" if j % 3 else "camera",
                                              "face_box": f"[{j}, 1, 2, 3]"})
                pid = ws.store.insert_photo(sid, sha256=f"{i:064x}", stored_path=f"p/{i}.jpg",
                                            original_name=f"{key}.jpg", fmt="JPEG", width=64,
                                            height=64, is_primary=True)
                subjects[key] = {"id": sid, "photo": pid, "group": group, "sex": sex,
                                 "age": round(age, 1), "source": "phone" if j % 3 else "camera"}
                i += 1
        folds = assign_folds([s["id"] for s in subjects.values()],
                             [s["group"] for s in subjects.values()], k=5, seed=7)
        ws.store.replace_folds(study_id, folds, seed=7, k=5)
        for s in subjects.values():
            s["fold"] = folds[s["id"]]
    return subjects


@pytest.fixture
def aud(ws):
    subjects = make_audit_study(ws)
    probs = synthetic_probs(subjects, ["resnet18", "mobilenet_v2"])
    add_run(ws, "a", subjects, probs)
    ratings = synthetic_ratings(subjects, seed=1, skill=1.4)
    rated = dict(list(ratings.items())[:100])  # the reader rated 100 of 120 photos
    add_reader(ws, "a", "Dr A", rated)
    return ws, subjects, probs, rated


def _subgroups(ws, study="a", **kw):
    """The subgroup audit and the texts of the warnings it issued."""
    with pytest.warns(WbsdeskWarning) as caught:
        res = subgroup_audit(ws, study, **kw)
    return res, [str(w.message) for w in caught]


def _truth(subjects, keys):
    return np.array([subjects[k]["group"] == "wbs" for k in keys])


# ---------------------------------------------------------------------------------------------
# Calibration


def test_model_calibration_equals_the_core_on_the_out_of_fold_scores(aud):
    ws, subjects, probs, _ = aud
    res = calibration_audit(ws, "a")
    keys = sorted(subjects)
    y = _truth(subjects, keys)
    assert [m.name for m in res.models] == ["resnet18", "mobilenet_v2", "ensemble"]
    for arch, table in probs.items():
        p = np.array([table[subjects[k]["photo"]] for k in keys])
        got = next(m for m in res.models if m.name == arch)
        ref = cal.model_calibration(arch, y, p, label=got.label)
        assert got == ref
        assert got.n == 120 and got.n_pos == 40
    ens = next(m for m in res.models if m.name == "ensemble")
    mean = np.array([(probs["resnet18"][subjects[k]["photo"]]
                      + probs["mobilenet_v2"][subjects[k]["photo"]]) / 2 for k in keys])
    assert ens.brier == pytest.approx(cal.brier_score(y, mean))


def test_reader_calibration_uses_the_photos_that_reader_rated(aud):
    ws, subjects, _, rated = aud
    res = calibration_audit(ws, "a")
    (r,) = res.readers
    assert r.name == "Dr A" and r.n == 100
    by_photo = {s["photo"]: s for s in subjects.values()}
    for lv in r.levels:
        photos = [p for p, v in rated.items() if v == lv.level]
        assert lv.n == len(photos)
        assert lv.n_pos == sum(by_photo[p]["group"] == "wbs" for p in photos)
    assert [lv.label for lv in r.levels] == list(SCALE)


def test_calibration_sub_analysis_against_one_control_group(aud):
    ws, *_ = aud
    res = calibration_audit(ws, "a", controls="healthy")
    assert res.models[0].n == 90 and res.controls == "healthy"
    with pytest.raises(UserError, match="unknown control group"):
        calibration_audit(ws, "a", controls="nobody")


def test_calibration_tables_are_typed_rows_with_named_columns(aud):
    ws, *_ = aud
    tables = {t.name: t for t in calibration_audit(ws, "a").tables()}
    assert set(tables) == {"calibration_models", "calibration_bins", "calibration_readers"}
    bins = tables["calibration_bins"]
    assert len(bins.rows) == 3 * 10 and bins.columns == cal.RELIABILITY_COLUMNS
    assert all(isinstance(r[4], int) for r in bins.rows)
    recs = tables["calibration_readers"].records()
    assert len(recs) == 5 and recs[0]["reader"] == "Dr A"


# ---------------------------------------------------------------------------------------------
# Subgroups


def test_subgroup_aucs_equal_delong_within_each_subgroup(aud):
    ws, subjects, probs, _ = aud
    res, texts = _subgroups(ws, by=["source"])
    assert any("age band = ≥144 months" in t for t in texts)
    assert res.dimensions == ("sex", "age band", "source")
    keys = sorted(subjects)
    y = _truth(subjects, keys)
    p = np.array([probs["resnet18"][subjects[k]["photo"]] for k in keys])
    rows = {(r.dimension, r.subgroup): r for r in res.rows if r.scorer == "ResNet-18"}
    for src in ("camera", "phone"):
        inside = np.array([subjects[k]["source"] == src for k in keys])
        d = delong_auc(y[inside], p[inside])
        r = rows[("source", src)]
        assert (r.auc, r.ci_low, r.ci_high) == (d.auc, d.ci_low, d.ci_high)
        assert (r.n_pos, r.n_neg) == (d.n_pos, d.n_neg)
    unknown = np.array([subjects[k]["sex"] is None for k in keys])
    assert rows[("sex", "unknown")].n_pos + rows[("sex", "unknown")].n_neg == unknown.sum()


def test_a_subgroup_with_one_class_is_marked_and_named_not_refused(aud):
    ws, *_ = aud
    res, texts = _subgroups(ws)
    assert any("age band = ≥144 months has 0 positive(s)" in t for t in texts)
    old = [r for r in res.rows if r.subgroup == "≥144 months"]
    assert old and all(r.status == "one class" and math.isnan(r.auc) for r in old)
    assert any("≥144 months" in n for n in res.notes)
    # the other bands still have their AUCs and a test of a difference
    diff = next(d for d in res.differences
                if d.scorer == "ResNet-18" and d.dimension == "age band")
    assert "≥144 months" in diff.note and "≥144 months" not in diff.subgroups


def test_small_subgroups_are_shown_but_left_out_of_the_test(aud):
    ws, *_ = aud
    res, _ = _subgroups(ws)
    small = [r for r in res.rows if r.status == "too small"]
    assert small and all(min(r.n_pos, r.n_neg) < 10 for r in small)
    for d in res.differences:
        part = [r for r in res.rows if (r.scorer, r.dimension) == (d.scorer, d.dimension)]
        ref = subgroup_difference(part)
        assert (d.method, d.subgroups, d.note) == (ref.method, ref.subgroups, ref.note)
        assert d.statistic == pytest.approx(ref.statistic, nan_ok=True)
        assert not set(d.subgroups) & {r.subgroup for r in part if r.status != "ok"}


def test_holm_adjusts_over_every_test_of_the_audit(aud):
    ws, *_ = aud
    res, _ = _subgroups(ws, by=["source"])
    ref = holm([d.p_value for d in res.differences]).p_adjusted
    assert [d.p_holm for d in res.differences] == pytest.approx(list(ref), nan_ok=True)
    scorers = {d.scorer for d in res.differences}
    assert scorers == {"ResNet-18", "MobileNet-V2", "Ensemble", "Dr A"}


def test_unknown_geometry_or_many_valued_columns_are_refused(aud):
    ws, *_ = aud
    with pytest.raises(UserError, match="no subject of 'a' has a metadata column 'ancestry'"):
        subgroup_audit(ws, "a", by=["ancestry"])
    with pytest.raises(UserError, match="geometry"):
        subgroup_audit(ws, "a", by=["face_box"])


def test_age_bands_follow_the_protocol(ws, tmp_path):
    proto = tmp_path / "bands.toml"
    proto.write_text((PROTOCOLS / "demo.toml").read_text().replace(
        "chi2_yates = false", "chi2_yates = false\nage_bands_months = [0, 60]"))
    subjects = make_audit_study(ws, "b", protocol=proto)
    add_run(ws, "b", subjects, synthetic_probs(subjects, ["resnet18"]))
    res, _ = _subgroups(ws, "b")
    assert res.age_bands_months == (0.0, 60.0)
    bands = {r.subgroup for r in res.rows if r.dimension == "age band"}
    assert bands == {"0–<60 months", "≥60 months"}


def test_subgroup_tables_carry_the_status_legend(aud):
    ws, *_ = aud
    tables = {t.name: t for t in _subgroups(ws)[0].tables()}
    t = tables["subgroup_auc"]
    assert any("too small to interpret" in n for n in t.notes)
    assert {r["status"] for r in t.records()} >= {"ok", "one class only",
                                                  "too small to interpret"}
    assert tables["subgroup_difference"].records()[0]["method"] in ("z", "chi2", "none")
