"""``wbsdesk report NAME --run A --run B``: two runs in one report, the same rows everywhere."""

from __future__ import annotations

import csv
import io
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
    return CliRunner().invoke(cli, ["--workspace", str(root), *args])


def test_two_runs_in_one_report_agree_in_json_and_csv(ws, tmp_path):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]),
            name="a224")
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"], seed=4), name="b64",
            spec={"input_px": 32, "batch_size": 8})
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))
    out = tmp_path / "rep"
    res = run(ws.root, "report", "s", "--run", "a224", "--run", "b64", "--out", str(out),
              "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["run"] == "a224 + b64"
    t4 = [r["model"] for r in data["tables"]["table4"]["rows"]]
    assert t4 == ["ResNet-18 · a224", "MobileNet-V2 · a224", "Ensemble · a224",
                  "ResNet-18 · b64", "Ensemble across runs"]
    with open(out / "table4_models.csv", encoding="utf-8") as fh:
        assert [r["Model"] for r in csv.DictReader(fh)] == t4
    runs = {r["run"]: r for r in data["runs"]["rows"]}
    assert runs["b64"]["changed"] == ("input 32 px (protocol 64 px), batch size 8 "
                                      "(protocol 16)")
    runs_csv = list(csv.DictReader(io.StringIO((out / "runs.csv").read_text("utf-8"))))
    assert [r["Run"] for r in runs_csv] == ["protocol demo", "a224", "b64"]
    # for people: the runs and what they changed are printed first
    res = run(ws.root, "report", "s", "--run", "a224", "--run", "b64", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "batch size 8 (protocol 16)" in res.stdout and "Ensemble across runs" in res.stdout


def test_runs_with_other_folds_are_refused_naming_both(ws, tmp_path):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]), name="old")
    moved = {k: {**v, "fold": v["fold"] % 5 + 1} for k, v in subjects.items()}
    add_run(ws, "s", moved, synthetic_probs(subjects, ["resnet18"]), name="new")
    res = run(ws.root, "report", "s", "--run", "old", "--run", "new", "--out",
              str(tmp_path / "r"))
    assert res.exit_code == 1
    assert "runs 'old' and 'new' scored 45 case(s) in different folds" in res.output
