"""The Dashboard view: pickers, the job, tables that follow the sub-analysis, exports, lock."""

from __future__ import annotations

import warnings

import pytest
from PySide6.QtGui import QGuiApplication

from tests.services.test_analysis import add_run, synthetic_probs
from wbsdesk.gui import dialogs
from wbsdesk.gui.app import VIEWS
from wbsdesk.gui.dashboard import NO_RUN, DashboardWidget
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.services import admin
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.studies import load_study

T4 = "Table 4 · models"


def _add_demo_run(ws) -> str:
    study = load_study(ws, "demo")
    folds = ws.store.folds(study.id)  # practice subjects have none
    photos = [p for p in ws.store.photos(study.id) if p.is_primary and p.subject_id in folds]
    subj = {s.id: s for s in ws.store.subjects(study.id)}
    subjects = {subj[p.subject_id].key: {"photo": p.id, "group": subj[p.subject_id].group,
                                         "fold": folds[p.subject_id]} for p in photos}
    return add_run(ws, "demo", subjects,
                   synthetic_probs(subjects, ["resnet18", "mobilenet_v2"], seed=4))


@pytest.fixture
def run_ws(demo_ws):
    """The demo workspace with a synthetic finished run."""
    _add_demo_run(demo_ws)
    return demo_ws


def _expected(ws, controls: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_comparison(ws, "demo", include_simulated=True, controls=controls)


def _cell(table, row_label: str, header: str) -> str:
    cols = {table.horizontalHeaderItem(c).text().replace("\n", " "): c
            for c in range(table.columnCount())}
    for r in range(table.rowCount()):
        if table.item(r, 0).text().replace("\n", " ") == row_label:
            return table.item(r, cols[header]).text()
    raise KeyError(row_label)


def _open(qtbot, ws, *, simulated: bool = True) -> DashboardWidget:
    d = DashboardWidget(ws, "demo")
    qtbot.addWidget(d)
    d.sim_box.setChecked(simulated)
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.activate()
    assert d.job is None or not d.job.running
    return d


def _switch(qtbot, d: DashboardWidget, controls: str) -> None:
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.set_controls(controls)


def test_the_dashboard_follows_the_sub_analysis_exactly(qtbot, run_ws):
    d = _open(qtbot, run_ws)
    assert d.run_combo.count() == 1 and d.sim_box.isChecked()
    controls = load_study(run_ws, "demo").protocol.groups.controls
    assert [d.controls_combo.itemData(i) for i in range(d.controls_combo.count())] == [
        "all", *controls]
    labels = d.roc.curve_labels()
    assert labels[:3] == ["ResNet-18", "MobileNet-V2", "Ensemble"]
    # the audit's trivial baseline (the demo has crops) is drawn beside the CNNs
    assert labels[3] == "Trivial baseline"
    assert len(labels) == 8 and all(x.endswith("(sim)") for x in labels[4:])
    seen = {}
    for controls in ("all", "healthy", "other_syndrome"):
        if controls != "all":
            job_started = d.job
            _switch(qtbot, d, controls)
            assert job_started is None
        comp = _expected(run_ws, controls)
        assert d.comparison.controls == controls
        t4 = d.table(T4)
        m = comp.model("resnet18")
        assert _cell(t4, "ResNet-18", "Pooled AUC") == f"{m.roc.auc:.3f}"
        s = m.summary
        assert _cell(t4, "ResNet-18", "Specificity %") == (
            f"{100 * s.mean['specificity']:.1f} ± {100 * s.sd['specificity']:.1f}")
        r = comp.readers[0]
        t5 = d.table("Table 5 · readers")
        assert _cell(t5, r.label, "AUC % (rating)") == f"{100 * r.rating_roc.auc:.1f}"
        assert d.table("Table 1").item(0, 1).text() == str(comp.table1.target.n)
        seen[controls] = (_cell(t4, "ResNet-18", "Pooled AUC"), comp.counts["controls"])
    assert len({v[1] for v in seen.values()}) == 3  # three different control sets
    # back to a computed choice: from the cache, no job
    d.set_controls("all")
    assert d.job is None and d.comparison.controls == "all"
    assert _cell(d.table(T4), "ResNet-18", "Pooled AUC") == seen["all"][0]


def test_plot_readout_toggles_copy_and_exports(qtbot, run_ws, tmp_path):
    d = _open(qtbot, run_ws)
    comp = d.comparison
    m = comp.model("resnet18")
    k = len(m.roc.fpr) // 2
    text = d.roc.readout_at(float(m.roc.fpr[k]), float(m.roc.tpr[k]))
    assert "sensitivity" in text and "specificity" in text and "≥" in text
    d.roc.set_curve_visible("ResNet-18", False)
    d.roc.set_curve_visible("MobileNet-V2", False)
    d.roc.set_curve_visible("Ensemble", False)
    for label in d.roc.curve_labels()[3:]:
        d.roc.set_curve_visible(label, False)
    assert d.roc.readout_at(float(m.roc.fpr[k]), float(m.roc.tpr[k])) == ""
    d.roc.aspect_box.setChecked(True)
    assert d.roc.plot.getPlotItem().vb.state["aspectLocked"] == 1.0
    # sorting by a column keeps numbers as numbers; Copy gives the table as shown
    d.tabs.setCurrentIndex(0)
    t4 = d.table(T4)
    t4.sortItems(7)
    tsv = d.copy_table()
    assert QGuiApplication.clipboard().text() == tsv
    lines = tsv.splitlines()
    assert lines[0].startswith("Model\tAccuracy %")
    assert len(lines) == 1 + len(comp.models) + 1  # and the trivial baseline's row
    aucs = [float(x.split("\t")[7]) for x in lines[1:]]
    assert aucs == sorted(aucs)
    files = d.export_report(tmp_path / "report")
    assert {"html", "pdf", "figure_png", "figure_svg"} <= set(files.files)
    assert all(p.is_file() and p.stat().st_size > 0 for p in files.files.values())
    assert len(list((tmp_path / "report").glob("*.csv"))) >= 5
    png = d.export_plot(tmp_path / "roc.png")
    svg = d.export_plot(tmp_path / "roc.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:2000]


def test_no_run_says_what_to_do(qtbot, demo_ws):
    d = DashboardWidget(demo_ws, "demo")
    qtbot.addWidget(d)
    d.activate()
    assert d.job is None and d.comparison is None
    assert NO_RUN in d.message.text() and not d.report_button.isEnabled()


def test_the_dashboard_is_locked_without_the_passphrase(qtbot, run_ws, monkeypatch):
    admin.set_passphrase(run_ws, "open sesame")
    w = MainWindow(run_ws, "demo")
    qtbot.addWidget(w)
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, **kw: None)
    assert w.open_view("Dashboard") is False and w.current_view == "lock"
    assert w.dashboard.job is None and w.dashboard.comparison is None  # nothing computed
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, **kw: "open sesame")
    with qtbot.waitSignal(w.dashboard.comparison_ready, timeout=30_000):
        assert w.open_view("Dashboard") is True
    assert w.current_view == "Dashboard"
    w.lock()
    assert w.current_view == "lock"


