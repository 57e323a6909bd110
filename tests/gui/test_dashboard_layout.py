"""What a user sees in the default window: the Dashboard's legend, tables, flags and caveats,
one colour and name per architecture everywhere, and the Studies view following the wizard."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QTableWidget

from tests.gui.test_dashboard import _add_demo_run
from tests.gui.wizard_data import NEXT, protocol_file
from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.core.architectures import arch_color
from wbsdesk.gui.dashboard import DashboardWidget
from wbsdesk.gui.dashboard_notes import NotesLabel
from wbsdesk.gui.dashboard_triage import TriageWidget
from wbsdesk.gui.loss_plot import LossPlotWidget
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.studies_view import StudiesWidget
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.studies import load_study

#: The window's size when it opens.
DEFAULT = (1200, 760)


@pytest.fixture
def run_ws(demo_ws):
    """The demo workspace (synthetic, simulated readers) with a finished run."""
    _add_demo_run(demo_ws)
    return demo_ws


def _dashboard_window(qtbot, ws, study: str = "demo") -> MainWindow:
    w = MainWindow(ws, study, admin=True, fullscreen_reader=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.dashboard.comparison_ready, timeout=30_000):
        w.open_view("Dashboard")
    QApplication.processEvents()
    return w


def _in_window(widget, window, rect: QRect) -> QRect:
    return QRect(widget.mapTo(window, rect.topLeft()), rect.size())


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _check_table_fits(t: QTableWidget, unit: int, tab: str) -> None:
    """At least 8 one-line rows visible (8 rows whole, or all of a shorter table), every
    column inside, no text elided."""
    assert t.viewport().height() >= 8 * unit, tab
    whole = [r for r in range(t.rowCount())
             if t.rowViewportPosition(r) + t.rowHeight(r) <= t.viewport().height()]
    assert len(whole) >= min(8, t.rowCount()), f"{tab}: only {len(whole)} rows show"
    header = t.horizontalHeader()
    widths = [header.sectionSize(c) for c in range(t.columnCount())]
    assert sum(widths) <= t.viewport().width(), f"{tab}: cut off at the right"
    assert not t.horizontalScrollBar().isVisible(), tab
    hfm, fm = header.fontMetrics(), t.fontMetrics()
    for c, width in enumerate(widths):
        head = t.horizontalHeaderItem(c).text()
        assert width >= max(hfm.horizontalAdvance(x) for x in _lines(head)) + 4, (tab, head)
        for r in range(t.rowCount()):
            cell = t.item(r, c).text() if t.item(r, c) else ""
            assert width >= max(fm.horizontalAdvance(x) for x in _lines(cell)) + 4, (tab, cell)


def test_the_default_window_shows_the_legend_beside_the_plot_and_whole_tables(qtbot, run_ws):
    w = _dashboard_window(qtbot, run_ws)
    assert (w.width(), w.height()) == DEFAULT
    d = w.dashboard
    # the busy bar shown while computing once pushed the window to 1292 px, for good
    d.busy.show()
    assert w.minimumSizeHint().width() <= DEFAULT[0]
    d.busy.hide()
    plot = d.roc.plot.getPlotItem()
    # no legend drawn over the curves; the curve list beside the plot is the legend
    assert plot.legend is None or not plot.legend.isVisible()
    vb_scene = plot.vb.sceneBoundingRect()
    vb = _in_window(d.roc.plot, w, d.roc.plot.mapFromScene(vb_scene).boundingRect())
    legend = _in_window(d.roc.curve_list, w, d.roc.curve_list.rect())
    assert vb.width() > 400 and vb.height() > 150
    assert not vb.intersects(legend)
    lst = d.roc.curve_list
    line = lst.fontMetrics().lineSpacing()
    for i in range(lst.count()):  # every entry whole: inside the list, two lines, no wrap
        rect = lst.visualItemRect(lst.item(i))
        assert lst.viewport().rect().contains(rect), lst.item(i).text()
        assert rect.height() < 3 * line, lst.item(i).text()
    # each table shows 8 rows or more, is not cut off and elides nothing
    t4 = d.table("Table 4 · models")
    unit = t4.rowHeight(0)
    for i in range(d.tabs.count()):
        d.tabs.setCurrentIndex(i)
        QApplication.processEvents()
        t = d.tabs.widget(i)
        if isinstance(t, TriageWidget) or not isinstance(t, QTableWidget):
            continue  # the triage, audit and agreement tabs have their own layout tests
        _check_table_fits(t, unit, d.tabs.tabText(i))
        if d.tabs.tabText(i).startswith("Table 5"):
            assert "Table 5" in d.table_note.text() and d.table_note.isVisible()


def test_the_demo_opens_with_its_simulated_readers_clearly_flagged(qtbot, run_ws, tmp_path):
    w = _dashboard_window(qtbot, run_ws)
    d = w.dashboard
    comp = d.comparison
    assert d.sim_box.isChecked() and comp.simulated_included
    sims = [r for r in comp.readers if r.simulated]
    assert len(sims) == 4 and d.banner.isVisible()
    assert "Synthetic demo data" in d.banner.text()
    assert "4 simulated reader(s) included" in d.banner.text()
    legend = d.roc.legend_texts()
    # the models, the ensemble and the audit's trivial baseline each named with the AUC on
    # one line (the ensemble says what it is on a second), then the four simulated readers
    assert [x.split(" · ")[0] for x in legend[:4]] == ["ResNet-18", "MobileNet-V2", "Ensemble",
                                                        "Trivial baseline"]
    assert all("\n" not in x for x in (legend[0], legend[1], legend[3]))
    assert legend[2].split("\n")[1] == "mean of the models"
    assert all("simulated" in x.split("\n")[1] for x in legend[4:]) and len(legend) == 8
    t5 = d.table("Table 5 · readers")
    for r in range(t5.rowCount() - 1):  # the last row is the average
        assert t5.item(r, 1).text().endswith("· simulated"), t5.item(r, 1).text()
    # "Report written to …" stands beside the banner, which stays
    files = d.export_report(tmp_path / "report")
    assert d.banner.isVisible() and "Synthetic demo data" in d.banner.text()
    assert d.export_status.isVisible()
    assert d.export_status.text() == f"Report written to {files.out_dir}"
    # the exported plot carries the legend to the right of the axes
    width = d.roc.plot.width()
    png = d.export_plot(tmp_path / "roc.png")
    from PIL import Image

    with Image.open(png) as im:
        assert im.width > 2 * width * 1.2  # twice the pixels, and wider by the legend
    assert d.roc.plot.getPlotItem().geometry().width() <= width + 1  # put back
    # a user's choice is kept for the study
    d.sim_box.setChecked(False)
    d.reload()
    assert not d.sim_box.isChecked()


def test_caveats_are_visible_text_in_the_tables_words(qtbot, run_ws):
    d = DashboardWidget(run_ws, "demo")
    qtbot.addWidget(d)
    d.resize(*DEFAULT)
    d.show()
    d.sim_box.setChecked(False)
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.activate()
    QApplication.processEvents()
    assert not d.comparison.readers and not d.banner.text().count("simulated")
    shown = d.notes.text()
    assert d.notes.isVisible() and d.message.toolTip() == ""
    assert "4 simulated reader(s) left out" in shown
    assert "No reader is included" in shown
    assert "NaN" not in shown
    d.tabs.setCurrentIndex(1)
    assert d.table_note.isVisible() and "No reader is included" in d.table_note.text()


def test_many_notes_fold_away_and_undefined_values_read_n_a(qtbot):
    notes = NotesLabel()
    qtbot.addWidget(notes)
    notes.set_notes(["1 reader(s) whose session is not finished left out: Dr C."], [
        "Precision of fold 1 is undefined (zero denominator) and is reported as NaN.",
        "Reader 'Dr A' has no rating for 1 of 40 photo(s): S001.",
        "No reader is included: this comparison holds the models only."])
    assert not notes.isHidden()
    shown = notes.text()
    # the caveats that change the meaning come first and stay on screen
    assert "session is not finished left out: Dr C" in shown
    assert "No reader is included" in shown and "Precision" not in shown
    assert "2 more note(s)" in shown
    notes.linkActivated.emit("more")
    assert len(notes.shown_notes()) == 4
    assert "NaN" not in notes.text() and "is shown as n/a" in notes.text()
    notes.linkActivated.emit("less")
    assert len(notes.shown_notes()) == 2


def _real_study(ws) -> None:
    """A real (not synthetic) study: two physicians, one unfinished, one simulated reader."""
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["mobilenet_v2", "resnet18"]))
    for i, name in enumerate(("Dr A", "Dr B")):
        add_reader(ws, "s", name, synthetic_ratings(subjects, seed=i + 1))
    add_reader(ws, "s", "Dr C", synthetic_ratings(subjects, seed=5), finished=False)
    add_reader(ws, "s", "Sim 1", synthetic_ratings(subjects, seed=6), simulated=True)


def test_a_real_study_keeps_simulated_readers_out_and_says_who_was_left_out(qtbot, ws):
    _real_study(ws)
    d = DashboardWidget(ws, "s")
    qtbot.addWidget(d)
    d.resize(*DEFAULT)
    d.show()
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.activate()
    assert not d.sim_box.isChecked() and not d.banner.isVisible()
    assert [r.label for r in d.comparison.readers] == ["Dr A", "Dr B"]
    notes = d.notes.text()
    assert d.notes.isVisible()
    assert "1 simulated reader(s) left out: Sim 1" in notes
    assert "1 reader(s) whose session is not finished left out: Dr C" in notes
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.sim_box.setChecked(True)
    assert d.banner.isVisible() and "1 simulated reader(s) included" in d.banner.text()
    t5 = d.table("Table 5 · readers")
    roles = {t5.item(r, 0).text(): t5.item(r, 1).text() for r in range(t5.rowCount())}
    assert roles["Sim 1 (sim)"] == "pediatrician · simulated"
    assert roles["Dr A"] == "pediatrician"


def _pen_color(item) -> str:
    return item.opts["pen"].color().name().upper()


def test_each_architecture_has_one_colour_and_name_everywhere(qtbot, ws):
    _real_study(ws)  # mobilenet_v2 is trained first: the order does not pick the colour
    d = DashboardWidget(ws, "s")
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.activate()
    roc = {}
    for item in d.roc.plot.getPlotItem().listDataItems():
        name = item.name() or ""
        if name.startswith(("ResNet-18", "MobileNet-V2")):
            roc[name.split(":")[0]] = _pen_color(item)
    assert roc == {"ResNet-18": arch_color("resnet18"),
                   "MobileNet-V2": arch_color("mobilenet_v2")}
    loss = LossPlotWidget()
    qtbot.addWidget(loss)
    loss.set_losses({"resnet18": {1: [0.7, 0.6]}, "mobilenet_v2": {1: [0.8, 0.5]}})
    named = {i.name(): _pen_color(i) for i in loss.plot.getPlotItem().listDataItems()}
    assert named == {"ResNet-18": roc["ResNet-18"], "MobileNet-V2": roc["MobileNet-V2"]}
    # the report's figure draws them in the same colours (see test_report_render), and the
    # Training view names them the same way
    from wbsdesk.gui.training_view import TrainingViewWidget

    tv = TrainingViewWidget(ws, "s")
    qtbot.addWidget(tv)
    assert tv.runs_table.item(0, 2).text() == "MobileNet-V2\nResNet-18"  # one per line
    assert "MobileNet-V2, ResNet-18" in tv.details_label.text()
    assert "1 epochs" in tv.details_label.text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = build_comparison(ws, "s")
    assert [m.label for m in comp.models] == ["MobileNet-V2", "ResNet-18", "Ensemble"]


def test_the_empty_loss_plot_has_whole_epochs_and_no_empty_legend(qtbot):
    loss = LossPlotWidget()
    qtbot.addWidget(loss)
    loss.resize(600, 300)
    loss.show()
    QApplication.processEvents()
    axis = loss.plot.getPlotItem().getAxis("bottom")
    lo, hi = loss.plot.getPlotItem().vb.viewRange()[0]
    ticks = [v for _, values in axis.tickValues(lo, hi, 500) for v in values]
    assert ticks and all(float(v).is_integer() and v >= 1 for v in ticks), ticks
    assert not loss.legend.isVisible()
    loss.add_point("resnet18", 1, 1, 0.7)
    assert loss.legend.isVisible()
    loss.clear()
    assert not loss.legend.isVisible()


def test_the_studies_view_follows_the_wizard_and_fits_table_3(qtbot, ws, tmp_path):
    from wbsdesk.gui.runners import ThreadJob

    w = StudiesWidget(ws)
    qtbot.addWidget(w)
    w.resize(1050, 700)
    w.show()
    assert w.studies_table.rowCount() == 0
    wiz = w.make_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    page = wiz.study_page
    page.name_edit.setText("w1")
    page.set_protocol_file(protocol_file(tmp_path))
    wiz.button(NEXT).click()
    # the list behind the open wizard shows the new study, selected
    assert wiz.isVisible() and w.studies_table.rowCount() == 1
    assert w.studies_table.item(0, 0).text() == "w1" and w.study == "w1"
    # a job of the wizard ends (here: one adding a second study): the list follows
    job = ThreadJob(_create_other, ws.root, protocol_file(tmp_path, "other"), title="x")
    with qtbot.waitSignal(wiz.study_changed, timeout=30_000):
        wiz.keep_job(job)
        job.start()
    qtbot.waitUntil(lambda: not wiz.jobs)
    assert w.studies_table.rowCount() == 2
    assert sorted(w.studies_table.item(r, 0).text() for r in range(2)) == ["other", "w1"]
    assert w.study == "w1"
    wiz.shutdown()
    wiz.close()
    # Table 3 of a study with long group names: "Total" and every column fit
    _real_study(ws)
    w.refresh(select="s")
    QApplication.processEvents()
    t = w.folds_table
    header = t.horizontalHeader()
    widths = [header.sectionSize(c) for c in range(t.columnCount())]
    assert t.horizontalHeaderItem(t.columnCount() - 1).text() == "Total"
    assert sum(widths) <= t.viewport().width()
    for c, width in enumerate(widths):
        text = t.horizontalHeaderItem(c).text()
        assert width >= max(header.fontMetrics().horizontalAdvance(x)
                            for x in _lines(text)), text


def _create_other(root: Path, protocol: Path, *, progress, cancel) -> None:
    from wbsdesk.services.studies import create_study
    from wbsdesk.services.workspace import open_workspace

    with open_workspace(root) as other:
        create_study(other, "other", protocol)


def test_the_faces_page_does_not_send_the_user_to_the_command_line():
    from wbsdesk.gui.face_review import status_text
    from wbsdesk.services.face_review import FaceEntry

    fields = {f: None for f in FaceEntry.__dataclass_fields__}
    fields.update(status="not_aligned", excluded=False, reasons=("not_aligned",),
                  why="not aligned yet (run 'wbsdesk align')", method=None)
    text = status_text(FaceEntry(**fields))
    assert text == "not searched for a face yet"


def test_a_comparison_finishing_after_the_window_closed_touches_nothing(qtbot, run_ws):
    d = DashboardWidget(run_ws, "demo")
    qtbot.addWidget(d)
    d.shutdown()
    run_ws.store.close()  # what closing the window's workspace does
    d._on_succeeded(d.inputs(), object())  # queued from the job's thread: ignored
    d._on_finished()
    assert d.comparison is None


def test_every_curve_entry_is_readable_with_two_lines_of_notes(qtbot, demo_ws):
    """As in the demo after a quick training: weak models under the trivial baseline put a
    second line in the banner, a fold with undefined precision two lines of notes; the eight
    curve entries (models, ensemble, baseline, four simulated readers) still show whole in
    the list beside the plot, with no scrolling, at the default window."""
    study = load_study(demo_ws, "demo")
    folds = demo_ws.store.folds(study.id)
    photos = [p for p in demo_ws.store.photos(study.id)
              if p.is_primary and p.subject_id in folds]
    subj = {s.id: s for s in demo_ws.store.subjects(study.id)}
    subjects = {subj[p.subject_id].key: {"photo": p.id, "group": subj[p.subject_id].group,
                                         "fold": folds[p.subject_id]} for p in photos}
    rng = np.random.default_rng(3)  # models near chance: the baseline beats them
    probs = {a: {s["photo"]: float(rng.uniform(0.05, 0.95)) for s in subjects.values()}
             for a in ("resnet18", "mobilenet_v2")}
    for s in subjects.values():  # ResNet-18 calls no photo of fold 1 positive
        if s["fold"] == 1:
            probs["resnet18"][s["photo"]] = 0.2
    add_run(demo_ws, "demo", subjects, probs)
    w = _dashboard_window(qtbot, demo_ws)
    d = w.dashboard
    assert "beats the best CNN" in d.banner.text()
    assert d.banner.height() >= 2 * d.banner.fontMetrics().lineSpacing()
    assert any("undefined" in n for n in d.notes.shown_notes())
    assert d.notes.height() >= 2 * d.notes.fontMetrics().lineSpacing()  # as in the demo
    lst = d.roc.curve_list
    assert lst.count() == 8
    QApplication.processEvents()
    for i in range(lst.count()):
        rect = lst.visualItemRect(lst.item(i))
        assert lst.viewport().rect().contains(rect), (lst.item(i).text(), rect,
                                                      lst.viewport().rect())
    assert not lst.verticalScrollBar().isVisible()
