"""``wbsdesk plan``: readers and cases for a study, as text and JSON; refusals print nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.services.test_planning import add_demo_run
from wbsdesk.cli import cli
from wbsdesk.cli.plan_commands import parse_readers
from wbsdesk.errors import UserError

VAN_DYKE = Path(__file__).resolve().parent.parent / "data" / "van_dyke_1993.imrmc"
TYPED = ["--var-tr", "0.00020040", "--cov1", "0.00034661", "--cov2", "0.00034407",
         "--cov3", "0.00023903", "--var-error", "0.00080229", "--pilot-cases", "114"]


def run(root, *args):
    return CliRunner().invoke(cli, ["--workspace", str(root), *args], catch_exceptions=False)


def test_plan_the_demo_as_json_and_text(demo_ws):
    add_demo_run(demo_ws)
    t0 = time.perf_counter()
    res = run(demo_ws.root, "plan", "demo", "--json")
    seconds = time.perf_counter() - t0
    assert res.exit_code == 0, res.output
    assert seconds < 1.0, f"'plan demo' took {seconds:.2f} s"
    data = json.loads(res.stdout)
    assert data["design"] == "readers-vs-model" and data["analysis"] == "RRRC"
    assert data["pilot"]["readers"] == 4 and data["effect_is_observed"]
    assert data["alpha"] == 0.05 and data["power"] == 0.8
    assert [r["readers"] for r in data["readers"]] == [4, 5, 6, 8, 10, 12, 15, 20]
    grid = data["power_table"]
    assert len(grid["power"]) == 8 and len(grid["power"][0]) == len(grid["cases"])
    # the same numbers again (no seed), and as a table for people
    assert json.loads(run(demo_ws.root, "plan", "demo", "--json").stdout) == data
    res = run(demo_ws.root, "plan", "demo", "--readers", "6", "--cases", "100",
              "--effect", "0.1")
    assert res.exit_code == 0, res.output
    assert "readers vs. the model; random readers and random cases" in res.stdout
    assert "Power at 100 cases" in res.stdout and "Simulated readers are included" in res.stdout
    assert "Effect size 0.1000 (given)" in res.stdout


def test_van_dyke_file_and_typical_and_typed_give_rjafrocs_251(tmp_path):
    # typed: the published components, rounded to 8 decimals, move the power a little
    for source, tol in ((["--pilot-file", str(VAN_DYKE)], 1e-6), (["--typical"], 1e-6),
                        ([*TYPED, "--effect", "0.04380032"], 1e-4)):
        res = run(tmp_path / "ws", "plan", *source, "--readers", "6", "--json")
        assert res.exit_code == 0, res.output
        row = json.loads(res.stdout)["readers"][0]
        assert row["cases_needed"] == 251, source
        assert row["power_at_cases_needed"] == pytest.approx(0.8005403, abs=tol)
    res = run(tmp_path / "ws", "plan", "--typical", "--readers", "3-5,10", "--analysis",
              "frrc")
    assert res.exit_code == 0, res.output
    assert "fixed readers, random cases" in res.stdout and "133" in res.stdout
    res = run(tmp_path / "ws", "plan", "--typical", "--readers", "3", "--readers", "6")
    assert "never" in res.stdout and "With 3 reader(s) no number of cases" in res.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--typical", "--power", "1.2"], "desired power must be between 0 and 1"),
    (["--typical", "--alpha", "0"], "alpha must be between 0 and 1"),
    (["--typical", "--readers", "1"], "needs at least 2 readers"),
    (["--typical", "--readers", "4-x"], "'4-x' is not a whole number or a range"),
    (["--typical", "--effect", "0"], "must be non-zero"),
    ([*TYPED[:-4], "--var-error", "-0.0008", "--pilot-cases", "114", "--effect", "0.05"],
     "var_error is a variance and must be positive"),
    (["--var-tr", "-0.001", *TYPED[2:], "--effect", "0.05"],
     "var_TR is a variance and cannot be negative"),
    ([*TYPED[:4], "--effect", "0.05"], "need --cov2, --cov3, --var-error, --pilot-cases"),
    (TYPED, "give the effect size to detect"),
    (["--typical", "--pilot-file", str(VAN_DYKE)], "exactly one source"),
    ([], "exactly one source"),
    (["--typical", "nope"], "Unknown typical set 'nope'"),
    (["--pilot-file", str(VAN_DYKE), "--design", "readers-vs-model"],
     "sizes the aided design"),
])
def test_bad_inputs_are_refused_with_no_output(tmp_path, args, message):
    res = run(tmp_path / "ws", "plan", *args, "--json")
    assert res.exit_code == 1
    assert res.stdout == ""
    assert message in res.stderr


def test_pilot_reads_of_one_reader_are_refused(tmp_path):
    lines = VAN_DYKE.read_text(encoding="utf-8").splitlines()
    head, data = lines[:lines.index("BEGIN DATA:") + 1], lines[lines.index("BEGIN DATA:") + 1:]
    one = tmp_path / "one.imrmc"
    one.write_text("\n".join([*head, *(ln for ln in data if ln.split(",")[0] in ("-1", "1"))])
                   + "\n")
    res = run(tmp_path / "ws", "plan", "--pilot-file", str(one))
    assert res.exit_code == 1 and res.stdout == ""
    assert "Pilot reads come from 1 reader(s)" in res.stderr


def test_unknown_study_is_refused(tmp_path):
    res = run(tmp_path / "ws", "plan", "nope")
    assert res.exit_code == 1 and res.stdout == "" and "nope" in res.stderr


def test_parse_readers():
    assert parse_readers(("4-6", "10, 12", "5")) == [4, 5, 6, 10, 12, 5]
    assert parse_readers(()) is None
    with pytest.raises(UserError, match="runs backwards"):
        parse_readers(("6-4",))
