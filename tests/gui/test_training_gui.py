"""Training from the GUI: set-up panel, live panel, the Training view, cancel and resume."""

from __future__ import annotations

import pytest

from tests.gui.training_study import make_tiny_study
from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.gui import dialogs, file_dialogs, training_setup
from wbsdesk.gui.loss_plot import LossPlotWidget
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.runners import ProcessJob, ThreadJob
from wbsdesk.gui.training_panel import TrainingPanel, event_texts
from wbsdesk.gui.training_setup import TrainingSetupPanel


@pytest.fixture
def tiny(ws, tmp_path):
    make_tiny_study(ws, tmp_path)
    return ws


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch home: no ImageNet weight file is installed (job processes inherit it)."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def test_typed_events_feed_labels_and_the_loss_plot(qtbot, tiny):
    from wbsdesk.core.jobs import Progress
    from wbsdesk.core.train_events import TrainEvent

    ev = TrainEvent("training", "mobilenet_v2", 3, folds=5, epoch=12, epochs=100, step=4,
                    steps=9, loss=0.6931, eta_seconds=3720, state="running", units_done=2,
                    units_total=10)
    assert event_texts(ev) == ("MobileNet-V2 · fold 3 of 5 · epoch 12 of 100 — 2 of 10 units "
                               "done", "ETA 1 h 02 min")
    mid = TrainEvent("training", "resnet18", 1, folds=5, epoch=2, epochs=3, step=1, steps=4,
                     state="running")
    assert not mid.epoch_ended and event_texts(mid)[1] == "ETA: measuring…"
    assert event_texts(TrainEvent("decoding"))[0] == "Decoding crops"
    # The panel renders the fields: an epoch end adds a loss point, a finished unit makes
    # the Training view reload its runs (the unit is in the workspace already).
    panel = TrainingPanel(tiny)
    qtbot.addWidget(panel)
    panel.cancel_button.setEnabled(True)  # as while a run trains
    panel.run_name = "r1"
    panel._on_progressed(Progress(40, 100, "ignored text", event=ev))
    assert panel.where_label.text().startswith("MobileNet-V2 · fold 3 of 5 · epoch 12")
    assert panel.bar.value() == 400 and panel.eta_label.text() == "ETA 1 h 02 min"
    assert panel.loss_plot.points() == {("mobilenet_v2", 3): [(12, 0.6931)]}
    panel._on_progressed(Progress(41, 100, "", event=mid))  # mid-epoch: no loss point
    assert panel.loss_plot.points() == {("mobilenet_v2", 3): [(12, 0.6931)]}
    with qtbot.waitSignal(panel.unit_done, timeout=1000) as got:
        panel._on_progressed(Progress(50, 100, "", event=TrainEvent(
            "training", "resnet18", 1, folds=5, epoch=3, epochs=3, state="finished",
            units_done=3, units_total=10)))
    assert got.args == ["r1"]
    plot = LossPlotWidget()
    qtbot.addWidget(plot)
    plot.set_losses({"resnet18": {1: [0.7, 0.6], 2: [0.71]}})
    plot.add_point("resnet18", 2, 2, 0.5)
    plot.add_point("vgg16", 1, 1, 0.9)
    assert plot.points() == {("resnet18", 1): [(1, 0.7), (2, 0.6)],
                             ("resnet18", 2): [(1, 0.71), (2, 0.5)], ("vgg16", 1): [(1, 0.9)]}


