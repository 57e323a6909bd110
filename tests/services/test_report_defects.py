"""The report works, with a named warning, where it used to refuse or mislead: a study without
a control group, a fold without a class, a reader who answered everything positive, a model
with constant scores; warnings name their model or reader; one sign everywhere; Table 4
over the folds where a metric is defined; Wilson CIs in Table 5; Holm-adjusted p-values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.errors import WbsdeskWarning
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.reports import write_report
from wbsdesk.services.result_tables import table_map


def _build(ws, **kw):
    with pytest.warns(WbsdeskWarning) as rec:
        comp = build_comparison(ws, "s", **kw)
    return comp, [str(w.message) for w in rec]


def _readers(ws, subjects, n: int = 2) -> None:
    for i in range(n):
        add_reader(ws, "s", f"Dr {'AB'[i]}", synthetic_ratings(subjects, seed=i, skill=1.4))


def _report_ok(comp, tmp_path) -> str:
    files = write_report(comp, tmp_path / "rep")
    assert files.files["pdf"].read_bytes().startswith(b"%PDF")
    return files.files["html"].read_text(encoding="utf-8")


def test_a_study_without_one_control_group_gets_its_all_controls_report(ws, tmp_path):
    subjects = make_study(ws, counts={"wbs": 12, "other_syndrome": 0, "healthy": 20})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    _readers(ws, subjects)
    comp, msgs = _build(ws, controls="all")  # was refused: "Check the spelling ..."
    assert "Control group 'other_syndrome' has no case (no included subject of that group): " \
           "the controls are 'healthy' only." in msgs
    assert comp.counts["per_group"] == {"wbs": 12, "other_syndrome": 0, "healthy": 20}
    t3 = table_map(comp)["table3"]
    assert [c.key for c in t3.columns] == ["fold", "wbs", "other_syndrome", "healthy", "total"]
    assert all(row[2] == 0 for row in t3.rows)
    assert "Control group &#x27;other_syndrome&#x27; has no case" in _report_ok(comp, tmp_path)


def test_a_control_group_whose_subjects_are_all_excluded_is_a_warning(ws, tmp_path):
    subjects = make_study(ws, counts={"wbs": 12, "other_syndrome": 3, "healthy": 20})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    _readers(ws, subjects)
    for s in subjects.values():
        if s["group"] == "other_syndrome":
            ws.store.set_excluded(s["id"], "consent withdrawn")
    comp, msgs = _build(ws)
    assert any(m.startswith("Control group 'other_syndrome' has no case") for m in msgs)
    assert comp.y.size == 32
    _report_ok(comp, tmp_path)


def test_a_fold_without_a_class_is_named_and_table_4_counts_its_folds(ws, tmp_path):
    # 4 positives over 5 folds: one fold has none
    subjects = make_study(ws, counts={"wbs": 4, "other_syndrome": 10, "healthy": 11})
    empty = sorted({s["fold"] for s in subjects.values()}
                   - {s["fold"] for s in subjects.values() if s["group"] == "wbs"})
    assert len(empty) == 1
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    _readers(ws, subjects)
    comp, msgs = _build(ws)  # was: the whole report aborted
    for label in ("ResNet-18", "MobileNet-V2", "Ensemble"):
        assert (f"Model {label}: AUC of fold {empty[0]} is undefined (the fold holds control "
                "cases only) and is reported as NaN.") in msgs, label
    # the same text from two models stays two notes, each naming its model
    recall = [n for n in comp.notes if f"Recall (sensitivity) of fold {empty[0]}" in n]
    assert len(recall) == 3 and len({n.split(":")[0] for n in recall}) == 3
    m = comp.model("resnet18")
    assert m.summary.n_defined["auc"] == 4 and not math.isnan(m.summary.mean["auc"])
    assert m.summary.n_defined["accuracy"] == 5
    t4 = table_map(comp)["table4"]
    row = dict(zip([c.key for c in t4.columns], t4.texts()[0], strict=True))
    assert row["auc"].endswith("(4/5)") and "n/a" not in row["auc"]
    assert "(" not in row["accuracy"]
    assert np.isfinite(m.band.mean).all() and m.band.n_folds == 4
    html = _report_ok(comp, tmp_path)
    assert f"AUC of fold {empty[0]} is undefined" in html


def test_warnings_name_the_model_or_reader_they_concern(ws):
    subjects = make_study(ws)
    flat = {s["photo"]: 0.5 for s in subjects.values()}
    add_run(ws, "s", subjects, {"resnet18": flat, "vgg16": dict(flat)})
    add_reader(ws, "s", "Dr Flat", {s["photo"]: 3 for s in subjects.values()})
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))
    comp, _ = _build(ws)
    ties = [n for n in comp.notes if "every case has the same score" in n]
    assert sorted(n.split(":")[0] for n in ties) == [
        "Model Ensemble", "Model ResNet-18", "Model VGG-16", "Reader 'Dr Flat'"]
    named = ("Model ", "Reader ", "DeLong ", "MRMC ", "Table 1", "Precision of reader",
             "Recall (sensitivity) of reader", "Specificity of reader", "F1 of reader",
             "No reader", "Reader comparisons", "Control group")
    assert all(n.startswith(named) for n in comp.notes), comp.notes


def test_a_reader_who_said_yes_to_everything_and_a_constant_model(ws, tmp_path):
    subjects = make_study(ws)
    probs = synthetic_probs(subjects, ["resnet18"])
    probs["mobilenet_v2"] = {s["photo"]: 0.7 for s in subjects.values()}
    add_run(ws, "s", subjects, probs)
    add_reader(ws, "s", "Dr Yes", {s["photo"]: 5 for s in subjects.values()})
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))
    comp, msgs = _build(ws)
    assert "Reader 'Dr Yes': every case has the same score (all ties): its AUC is 0.5 and " \
           "its ROC curve is the chance line." in msgs
    assert any(m.startswith("Model MobileNet-V2: every case has the same score") for m in msgs)
    t5 = table_map(comp)["table5"]
    yes = dict(zip([c.key for c in t5.columns], t5.texts()[0], strict=True))
    assert yes["reader"] == "Dr B" or yes["reader"] == "Dr Yes"
    yes = next(dict(zip([c.key for c in t5.columns], r, strict=True)) for r in t5.texts()
               if r[0] == "Dr Yes")
    assert yes["specificity"].startswith("0.0 (0.0 to ") and yes["recall"].startswith("100.0")
    _report_ok(comp, tmp_path)


def test_table_5_proportions_carry_wilson_intervals(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    _readers(ws, subjects)
    comp = build_comparison(ws, "s")
    t5 = table_map(comp)["table5"]
    for r, row, values in zip(comp.readers, comp.table5.rows, t5.rows[:-1], strict=True):
        c = row.confusion
        cols = {col.key: v for col, v in zip(t5.columns, values, strict=True)}
        for key, (k, n) in {"accuracy": (c.tp + c.tn, c.n), "precision": (c.tp, c.tp + c.fp),
                            "recall": (c.tp, c.tp + c.fn),
                            "specificity": (c.tn, c.tn + c.fp)}.items():
            lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
            assert cols[key].value == pytest.approx(k / n)
            assert (cols[key].low, cols[key].high) == pytest.approx((lo, hi)), (r.name, key)
    average = t5.texts()[-1]
    assert average[0] == "Average" and "(" not in average[2]  # a mean: no interval
    assert any("Wilson score interval" in n for n in t5.footnotes())


def test_each_family_of_tests_has_holm_adjusted_p_values_and_one_sign(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    _readers(ws, subjects)
    add_reader(ws, "s", "Dr C", synthetic_ratings(subjects, seed=5, skill=0.3))
    comp = build_comparison(ws, "s")
    tables = table_map(comp)
    for name, family in (("delong_model_vs_reader", comp.delong_model_reader),
                         ("delong_model_vs_model", comp.delong_model_model)):
        want = multipletests([p.test.p_value for p in family], method="holm")[1]
        assert [p.p_holm for p in family] == pytest.approx(list(want))
        t = tables[name]
        keys = [c.key for c in t.columns]
        assert keys[-2:] == ["p_value", "p_holm"]
        assert [r[-1] for r in t.rows] == pytest.approx(list(want))
        assert any(f"over the {len(family)} test(s)" in n for n in t.footnotes())
    want = multipletests([r.p_value for _, r in comp.mrmc.models], method="holm")[1]
    assert list(comp.mrmc.p_holm) == pytest.approx(list(want))
    # every difference is model − reader; each table says so first
    mr = tables["delong_model_vs_reader"]
    assert mr.footnotes()[0].startswith("Differences are model − reader")
    for (_, r), row in zip(comp.mrmc.models, tables["mrmc"].rows, strict=True):
        assert row[3] == pytest.approx(r.model_auc - r.mean_reader_auc)
        assert (row[5].low, row[5].high) == (-r.ci_high, -r.ci_low)
    assert tables["mrmc"].footnotes()[0].startswith("Differences are model − readers' mean")
    for p, row in zip(comp.delong_model_reader, mr.rows, strict=True):
        assert row[5] == p.test.auc_a - p.test.auc_b  # model (a) − reader (b)
