"""The 'Plan a study' dialog: the same plan as the service, drawn; refusals clear the results."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication

from tests.services.test_planning import add_demo_run
from wbsdesk.gui.plan_dialog import PlanDialog
from wbsdesk.services.planning import make_plan, study_pilot


def compute(qtbot, dialog: PlanDialog) -> None:
    dialog.compute()
    if dialog.job is not None:
        with qtbot.waitSignal(dialog.job.finished, timeout=30_000):
            pass
    qtbot.waitUntil(lambda: dialog.job is None)


def test_the_demo_pilot_in_the_dialog(qtbot, demo_ws):
    add_demo_run(demo_ws)
    d = PlanDialog(demo_ws, "demo")
    qtbot.addWidget(d)
    assert d.source.currentData() == "study" and not d.design.isEnabled()
    compute(qtbot, d)
    expected = make_plan(study_pilot(demo_ws, "demo"))
    assert d.plan is not None and d.plan.to_dict() == expected.to_dict()
    headers, _ = d.table_rows()
    assert d.table.rowCount() == len(expected.rows) == 8
    assert [d.table.item(i, 0).text() for i in range(8)] == [str(r.readers)
                                                             for r in expected.rows]
    for i, r in enumerate(expected.rows):
        want = str(r.cases_needed) if r.cases_needed is not None else "never"
        assert d.table.item(i, 1).text() == want
    # one curve per number of readers, a marker at each K needed, the dashed target line
    assert len(d.legend.items) == 8 + 1
    assert "readers vs. the model" in d.summary.text().lower()
    assert "Simulated readers are included" in d.summary.text()
    text = d.copy_table()
    assert QGuiApplication.clipboard().text() == text
    assert text.splitlines()[0].split("\t") == headers


def test_typical_and_typed_and_refusals(qtbot, ws):
    d = PlanDialog(ws)  # no study: only the typical and typed sources
    qtbot.addWidget(d)
    assert [d.source.itemData(i) for i in range(d.source.count())] == ["typical", "typed"]
    d.readers.setText("3, 6")
    d.cases.setText("100")
    compute(qtbot, d)
    assert d.table.item(0, 1).text() == "never" and d.table.item(1, 1).text() == "251"
    assert d.table.horizontalHeaderItem(5).text() == "Power at 100"
    assert "Van Dyke" in d.summary.text()
    # a refused input clears what was on show and says why
    d.readers.setText("1")
    compute(qtbot, d)
    assert d.plan is None and d.table.rowCount() == 0 and not d.copy_button.isEnabled()
    assert "needs at least 2 readers" in d.message.text()
    d.source.setCurrentIndex(d.source.findData("typed"))
    assert d.typed_box.isVisibleTo(d)
    d.readers.setText("6")
    compute(qtbot, d)
    assert "Type a value for var_TR" in d.message.text()
    for key, value in (("var_tr", "0.00020040"), ("cov1", "0.00034661"),
                       ("cov2", "0.00034407"), ("cov3", "0.00023903"),
                       ("var_error", "-0.00080229")):
        d.typed[key].setText(value)
    d.pilot_cases.setValue(114)
    d.effect.setText("0.0438")
    compute(qtbot, d)
    assert "var_error is a variance and must be positive" in d.message.text()
    d.typed["var_error"].setText("0.00080229")
    compute(qtbot, d)
    assert d.message.text() == "" and d.table.item(0, 1).text() == "251"
    d.effect.setText("big")
    compute(qtbot, d)
    assert "Effect size: 'big' is not a number" in d.message.text()
    assert d.table.rowCount() == 0


@pytest.mark.parametrize("readers", ["4-x", "9-2"])
def test_bad_reader_text_is_refused(qtbot, ws, readers):
    d = PlanDialog(ws)
    qtbot.addWidget(d)
    d.readers.setText(readers)
    compute(qtbot, d)
    assert d.message.text().startswith("Cannot plan: Readers")


def test_dashboard_button_opens_the_dialog_on_its_study(qtbot, demo_ws):
    from wbsdesk.gui.dashboard import DashboardWidget

    dash = DashboardWidget(demo_ws)  # the demo study, no run yet
    qtbot.addWidget(dash)
    dash.plan_button.click()
    assert dash.plan_dialog.isVisible()
    assert dash.plan_dialog.source.findData("study") == -1  # no finished run: no pilot
    dash.plan_dialog.close()
    add_demo_run(demo_ws)
    dash.reload("demo")
    dash.plan_button.click()
    d = dash.plan_dialog
    assert d.source.currentData() == "study" and d.windowTitle() == "Plan a study — demo"
    compute(qtbot, d)
    assert d.table.rowCount() == 8 and "4 readers" in d.summary.text()
    dash.shutdown()
    assert not d.isVisible()