def test_setup_panel_shows_weights_and_refuses_missing_imagenet(qtbot, tiny, torch_home):
    panel = TrainingSetupPanel(tiny)
    qtbot.addWidget(panel)
    panel.set_study("t")
    # the protocol's defaults: ResNet-18 only, 2 epochs, from scratch; all five offered
    assert panel.choices() == {"archs": ["resnet18"], "epochs": 2, "device": "auto",
                               "weights": "none", "settings": {}}
    assert set(panel.arch_boxes) >= {"vgg16", "vgg19", "resnet18", "resnet34", "mobilenet_v2"}
    with qtbot.waitSignal(panel.changed, timeout=5000):
        panel.weights_combo.setCurrentIndex(panel.weights_combo.findData("imagenet"))
    assert not panel.is_ready() and "Checking" in panel.problem_label.text()
    panel.show()  # the check of this computer starts when the panel is first shown
    qtbot.waitUntil(lambda: panel.environment is not None and not panel.busy(), timeout=90_000)
    assert "This computer:" in panel.device_label.text()
    assert "CPU (" in panel.device_label.text() or "GPU" in panel.device_label.text()
    assert panel.weight_labels["resnet18"].text() == \
        "ImageNet weights missing (resnet18-f37072fd.pth)"
    assert not panel.is_ready()
    assert "missing for resnet18" in panel.problem_label.text()
    assert panel.problem_label.isVisible()
    panel.weights_combo.setCurrentIndex(panel.weights_combo.findData("none"))
    assert panel.is_ready() and panel.problem_label.text() == ""
    panel.arch_boxes["resnet18"].setChecked(False)
    assert not panel.is_ready() and "at least one architecture" in panel.problem_label.text()


def test_import_weights_and_estimate_time(qtbot, tiny, torch_home, tmp_path, monkeypatch):
    import torch
    from torchvision import models

    monkeypatch.setattr(training_setup, "JOB_CLASS", ThreadJob)  # in-process: quicker
    weights = tmp_path / "resnet18-downloaded.pth"
    torch.save(models.resnet18(weights=None).state_dict(), weights)
    panel = TrainingSetupPanel(tiny)
    qtbot.addWidget(panel)
    panel.set_study("t")
    panel.weights_combo.setCurrentIndex(panel.weights_combo.findData("imagenet"))
    panel.show()
    qtbot.waitUntil(lambda: panel.environment is not None and not panel.busy(), timeout=60_000)
    assert not panel.is_ready()
    monkeypatch.setattr(file_dialogs.QFileDialog, "getOpenFileName",
                        lambda *a, **k: (str(weights), ""))
    panel.import_button.click()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=60_000)
    assert panel.weight_labels["resnet18"].text() == "ImageNet weights installed"
    assert (torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth").is_file()
    assert panel.is_ready() and "Installed the ImageNet weights of resnet18" in \
        panel.estimate_label.text()
    panel.estimate_button.click()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=60_000)
    text = panel.estimate_label.text()
    assert "Estimated time: " in text and " on CPU (" in text and "Measured per batch of 4" in text
    first = panel.estimate.seconds(["resnet18"], epochs=2)
    panel.epochs_spin.setValue(20)  # re-extrapolated without measuring again
    assert panel.estimate.seconds(["resnet18"], epochs=20) > first
    assert "× 20 epochs" in panel.estimate_label.text()
    panel.arch_boxes["vgg16"].setChecked(True)
    assert "press “Estimate time” again" in panel.estimate_label.text()
    panel.arch_boxes["vgg16"].setChecked(False)
    panel.settings_form.input_spin.setValue(48)  # timed at the protocol's size: not valid
    assert "Press “Estimate time”" in panel.estimate_label.text()
    panel.settings_form.reset()
    assert "Estimated time: " in panel.estimate_label.text()


