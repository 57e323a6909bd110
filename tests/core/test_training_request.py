"""The typed training request, its run settings, and the typed progress event."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from wbsdesk.core.jobs import Progress
from wbsdesk.core.protocol import parse_protocol
from wbsdesk.core.train_events import TrainEvent, format_eta
from wbsdesk.core.training_request import RunSettings, TrainRequest, settings_text
from wbsdesk.errors import UserError

DEMO = parse_protocol((Path(__file__).resolve().parents[2] / "study_protocols" /
                       "demo.toml").read_text())


def test_run_settings_override_the_protocol_and_are_checked_like_it():
    s = RunSettings(input_px=96, batch_size=8, lr=0.02, lr_schedule="step", epochs=5)
    p = s.apply(DEMO)
    t = p.training
    assert (t.input_px, t.batch_size, t.lr, t.lr_schedule, t.epochs) == (96, 8, 0.02, "step", 5)
    assert p.training.momentum == DEMO.training.momentum and p.folds == DEMO.folds
    assert RunSettings().apply(DEMO) is DEMO
    with pytest.raises(UserError) as err:
        RunSettings(lr=0.0).apply(DEMO)
    assert "training.lr" in err.value.message and err.value.hint == "check --lr"
    with pytest.raises(UserError, match="input_px"):
        RunSettings(input_px=8).apply(DEMO)
    with pytest.raises(UserError, match="--batch-size must be at least 2"):
        RunSettings(batch_size=1).apply(DEMO)
    with pytest.raises(UserError, match="lr_schedule"):
        RunSettings(lr_schedule="linear").apply(DEMO)
    assert RunSettings.from_dict({"lr": 0.1}) == RunSettings(lr=0.1)
    with pytest.raises(ValueError, match="unknown run settings: seed"):
        RunSettings.from_dict({"seed": 3})


def test_a_request_is_one_typed_value_for_every_front_end():
    r = TrainRequest("s", archs=["resnet18"], settings={"epochs": 3}, devices=["cuda:1"])
    assert r.archs == ("resnet18",) and r.devices == ("cuda:1",) and r.epochs == 3
    assert r.as_dict()["settings"] == {"epochs": 3} and r.as_dict()["archs"] == ["resnet18"]
    assert pickle.loads(pickle.dumps(r)) == r  # crosses to the GUI's job process
    assert TrainRequest("s", archs=()).archs is None
    with pytest.raises(UserError, match="keeps the settings it started with; lr, archs"):
        TrainRequest("s", resume="r1", settings=RunSettings(lr=0.1), archs=("vgg16",))
    with pytest.raises(UserError, match="device must be one of"):
        TrainRequest("s", device="tpu")
    with pytest.raises(UserError, match="--workers"):
        TrainRequest("s", workers=0)
    with pytest.raises(UserError, match="--devices names GPUs"):
        TrainRequest("s", device="cpu", devices=("cuda:0",))
    with pytest.raises(UserError, match="--weights"):
        TrainRequest("s", weights="random")


def test_settings_text_marks_what_a_run_changed():
    proto = {"input_px": 224, "batch_size": 16, "lr": 0.01, "lr_schedule": "constant",
             "epochs": 100, "momentum": 0.9, "weight_decay": 1e-4}
    assert settings_text(proto, proto) == "224 px · batch 16 · lr 0.01 · constant · 100 epochs"
    run = {**proto, "input_px": 128, "momentum": 0.5}
    assert settings_text(run, proto) == ("128 px* · batch 16 · lr 0.01 · constant · 100 epochs "
                                         "· momentum 0.5* (* run setting; protocol: 224 px, "
                                         "momentum 0.9)")


def test_train_events_render_without_parsing():
    ev = TrainEvent("training", "vgg16", 3, folds=5, epoch=12, epochs=100, step=9, steps=9,
                    loss=0.25, eta_seconds=65, state="running", units_done=4, units_total=25)
    assert ev.epoch_ended and not ev.unit_changed
    assert ev.where() == "VGG-16 · fold 3 of 5 · epoch 12 of 100"
    assert ev.line() == "vgg16 fold 3/5 epoch 12/100 loss 0.2500 · ETA 1 min 05 s"
    done = TrainEvent("training", "vgg16", 3, folds=5, state="finished", units_done=5,
                      units_total=25)
    assert done.unit_changed and done.where() == "VGG-16 · fold 3 of 5 · done"
    assert done.line() == "vgg16 fold 3/5 finished (5/25 units done) · ETA --"
    with pytest.raises(ValueError, match="unit state"):
        TrainEvent("training", state="sleeping")
    p = Progress(1, 2, ev.line(), event=ev)
    assert pickle.loads(pickle.dumps(p)) == p and Progress(1, 2).event is None
    assert format_eta(59.6) == "ETA 1 min 00 s" and format_eta(float("inf")) == "ETA --"
