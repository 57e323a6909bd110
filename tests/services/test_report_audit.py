"""The audit in the report: the trivial baseline in Table 4, the ROC figure and a Holm-adjusted
family of paired DeLong tests; its warning in words; calibration and subgroup tables in the
HTML, the PDF and the CSVs; and never a refusal (no crops, a missing group, a fold without
a class, an all-yes reader, a constant model)."""

from __future__ import annotations

import csv
import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from statsmodels.stats.multitest import multipletests

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from tests.services.test_audit import make_audit_study
from tests.services.test_confound import make_cropped_study
from wbsdesk.errors import UserError, WbsdeskWarning
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.report_audit import (
    AUDIT_CSV_FILES,
    AUDIT_ORDER,
    BASELINE_LABEL,
    attach_audit,
    audit_tables,
)
from wbsdesk.services.reports import write_report
from wbsdesk.services.result_tables import table_map


def _comparison(ws, study: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WbsdeskWarning)
        return build_comparison(ws, study, **kw)


def _cnn(subjects, shift: float, seed: int) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    return {s["photo"]: float(1 / (1 + np.exp(-rng.normal(shift if s["group"] == "wbs"
                                                          else 0.0, 1.0))))
            for s in subjects.values()}


@pytest.fixture
def cropped(ws):
    """A study whose positives' crops are brighter (a confound), a weak CNN, two readers."""
    subjects = make_cropped_study(ws)
    add_run(ws, "c", subjects, {"resnet18": _cnn(subjects, 0.6, 1),
                                "vgg16": _cnn(subjects, 0.4, 2)})
    for i, name in enumerate(("Dr A", "Dr B")):
        add_reader(ws, "c", name, synthetic_ratings(subjects, seed=i, skill=1.2))
    return ws, subjects