def test_run_settings_in_the_setup_make_the_request_the_cli_makes(qtbot, tiny):
    from click.testing import CliRunner

    from wbsdesk.cli import cli
    from wbsdesk.core.training_request import setting_range

    panel = TrainingSetupPanel(tiny)
    qtbot.addWidget(panel)
    panel.set_study("t")
    form = panel.settings_form
    # the protocol's values are filled in; nothing is an override yet
    assert form.values() == {"input_px": 32, "batch_size": 4, "lr": 0.01,
                             "lr_schedule": "cosine"}
    assert panel.request().settings == RunSettings()
    assert "32 px · batch 4 · lr 0.01 · cosine · 2 epochs" in form.summary_label.text()
    # the fields are bounded by the one definition of the ranges, as the CLI's options
    assert (form.input_spin.minimum(), form.input_spin.maximum()) == setting_range("input_px")[:2]
    assert (form.batch_spin.minimum(), form.batch_spin.maximum()) == (2, 4096)
    assert form.lr_spin.minimum() > 0 and form.lr_spin.maximum() == setting_range("lr")[1]
    help_text = CliRunner().invoke(cli, ["train", "--help"]).output
    assert "[16<=x<=1024]" in help_text and "[2<=x<=4096]" in help_text
    form.input_spin.setValue(48)
    form.batch_spin.setValue(3)
    form.lr_spin.setValue(0.02)
    form.schedule_combo.setCurrentIndex(form.schedule_combo.findData("step"))
    panel.epochs_spin.setValue(5)
    request = panel.request()
    assert request == TrainRequest("t", archs=("resnet18",), settings=RunSettings(
        input_px=48, batch_size=3, lr=0.02, lr_schedule="step", epochs=5), device="auto",
        weights="none")
    assert panel.is_ready()
    assert form.summary_label.text() == (
        "This run: 48 px* · batch 3* · lr 0.02* · step* · 5 epochs* (* run setting; "
        "protocol: 32 px, batch 4, lr 0.01, cosine, 2 epochs)")
    form.reset_button.click()
    assert panel.request().settings == RunSettings(epochs=5)
    assert form.overrides() == {} and not form.reset_button.isEnabled()


def _loss_points(plot) -> int:
    return sum(len(v) for v in plot.points().values())


@pytest.fixture
def window(qtbot, tiny):
    """The main window on the tiny study; training is stopped before it closes."""
    w = MainWindow(tiny, study="t", admin=True)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.training.shutdown()


def test_cancel_then_resume_from_the_studies_view(qtbot, tiny, window, monkeypatch):
    monkeypatch.setattr(training_setup, "JOB_CLASS", ThreadJob)  # the set-up's check
    w = window
    assert w.open_view("Training")
    tv = w.training
    assert tv.runs_table.rowCount() == 0 and "New run" in tv.empty.text()
    tv.new_button.click()
    setup = tv.setup
    assert tv.pages.currentWidget() is tv.setup_page and setup.is_ready()
    setup.arch_boxes["resnet18"].setChecked(False)
    setup.arch_boxes["mobilenet_v2"].setChecked(True)  # small checkpoints: quick epochs
    setup.epochs_spin.setValue(10)
    setup.device_combo.setCurrentIndex(setup.device_combo.findData("cpu"))
    qtbot.waitUntil(lambda: not setup.busy(), timeout=60_000)
    assert tv.start_button.isEnabled()
    tv.start_button.click()
    panel = tv.panel
    assert panel.running() and isinstance(panel.job, ProcessJob)
    assert tv.pages.currentWidget() is panel and not tv.new_button.isEnabled()
    run = panel.run_name
    qtbot.waitUntil(lambda: _loss_points(panel.loss_plot) >= 1, timeout=60_000)  # an epoch is done
    assert "MobileNet-V2 · fold 1 of 2 · epoch" in panel.where_label.text()
    assert panel.bar.value() > 0 and "ETA" in panel.eta_label.text()
    assert [tv.runs_table.item(0, c).text() for c in (0, 1)] == [run, "running"]
    with qtbot.waitSignal(panel.cancelled, timeout=60_000) as sig:
        panel.cancel_button.click()
    assert sig.args == [run] and not panel.running()
    assert "Resume" in panel.message.text()
    row = [tv.runs_table.item(0, c).text() for c in range(tv.runs_table.columnCount())]
    assert row[0] == run and row[1] == "cancelled (resumable)" and row[3] == "0 of 2"
    assert "10 epochs* (* run setting; protocol: 2 epochs)" in row[4]  # the run's settings
    assert "10 epochs*" in tv.details_label.text()
    assert tv.resume_button.isEnabled() and "Cancelled" in tv.details_label.text()
    assert tiny.store.run(run).status == "cancelled"
    done_before = _loss_points(tv.details_plot)
    assert 1 <= done_before < 20

    assert w.open_view("Studies")
    studies = w.studies
    assert studies.resume_button.isEnabled() and run in studies.training_label.text()
    with qtbot.waitSignal(panel.finished, timeout=120_000) as sig:
        studies.resume_button.click()
        assert w.current_view == "Training" and panel.running()
        # the losses so far come from the run folder
        assert _loss_points(panel.loss_plot) >= done_before
        # a finished unit shows in the runs table while the run goes on
        qtbot.waitUntil(lambda: tv.runs_table.item(0, 3).text() == "1 of 2", timeout=120_000)
        assert panel.running() and tv.runs_table.item(0, 1).text() == "running"
    assert sig.args == [run]
    assert tiny.store.run(run).status == "finished"
    assert sorted(panel.loss_plot.points()) == [("mobilenet_v2", 1), ("mobilenet_v2", 2)]
    assert all(len(v) == 10 for v in panel.loss_plot.points().values())
    row = [tv.runs_table.item(0, c).text() for c in range(tv.runs_table.columnCount())]
    assert row[1] == "finished" and row[3] == "2 of 2" and row[6].startswith("MobileNet-V2 0.")
    assert not tv.resume_button.isEnabled() and tv.new_button.isEnabled()
    w.open_view("Studies")
    assert not studies.resume_button.isEnabled()


