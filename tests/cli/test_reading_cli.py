"""Reading commands: readers, sessions, dry runs through the real reader screen, export."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from tests.gui.reading_study import make_reading_study
from wbsdesk.cli import cli


def run(ws_root, *args, ok=True):
    res = CliRunner().invoke(cli, ["--workspace", str(ws_root), *args],
                             catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def test_reader_add_and_list(tmp_path):
    w = tmp_path / "ws"
    out = run(w, "reader", "add", "R01", "--role", "pediatric cardiologist", "--years", "7",
              "--json")
    assert json.loads(out.output) == {"name": "R01", "role": "pediatric cardiologist",
                                      "years": 7}
    run(w, "reader", "add", "Dr Who", "--role", "other")
    rows = json.loads(run(w, "reader", "list", "--json").output)
    assert [(r["name"], r["kind"]) for r in rows] == [("Dr Who", "physician"),
                                                      ("R01", "physician")]
    assert "pediatric cardiologist" in run(w, "reader", "list").output
    res = run(w, "reader", "add", "R01", "--role", "other", ok=False)
    assert res.exit_code == 1 and "already exists" in res.output
    res = run(w, "reader", "add", "X", "--role", "nurse", ok=False)
    assert res.exit_code == 2
    res = run(w, "reader", "add", "X", "--role", "other", "--years", "200", ok=False)
    assert res.exit_code == 2


def test_dry_run_drives_the_reader_screen_and_export_writes_csv(tmp_path, qapp):
    from wbsdesk.services.workspace import open_workspace

    w = tmp_path / "ws"
    with open_workspace(w) as ws:
        make_reading_study(ws, tmp_path, n=3, practice=1, seconds=10.0, window=20.0)
    answers = tmp_path / "answers.txt"
    answers.write_text("# rating delay\n3 0.02\n5 0.05\n- 0\n1 0.3\n")
    out = run(w, "session", "dry-run", "tiny", "--answers", str(answers), "--seconds", "0.15",
              "--response-window", "0.2", "--seed", "4", "--json")
    summary = json.loads(out.stdout)
    assert summary["reader"] == "dry-run-1" and summary["photos_read"] == 3
    assert summary["finished"] and summary["practice_read"] == 1
    assert "committed 3" in out.stderr
    rows = list(csv.DictReader(io.StringIO(run(w, "session", "export", "tiny").stdout)))
    assert [(r["position"], r["practice"], r["rating"]) for r in rows] == [
        ("0", "1", "3"), ("1", "0", "5"), ("2", "0", ""), ("3", "0", "1")]
    assert {r["kind"] for r in rows} == {"dry run"}
    assert all(abs(float(r["display_s"]) - 0.15) < 0.06 for r in rows)
    as_json = json.loads(run(w, "session", "export", "tiny", "--json").stdout)
    assert len(as_json) == 4 and as_json[2]["rating"] is None
    out_file = tmp_path / "reads.csv"
    run(w, "session", "export", "tiny", "--out", str(out_file))
    assert out_file.read_text().startswith("reader,role,years,kind,")
    sessions = json.loads(run(w, "session", "list", "tiny", "--json").stdout)
    assert sessions[0]["status"] == "finished" and sessions[0]["kind"] == "dry run"
    # a second dry run gets a new dry-run reader; too few answers are refused
    answers.write_text("3 0.02\n")
    res = run(w, "session", "dry-run", "tiny", "--answers", str(answers), ok=False)
    assert res.exit_code == 1 and "shows 4 photos" in res.output
    assert [r["name"] for r in json.loads(run(w, "reader", "list", "--json").stdout)] == [
        "dry-run-1"]
    res = run(w, "session", "dry-run", "nope", "--answers", str(answers), ok=False)
    assert res.exit_code == 1 and "no study named" in res.output
