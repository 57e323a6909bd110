"""Units of work, the scheduler's choices and the ETA arithmetic (pure, no torch)."""

from __future__ import annotations

import itertools
import pickle

import pytest

from wbsdesk.core.jobs import Progress
from wbsdesk.core.run_progress import RunTracker, UnitReporter
from wbsdesk.core.scheduling import (
    UnitsFailedError,
    assign_devices,
    choose_workers,
    makespan,
    n_batches,
    parse_devices,
    plan_units,
    threads_per_worker,
)
from wbsdesk.errors import UserError

GiB = 1 << 30


def _batch_slices(n: int, b: int) -> int:
    """The training loop's rule, written out (see wbsdesk.ml.train.batch_slices)."""
    out = [(i, min(i + b, n)) for i in range(0, n, b)]
    if out and out[-1][1] - out[-1][0] == 1 and n > 1:
        out.pop()
    return len(out)


def test_batches_per_epoch_follow_the_training_loop():
    assert all(n_batches(n, b) == _batch_slices(n, b)
               for n in range(0, 80) for b in range(1, 20))


def test_units_are_one_per_architecture_and_fold():
    folds = [1, 2, 3, 1, 2, 3, 1]
    units = plan_units(["resnet18", "vgg16"], folds, epochs=4, batch_size=2, copies=2,
                       done={("vgg16", 2): 3, ("resnet18", 1): 4},
                       finished={("resnet18", 1)})
    assert [u.key for u in units] == [("resnet18", 1), ("resnet18", 2), ("resnet18", 3),
                                      ("vgg16", 1), ("vgg16", 2), ("vgg16", 3)]
    r1, r2 = units[0], units[1]
    assert (r1.n_train, r1.n_test, r1.steps_per_epoch) == (4, 3, 4)  # 4 photos x 2 copies
    assert (r2.n_train, r2.n_test, r2.steps_per_epoch) == (5, 2, 5)
    assert [u.state for u in units] == ["done", "pending", "pending", "pending", "started",
                                        "pending"]
    assert units[4].steps_left == units[4].steps_per_epoch  # one epoch of four left
    assert r1.steps_left == 0 and r1.as_dict()["state"] == "done"
    # all epochs trained but no done.json yet (killed before its test pass): not done
    (u,) = plan_units(["resnet18"], [1, 2], epochs=2, batch_size=2,
                      done={("resnet18", 1): 2})[:1]
    assert u.state == "started"


def _brute_makespan(running, pending, workers):
    """Every worker takes the next unit when free: simulate it step by step."""
    free = sorted([*running, *[0.0] * (workers - len(running))])
    for s in pending:
        free[0] += s
        free.sort()
    return max(free, default=0.0)


def test_makespan_is_the_schedulers_finish_time():
    assert makespan([], [], 3) == 0
    assert makespan([], [30, 10, 10, 10], 2) == 30  # the long unit on one worker
    for running, pending, w in [([3.0], [5.0, 1.0, 2.0], 2), ([], [4.0] * 7, 3),
                                ([2.0, 9.0], [1.0], 2), ([], [7.0, 1.0, 1.0, 1.0], 4)]:
        assert makespan(running, pending, w) == pytest.approx(
            _brute_makespan(running, pending, w))
    # more workers never make it slower
    jobs = [5.0, 3.0, 8.0, 1.0, 2.0]
    spans = [makespan([], jobs, w) for w in range(1, 7)]
    assert all(a >= b for a, b in itertools.pairwise(spans)) and spans[-1] == 8


def test_workers_come_from_cores_memory_and_gpus():
    two_core = {"cores": 2, "memory_bytes": 16 * GiB, "unit_bytes": 1 * GiB}
    assert choose_workers(n_units=10, **two_core) == 1  # this machine: one at a time
    assert choose_workers(n_units=10, cores=16, memory_bytes=64 * GiB, unit_bytes=GiB) == 8
    assert choose_workers(n_units=10, cores=16, memory_bytes=7 * GiB, unit_bytes=2 * GiB) == 3
    assert choose_workers(n_units=2, cores=64, memory_bytes=None, unit_bytes=None) == 2
    assert choose_workers(n_units=25, cores=8, memory_bytes=None, unit_bytes=None, gpus=4) == 4
    assert choose_workers(n_units=25, cores=8, memory_bytes=None, unit_bytes=None, gpus=2,
                          per_gpu=3) == 6
    # --workers overrides the core count, never the memory
    assert choose_workers(n_units=10, requested=4, **two_core) == 4
    assert choose_workers(n_units=10, cores=2, memory_bytes=3 * GiB, unit_bytes=GiB,
                          requested=8) == 3
    assert choose_workers(n_units=10, cores=1, memory_bytes=GiB, unit_bytes=8 * GiB) == 1
    assert threads_per_worker(16, 5) == 3 and threads_per_worker(2, 1) == 2


