"""``wbsdesk audit``: every part as text and as strict JSON for scripts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.services.test_analysis import add_reader, add_run, synthetic_probs, synthetic_ratings
from tests.services.test_audit import make_audit_study
from tests.services.test_confound import make_cropped_study
from wbsdesk.cli import cli


def run(root, *args):
    return CliRunner().invoke(cli, ["--workspace", str(root), *args], catch_exceptions=False)


def _strict(text: str):
    def no_constant(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=no_constant)


def test_audit_json_has_every_part_as_typed_tables(ws):
    subjects = make_audit_study(ws)
    add_run(ws, "a", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    add_reader(ws, "a", "Dr A", synthetic_ratings(subjects, seed=1))
    ws.close()
    res = run(ws.root, "audit", "a", "--by", "source", "--only", "calibration",
              "--only", "subgroups", "--json")
    assert res.exit_code == 0, res.output
    data = _strict(res.stdout)
    assert (data["study"], data["run"], data["positive"]) == ("a", "run1", "wbs")
    assert set(data["parts"]) == {"calibration", "subgroups"}
    models = data["parts"]["calibration"]["calibration_models"]
    assert [r["model"] for r in models["rows"]] == ["ResNet-18", "MobileNet-V2", "Ensemble"]
    assert models["columns"][3] == {"key": "ece", "title": "ECE", "unit": "probability",
                                    "kind": "number"}
    sub = data["parts"]["subgroups"]["subgroup_auc"]["rows"]
    assert {r["dimension"] for r in sub} == {"sex", "age band", "source"}
    one = [r for r in sub if r["status"] == "one class only"]
    assert one and all(r["auc"] is None for r in one)
    assert all(isinstance(r["n_pos"], int) for r in sub)
    assert any("one class only" in w for w in data["warnings"])


def test_audit_text_shows_the_baseline_warning_first(ws):
    subjects = make_cropped_study(ws)
    add_run(ws, "c", subjects, {"resnet18": {s["photo"]: 0.5 + 0.01 * (s["group"] == "wbs")
                                             for s in subjects.values()}}, name="r1")
    ws.close()
    res = run(ws.root, "audit", "c", "--only", "confound")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0] == "Audit of 'c' (run r1, wbs vs. all controls)"
    assert "A trivial baseline" in res.stdout.split("Capture statistics")[0]
    assert "Padding share" in res.stdout and "YES" in res.stdout
    assert "Padding of the model crops: grey (80 crops)" in res.stdout
    assert "Warning: A trivial baseline" in res.stderr


def test_audit_names_an_unknown_column(ws):
    subjects = make_audit_study(ws)
    add_run(ws, "a", subjects, synthetic_probs(subjects, ["resnet18"]))
    ws.close()
    res = run(ws.root, "audit", "a", "--by", "ancestry", "--only", "subgroups")
    assert res.exit_code == 1
    assert "no subject of 'a' has a metadata column 'ancestry'" in res.stderr
    assert "source" in res.stderr  # the hint lists the columns there are