def test_the_screenshot_view_waits_for_the_comparison(qtbot, run_ws, tmp_path):
    w = MainWindow(run_ws, admin=True, fullscreen_reader=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    VIEWS["dashboard"](w, "demo")
    d = w.dashboard
    assert w.current_view == "Dashboard" and d.comparison is not None
    assert d.comparison.simulated_included and d.sim_box.isChecked()
    assert d.banner.isVisibleTo(w) and "simulated reader(s) included" in d.banner.text()
    shot = tmp_path / "d.png"
    assert w.grab().save(str(shot), "PNG") and shot.stat().st_size > 10_000


def test_the_triage_tab_ranks_photos_and_opens_them(qtbot, run_ws):
    from PySide6.QtCore import Qt

    from wbsdesk.gui.dashboard import TRIAGE_TAB
    from wbsdesk.services.triage import disagreements

    d = _open(qtbot, run_ws)
    d.show()
    tab = d.table(TRIAGE_TAB)
    assert tab is d.triage
    expected = disagreements(run_ws, d.comparison)
    t = d.triage.table
    assert t.rowCount() == len(expected) == min(50, d.comparison.paired.size) > 0
    headers = [t.horizontalHeaderItem(c).text().replace("\n", " ")
               for c in range(t.columnCount())]
    assert headers[:4] == ["#", "Subject", "Truth", "Disagreement"]
    assert "P Ensemble" in headers and headers[-1].endswith("(sim)")
    assert [t.item(r, 1).text() for r in range(t.rowCount())] == [
        e["subject"] for e in expected]
    assert not t.item(0, 0).icon().isNull()  # the crop thumbnail
    reader = expected[0]["readers"][0]
    assert t.item(0, headers.index(reader["label"])).text() == (
        f"{reader['rating']} · {reader['response_s']:.1f} s")
    d.tabs.setCurrentWidget(d.triage)
    assert "Disagreement triage" in d.table_note.text()
    assert d.copy_table().splitlines()[1].split("\t")[1] == expected[0]["subject"]
    # double-click opens the photo large, non-modal
    rect = t.visualItemRect(t.item(1, 1))
    qtbot.mouseClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(t.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(d.triage.windows) == 1
    window = d.triage.windows[0]
    assert window.isVisible() and not window.isModal()
    assert expected[1]["subject"] in window.windowTitle()
    assert not window.image.pixmap().isNull()
    # Grad-CAM runs in a worker thread; this run has no checkpoints: a clear message
    t.selectRow(0)
    assert d.triage.gradcam_button.isEnabled()
    with qtbot.waitSignal(d.triage.overlay_failed, timeout=60_000) as failed:
        d.triage.gradcam_button.click()
    assert "no finished fold model" in failed.args[0]
    qtbot.waitUntil(lambda: d.triage.job is None)
    # the tab follows the sub-analysis
    _switch(qtbot, d, "healthy")
    groups = {d.triage.table.item(r, 2).text() for r in range(d.triage.table.rowCount())}
    assert groups <= {"wbs", "healthy"}
    assert d.triage.rows == disagreements(run_ws, d.comparison)
