"""Every table reads the same in every renderer: the dashboard, the CSV files, the HTML page,
the PDF and ``wbsdesk report --json`` show the same column names and the same numbers."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from html import escape as html_escape
from html import unescape
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from PySide6.QtWidgets import QApplication

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from tests.services.test_confound import make_cropped_study
from wbsdesk.cli import cli
from wbsdesk.core.result_table import Column, Estimate, Interval, MeanSd, ResultTable
from wbsdesk.gui.dashboard import DashboardWidget
from wbsdesk.gui.dashboard_audit import AUDIT_TAB
from wbsdesk.services.report_audit import (
    AUDIT_CSV_FILES,
    AUDIT_ORDER,
    BASELINE_LABEL,
    audit_tables,
)
from wbsdesk.services.report_pdf import register_fonts, report_styles, table_flowables
from wbsdesk.services.reports import CSV_FILES, write_report
from wbsdesk.services.result_tables import GUI_ORDER, comparison_tables, table_map


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def study(ws):
    """Two architectures, two physicians (one with unread photos) and a simulated reader."""
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    for i, name in enumerate(["Dr A", "Dr B", "Sim C"]):
        ratings = synthetic_ratings(subjects, seed=i, skill=0.8 + 0.4 * i)
        if i == 0:
            for photo in list(ratings)[:3]:
                ratings[photo] = None
        add_reader(ws, "s", name, ratings, simulated=name.startswith("Sim"))
    return ws


class _HtmlTables(HTMLParser):
    """The result tables of a page: name -> (headers, rows of cell texts, notes after it)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, tuple[list[str], list[list[str]], list[str]]] = {}
        self._name: str | None = None
        self._last: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] = []
        self._note: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("class") == "result":
            self._name = a["data-name"]
            self.tables[self._name] = ([], [], [])
        elif self._name and tag == "tr":
            self._row = []
        elif self._name and tag in ("td", "th"):
            self._cell = []
        elif tag == "p" and a.get("class") == "note" and self._last:
            self._note = []

    def handle_endtag(self, tag):
        if self._name and tag in ("td", "th") and self._cell is not None:
            self._row.append(_norm("".join(self._cell)))
            self._cell = None
        elif self._name and tag == "tr":
            head, rows, _ = self.tables[self._name]
            (head.extend(self._row) if not head else rows.append(self._row))
        elif tag == "table" and self._name:
            self._last, self._name = self._name, None
        elif tag == "p" and self._note is not None:
            self.tables[self._last][2].append(_norm("".join(self._note)))
            self._note = None
        elif tag in ("h2", "h3"):
            self._last = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._note is not None:
            self._note.append(data)


def _pdf_cells(table: ResultTable) -> tuple[list[str], list[list[str]], list[str]]:
    """What the PDF draws for a table: its header row, cell texts and footnotes."""
    from reportlab.platypus import LongTable, Paragraph

    register_fonts()
    styles = report_styles()
    from tests.services.test_report_pdf import _flat

    flow = _flat(table_flowables(table, 510.0, styles))
    (grid,) = [f for f in flow if isinstance(f, LongTable)]
    assert grid.repeatRows == 1  # the header row repeats on every page

    def text(cell) -> str:
        return _norm(unescape(cell.text) if isinstance(cell, Paragraph) else str(cell))

    values = [[text(c) for c in row] for row in grid._cellvalues]
    notes = [_norm(unescape(f.text)) for f in flow[flow.index(grid) + 1:]
             if isinstance(f, Paragraph)]
    return values[0], values[1:], notes


def _rebuild(col: Column, parts: list) -> object:
    """A cell's value from its exported parts (CSV or JSON), in the column's unit."""
    def num(x):
        if x is None or x == "":
            return None
        return x if isinstance(x, int | float) else (
            float("nan") if x == "NaN" else float(x))

    if col.kind == "interval":
        return Interval(num(parts[0]), num(parts[1]))
    if col.kind == "mean_sd":
        n = parts[2]
        return MeanSd(num(parts[0]), num(parts[1]), None if n in ("", None) else int(n), None)
    if col.kind == "estimate":
        return Estimate(num(parts[0]), num(parts[1]), num(parts[2]))
    value = parts[0]
    if col.kind in ("text",):
        return value
    if col.kind == "flag":  # CSV "True"/"False", JSON true/false
        return None if value in ("", None) else value in (True, "True")
    if col.kind == "count":
        return None if value in ("", None) else num(value)
    return num(value)


