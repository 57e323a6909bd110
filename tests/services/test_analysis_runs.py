"""Several runs in one comparison: each run's models, the ensemble across runs, settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.errors import UserError
from wbsdesk.services.analysis_runs import ACROSS_RUNS, build_runs_comparison
from wbsdesk.services.methods_inputs import methods_input
from wbsdesk.services.methods_text import methods_section
from wbsdesk.services.report_content import report_content
from wbsdesk.services.reports import write_report
from wbsdesk.services.result_tables import table_map
from wbsdesk.services.runs_table import runs_table

#: demo.toml's training settings are input 64 px, batch 16, lr 0.01, 8 epochs; run "small"
#: changes two.
SMALL = {"input_px": 32, "batch_size": 16, "epochs": 8, "lr": 0.02}


@pytest.fixture
def two_runs(ws):
    """Study ``s``: run "wide" (ResNet-18 + MobileNet-V2), run "small" (ResNet-18 at 32 px,
    lr 0.02), two physician readers."""
    subjects = make_study(ws)
    wide = synthetic_probs(subjects, ["resnet18", "mobilenet_v2"], seed=1)
    small = synthetic_probs(subjects, ["resnet18"], seed=2)
    add_run(ws, "s", subjects, wide, name="wide")
    add_run(ws, "s", subjects, small, name="small", spec=SMALL)
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))
    return ws, subjects, wide, small


def test_each_runs_models_are_rows_labelled_by_run_and_the_cross_run_ensemble_is_hand_checked(
        two_runs):
    ws, subjects, wide, small = two_runs
    comp = build_runs_comparison(ws, "s", ["wide", "small"])
    assert comp.run == "wide + small" and [r.name for r in comp.runs] == ["wide", "small"]
    assert comp.counts["architectures"] == 3 and comp.counts["runs"] == 2
    assert [m.name for m in comp.models] == [
        "resnet18@wide", "mobilenet_v2@wide", "ensemble@wide", "resnet18@small", "ensemble"]
    tables = table_map(comp)
    assert [r["model"] for r in tables["table4"].records()] == [
        "ResNet-18 · wide", "MobileNet-V2 · wide", "Ensemble · wide", "ResNet-18 · small",
        ACROSS_RUNS]
    # by hand: the wide run's ensemble is the mean of its two architectures, the small
    # run's is its one architecture; the ensemble across runs is their mean
    keys = sorted(subjects)
    y = np.array([subjects[k]["group"] == "wbs" for k in keys])
    pid = [subjects[k]["photo"] for k in keys]
    wide_ens = (np.array([wide["resnet18"][p] for p in pid])
                + np.array([wide["mobilenet_v2"][p] for p in pid])) / 2
    across = (wide_ens + np.array([small["resnet18"][p] for p in pid])) / 2
    expected = roc_auc_score(y, across)
    auc = {r["score"]: r["auc"] for r in tables["auc"].records()}
    assert auc[ACROSS_RUNS] == pytest.approx(expected, abs=1e-12)
    assert auc["Ensemble · wide"] == pytest.approx(roc_auc_score(y, wide_ens), abs=1e-12)
    assert auc["ResNet-18 · small"] == pytest.approx(
        roc_auc_score(y, [small["resnet18"][p] for p in pid]), abs=1e-12)
    # every run's model against every reader, and in the MRMC
    pairs = {(r["model"], r["reader"]) for r in tables["delong_model_vs_reader"].records()}
    assert ("ResNet-18 · small", "Dr A") in pairs and (ACROSS_RUNS, "Dr B") in pairs
    assert len(pairs) == 5 * 2
    assert [r["model"] for r in tables["mrmc"].records()][-1] == ACROSS_RUNS
    # the figure draws the ensemble across runs beside the readers; runs shaded apart
    assert comp.roc_data.reference.label == ACROSS_RUNS
    assert comp.roc_data.runs == ("wide", "small")
    # the same rows in --json form
    json.dumps({n: t.to_dict() for n, t in tables.items()}, allow_nan=False)


def test_the_runs_table_shows_each_runs_settings_and_what_it_changed(two_runs):
    ws, *_ = two_runs
    comp = build_runs_comparison(ws, "s", ["wide", "small"])
    rows = runs_table(comp).records()
    assert [r["run"] for r in rows] == ["protocol demo", "wide", "small"]
    assert rows[0]["input_px"] == 64 and rows[2]["input_px"] == 32
    assert rows[2]["lr"] == "0.02" and rows[2]["architectures"] == "ResNet-18"
    assert rows[2]["changed"] == ("input 32 px (protocol 64 px), learning rate 0.02 "
                                  "(protocol 0.01)")
    assert rows[1]["changed"] == "epochs 1 (protocol 8)"
    # and the Methods state every run's settings and the ensemble across runs
    text = " ".join(methods_section(methods_input(comp)).paragraphs)
    assert "Training (run wide)" in text and "Training (run small)" in text
    assert "resized to 32 × 32 pixels" in text and "learning rate 0.02" in text
    assert "input 32 px (protocol 64 px)" in text
    assert "ensemble across runs is the mean of the runs' ensembles" in text


def test_runs_whose_folds_differ_are_refused_naming_the_runs(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]), name="old")
    moved = {k: {**v, "fold": v["fold"] % 5 + 1} if i < 3 else v
             for i, (k, v) in enumerate(sorted(subjects.items()))}
    add_run(ws, "s", moved, synthetic_probs(subjects, ["resnet18"]), name="new")
    with pytest.raises(UserError) as err:
        build_runs_comparison(ws, "s", ["old", "new"])
    msg = err.value.message
    assert "'old'" in msg and "'new'" in msg and "3 case(s) in different folds" in msg
    assert sorted(subjects)[0] in msg


def test_a_run_missing_photos_is_refused_naming_it(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]), name="full")
    first = next(iter(subjects.values()))["photo"]
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]), name="part",
            skip={first})
    with pytest.raises(UserError, match=r"run 'part'.*no out-of-fold prediction"):
        build_runs_comparison(ws, "s", ["full", "part"])


def test_one_run_is_the_ordinary_comparison(two_runs):
    ws, *_ = two_runs
    comp = build_runs_comparison(ws, "s", ["small"])
    assert comp.run == "small" and comp.runs == ()
    assert [m.label for m in comp.models] == ["ResNet-18"]
    rows = runs_table(comp).records()
    assert [r["run"] for r in rows] == ["protocol demo", "small"]
    assert rows[1]["changed"].startswith("input 32 px (protocol 64 px)")


def test_the_report_of_two_runs_writes_their_rows_and_settings(two_runs, tmp_path):
    ws, *_ = two_runs
    comp = build_runs_comparison(ws, "s", ["wide", "small"])
    files = write_report(comp, tmp_path / "rep")
    csv = (tmp_path / "rep" / "runs.csv").read_text(encoding="utf-8")
    assert "small" in csv and "input 32 px (protocol 64 px)" in csv
    t4 = (tmp_path / "rep" / "table4_models.csv").read_text(encoding="utf-8")
    assert "ResNet-18 · small" in t4 and ACROSS_RUNS in t4
    page = files.files["html"].read_text(encoding="utf-8")
    assert "Training runs compared, and their settings" in page
    assert "Training (run small)" in page and "ResNet-18 · small" in page
    caption = report_content(comp, files=[], versions={}).figure_caption
    assert "the black ensemble is the ensemble across runs" in caption
