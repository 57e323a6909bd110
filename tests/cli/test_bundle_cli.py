"""``wbsdesk bundle NAME --out F.zip`` and ``wbsdesk bundle verify F.zip``."""

from __future__ import annotations

import json
import zipfile

from click.testing import CliRunner

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.cli import cli
from wbsdesk.config import db_path


def run(root, *args):
    return CliRunner().invoke(cli, ["--workspace", str(root), *args], catch_exceptions=False)


def _study(ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))


def test_bundle_writes_and_verify_passes_in_an_empty_workspace(ws, tmp_path):
    _study(ws)
    out = tmp_path / "s.zip"
    res = run(ws.root, "bundle", "s", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert f"written to {out}" in res.stdout and "Photos and crops: none." in res.stdout
    other = tmp_path / "elsewhere"  # no workspace: verify reads only the archive
    res = run(other, "bundle", "verify", str(out))
    assert res.exit_code == 0, res.output
    assert "recomputed 10 tables" in res.stdout and "OK: every table equals" in res.stdout
    assert not db_path(other).exists()
    with zipfile.ZipFile(out) as zf:  # the CLI draws the figure: it is bundled as SVG only
        names = zf.namelist()
        assert "report/roc.svg" in names and "report/roc.png" not in names
        for name in names:
            data = zf.read(name)
            assert b"\x89PNG\r\n\x1a\n" not in data and b"\xff\xd8\xff" not in data, name


def test_verify_fails_with_exit_1_and_names_the_cell(ws, tmp_path):
    _study(ws)
    out = tmp_path / "s.zip"
    assert run(ws.root, "bundle", "s", "--out", str(out), "--json").exit_code == 0
    with zipfile.ZipFile(out) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    lines = members["data/reads.csv"].decode().splitlines(keepends=True)
    cells = lines[1].rstrip("\n").split(",")
    cells[5] = "1" if cells[5] != "1" else "5"  # another rating of the first read
    cells[6] = "1" if cells[5] == "5" else "0"
    lines[1] = ",".join(cells) + "\n"
    members["data/reads.csv"] = "".join(lines).encode()
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    res = run(ws.root, "bundle", "verify", str(bad))
    assert res.exit_code == 1
    assert "File changed since it was written: data/reads.csv" in res.stdout
    assert "Table table5: " in res.stdout and "Differs: table auc, row " in res.stdout
    assert "FAILED" in res.stdout
    res = run(ws.root, "bundle", "verify", str(bad), "--json")
    data = json.loads(res.stdout)
    assert res.exit_code == 1 and data["ok"] is False
    assert {m["table"] for m in data["mismatches"]} >= {"table5", "auc"}
    first = next(m for m in data["mismatches"] if m["table"] == "table5")
    assert (first["row"], first["label"]) == (1, "R1")


def test_an_existing_out_needs_force(ws, tmp_path):
    _study(ws)
    out = tmp_path / "s.zip"
    out.write_text("mine")
    res = run(ws.root, "bundle", "s", "--out", str(out))
    assert res.exit_code == 1 and "exists already" in res.output and out.read_text() == "mine"
    res = run(ws.root, "bundle", "create", "s", "--out", str(out), "--force", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["path"] == str(out) and "tables/auc.csv" in data["files"]
    assert data["with_crops"] is False


def test_verify_refuses_what_is_not_a_bundle(tmp_path):
    junk = tmp_path / "x.zip"
    junk.write_text("not a zip")
    res = run(tmp_path / "ws", "bundle", "verify", str(junk))
    assert res.exit_code == 1 and "is not a zip archive" in res.output
    with zipfile.ZipFile(tmp_path / "y.zip", "w") as zf:
        zf.writestr("hello.txt", "hi")
    res = run(tmp_path / "ws", "bundle", "verify", str(tmp_path / "y.zip"))
    assert res.exit_code == 1 and "is not a wbsdesk bundle" in res.output