def _as_shown(col: Column, value: object) -> str:
    """The text of an exported value (already in the column's unit: no second scaling)."""
    return dataclasses.replace(col, percent=False, decimals=col.places).text(value)


def _drop_folds(text: str) -> str:
    """A mean ± SD without its '(k/K)' (the export carries k; K is the table's)."""
    return text.split(" (")[0] if "±" in text else text


def _csv_json_agree(table: ResultTable, path, js: dict) -> int:
    """The CSV file and the JSON of a table hold the table's headers and, cell by cell,
    raw values that read as the table; returns the number of cells checked."""
    checked = 0
    texts = table.texts()
    # the CSV: the same headers (one per part), raw numbers that read as the table
    text = path.read_text(encoding="utf-8")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    assert lines[0] == table.export_header()
    i = 0
    for col in table.columns:  # each column's CSV headers are its title (+ its part)
        n = len(col.parts())
        assert all(h.startswith(col.title) for h in lines[0][i:i + n]), lines[0]
        i += n
    # the JSON of the command (its own computation of the same study)
    assert [c["title"] for c in js["columns"]] == table.headers()
    assert js["footnotes"] == table.footnotes()
    assert len(js["rows"]) == len(texts) == len(lines) - 1
    for line, rec, shown in zip(lines[1:], js["rows"], texts, strict=True):
        i = 0
        for col, cell in zip(table.columns, shown, strict=True):
            n = len(col.parts())
            from_csv = _as_shown(col, _rebuild(col, line[i:i + n]))
            i += n
            raw = rec[col.key]
            parts = [raw[p] for p, _ in col.parts()] if n > 1 else [raw]
            from_json = _as_shown(col, _rebuild(col, parts))
            if col.kind == "mean_sd":
                from_csv, from_json, cell = (_drop_folds(from_csv), _drop_folds(from_json),
                                             _drop_folds(cell))
            assert from_csv.lstrip("'") == cell, (table.name, col.title, line)
            # JSON writes an undefined number (NaN) as null
            assert from_json == cell or (cell == "n/a" and from_json in ("", "n/a")), (
                table.name, col.title, rec)
            checked += 1
    return checked


def test_every_table_reads_the_same_in_every_renderer(study, tmp_path, qtbot):
    ws = study
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "report", "s", "--out",
                                   str(tmp_path / "rep"), "--include-simulated", "--json"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    d = DashboardWidget(ws, "s")
    qtbot.addWidget(d)
    d.sim_box.setChecked(True)
    with qtbot.waitSignal(d.comparison_ready, timeout=60_000):
        d.activate()
    comp = d.comparison
    tables = comparison_tables(comp)
    assert [t.name for t in tables] == list(CSV_FILES)
    write_report(comp, tmp_path / "again")  # the same comparison the dashboard shows
    parser = _HtmlTables()
    parser.feed((tmp_path / "again" / "report.html").read_text(encoding="utf-8"))
    tabs = {d.tabs.tabText(i): d.tabs.widget(i) for i in range(d.tabs.count())}
    assert set(GUI_ORDER) == {t.name for t in tables}
    checked = 0
    for table in tables:
        head, texts = [_norm(h) for h in table.headers()], table.texts()
        assert texts, table.name
        # the dashboard: its tab's table, and its note under the tabs
        w = tabs[table.tab]
        gui_head = [_norm(w.horizontalHeaderItem(c).text()) for c in range(w.columnCount())]
        gui = [[_norm(w.item(r, c).text()) for c in range(w.columnCount())]
               for r in range(w.rowCount())]
        assert (gui_head, gui) == (head, [[_norm(t) for t in r] for r in texts]), table.name
        d.tabs.setCurrentWidget(w)
        QApplication.processEvents()
        shown_note = _norm(unescape(d.table_note.text()))
        assert all(_norm(n) in shown_note for n in table.footnotes()), table.name
        # the HTML page
        html_head, html_rows, html_notes = parser.tables[table.name]
        assert (html_head, html_rows) == (head, [[_norm(t) for t in r] for r in texts])
        assert html_notes == [_norm(n) for n in table.footnotes()], table.name
        # the PDF
        pdf_head, pdf_rows, pdf_notes = _pdf_cells(table)
        assert (pdf_head, pdf_rows) == (head, [[_norm(t) for t in r] for r in texts])
        assert pdf_notes == [_norm(n) for n in table.footnotes()], table.name
        # the CSV and the JSON of the command (its own computation of the same study)
        checked += _csv_json_agree(table, tmp_path / "again" / CSV_FILES[table.name],
                                   data["tables"][table.name])
    assert checked > 300
    # the two reports (command and dashboard) hold the same numbers
    for fname in CSV_FILES.values():
        assert (tmp_path / "rep" / fname).read_text() == (tmp_path / "again" / fname).read_text()
    assert not math.isnan(comp.mrmc.readers_rating.auc)


