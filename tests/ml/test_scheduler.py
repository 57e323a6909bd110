"""The local scheduler: units in worker processes train exactly as alone; failures and kills.

Deterministic fp32 on the CPU with one thread per process (as tests/ml/test_train.py), so a
unit trained in a worker process must equal the same unit trained alone, bit for bit.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torchvision import models

from tests.ml.test_train import RUN, _make_crops
from wbsdesk.core.scheduling import UnitsFailedError
from wbsdesk.errors import UserError
from wbsdesk.ml.cv import CVSpec, run_cv
from wbsdesk.ml.registry import arch_spec
from wbsdesk.ml.scheduler import MachineInfo, local_slots, unit_bytes
from wbsdesk.ml.train import plan_execution

REPO = Path(__file__).resolve().parents[2]
ONE = {**RUN, "archs": ("resnet18",)}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, list]:
    cols = _make_crops(tmp_path_factory.mktemp("crops"))
    cols.pop("subjects")
    return cols


def _spec(run_dir: Path, data: dict[str, list], **over) -> CVSpec:
    return CVSpec(run_dir=run_dir, **{**data, **ONE, **over})


@pytest.fixture(scope="module")
def alone(tmp_path_factory, data):
    """Each fold of resnet18 trained alone, in this process (its own run folder)."""
    out = {}
    for k in (1, 2):
        d = tmp_path_factory.mktemp(f"alone{k}")
        out[k] = (d, run_cv(_spec(d, data, fold_subset=(k,))))
    return out


def _model(run_dir: Path, arch: str, k: int) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / arch / f"fold{k}" / "checkpoint.pt", weights_only=True)["model"]


def _same_model(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_units_in_worker_processes_equal_each_fold_trained_alone(alone, data, tmp_path):
    events = []
    summary = run_cv(_spec(tmp_path / "w", data, workers=2), progress=events.append)
    for k in (1, 2):
        assert _same_model(_model(tmp_path / "w", "resnet18", k),
                           _model(alone[k][0], "resnet18", k))
        want = alone[k][1].oof["resnet18"]
        assert {p: summary.oof["resnet18"][p] for p in want} == want
    ev = [p.event for p in events]
    # both units ran in worker processes, reported every epoch end, and finished
    assert {e.worker for e in ev if e.state == "running"} == {"cpu"}
    assert sorted((e.fold, e.epoch) for e in ev if e.epoch_ended) == [(1, 1), (1, 2), (2, 1),
                                                                     (2, 2)]
    assert sorted(e.fold for e in ev if e.state == "finished") == [1, 2]
    assert ev[-1].stage == "done" and events[-1].done == events[-1].total


def test_slots_come_from_the_machine_probe(data, tmp_path):
    plan = plan_execution("cpu")
    spec = _spec(tmp_path, data, workers=None, deterministic=False, num_threads=None)
    two = MachineInfo(cores=2, memory_bytes=16 << 30)
    (slot,) = local_slots(spec, plan, n_units=10, machine=two)
    assert slot.inline and slot.device == "cpu"  # this machine: one unit at a time, here
    big = MachineInfo(cores=16, memory_bytes=64 << 30)
    slots = local_slots(spec, plan, n_units=10, machine=big)
    assert len(slots) == 8 and not any(s.inline for s in slots)
    assert {s.threads for s in slots} == {2}
    tight = MachineInfo(cores=16, memory_bytes=3 * unit_bytes(spec, device="cpu"))
    assert len(local_slots(spec, plan, n_units=10, machine=tight)) == 3
    # a deterministic run keeps one thread count: one unit at a time unless asked
    det = _spec(tmp_path, data, workers=None)
    assert len(local_slots(det, plan, n_units=10, machine=big)) == 1


def test_units_spread_over_the_gpus_chosen(data, tmp_path):
    gpu_plan = replace(plan_execution("cpu"), device="cuda")  # as on a machine with GPUs
    four = MachineInfo(cores=32, memory_bytes=None,
                       gpus=("cuda:0", "cuda:1", "cuda:2", "cuda:3"),
                       gpu_free_bytes=(80 << 30,) * 4)
    free = {"workers": None, "deterministic": False, "num_threads": None}
    every = local_slots(_spec(tmp_path, data, **free), gpu_plan, n_units=25, machine=four)
    assert [s.device for s in every] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    chosen = _spec(tmp_path, data, **free, devices=("cuda:1", "cuda:3"))
    slots = local_slots(chosen, gpu_plan, n_units=25, machine=four)
    assert [s.device for s in slots] == ["cuda:1", "cuda:3"]
    more = _spec(tmp_path, data, **{**free, "workers": 4}, devices=("cuda:1", "cuda:3"))
    assert [s.device for s in local_slots(more, gpu_plan, n_units=25, machine=four)] == [
        "cuda:1", "cuda:3", "cuda:1", "cuda:3"]
    # a GPU whose free memory holds no unit limits the workers on it
    small = replace(four, gpu_free_bytes=(unit_bytes(chosen, device="cuda") + 1,) * 4)
    assert len(local_slots(more, gpu_plan, n_units=25, machine=small)) == 2
    with pytest.raises(UserError, match="cuda:5 is not a visible GPU"):
        local_slots(_spec(tmp_path, data, devices=("cuda:5",)), gpu_plan, n_units=2,
                    machine=four)
    # GPUs named on a machine that trains on the CPU: refused, not ignored
    with pytest.raises(UserError, match="--devices names cuda:0, but this run trains on the CPU"):
        local_slots(_spec(tmp_path, data, devices=("cuda:0",)), plan_execution("cpu"),
                    n_units=2, machine=four)


def _weights(folder: Path, *, bad: str | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    for arch, make in (("resnet18", models.resnet18), ("mobilenet_v2", models.mobilenet_v2)):
        path = folder / arch_spec(arch).weights_file
        if arch == bad:
            path.write_bytes(b"not a weight file")
        else:
            torch.save(make(weights=None).state_dict(), path)
    return folder


def test_a_failed_unit_names_its_architecture_and_fold_and_the_run_resumes(data, tmp_path):
    wdir = _weights(tmp_path / "weights", bad="mobilenet_v2")
    spec = _spec(tmp_path / "run", data, archs=("resnet18", "mobilenet_v2"), weights_dir=wdir,
                 epochs=1)
    events = []
    with pytest.raises(UnitsFailedError) as err:
        run_cv(spec, progress=events.append)
    assert [(a, k) for a, k, _ in err.value.failures] == [("mobilenet_v2", 1),
                                                          ("mobilenet_v2", 2)]
    assert "MobileNet-V2 fold 1: " in err.value.message
    assert arch_spec("mobilenet_v2").weights_file in err.value.failures[0][2]
    # the other architecture's units went on and finished
    assert all((tmp_path / "run" / "resnet18" / f"fold{k}" / "done.json").is_file()
               for k in (1, 2))
    assert sorted((e.arch, e.fold) for e in (p.event for p in events)
                  if e.state == "failed") == [("mobilenet_v2", 1), ("mobilenet_v2", 2)]
    _weights(wdir)  # the file fixed: a resume trains only the failed units
    summary = run_cv(spec)
    done = {(f.arch, f.fold): f.already_done for f in summary.folds}
    assert done == {("resnet18", 1): True, ("resnet18", 2): True, ("mobilenet_v2", 1): False,
                    ("mobilenet_v2", 2): False}


def _children(pid: int) -> list[int]:
    """The worker processes (spawned, not the resource tracker) of process ``pid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in cmd:
            out.append(int(stat.parent.name))
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