def test_the_baseline_stands_beside_the_cnns_with_holm_adjusted_delong_tests(cropped,
                                                                             tmp_path):
    ws, _ = cropped
    comp = attach_audit(ws, _comparison(ws, "c"))
    a = comp.audit
    base = a.confound.baseline[[list(a.confound.photo_ids).index(p) for p in comp.photo_ids]]
    # Table 4: the baseline's row after the CNNs, its pooled AUC that of its probabilities
    t4 = table_map(comp)["table4"]
    assert [r[0] for r in t4.rows] == ["ResNet-18", "VGG-16", "Ensemble", BASELINE_LABEL]
    assert t4.rows[-1][-2] == pytest.approx(roc_auc_score(comp.y, base), abs=1e-12)
    assert any(n.startswith("Trivial baseline:") for n in t4.notes)
    folds = {r[0] for r in table_map(comp)["table4_folds"].rows}
    assert BASELINE_LABEL in folds
    # the ROC figure's data: the baseline drawn (dashed) beside the CNNs
    (drawn,) = [m for m in comp.roc_data.models if m.baseline]
    assert drawn.label == BASELINE_LABEL and drawn.auc == pytest.approx(t4.rows[-1][-2])
    # each model against the baseline, model − baseline, Holm over the family
    vs = {t.name: t for t in audit_tables(comp)}["baseline_vs_models"]
    assert [r[0] for r in vs.rows] == ["ResNet-18", "VGG-16", "Ensemble"]
    raw = [r[7] for r in vs.rows]
    assert [r[8] for r in vs.rows] == pytest.approx(list(multipletests(raw, method="holm")[1]))
    for row, m in zip(vs.rows, comp.models, strict=True):
        assert row[3] == pytest.approx(m.roc.auc - roc_auc_score(comp.y, base), abs=1e-12)
    assert vs.sign_convention.startswith("model − baseline")
    # the bright positives make the baseline as good as the weak CNNs: a warning in words
    assert a.warning and a.warning.startswith("A trivial baseline")
    assert a.warning in comp.notes
    # the written report: banner, section, chart, every audit table and its CSV
    files = write_report(comp, tmp_path / "rep")
    page = files.files["html"].read_text(encoding="utf-8")
    assert page.count("A trivial baseline (logistic regression") >= 2  # banner and section
    assert "Audit: calibration, subgroups and confounds" in page and "<svg" in page
    for name in AUDIT_ORDER:
        assert f'data-name="{name}"' in page, name
        with open(tmp_path / "rep" / AUDIT_CSV_FILES[name], newline="",
                  encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        table = {t.name: t for t in audit_tables(comp)}[name]
        assert rows[0] == table.export_header() and len(rows) == len(table.rows) + 1
    assert files.files["pdf"].read_bytes().startswith(b"%PDF")


def test_without_a_confound_the_report_says_the_best_cnn_is_ahead(ws):
    subjects = make_cropped_study(ws, brighter_positives=False)
    add_run(ws, "c", subjects, {"resnet18": _cnn(subjects, 3.0, 1)})
    comp = attach_audit(ws, _comparison(ws, "c"))
    assert comp.audit.warning is None and comp.audit.baseline_model is not None
    vs = {t.name: t for t in audit_tables(comp)}["baseline_vs_models"]
    assert any("ahead of the baseline by at least 0.05" in n for n in vs.notes)


def test_a_study_without_crops_gets_its_report_and_a_named_note(ws, tmp_path):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    comp = attach_audit(ws, _comparison(ws, "s"))
    assert comp.audit.baseline_model is None and comp.audit.confound is None
    assert any(n.startswith("Confound audit: not computed (no photo of 's' has a model crop")
               for n in comp.notes)
    tables = {t.name: t for t in audit_tables(comp)}
    assert not tables["baseline_vs_models"].rows
    assert tables["confound_statistics"].empty_text.startswith("Not computed: no photo")
    assert tables["calibration_models"].rows and tables["subgroup_auc"].rows
    assert [r[0] for r in table_map(comp)["table4"].rows] == ["ResNet-18"]
    files = write_report(comp, tmp_path / "rep")
    assert "confound_statistics" in files.skipped
    assert (tmp_path / "rep" / AUDIT_CSV_FILES["calibration_models"]).exists()
    assert "Confound: not computed" in files.files["html"].read_text(encoding="utf-8")


@pytest.mark.parametrize("case", ["missing group", "fold without a class", "all-yes reader",
                                  "constant model"])
def test_the_audit_never_refuses_the_report(ws, tmp_path, case):
    subjects = make_cropped_study(ws)
    if case == "missing group":  # every other-syndrome subject excluded
        for s in subjects.values():
            if s["group"] == "other_syndrome":
                ws.store.set_excluded(s["id"], "not in this study")
    if case == "fold without a class":  # fold 1 holds no positive: move them to fold 2
        moved = {s["id"]: (2 if s["fold"] == 1 and s["group"] == "wbs" else s["fold"])
                 for s in subjects.values()}
        st = ws.store.study("c")
        ws.store.replace_folds(st.id, moved, seed=3, k=4)
        for s in subjects.values():
            s["fold"] = moved[s["id"]]
    probs = {"resnet18": _cnn(subjects, 1.0, 1), "vgg16": _cnn(subjects, 0.8, 2)}
    if case == "constant model":
        probs["vgg16"] = {s["photo"]: 0.6 for s in subjects.values()}
    add_run(ws, "c", subjects, probs)
    add_reader(ws, "c", "Dr B", synthetic_ratings(subjects, seed=2))
    yes = (5 if case == "all-yes reader" else None)
    add_reader(ws, "c", "Dr Yes", {s["photo"]: yes or r for s, r in zip(
        subjects.values(), synthetic_ratings(subjects, seed=3).values(), strict=True)})
    comp = attach_audit(ws, _comparison(ws, "c"))
    tables = {t.name: t for t in audit_tables(comp)}
    assert tables["calibration_models"].rows and tables["subgroup_auc"].rows
    assert tables["calibration_readers"].rows
    files = write_report(comp, tmp_path / "rep")
    assert files.files["pdf"].read_bytes().startswith(b"%PDF")
    page = files.files["html"].read_text(encoding="utf-8")
    assert "Audit: calibration, subgroups and confounds" in page
    if case == "missing group":
        assert {r[2] for r in tables["confound_groups"].rows} >= {"wbs", "healthy"}
        assert comp.audit.baseline_model is not None
    if case == "fold without a class":
        # the baseline is still fitted (its training folds hold both classes) and its
        # Table 4 row counts the folds where each metric is defined
        t4 = {r[0]: r for r in table_map(comp)["table4"].rows}
        assert t4[BASELINE_LABEL][6].n == 3 and t4[BASELINE_LABEL][6].of == 4
    if case == "all-yes reader":
        levels = [r for r in tables["calibration_readers"].rows if r[0] == "Dr Yes"]
        assert [r[3] for r in levels] == [0, 0, 0, 0, len(subjects)]
        assert levels[-1][5] == pytest.approx(30 / 80)
    if case == "constant model":
        row = next(r for r in tables["calibration_models"].rows if r[0] == "VGG-16")
        assert math.isfinite(row[3]) and math.isfinite(row[4])
        vs = {r[0]: r for r in tables["baseline_vs_models"].rows}
        assert vs["VGG-16"][1] == 0.5
        assert any(n.startswith("Model VGG-16") for n in comp.notes)


def test_by_splits_the_subgroups_and_an_unknown_column_is_named(ws):
    subjects = make_audit_study(ws)
    add_run(ws, "a", subjects, synthetic_probs(subjects, ["resnet18"]))
    comp = attach_audit(ws, _comparison(ws, "a"), by=["source"])
    auc = {t.name: t for t in audit_tables(comp)}["subgroup_auc"]
    assert {r[1] for r in auc.rows} == {"sex", "age band", "source"}
    assert {r[2] for r in auc.rows if r[1] == "source"} == {"phone", "camera"}
    with pytest.raises(UserError, match="no subject of 'a' has a metadata column 'ancestry'"):
        attach_audit(ws, _comparison(ws, "a"), by=["ancestry"])
