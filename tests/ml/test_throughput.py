"""Timed training steps for the time estimate: what is timed, on a scripted clock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.ml.test_train import RUN, _make_crops
from wbsdesk.ml import throughput
from wbsdesk.ml.cv import CVSpec
from wbsdesk.ml.train import batch_slices


def test_the_step_time_is_the_median_after_the_warm_up_and_predictions_a_folds_worth(
        tmp_path, monkeypatch):
    """Two slow warm-up batches and one slow batch (a busy moment) do not scale the
    estimate; predictions are timed on a held-out fold's number of images, not 8."""
    data = _make_crops(tmp_path / "crops")
    data.pop("subjects")
    spec = CVSpec(run_dir=tmp_path / "run", **{**data, **RUN, "archs": ("resnet18",)})
    clock = SimpleNamespace(now=0.0)
    batch_seconds = iter([5.0, 4.0, 1.0, 9.0, 1.2])  # warm-up, warm-up, then the timed ones

    def scripted_epoch(model, criterion, optimizer, images, labels, order, *, batch_size,
                       transform, plan, before_batch):
        n = len(batch_slices(len(order), batch_size))
        for i in range(n):
            before_batch(i, n)
            clock.now += next(batch_seconds)
        return 0.5

    predicted: list[int] = []
    real_evaluate = throughput.evaluate

    def counting_evaluate(model, images, **kw):
        predicted.append(len(images))
        return real_evaluate(model, images, **kw)

    monkeypatch.setattr(throughput, "train_one_epoch", scripted_epoch)
    monkeypatch.setattr(throughput, "evaluate", counting_evaluate)
    monkeypatch.setattr(throughput, "time", SimpleNamespace(perf_counter=lambda: clock.now))
    t = throughput.time_training_steps(spec, "resnet18", steps=3, warmup=2, eval_images=30)
    assert t.seconds_per_step == pytest.approx(1.2)  # median of 1.0, 9.0, 1.2 (mean: 3.7)
    assert t.steps_timed == 3
    assert predicted == [30, 30]  # warm-up and timed pass, both at the held-out size
