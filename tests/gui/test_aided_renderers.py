"""The "Aided vs unaided" tables read the same in every renderer: the dashboard's aided tab,
the CSV files, the HTML page, the PDF, ``wbsdesk report --json`` and ``wbsdesk aid compare
--json`` show the same column names, numbers and footnotes; the PDF carries the section and
its slope chart."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from html import unescape

import pytest
from click.testing import CliRunner
from PySide6.QtWidgets import QApplication

from tests.gui.aided_study import make_aided_study
from tests.gui.test_table_renderers import _as_shown, _HtmlTables, _norm, _pdf_cells, _rebuild
from wbsdesk.cli import cli
from wbsdesk.core.formatting import fmt_ci
from wbsdesk.gui.dashboard_aided import SUB_TABLES, AidedTabWidget
from wbsdesk.services import reading
from wbsdesk.services.analysis_aided import build_aided_comparison
from wbsdesk.services.result_tables_aided import AIDED_TABLES, aided_tables
from wbsdesk.services.simulated_aided import add_simulated_aided_reads


@pytest.fixture
def aided(ws, tmp_path):
    """30 photos, 4 simulated readers with blind reads and aided re-reads."""
    make_aided_study(ws, tmp_path, n=30)
    reading.add_simulated_readers(ws, "tiny", seed=3)
    add_simulated_aided_reads(ws, "tiny", seed=3)
    return ws


def _value(col, parts):
    """A cell's value from its exported parts (a flag is written True/False)."""
    if col.kind == "flag":
        return parts[0] in (True, "True")
    return _rebuild(col, parts)


def _cli(ws, *args):
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), *args],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_every_aided_table_reads_the_same_in_every_renderer(aided, tmp_path, qtbot):
    ws = aided
    rep = tmp_path / "rep"
    data = json.loads(_cli(ws, "report", "tiny", "--include-simulated", "--out", str(rep),
                           "--json").stdout)
    compare = json.loads(_cli(ws, "aid", "compare", "tiny", "--include-simulated",
                              "--json").stdout)
    tab = AidedTabWidget(ws)
    qtbot.addWidget(tab)
    tab.show_study("tiny", include_simulated=True)
    tab.wait_until_ready()
    tables = aided_tables(build_aided_comparison(ws, "tiny", include_simulated=True))
    assert tuple(t.name for t in tables) == AIDED_TABLES
    parser = _HtmlTables()
    parser.feed((rep / "report.html").read_text(encoding="utf-8"))
    checked = 0
    for table in tables:
        head, texts = [_norm(h) for h in table.headers()], table.texts()
        shown = [[_norm(t) for t in r] for r in texts]
        assert texts, table.name
        # the dashboard's aided tab: the design in its header, the others as tables
        if table.name == "aided_design":
            header = _norm(unescape(re.sub("<[^>]+>", "", tab.header.text())))
            assert all(f"{k}: {v}" in header for k, v in shown), header
        else:
            w = tab.sub[table.name]
            gui_head = [_norm(w.horizontalHeaderItem(c).text()) for c in range(w.columnCount())]
            gui = [[_norm(w.item(r, c).text()) for c in range(w.columnCount())]
                   for r in range(w.rowCount())]
            assert (gui_head, gui) == (head, shown), table.name
            if table.name in SUB_TABLES:  # its footnotes under the tabs
                tab.tables.setCurrentWidget(w)
                QApplication.processEvents()
                note = _norm(unescape(tab.table_notes.text()))
                assert all(_norm(n) in note for n in table.footnotes()), table.name
        # the HTML page
        html_head, html_rows, html_notes = parser.tables[table.name]
        assert (html_head, html_rows) == (head, shown), table.name
        assert html_notes == [_norm(n) for n in table.footnotes()], table.name
        # the PDF's flowables
        pdf_head, pdf_rows, pdf_notes = _pdf_cells(table)
        assert (pdf_head, pdf_rows) == (head, shown), table.name
        assert pdf_notes == [_norm(n) for n in table.footnotes()], table.name
        # the CSV file and both commands' JSON: raw values that read as the table
        lines = list(csv.reader(io.StringIO((rep / f"{table.name}.csv").read_text(
            encoding="utf-8"), newline="")))
        assert lines[0] == table.export_header()
        for js in (data["aided"]["tables"][table.name], compare["tables"][table.name]):
            assert [c["title"] for c in js["columns"]] == table.headers()
            assert js["footnotes"] == table.footnotes()
            assert len(js["rows"]) == len(texts) == len(lines) - 1
            for line, rec, cells in zip(lines[1:], js["rows"], texts, strict=True):
                i = 0
                for col, cell in zip(table.columns, cells, strict=True):
                    n = len(col.parts())
                    from_csv = _as_shown(col, _value(col, line[i:i + n]))
                    i += n
                    raw = rec[col.key]
                    parts = [raw[p] for p, _ in col.parts()] if n > 1 else [raw]
                    from_json = _as_shown(col, _value(col, parts))
                    assert from_csv.lstrip("'") == cell, (table.name, col.title, line)
                    assert from_json == cell or (cell == "n/a" and from_json in ("", "n/a"))
                    checked += 1
    assert checked > 150
    assert data["aided"]["harmed"] == compare["harmed"]
    tab.shutdown()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
def test_the_pdf_report_carries_the_aided_section_and_its_slope_chart(aided, tmp_path):
    ws = aided
    rep = tmp_path / "rep"
    _cli(ws, "report", "tiny", "--include-simulated", "--out", str(rep))
    text = subprocess.run(["pdftotext", "-layout", str(rep / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    comp = build_aided_comparison(ws, "tiny", include_simulated=True)
    for needle in ("Aided vs unaided", "SIMULATED READERS", "Aided reading: design, aid and "
                   "readers", "Washout", "run run1, model ensemble", "Harmed readers",
                   "Obuchowski–Rockette", "Readers: AUC unaided to aided",
                   "Automation bias", "Time per read", "Figure. Readers' AUC, unaided to aided",
                   *[r.reader for r in comp.readers]):
        assert needle in flat, needle
    auc = comp.tests[0]  # the AUC row of the modality test: F, df2, CI of the difference
    assert f"{auc.f_stat:.2f}" in flat and f"{auc.df_den:.1f}" in flat
    assert fmt_ci(auc.ci_low, auc.ci_high) in flat
    # the slope chart is drawn in the PDF: both axes' names and every reader's label
    svg = (rep / "aided_slope.svg").read_text(encoding="utf-8")
    assert svg.count("<circle") == 2 * len(comp.readers)
    assert all(r.reader in svg for r in comp.readers)
    assert "Unaided" in flat and "Aided" in flat
