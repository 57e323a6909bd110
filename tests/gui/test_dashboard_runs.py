"""The Dashboard names the run it shows with its settings (those changed from the protocol
marked), and the run picker tells each run's settings."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.services.test_analysis import (
    add_reader,
    add_run,
    make_study,
    synthetic_probs,
    synthetic_ratings,
)
from wbsdesk.gui.dashboard import DashboardWidget

#: demo.toml's learning rate and schedule (a run's stored spec holds every setting).
SAME = {"lr": 0.005, "lr_schedule": "cosine", "momentum": 0.9, "weight_decay": 1e-4}


def test_the_header_and_the_run_picker_show_the_runs_settings(qtbot, ws):
    subjects = make_study(ws)
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"]), name="plain",
            spec={"input_px": 64, "batch_size": 16, "epochs": 3, **SAME})
    add_run(ws, "s", subjects, synthetic_probs(subjects, ["resnet18"], seed=3), name="small",
            spec={"input_px": 32, "batch_size": 8, "epochs": 3, **SAME})
    add_reader(ws, "s", "Dr A", synthetic_ratings(subjects, seed=1))
    d = DashboardWidget(ws, "s")
    qtbot.addWidget(d)
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.activate()
    assert d.run_combo.currentData() == "small"  # the newest first
    text = d.message.text()
    assert "Run <b>small</b> (32 px* · batch 8* · lr 0.005 · cosine · 3 epochs" in text
    assert "protocol: 64 px, batch 16)" in text
    i = d.run_combo.findData("plain")
    assert d.run_combo.itemData(i, Qt.ItemDataRole.ToolTipRole) == (
        "64 px · batch 16 · lr 0.005 · cosine · 3 epochs")
    with qtbot.waitSignal(d.comparison_ready, timeout=30_000):
        d.run_combo.setCurrentIndex(i)
    assert "Run <b>plain</b> (64 px · batch 16 · lr 0.005" in d.message.text()
    assert "*" not in d.message.text().split(":")[0]
