"""Before training: the environment check, the throughput probe and its extrapolation."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.services.conftest import tiny_protocol
from wbsdesk.core.scheduling import makespan
from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.ml.train import batch_slices
from wbsdesk.services import training, training_probe
from wbsdesk.services.studies import create_study


def test_probe_measures_steps_and_extrapolates_to_the_protocol(tiny):
    ws = tiny
    events = []
    est = training_probe.probe_throughput(ws, "t", ["mobilenet_v2"], device="cpu", sample=4,
                                          steps=2, progress=events.append)
    assert events[0].message == "timing mobilenet_v2 on this computer"
    t = est.timings["mobilenet_v2"]
    assert all(t[k] > 0 for k in ("seconds_per_step", "seconds_per_eval_image",
                                  "seconds_per_decode_image", "seconds_per_checkpoint"))
    # the tiny protocol: 2 folds, batch 4, 1 copy, 12 photos
    assert est.folds == 2 and est.batch_size == 4 and est.input_px == 32
    data = training.training_data(ws, training.load_study(ws, "t"))
    assert est.n_photos == len(data.photo_ids) == 12
    # as the training loop counts them (a lone last sample is dropped)
    assert est.steps_per_epoch == tuple(
        len(batch_slices(sum(f != k for f in data.folds), 4)) for k in (1, 2))
    # checkpointing every epoch: 10 more epochs cost 10 x (all steps + one checkpoint a fold)
    every_epoch = dataclasses.replace(est, checkpoint_seconds=0.0)
    extra = every_epoch.seconds(epochs=12) - every_epoch.seconds(epochs=2)
    per_epoch = sum(est.steps_per_epoch) * t["seconds_per_step"] + 2 * t[
        "seconds_per_checkpoint"]
    assert extra == pytest.approx(10 * per_epoch)
    # as the service trains: epochs this short share one checkpoint a minute, the last one
    assert est.checkpoint_seconds == training.CHECKPOINT_SECONDS == 60
    extra = est.seconds(epochs=12) - est.seconds(epochs=2)
    assert extra == pytest.approx(10 * sum(est.steps_per_epoch) * t["seconds_per_step"])
    assert " on CPU (" in est.describe(epochs=2)
    assert not est.covers(["mobilenet_v2", "vgg16"]) and est.covers(["mobilenet_v2"])
    # honest: the estimate is within a small factor of a real run of the same protocol
    t0 = time.perf_counter()
    rep = training.train(ws, TrainRequest("t", archs=("mobilenet_v2",), device="cpu",
                                          settings=RunSettings(epochs=2)))
    real = time.perf_counter() - t0
    guess = est.seconds(["mobilenet_v2"], epochs=2)
    assert real / 8 < guess < real * 4, (guess, real)
    assert rep.status == "finished"


def test_the_probe_times_the_runs_input_size_and_batch_size(tiny):
    est = training_probe.probe_throughput(tiny, "t", ["mobilenet_v2"], device="cpu", sample=4,
                                          steps=1, warmup=0,
                                          settings={"input_px": 48, "batch_size": 3})
    assert (est.input_px, est.batch_size) == (48, 3)  # not the protocol's 32 px, batch 4
    data = training.training_data(tiny, training.load_study(tiny, "t"))
    assert est.steps_per_epoch == tuple(
        len(batch_slices(sum(f != k for f in data.folds), 3)) for k in (1, 2))
    assert "Measured per batch of 3 at 48 px" in est.details(epochs=2)


def test_environment_lists_architectures_and_missing_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    env = training_probe.check_environment()
    assert set(training_probe.KNOWN_ARCHS) <= set(env.archs)
    assert env.device.kind in ("cpu", "cuda") and env.device.label
    assert env.missing_weights(["resnet18", "vgg16"]) == ["resnet18", "vgg16"]
    w = env.weights_of("resnet18")
    assert w.file_name == "resnet18-f37072fd.pth" and not w.present
    assert w.path.startswith(str(tmp_path / "torch_home"))


def test_training_problem_names_what_blocks_training(tiny, ws, tmp_path):
    assert training_probe.training_problem(tiny, "t") is None
    create_study(ws, "empty", tiny_protocol(tmp_path))
    problem = training_probe.training_problem(ws, "empty")
    assert problem.startswith("the folds of 'empty' are not assigned yet")


def test_run_name_losses_and_aucs(tiny):
    ws = tiny
    name = training.new_run_name(ws, "t")
    rep = training.train(ws, TrainRequest("t", device="cpu", run_name=name,
                                          deterministic=True))
    assert rep.run == name and training.new_run_name(ws, "t") != name
    losses = training.run_losses(ws, "t", name)
    assert set(losses) == {"resnet18"} and sorted(losses["resnet18"]) == [1, 2]
    assert all(len(v) == 2 and all(x > 0 for x in v) for v in losses["resnet18"].values())
    aucs = training.run_aucs(ws, "t", name)
    assert set(aucs) == {"resnet18"} and 0.0 <= aucs["resnet18"] <= 1.0


def test_the_estimate_runs_the_units_as_the_scheduler_does():
    est = training_probe.ThroughputEstimate(
        study="s", device="cpu", device_label="CPU (16 threads)", precision="fp32",
        input_px=224, batch_size=16, n_photos=30, steps_per_epoch=(10, 20),
        checkpoint_every=1, sample_photos=8, test_photos=(20, 10),
        timings={a: {"seconds_per_step": s, "seconds_per_eval_image": 0.5,
                     "seconds_per_decode_image": 0.1, "seconds_per_checkpoint": 2.0}
                 for a, s in (("vgg16", 3.0), ("resnet18", 1.0))})
    units = est.unit_seconds(epochs=4)  # per unit: steps + 4 checkpoints + its test photos
    assert units == [10 * 4 * 3 + 8 + 20 * 0.5, 20 * 4 * 3 + 8 + 10 * 0.5,
                     10 * 4 * 1 + 8 + 20 * 0.5, 20 * 4 * 1 + 8 + 10 * 0.5]
    one = est.seconds(epochs=4)
    assert one == pytest.approx(30 * 0.1 + sum(units))  # one unit after another
    two = dataclasses.replace(est, workers=2)
    # two workers: vgg16's units (138 s, 253 s) side by side; resnet18's (58 s, 93 s) both
    # follow on the worker that frees first: 138 + 58 + 93 = 289 s (the live ETA's makespan)
    assert two.seconds(epochs=4) == pytest.approx(30 * 0.1 + makespan([], units, 2))
    assert two.seconds(epochs=4) == pytest.approx(30 * 0.1 + 289)
    assert "2 units at a time" in two.describe(epochs=4) and "at a time" not in \
        est.describe(epochs=4)


def test_the_estimate_counts_each_units_model_build_once_and_reads_plainly():
    """The demo's shape: 2 architectures x 5 folds, one unit at a time on a 2-core CPU."""
    timings = {"resnet18": {"seconds_per_step": 0.25, "seconds_per_eval_image": 0.01,
                            "seconds_per_decode_image": 0.01, "seconds_per_checkpoint": 0.2,
                            "seconds_per_build": 0.3},
               "mobilenet_v2": {"seconds_per_step": 0.1, "seconds_per_eval_image": 0.005,
                                "seconds_per_decode_image": 0.01,
                                "seconds_per_checkpoint": 0.1, "seconds_per_build": 0.1}}
    est = training_probe.ThroughputEstimate(
        study="demo", device="cpu", device_label="CPU (2 threads)", precision="fp32",
        input_px=64, batch_size=16, n_photos=150, steps_per_epoch=(8,) * 5,
        checkpoint_every=1, sample_photos=8, test_photos=(30,) * 5, timings=timings,
        checkpoint_seconds=60.0)
    units = est.unit_seconds(epochs=10)
    # build once + 8 steps x 10 epochs + one checkpoint (10 short epochs, one a minute)
    # + 30 held-out predictions; per unit, not per epoch
    assert units == pytest.approx([0.3 + 80 * 0.25 + 0.2 + 30 * 0.01] * 5
                                  + [0.1 + 80 * 0.1 + 0.1 + 30 * 0.005] * 5)
    assert est.seconds(epochs=10) == pytest.approx(150 * 0.01 + sum(units))  # 147.25 s
    assert est.describe(epochs=10) == "about 2 min on CPU (2 threads)"
    # an estimate stored before builds were timed still adds up (no build term)
    old = dataclasses.replace(est, timings={a: {k: v for k, v in t.items()
                                                if k != "seconds_per_build"}
                                            for a, t in timings.items()})
    assert old.seconds(epochs=10) == pytest.approx(est.seconds(epochs=10) - 5 * 0.4)
