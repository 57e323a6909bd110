"""The Dashboard names the run it shows with the settings it changed from the protocol, the
run picker tells each run's settings, and a second run can be shown beside the first."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.gui.dashboard import DashboardWidget
from wbsdesk.gui.roc_plot import LABEL_ROLE

#: demo.toml's learning rate, schedule and epochs (a run's stored spec holds every setting).
SAME = {"lr": 0.01, "lr_schedule": "cosine", "momentum": 0.9, "weight_decay": 1e-4}


def test_the_header_and_the_run_picker_show_the_runs_settings(qtbot, ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]), name="plain",
            spec={"input_px": 64, "batch_size": 16, "epochs": 8, **SAME})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"], seed=3), name="small",
            spec={"input_px": 32, "batch_size": 8, "epochs": 8, **SAME})
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    d = DashboardWidget(ws, "s")
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.activate()
    assert d.run_combo.currentData() == "small"  # the newest first
    text = d.message.text()  # the settings it changed; all of them in the picker's tooltip
    assert text.startswith("Run <b>small</b> (input 32 px (protocol 64 px), batch size 8 "
                           "(protocol 16)): ")
    i = d.run_combo.findData("plain")
    assert d.run_combo.itemData(i, Qt.ItemDataRole.ToolTipRole) == (
        "64 px · batch 16 · lr 0.01 · cosine · 8 epochs")
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.run_combo.setCurrentIndex(i)
    assert d.message.text().startswith("Run <b>plain</b>: ")  # the protocol's settings


def test_a_second_run_beside_the_first_shows_both_and_the_ensemble_across(qtbot, ws):
    from wbsdesk.services.analysis_runs import ACROSS_RUNS, build_runs_comparison
    from wbsdesk.services.result_tables import table_map

    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]),
            name="wide", spec={"input_px": 64, "batch_size": 16, "epochs": 8, **SAME})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"], seed=3), name="small",
            spec={"input_px": 32, "batch_size": 8, "epochs": 8, **SAME})
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    add_reader(ws, "s", "Dr B", synthetic_ratings(subjects, seed=2))
    d = DashboardWidget(ws, "s")
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.activate()
    assert d.comparison.run == "small" and d.compare_combo.currentData() is None
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.compare_combo.setCurrentIndex(d.compare_combo.findData("wide"))
    comp = d.comparison
    assert comp.run == "small + wide"
    assert d.message.text().startswith("Runs <b>small</b> (input 32 px (protocol 64 px), "
                                       "batch size 8 (protocol 16)); <b>wide</b>: ")
    # the Table 4 tab holds the rows the report has for the same two runs
    table = d.tabs.widget(0)
    shown = [table.item(r, 0).text().replace("\n", " ") for r in range(table.rowCount())]
    expected = table_map(build_runs_comparison(ws, "s", ["small", "wide"]))["table4"]
    assert shown == [r["model"] for r in expected.records()]
    assert shown[-1] == ACROSS_RUNS and "ResNet-18 · wide" in shown
    # the plot's curve list says what the black ensemble is, and shades the runs apart
    texts = [d.roc.curve_list.item(i).text() for i in range(d.roc.curve_list.count())]
    assert re.search(rf"{re.escape(ACROSS_RUNS)} · AUC \d\.\d{{3}}\nmean of the runs' ensembles",
                     "|".join(texts))
    colours = {d.roc.curve_list.item(i).data(LABEL_ROLE):
               d.roc.curve_list.item(i).foreground().color().name()
               for i in range(d.roc.curve_list.count())}
    assert colours["ResNet-18 · small"] != colours["ResNet-18 · wide"]
    # the triage's Grad-CAM offers every run's architectures, not the runs' ensembles
    combo = d.triage.arch_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [
        "resnet18@small", "resnet18@wide", "mobilenet_v2@wide"]
    # choosing the same run again is one run
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.compare_combo.setCurrentIndex(d.compare_combo.findData("small"))
    assert d.comparison.run == "small"


def test_gradcam_of_a_model_of_one_of_several_runs_uses_that_run(ws, monkeypatch):
    from wbsdesk.core.jobs import CancelToken
    from wbsdesk.gui import dashboard_triage

    calls = []
    monkeypatch.setattr(dashboard_triage, "gradcam_overlay",
                        lambda ws, study, run, photo_id, arch: calls.append((run, arch)))
    for arch in ("resnet18@wide", "vgg16"):
        dashboard_triage.compute_gradcam(ws.root, "s", "small + wide", 3, arch,
                                         progress=lambda p: None, cancel=CancelToken())
    assert calls == [("wide", "resnet18"), ("small + wide", "vgg16")]
