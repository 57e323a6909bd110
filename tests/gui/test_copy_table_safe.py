"""Copy table puts text on the clipboard that a spreadsheet pastes as data, not formulas."""

from __future__ import annotations

from PySide6.QtWidgets import QTableWidgetItem

from wbsdesk.gui.tables import make_table, table_tsv


def test_copied_cells_that_a_spreadsheet_would_run_get_a_leading_quote(qtbot):
    t = make_table(["Reader", "AUC", "Change"])
    qtbot.addWidget(t)
    rows = [('=HYPERLINK("http://x","y")', "0.81", "-0.05"), ("@SUM(A1)", "0.70", "+0.02"),
            ("Dr. A", "n/a", "-1+1")]
    for values in rows:
        r = t.rowCount()
        t.insertRow(r)
        for c, v in enumerate(values):
            t.setItem(r, c, QTableWidgetItem(v))
    lines = table_tsv(t).splitlines()
    assert lines[0] == "Reader\tAUC\tChange"
    assert lines[1] == "'=HYPERLINK(\"http://x\",\"y\")\t0.81\t-0.05"  # numbers stay numbers
    assert lines[2] == "'@SUM(A1)\t0.70\t+0.02"
    assert lines[3] == "Dr. A\tn/a\t'-1+1"