def test_units_spread_over_the_visible_or_chosen_gpus():
    visible = ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert assign_devices(4, visible) == visible
    assert assign_devices(6, visible[:2]) == ["cuda:0", "cuda:1"] * 3
    chosen = parse_devices("cuda:1,cuda:3")
    assert assign_devices(4, visible, chosen) == ["cuda:1", "cuda:3", "cuda:1", "cuda:3"]
    assert assign_devices(2, []) == ["cpu", "cpu"]
    with pytest.raises(UserError, match=r"cuda:7 is not a visible GPU \(visible: cuda:0, "):
        assign_devices(2, visible, ["cuda:7"])
    with pytest.raises(UserError, match="visible: none"):
        assign_devices(1, [], ["cuda:0"])
    for bad in ("gpu0", "cuda:x", "cuda:0,cuda:0"):
        with pytest.raises(UserError, match="--devices"):
            parse_devices(bad)
    assert parse_devices("") == () and parse_devices(None) == ()


def test_failed_units_are_named_and_survive_a_process_boundary():
    err = UnitsFailedError([("vgg16", 2, "ran out of memory on cuda:1"),
                            ("resnet18", 1, "bad file")], hint="resume it")
    assert err.message == ("2 units of the run failed: VGG-16 fold 2: ran out of memory on "
                           "cuda:1; ResNet-18 fold 1: bad file")
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, UserError) and again.failures == err.failures
    assert again.message == err.message and again.hint == "resume it"


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_tracker_reports_typed_events_with_a_makespan_eta():
    clock = _Clock()
    units = plan_units(["resnet18", "vgg16"], [1, 2, 1, 2], epochs=2, batch_size=2,
                       done={("resnet18", 1): 2}, finished={("resnet18", 1)})
    got: list[Progress] = []
    t = RunTracker(units, workers=2, progress=got.append, clock=clock, per_second=1.0)
    assert (t.total, t.done, t.units_done) == (4 * 2, 2, 1)  # 1 step/epoch, 2 epochs
    t.skip_reported()
    assert got[-1].event.state == "skipped" and got[-1].event.units_done == 1
    t.started(("resnet18", 2), "cpu")
    t.started(("vgg16", 1), "cpu")
    assert t.eta() is None  # nothing measured yet
    t.update(("resnet18", 2), epoch=1, step=1, seconds=2.0, loss=0.7)
    t.update(("resnet18", 2), epoch=2, step=1, seconds=4.0, loss=0.6)  # 2 s per step
    ev = got[-1].event
    assert (ev.arch, ev.fold, ev.epoch, ev.loss, ev.state) == ("resnet18", 2, 2, 0.6, "running")
    assert got[-1].message == ev.line() and got[-1].done == 4
    # vgg16 is not measured yet: resnet18's rate stands in. Running vgg16 fold 1 has 2
    # steps (4 s) left; vgg16 fold 2 (4 s) goes to the worker resnet18 fold 2 frees now.
    assert t.eta() == pytest.approx(makespan([0.0, 4.0], [4.0], 2)) == 4
    t.update(("vgg16", 1), epoch=1, step=0, seconds=0.1)
    n = len(got)
    t.update(("vgg16", 1), epoch=1, step=0, seconds=0.2)  # within a second: not passed on
    assert len(got) == n
    clock.t += 2
    t.update(("vgg16", 1), epoch=1, step=0, seconds=0.3)
    assert len(got) == n + 1
    t.finished(("resnet18", 2))
    t.failed(("vgg16", 1), "ran out of memory on cpu")
    assert got[-1].event.state == "failed" and got[-1].event.detail.startswith("ran out")
    assert t.state(("vgg16", 1)) == "failed" and t.units_done == 2
    t.stage("done")
    assert got[-1].event.stage == "done" and got[-1].event.units_total == 4


def test_a_unit_reporter_turns_batches_into_positions():
    clock = _Clock()
    units = plan_units(["resnet18"], [1, 2] * 6, epochs=2, batch_size=2)
    got: list[Progress] = []
    t = RunTracker(units, workers=1, progress=got.append, clock=clock, per_second=1000)
    r = UnitReporter(t, ("resnet18", 1), clock=clock)
    r.begin("cpu")
    for i in range(3):
        clock.t += 1
        r.batch(0, i, 3)
    clock.t += 1
    r.epoch_end(0, 3, 0.5)
    ev = got[-1].event
    assert (ev.epoch, ev.step, ev.steps, ev.loss) == (1, 3, 3, 0.5) and got[-1].done == 3
    assert t.seconds_per_step() == {"resnet18": pytest.approx(4 / 3)}
