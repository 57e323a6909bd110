"""Aided reading from the command line: aid prepare/show, and dry runs with aided answers."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from tests.gui.aided_study import make_aided_study, score_of
from wbsdesk.cli import cli


def run(ws_root, *args, ok=True):
    res = CliRunner().invoke(cli, ["--workspace", str(ws_root), *args],
                             catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def test_aid_prepare_and_a_sequential_dry_run_with_aided_answers(tmp_path, qapp):
    from wbsdesk.services.workspace import open_workspace

    w = tmp_path / "ws"
    with open_workspace(w) as ws:
        make_aided_study(ws, tmp_path, n=3, practice=1, prepare=False, seconds=10.0,
                         window=20.0)
    res = run(w, "aid", "show", "tiny")
    assert "No aid prepared" in res.output
    answers = tmp_path / "answers.txt"
    answers.write_text("3 0.02\n5 0.05 4 0.05\n- 0 2 0.05\n1 0.05 - 0\n")
    res = run(w, "session", "dry-run", "tiny", "--answers", str(answers), ok=False)
    assert res.exit_code == 1 and "no aid has been prepared" in res.output
    prepared = json.loads(run(w, "aid", "prepare", "tiny", "--run", "run1", "--json").stdout)
    assert prepared["run"] == "run1" and prepared["model"] == "ensemble"
    assert prepared["photos"] == 3 and prepared["heatmaps"] is False
    assert json.loads(run(w, "aid", "show", "tiny", "--json").stdout) == prepared

    # a scored line without its aided answer is refused, and nothing is written
    answers.write_text("3 0.02\n5 0.05 4 0.05\n- 0\n1 0.05 - 0\n")
    res = run(w, "session", "dry-run", "tiny", "--answers", str(answers), ok=False)
    assert res.exit_code == 1 and "no aided answer on 1 line(s) (line 3)" in res.output
    assert json.loads(run(w, "reader", "list", "--json").stdout) == []

    answers.write_text("# practice, then three scored photos: blind pair, aided pair\n"
                       "3 0.02\n5 0.05 4 0.05\n- 0 2 0.05\n1 0.05 - 0\n")
    out = run(w, "session", "dry-run", "tiny", "--answers", str(answers), "--seconds", "0.15",
              "--response-window", "0.2", "--seed", "4", "--json")
    summary = json.loads(out.stdout)
    assert summary["photos_read"] == 3 and summary["finished"]
    rows = list(csv.DictReader(io.StringIO(run(w, "session", "export", "tiny").stdout)))
    got = [(r["position"], r["phase"], r["modality"], r["rating"]) for r in rows]
    assert got == [("0", "1", "unaided", "3"),
                   ("1", "1", "unaided", "5"), ("1", "2", "aided", "4"),
                   ("2", "1", "unaided", ""), ("2", "2", "aided", "2"),
                   ("3", "1", "unaided", "1"), ("3", "2", "aided", "")]
    for r in rows:
        if r["modality"] == "aided":
            assert float(r["aid_score"]) == score_of(int(r["photo_id"]))
            # aided_seconds follows --seconds when the protocol does not set it
            assert abs(float(r["display_s"]) - 0.15) < 0.06