DRIVER = """
import json, sys
from wbsdesk.ml.cv import CVSpec, run_cv
run_cv(CVSpec(**json.loads(sys.argv[1])))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_driver_or_a_worker_leaves_a_resumable_run(alone, data, tmp_path):
    run_dir = tmp_path / "killed"
    spec = {**data, **ONE, "crop_paths": [str(p) for p in data["crop_paths"]], "workers": 2,
            "run_dir": str(run_dir)}
    # 1. the driver killed while its two workers train: they stop as well
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(spec)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = [run_dir / "resnet18" / f"fold{k}" / "checkpoint.pt" for k in (1, 2)]
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while len(workers) < 2 or not any(p.exists() for p in first):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the workers never wrote a checkpoint"
            workers = workers if len(workers) == 2 else _children(proc.pid)
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    deadline = time.monotonic() + 30
    while any(_running(w) for w in workers):
        assert time.monotonic() < deadline, "a worker outlived its driver"
        time.sleep(0.1)
    # 2. resumed in two workers, one of them killed: its unit fails, named; the other ends
    killed: list[int] = []

    def progress(p):
        ev = p.event
        if ev.state == "running" and ev.step >= 1 and not killed:
            killed.append(multiprocessing.active_children()[0].pid)
            os.kill(killed[0], signal.SIGKILL)

    with pytest.raises(UnitsFailedError) as err:
        run_cv(CVSpec(**spec), progress=progress)
    ((arch, k, why),) = err.value.failures
    assert arch == "resnet18" and why == ("the worker process training it on cpu ended "
                                          "unexpectedly (exit code -9, killed)")
    other = 3 - k
    assert (run_dir / arch / f"fold{other}" / "done.json").is_file()
    assert not (run_dir / arch / f"fold{k}" / "done.json").exists()
    # 3. resumed again: the finished unit is not trained again; both equal units trained
    # alone, as if nothing had been killed
    summary = run_cv(CVSpec(**{**spec, "workers": 1}))
    done = {f.fold: f for f in summary.folds}
    assert done[other].already_done and not done[k].already_done
    for fold in (1, 2):
        assert _same_model(_model(run_dir, "resnet18", fold),
                           _model(alone[fold][0], "resnet18", fold))
