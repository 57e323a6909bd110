"""The PDF report's layout (reportlab): header rows repeat on every page, a heading never
stands alone at a page's foot, words are never broken, pages are numbered."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table

from wbsdesk.core.result_table import Column, Interval, ResultTable
from wbsdesk.services.report_pdf import (
    CELL_PAD,
    ReportDoc,
    register_fonts,
    report_styles,
    table_flowables,
)

NAN = float("nan")


def _long_table(rows: int = 120) -> ResultTable:
    cols = (Column("model", "Model", kind="text"), Column("reader", "Reader", kind="text"),
            Column("auc_a", "AUC model"), Column("auc_b", "AUC reader"),
            Column("difference", "Difference (model − reader)", kind="signed"),
            Column("ci", "95% CI", kind="interval"), Column("p", "p", kind="p_value"),
            Column("p_holm", "p (Holm)", kind="p_value"))
    data = [(f"Model {i}", f"Pediatric cardiologist {i % 4}", 0.8, 0.7, 0.1,
             Interval(-0.00004, 0.2), 0.0004, 1.0) for i in range(rows)]
    return ResultTable.build("long", "A long table of paired tests", cols, data,
                             ["A footnote."], sign_convention="model − reader")


def _build(tmp_path, story):
    register_fonts()
    doc = ReportDoc(tmp_path / "t.pdf", "test report")
    doc.build_numbered(story)
    return doc


def _flat(flow) -> list:
    """The flowables, those kept together listed one by one."""
    out = []
    for f in flow:
        out += _flat(f._content) if isinstance(f, KeepTogether) else [f]
    return out


def _text(cell) -> str:
    if isinstance(cell, list | tuple):  # a split table keeps a cell's flowables in a list
        return " ".join(_text(c) for c in cell)
    return cell.text if isinstance(cell, Paragraph) else str(cell)


def _first_row(table: Table) -> list[str]:
    return [_text(c) for c in table._cellvalues[0]]


@pytest.mark.parametrize("filler", [0, 20, 38, 41, 44, 47, 50, 53, 56])
def test_headings_stay_with_their_table_and_headers_repeat(tmp_path, filler):
    styles = report_styles()
    table = _long_table()
    room = 180 * 72 / 25.4
    story = [Paragraph(f"Filler line {i}.", styles["body"]) for i in range(filler)]
    story += table_flowables(table, room, styles, before=[Paragraph("Tables", styles["h2"])])
    story += table_flowables(_long_table(5), room, styles)
    doc = _build(tmp_path, story)
    placed = doc.placed
    headings = [(page, f) for page, f in placed
                if isinstance(f, Paragraph) and f.style.name in ("h2", "h3")]
    parts = [(page, f) for page, f in placed if isinstance(f, Table)]
    assert len(headings) == 3
    for page, heading in headings:
        nxt = next(p for p, f in placed[placed.index((page, heading)) + 1:]
                   if isinstance(f, Table))
        assert nxt == page, "a heading was left alone at the foot of a page"
    # the long table runs over several pages and every piece starts with the header row
    head = table.headers()
    pages = {page for page, _ in parts}
    assert len(parts) >= 3 and len(pages) >= 3
    for _, part in parts:
        assert _first_row(part) in (head, _long_table(5).headers())
    assert not any("-0.000" in str(c) for _, p in parts for row in p._cellvalues for c in row)


def test_no_word_is_broken_and_numbers_stay_on_one_line():
    register_fonts()
    styles = report_styles()
    table = _long_table(3)
    flow = _flat(table_flowables(table, 300.0, styles))  # narrow: headers must wrap
    (grid,) = [f for f in flow if isinstance(f, Table)]
    widths = grid._argW
    assert sum(widths) <= 300.0 + 1e-6
    wrapped = 0
    for row in grid._cellvalues:
        for cell, width in zip(row, widths, strict=True):
            if not isinstance(cell, Paragraph):
                continue
            cell.wrap(width - 2 * CELL_PAD, 1000)
            words = [w for line in cell.blPara.lines for w in line[1]]
            assert words == cell.text.split(), cell.text  # whole words only
            wrapped += len(cell.blPara.lines) > 1
    assert wrapped > 0  # "Difference (model − reader)" took two lines, word by word
    for row in grid._cellvalues[1:]:  # numbers: plain one-line strings
        assert all(isinstance(c, str) for c in row[2:])


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
def test_pages_are_numbered(tmp_path):
    styles = report_styles()
    story = [*table_flowables(_long_table(150), 500, styles), Spacer(1, 1)]
    _build(tmp_path, story)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "t.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    total = len([p for p in pages if p.strip()])
    assert total >= 3
    for n, page in enumerate(pages[:total], start=1):
        assert re.search(rf"Page {n} of {total}", page), page[-200:]
        if "Pediatric cardiologist" in page:  # a page of the table starts with its header
            assert page.index("AUC model") < page.index("Pediatric cardiologist")
