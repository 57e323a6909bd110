"""The dashboard's "Aided vs unaided" tab, on simulated aided reads."""

from __future__ import annotations

from tests.gui.aided_study import make_aided_study
from wbsdesk.gui.dashboard_aided import AidedTabWidget, has_aided_sessions
from wbsdesk.services import reading
from wbsdesk.services.analysis_aided import build_aided_comparison
from wbsdesk.services.simulated_aided import add_simulated_aided_reads


def test_the_tab_shows_design_aid_harmed_readers_slopes_and_tables(ws, tmp_path, qtbot):
    make_aided_study(ws, tmp_path, n=30)
    assert not has_aided_sessions(ws, "tiny")
    reading.add_simulated_readers(ws, "tiny", seed=3)
    add_simulated_aided_reads(ws, "tiny", seed=3)
    assert has_aided_sessions(ws, "tiny")
    tab = AidedTabWidget(ws)
    qtbot.addWidget(tab)
    tab.show_study("tiny", include_simulated=False)
    tab.wait_until_ready()
    assert tab.comparison is None and "needs at least 2 readers" in tab.header.text()
    tab.show_study("tiny", include_simulated=True)
    tab.wait_until_ready()
    comp = tab.comparison
    ref = build_aided_comparison(ws, "tiny", include_simulated=True)
    assert [t.difference for t in comp.tests] == [t.difference for t in ref.tests]
    text = tab.header.text()
    assert "SIMULATED readers" in text and "Design:" in text and "sequential" in text
    assert "Washout:" in text and "Aid:</b> run run1, model ensemble" in text
    assert "Harmed readers:</b>" in text
    assert f">{', '.join(comp.harmed) or 'none (no reader'}" in text
    assert [name for name, *_ in tab.plot.lines] == [r.reader for r in comp.readers]
    assert [h for *_, h in tab.plot.lines] == [r.harmed for r in comp.readers]
    m = tab.sub["aided_modalities"]
    assert m.rowCount() == 3 and m.item(0, 0).text() == "AUC"
    col = [" ".join(m.horizontalHeaderItem(j).text().split())
           for j in range(m.columnCount())].index("Difference (aided − unaided)")
    assert m.item(0, col).text() == f"{comp.tests[0].difference:+.3f}"
    # the summary's wording of benefit or harm follows the CI of the difference
    auc = comp.tests[0]
    wording = ("lower with the aid" if auc.ci_high < 0 else "higher with the aid"
               if auc.ci_low > 0 else "no clear change")
    assert wording in tab.summary.text()
    assert tab.sub["aided_readers"].rowCount() == 4
    assert tab.sub["aided_timing"].item(1, 0).text() == "aided"


def test_the_dashboard_adds_the_tab_for_an_aided_study_and_its_report_has_the_section(
        ws, tmp_path, qtbot):
    from wbsdesk.gui.dashboard import DashboardWidget
    from wbsdesk.gui.dashboard_aided import AIDED_TAB

    make_aided_study(ws, tmp_path, n=30)
    reading.add_simulated_readers(ws, "tiny", seed=3)
    add_simulated_aided_reads(ws, "tiny", seed=3)
    d = DashboardWidget(ws, "tiny")
    qtbot.addWidget(d)
    d.sim_box.setChecked(True)
    with qtbot.waitSignal(d.comparison_ready, timeout=60_000):
        d.activate()
    names = [d.tabs.tabText(i) for i in range(d.tabs.count())]
    assert names[-1] == AIDED_TAB
    d.tabs.setCurrentIndex(len(names) - 1)
    d.aided.wait_until_ready()
    assert d.aided.comparison is not None and d.aided.comparison.simulated
    assert AIDED_TAB in d.table_note.text()
    files = d.export_report(tmp_path / "rep")
    assert "Aided vs unaided" in (files.out_dir / "report.html").read_text()
    d.shutdown()


def test_slope_chart_labels_are_whole_apart_and_inside_the_plot(ws, tmp_path, qtbot):
    """At the width the tab has in the default 1200x760 window, every reader's label shows
    the whole name, inside the plot, and no two labels overlap (names were cut before)."""
    make_aided_study(ws, tmp_path, n=30)
    reading.add_simulated_readers(ws, "tiny", seed=3)
    add_simulated_aided_reads(ws, "tiny", seed=3)
    tab = AidedTabWidget(ws)
    qtbot.addWidget(tab)
    tab.resize(1000, 600)
    tab.show()
    tab.show_study("tiny", include_simulated=True)
    tab.wait_until_ready()
    qtbot.wait(200)  # the chart is laid out again once the plot has its size
    plot = tab.plot
    names = [r.reader for r in tab.comparison.readers]
    assert max(len(n) for n in names) > 30  # "Simulated pediatric cardiologist 1"
    assert [lb.toPlainText() for lb in plot.labels] == names
    view = plot.getPlotItem().vb.sceneBoundingRect()
    rects = [lb.sceneBoundingRect() for lb in plot.labels]
    for name, r in zip(names, rects, strict=True):
        assert view.contains(r), (name, r, view)
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            # the text inside each box (a text item keeps a 4 px margin round its text)
            assert not a.adjusted(0, 4, 0, -4).intersects(b.adjusted(0, 4, 0, -4))
