"""``wbsdesk report``: files, JSON for scripts, and the model-only report of a demo-like study."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.cli import cli


def run(root, *args):
    return CliRunner().invoke(cli, ["--workspace", str(root), *args], catch_exceptions=False)


def _strict(text: str):
    def no_constant(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=no_constant)


def test_report_writes_the_files_and_prints_json(ws, tmp_path):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))
    out = tmp_path / "out"
    res = run(ws.root, "report", "s", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    data = _strict(res.stdout)
    assert data["study"] == "s" and data["run"] == "run1"
    # a study without crops: only the confound audit's tables are left out, saying why
    assert set(data["skipped"]) == {"baseline_vs_models", "confound_statistics",
                                    "confound_groups", "confound_baseline_auc"}
    assert data["skipped"]["confound_groups"].startswith("Not computed: no photo of 's'")
    assert data["tables"]["calibration_models"]["rows"] and data["baseline_warning"] is None
    assert {r["name"] for r in data["readers"]} == {"Dr A", "Dr B"}
    for name in ("report.html", "report.pdf", "roc.png", "roc.svg", "readers.imrmc",
                 "table4_models.csv", "table5_readers.csv", "mrmc.csv"):
        assert (out / name).is_file(), name
    assert data["files"]["pdf"] == str(out / "report.pdf")
    t4 = {r["model"]: r for r in data["tables"]["table4"]["rows"]}
    assert set(t4) == {"ResNet-18", "MobileNet-V2", "Ensemble"}
    assert [c["title"] for c in data["tables"]["table4"]["columns"]][:4] == [
        "Model", "Accuracy %", "Precision %", "Sensitivity %"]
    # --by: a metadata column no subject has is named, and nothing is written
    res = run(ws.root, "report", "s", "--out", str(tmp_path / "by"), "--by", "ancestry")
    assert res.exit_code == 1 and "no subject of 's' has a metadata column 'ancestry'" in (
        res.output)
    assert not (tmp_path / "by").exists()
    # human output: the AUC table and where the report is
    res = run(ws.root, "report", "s", "--out", str(out), "--controls", "healthy")
    assert res.exit_code == 0, res.output
    assert "Ensemble" in res.stdout and "Research use only" in res.stdout
    assert "wbs vs. healthy controls" in res.stdout


def test_only_simulated_readers_give_a_model_only_report_and_say_how_to_add_them(ws, tmp_path):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    for i in range(2):
        add_reader(ws, "s", f"Simulated {i}", synthetic_ratings(subjects, seed=i),
                   simulated=True)
    res = run(ws.root, "report", "s", "--out", str(tmp_path / "a"))
    assert res.exit_code == 0, res.output
    assert "the report holds the models only" in res.stderr
    assert "Add --include-simulated to compare with the 2 simulated reader(s)" in res.stderr
    assert (tmp_path / "a" / "report.html").is_file()
    assert not (tmp_path / "a" / "readers.imrmc").exists()
    res = run(ws.root, "report", "s", "--out", str(tmp_path / "b"), "--include-simulated")
    assert res.exit_code == 0, res.output
    assert "SIMULATED readers are included" in res.stdout
    assert "SIMULATED READERS INCLUDED" in (tmp_path / "b" / "report.html").read_text()


def test_errors_exit_1_with_a_message(ws):
    subjects = make_study(ws)
    res = run(ws.root, "report", "s")
    assert res.exit_code == 1 and "no finished training run" in res.stderr
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]))
    res = run(ws.root, "report", "s", "--controls", "cousins")
    assert res.exit_code == 1 and "unknown control group 'cousins'" in res.stderr
    res = run(ws.root, "report", "nope")
    assert res.exit_code == 1 and "no study named 'nope'" in res.stderr