def test_closing_the_window_asks_and_then_cancels_training(qtbot, tiny, window, monkeypatch):
    answers = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: answers.pop(0))
    w = window
    w.open_view("Training")
    panel = w.training.panel
    panel.start(TrainRequest("t", archs=("mobilenet_v2",), settings=RunSettings(epochs=500),
                             device="cpu", weights="none"))
    qtbot.waitUntil(lambda: _loss_points(panel.loss_plot) >= 1, timeout=60_000)
    answers.append(False)
    w.close()
    assert w.isVisible() and panel.running()  # "Keep training"
    answers.append(True)
    w.close()
    assert not w.isVisible() and not panel.running()
    assert tiny.store.run(panel.run_name).status == "cancelled"


def test_a_run_trained_by_another_process_cannot_be_resumed_here(qtbot, tiny, window):
    from wbsdesk.services.run_lock import RunLock

    study = tiny.store.study("t")
    run_dir = tiny.root / "runs" / "t-cli"
    run_dir.mkdir(parents=True)
    with tiny.store.atomic():
        run_id = tiny.store.insert_run(
            study.id, name="t-cli", run_dir="runs/t-cli", archs=["resnet18"],
            protocol_json="{}", spec={"epochs": 2}, seed=7, device="cpu",
            versions={}, weights={}, demo=False)
        tiny.store.set_run_status(run_id, "running")
    w = window
    cli_process = RunLock(run_dir, "t-cli")  # as `wbsdesk train` holds it while it trains
    cli_process.acquire()
    try:
        assert w.open_view("Training")
        tv = w.training
        assert tv.runs_table.item(0, 1).text() == "running in another process"
        assert not tv.resume_button.isEnabled()
        assert "another process" in tv.details_label.text()
        w.open_view("Studies")
        assert not w.studies.resume_button.isEnabled()
    finally:
        cli_process.release()
    # the other process died without finishing: now it is an interrupted, resumable run
    w.open_view("Training")
    tv.refresh_runs()
    assert tv.runs_table.item(0, 1).text() == "interrupted (resumable)"
    assert tv.resume_button.isEnabled()
    w.open_view("Studies")
    assert w.studies.resume_button.isEnabled()