def test_every_audit_table_reads_the_same_in_every_renderer(ws, tmp_path, qtbot):
    """Calibration, subgroup and confound tables, and Table 4 with the trivial baseline: the
    dashboard's Audit tab, the CSVs, the HTML, the PDF and --json agree cell by cell."""
    subjects = make_cropped_study(ws)
    add_run(ws, "c", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    for i, name in enumerate(["Dr A", "Dr B"]):
        add_reader(ws, "c", name, synthetic_ratings(subjects, seed=i, skill=1.0 + 0.3 * i))
    res = CliRunner().invoke(cli, ["--workspace", str(ws.root), "report", "c", "--out",
                                   str(tmp_path / "rep"), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    d = DashboardWidget(ws, "c")
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.comparison_ready, timeout=60_000):
        d.activate()
    comp = d.comparison
    assert data["baseline_warning"] == comp.audit.warning
    if comp.audit.warning:  # in words on the Audit tab, named in the banner above the plot
        assert _norm(d.audit.warning.text()) == _norm(html_escape(comp.audit.warning))
        assert "A trivial baseline (AUC" in d.banner.text() and not d.audit.warning.isHidden()
    tables = audit_tables(comp)
    assert [t.name for t in tables] == list(AUDIT_ORDER)
    write_report(comp, tmp_path / "again")
    parser = _HtmlTables()
    parser.feed((tmp_path / "again" / "report.html").read_text(encoding="utf-8"))
    assert d.tabs.tabText(d.tabs.indexOf(d.audit)) == AUDIT_TAB
    table4 = table_map(comp)["table4"]
    assert table4.rows[-1][0] == BASELINE_LABEL
    checked = 0
    for table in (table4, *tables):
        head, texts = [_norm(h) for h in table.headers()], table.texts()
        assert texts, table.name
        if table.name == "table4":
            w = {d.tabs.tabText(i): d.tabs.widget(i) for i in range(d.tabs.count())}[table.tab]
            csv_path = tmp_path / "again" / CSV_FILES["table4"]
        else:  # the Audit tab: one inner tab per table, its footnotes under it
            w = d.audit.sub[table.name]
            d.audit.select(table.name)
            QApplication.processEvents()
            note = _norm(unescape(d.audit.note.text()))
            assert all(_norm(n) in note for n in table.footnotes()), table.name
            csv_path = tmp_path / "again" / AUDIT_CSV_FILES[table.name]
        gui_head = [_norm(w.horizontalHeaderItem(c).text()) for c in range(w.columnCount())]
        gui = [[_norm(w.item(r, c).text()) for c in range(w.columnCount())]
               for r in range(w.rowCount())]
        assert (gui_head, gui) == (head, [[_norm(t) for t in r] for r in texts]), table.name
        html_head, html_rows, html_notes = parser.tables[table.name]
        assert (html_head, html_rows) == (head, [[_norm(t) for t in r] for r in texts])
        assert html_notes == [_norm(n) for n in table.footnotes()], table.name
        pdf_head, pdf_rows, pdf_notes = _pdf_cells(table)
        assert (pdf_head, pdf_rows) == (head, [[_norm(t) for t in r] for r in texts])
        assert pdf_notes == [_norm(n) for n in table.footnotes()], table.name
        checked += _csv_json_agree(table, csv_path, data["tables"][table.name])
        assert csv_path.read_text() == (tmp_path / "rep" / csv_path.name).read_text()
    assert checked > 500
