"""The dashboard's "Agreement" tab: the demo's repeat reads and its readers' agreement."""

from __future__ import annotations

import html

from tests.gui.test_dashboard import _open, run_ws  # noqa: F401 (fixture)
from wbsdesk.gui.dashboard_agreement import AGREEMENT_TAB
from wbsdesk.services.agreement_tables import comparison_agreement


def test_the_agreement_tab_shows_the_comparisons_agreement_tables(qtbot, run_ws):  # noqa: F811
    d = _open(qtbot, run_ws)
    tabs = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    assert AGREEMENT_TAB in tabs
    d.tabs.setCurrentIndex(tabs.index(AGREEMENT_TAB))
    assert "first vs. repeat" in d.table_note.text()
    intra, inter = comparison_agreement(d.comparison)
    assert [row[0] for row in inter.rows] == ["Fleiss' kappa", "Kendall's W"]
    shown = d.agreement.sub
    assert set(shown) == {"agreement_intra", "agreement_inter"}
    assert shown["agreement_intra"].rowCount() == 4  # the demo's four simulated readers
    assert shown["agreement_inter"].rowCount() == 2
    for r, texts in enumerate(intra.texts()):
        assert [shown["agreement_intra"].item(r, c).text().replace("\n", " ")
                for c in range(len(texts))] == [t.replace("\n", " ") for t in texts]
    assert all(row[2] == 15 for row in intra.rows)  # 10 % of the demo's 150 photos
    labels = [w.text() for w in d.agreement.findChildren(type(d.table_note))]
    assert any(html.escape(intra.title) in t for t in labels)


def test_copy_table_on_the_agreement_tab_copies_both_tables(qtbot, run_ws):  # noqa: F811
    d = _open(qtbot, run_ws)
    tabs = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    d.tabs.setCurrentIndex(tabs.index(AGREEMENT_TAB))
    text = d.copy_table()
    intra, inter = comparison_agreement(d.comparison)
    assert text.startswith(intra.title + "\nReader\tRole\tRepeated photos\t")
    assert f"\n{inter.title}\nMeasure\tOf\t" in text
    lines = text.splitlines()  # title, header, 4 readers; a blank line; title, header, 2
    assert len(lines) == 11 and lines[6] == "" and len(lines[2].split("\t")) == 7


def test_copy_table_on_the_audit_tab_copies_the_audit_table_on_show(qtbot, run_ws):  # noqa: F811
    from wbsdesk.gui.dashboard_audit import AUDIT_TAB

    d = _open(qtbot, run_ws)
    tabs = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    d.tabs.setCurrentIndex(tabs.index(AUDIT_TAB))
    for i in range(d.audit.tables.count()):  # raised AttributeError before
        d.audit.tables.setCurrentIndex(i)
        inner = d.audit.tables.currentWidget()
        text = d.copy_table()
        if hasattr(inner, "rowCount"):
            assert len(text.splitlines()) == 1 + inner.rowCount()
            assert text.split("\t")[0] == inner.horizontalHeaderItem(0).text().replace(
                "\n", " ")
        else:
            assert text.strip() == inner.text().strip()
