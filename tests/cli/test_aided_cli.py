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


def test_aid_compare_prints_writes_and_exports_both_modalities(tmp_path):
    from wbsdesk.services import reading
    from wbsdesk.services.reports import read_imrmc
    from wbsdesk.services.simulated_aided import add_simulated_aided_reads
    from wbsdesk.services.workspace import open_workspace

    w = tmp_path / "ws"
    with open_workspace(w) as ws:
        make_aided_study(ws, tmp_path, n=30)
        reading.add_simulated_readers(ws, "tiny", seed=2)
        add_simulated_aided_reads(ws, "tiny", seed=2)
    res = run(w, "aid", "compare", "tiny", ok=False)
    assert res.exit_code == 1 and "needs at least 2 readers" in res.output
    assert "--include-simulated" in res.output
    out = tmp_path / "report"
    data = json.loads(run(w, "aid", "compare", "tiny", "--include-simulated", "--json",
                          "--out", str(out)).stdout)
    assert data["designs"] == ["sequential_aided"] and data["simulated"] is True
    assert [t["measure"] for t in data["tests"]] == ["AUC", "Sensitivity", "Specificity"]
    assert len(data["readers"]) == 4 and isinstance(data["harmed"], list)
    assert data["aid"]["runs"] == ["run1"]
    text = run(w, "aid", "compare", "tiny", "--include-simulated").output
    assert "Design: sequential" in text and "Harmed readers:" in text
    assert "Aid: run run1, model ensemble" in text and "Readers: 4 (SIMULATED" in text
    parsed = read_imrmc((out / "readers_aided.imrmc").read_text())
    assert (parsed["NR"], parsed["NM"], parsed["N0"] + parsed["N1"]) == (4, 2, data["n_cases"])
    assert {k[2] for k in parsed["scores"]} == {"1", "2"}
    assert len(parsed["scores"]) == 2 * 4 * data["n_cases"]
    html = (out / "aided.html").read_text()
    assert "Aided vs unaided" in html and "<svg" in html and "SIMULATED" in html
    rows = list(csv.DictReader(io.StringIO((out / "aided_modalities.csv").read_text())))
    assert rows[0]["Measure"] == "AUC"
    assert float(rows[0]["Difference (aided − unaided)"]) == data["tests"][0]["difference"]
    assert (data["tables"]["aided_modalities"]["rows"][0]["difference"]
            == data["tests"][0]["difference"])


def test_the_report_of_an_aided_study_carries_the_aided_section(tmp_path):
    from wbsdesk.services import reading
    from wbsdesk.services.simulated_aided import add_simulated_aided_reads
    from wbsdesk.services.workspace import open_workspace

    w = tmp_path / "ws"
    with open_workspace(w) as ws:
        make_aided_study(ws, tmp_path, n=30)
        reading.add_simulated_readers(ws, "tiny", seed=4)
        add_simulated_aided_reads(ws, "tiny", seed=4)
    out = tmp_path / "rep"
    data = json.loads(run(w, "report", "tiny", "--include-simulated", "--out", str(out),
                          "--json").stdout)
    assert "readers_aided.imrmc" in " ".join(data["aided"]["files"])
    page = (out / "report.html").read_text()
    assert "Aided vs unaided" in page and "Harmed readers" in page
    assert (out / "aided_modalities.csv").is_file() and (out / "aided_slope.svg").is_file()
    assert "aided_readers.csv" in page  # listed among the report's files
