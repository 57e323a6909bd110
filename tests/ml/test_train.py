"""Cross-validation training: fold isolation, run-folder files, resume after SIGKILL, cancel."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from wbsdesk.core.jobs import CancelToken
from wbsdesk.core.protocol import parse_protocol
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.ml import cv as cv_module
from wbsdesk.ml.augment import TrainPreset, derive_seed
from wbsdesk.ml.cv import CVSpec, run_cv
from wbsdesk.ml.cvspec import fold_split, read_oof
from wbsdesk.ml.data import decode_crops
from wbsdesk.ml.train import batch_slices, cpu_has_native_bf16, plan_execution

REPO = Path(__file__).resolve().parents[2]
ARCHS = ("resnet18", "mobilenet_v2")
# Deterministic CPU settings: exact fp32, one thread (the SIGKILLed child uses the same).
RUN = {"archs": ARCHS, "epochs": 2, "batch_size": 4, "input_px": 32, "seed": 5,
       "device": "cpu", "deterministic": True, "num_threads": 1, "copies": 2,
       "rotation_degrees": 15.0, "crop_scale": (0.8, 1.0), "autoaugment": "imagenet"}


def _make_crops(folder: Path) -> dict[str, list]:
    """16 small crops of 10 subjects; subjects S00-S05 have two photos (same fold)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    cols: dict[str, list] = {"photo_ids": [], "crop_paths": [], "labels": [], "folds": [],
                             "subjects": []}
    for s in range(10):
        label, fold = (s // 2) % 2, s % 2 + 1
        for j in range(2 if s < 6 else 1):
            arr = rng.integers(0, 160, size=(40, 40, 3), dtype=np.uint8)
            arr[10:30, 10:30, label] = 250  # a class-dependent square
            ext = "jpg" if (s, j) == (3, 1) else "png"
            path = folder / f"S{s:02d}_{j}.{ext}"
            Image.fromarray(arr).save(path)
            cols["photo_ids"].append(f"S{s:02d}_{j}")
            cols["crop_paths"].append(str(path))
            cols["labels"].append(label)
            cols["folds"].append(fold)
            cols["subjects"].append(f"S{s:02d}")
    return cols


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, list]:
    return _make_crops(tmp_path_factory.mktemp("crops"))


def _spec(run_dir: Path, data: dict[str, list], **over) -> CVSpec:
    kw = {k: v for k, v in data.items() if k != "subjects"}
    return CVSpec(run_dir=run_dir, **{**kw, **RUN, **over})


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data):
    """An uninterrupted 2-arch x 2-fold x 2-epoch run, with the indices each epoch trained."""
    run_dir = tmp_path_factory.mktemp("reference")
    seen: list[set[int]] = []
    original = cv_module.train_one_epoch

    def spy(model, criterion, optimizer, images, labels, order, **kw):
        seen.append(set(order.tolist()))
        return original(model, criterion, optimizer, images, labels, order, **kw)

    events = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cv_module, "train_one_epoch", spy)
        summary = run_cv(_spec(run_dir, data), progress=events.append)
    return {"dir": run_dir, "summary": summary, "events": events, "seen": seen}


def _max_diff(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> float:
    assert a.keys() == b.keys()
    diffs = []
    for arch in a:
        assert a[arch].keys() == b[arch].keys()
        diffs += [abs(a[arch][p] - b[arch][p]) for p in a[arch]]
    return max(diffs)


def test_oof_covers_every_photo_once_and_folds_are_isolated(reference, data):
    summary, run_dir = reference["summary"], reference["dir"]
    ids = data["photo_ids"]
    subject_fold = dict(zip(data["subjects"], data["folds"], strict=True))
    photo_subject = dict(zip(ids, data["subjects"], strict=True))
    for arch in ARCHS:
        rows = []
        for k in (1, 2):
            d = run_dir / arch / f"fold{k}"
            with open(d / "oof.csv", newline="") as fh:
                part = list(csv.DictReader(fh))
            rows += [r["photo_id"] for r in part]
            split = json.loads((d / "split.json").read_text())
            assert sorted(split["test"]) == sorted(r["photo_id"] for r in part)
            assert all(subject_fold[photo_subject[p]] == k for p in split["test"])
            # No photo of a held-out subject is in this fold's training set.
            assert not {photo_subject[p] for p in split["train"]} & {
                photo_subject[p] for p in split["test"]}
            assert sorted(split["train"] + split["test"]) == sorted(ids)
            assert len(json.loads((d / "losses.json").read_text())["epoch_losses"]) == 2
            done = json.loads((d / "done.json").read_text())
            assert done["n_test"] == len(part) and done["epochs"] == 2
            ckpt = torch.load(d / "checkpoint.pt", weights_only=True)
            assert {"model", "optimizer", "epoch", "config", "rng"} <= ckpt.keys()
            assert {"torch", "numpy", "python"} <= ckpt["rng"].keys()
            assert ckpt["epoch"] == 2 and ckpt["optimizer"] is None  # kept lean once done
            assert ckpt["config"]["arch"] == arch and ckpt["config"]["input_px"] == 32
        assert sorted(rows) == sorted(ids)  # every photo exactly once
        assert summary.oof[arch].keys() == set(ids)
        assert all(0.0 <= p <= 1.0 for p in summary.oof[arch].values())
    # The engine itself never fed a held-out photo into training.
    folds = np.asarray(data["folds"])
    for i, trained in enumerate(reference["seen"]):
        k = (i // 2) % 2 + 1  # calls go arch -> fold -> epoch
        assert trained == set(np.flatnonzero(folds != k).tolist())
    assert len(reference["seen"]) == len(ARCHS) * 2 * 2


def _epoch_end(p, arch: str, fold: int, epoch: int) -> bool:
    """Whether progress ``p`` reports the end of ``epoch`` of ``arch`` on ``fold``."""
    ev = p.event
    return (ev is not None and ev.epoch_ended and (ev.arch, ev.fold, ev.epoch) ==
            (arch, fold, epoch))


def test_progress_reports_arch_fold_epoch_and_eta(reference):
    events = reference["events"]
    assert events[-1].done == events[-1].total > 0
    assert all(a.done <= b.done for a, b in itertools.pairwise(events))
    assert all(p.event is not None and p.message == p.event.line() for p in events)
    ev = [p.event for p in events]
    first = next(e for e in ev if e.arch == "resnet18")
    assert (first.fold, first.folds, first.epoch, first.epochs) == (1, 2, 1, 2)
    ends = [(e.arch, e.fold, e.epoch) for e in ev if e.epoch_ended]
    assert ends == [(a, k, e) for a in ARCHS for k in (1, 2) for e in (1, 2)]  # one per epoch
    assert all(e.loss > 0 and e.step == e.steps > 0 for e in ev if e.epoch_ended)
    # every unit reports when it finishes, and the count of finished units grows
    states = [(e.arch, e.fold, e.state) for e in ev if e.unit_changed]
    assert states == [(a, k, "finished") for a in ARCHS for k in (1, 2)]
    assert [e.units_done for e in ev if e.unit_changed] == [1, 2, 3, 4]
    assert ev[-1].stage == "done" and ev[-1].units_done == ev[-1].units_total == 4
    # the ETA is measured once a unit has run two steps, and is zero at the end
    assert ev[0].eta_seconds is None and ev[-1].eta_seconds == 0
    assert any(e.eta_seconds and e.eta_seconds > 0 for e in ev)
    timings = reference["summary"].arch_timings()
    assert all(t["images_per_second"] > 0 for t in timings.values())


CHILD = """
import json, sys
from wbsdesk.ml.cv import CVSpec, run_cv
run_cv(CVSpec(**json.loads(sys.argv[1])))
"""


def test_resume_after_sigkill_equals_uninterrupted_run(reference, data, tmp_path):
    run_dir = tmp_path / "killed"
    kw = {k: v for k, v in data.items() if k != "subjects"}
    child_spec = {**kw, **RUN, "run_dir": str(run_dir)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(child_spec)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = run_dir / ARCHS[0] / "fold1" / "checkpoint.pt"
    try:
        deadline = time.monotonic() + 240
        while not first.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never wrote a checkpoint"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    at_kill = torch.load(first, weights_only=True)["epoch"]
    assert not (run_dir / ARCHS[-1] / "fold2" / "done.json").exists()

    summary = run_cv(_spec(run_dir, data))
    first_fold = next(f for f in summary.folds if (f.arch, f.fold) == (ARCHS[0], 1))
    assert not first_fold.already_done and first_fold.resumed_from_epoch == at_kill >= 1
    assert _max_diff(summary.oof, reference["summary"].oof) <= 1e-6
    for arch in ARCHS:
        for k in (1, 2):
            got = json.loads((run_dir / arch / f"fold{k}" / "losses.json").read_text())
            ref = json.loads((reference["dir"] / arch / f"fold{k}" / "losses.json").read_text())
            np.testing.assert_allclose(got["epoch_losses"], ref["epoch_losses"], atol=1e-6)


KILL_AT_SAVE = """
import json, os, signal, sys
from pathlib import Path
from wbsdesk.ml.cv import CVSpec, run_cv

when, real, seen = sys.argv[2], os.replace, []

def replace(src, dst):  # SIGKILL at the second save of fold 1 (epoch 2 replaces epoch 1)
    dst = Path(dst)
    last = dst.name == "checkpoint.pt" and dst.parent.name == "fold1" and len(seen) == 1
    if dst.name == "checkpoint.pt":
        seen.append(dst)
    if last and when == "before":  # its hash is recorded, the file not yet replaced
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
    if last and when == "after":  # the file is replaced, its record still lists both
        os.kill(os.getpid(), signal.SIGKILL)

os.replace = replace
run_cv(CVSpec(**json.loads(sys.argv[1])))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize(("when", "resumed_from"), [("before", 1), ("after", 2)])
def test_resume_after_sigkill_while_a_checkpoint_is_replaced(reference, data, tmp_path, when,
                                                             resumed_from):
    run_dir = tmp_path / "killed"
    kw = {k: v for k, v in data.items() if k != "subjects"}
    child_spec = {**kw, **RUN, "archs": ["resnet18"], "run_dir": str(run_dir)}
    proc = subprocess.run([sys.executable, "-c", KILL_AT_SAVE, json.dumps(child_spec), when],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    record = run_dir / "resnet18" / "fold1" / "checkpoint.pt.sha256"
    assert len(record.read_text().splitlines()) == 2  # killed between the two record writes

    summary = run_cv(_spec(run_dir, data, archs=("resnet18",)))
    fold1 = next(f for f in summary.folds if f.fold == 1)
    assert fold1.resumed_from_epoch == resumed_from and not fold1.already_done
    assert summary.oof["resnet18"] == pytest.approx(reference["summary"].oof["resnet18"],
                                                    abs=1e-6)
    got = json.loads((run_dir / "resnet18" / "fold1" / "losses.json").read_text())
    ref = json.loads((reference["dir"] / "resnet18" / "fold1" / "losses.json").read_text())
    np.testing.assert_allclose(got["epoch_losses"], ref["epoch_losses"], atol=1e-6)
    done = json.loads((run_dir / "resnet18" / "fold1" / "done.json").read_text())
    assert done["checkpoint_sha256"] == hashlib.sha256(
        (run_dir / "resnet18" / "fold1" / "checkpoint.pt").read_bytes()).hexdigest()


def test_resume_refuses_checkpoints_swapped_in_from_elsewhere(reference, data, tmp_path):
    run_dir = tmp_path / "swapped"
    token = CancelToken()

    def progress(p):
        if _epoch_end(p, "resnet18", 2, 1):
            token.cancel()

    spec = _spec(run_dir, data, archs=("resnet18",))
    with pytest.raises(Cancelled):
        run_cv(spec, progress=progress, cancel=token)
    fold1, fold2 = run_dir / "resnet18" / "fold1", run_dir / "resnet18" / "fold2"
    mine = (fold2 / "checkpoint.pt").read_bytes()
    # Another run's fold model, trained with the very same settings (so its config matches):
    # the old code resumed from it silently, as if it were this run's epoch 2.
    (fold2 / "checkpoint.pt").write_bytes(
        (reference["dir"] / "resnet18" / "fold2" / "checkpoint.pt").read_bytes())
    with pytest.raises(UserError) as err:
        run_cv(spec)
    text = str(err.value)
    assert "run 'swapped', resnet18 fold 2" in text and str(fold2 / "checkpoint.pt") in text
    assert "not the checkpoint training wrote" in text
    (fold2 / "checkpoint.pt").write_bytes(mine)
    # A finished fold's model replaced by another fold's: refused before any training.
    good = (fold1 / "checkpoint.pt").read_bytes()
    (fold1 / "checkpoint.pt").write_bytes(
        (reference["dir"] / "resnet18" / "fold2" / "checkpoint.pt").read_bytes())
    with pytest.raises(UserError, match=r"resnet18 fold 1: .*done\.json"):
        run_cv(spec)
    assert torch.load(fold2 / "checkpoint.pt", weights_only=True)["epoch"] == 1  # untouched
    (fold1 / "checkpoint.pt").write_bytes(good)
    summary = run_cv(spec)  # the run's own files resume as before
    assert summary.oof["resnet18"] == pytest.approx(reference["summary"].oof["resnet18"],
                                                    abs=1e-6)


def test_cancel_leaves_a_resumable_run(reference, data, tmp_path):
    run_dir = tmp_path / "cancelled"
    token = CancelToken()
    events = []

    def progress(p):
        events.append(p)
        if _epoch_end(p, "resnet18", 2, 1):
            token.cancel()

    with pytest.raises(Cancelled):
        run_cv(_spec(run_dir, data), progress=progress, cancel=token)
    d = run_dir / "resnet18" / "fold2"
    assert torch.load(d / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert not (d / "done.json").exists() and (run_dir / "resnet18/fold1/done.json").exists()

    summary = run_cv(_spec(run_dir, data))
    resumed = {(f.arch, f.fold): f for f in summary.folds}
    assert resumed["resnet18", 1].already_done
    assert resumed["resnet18", 2].resumed_from_epoch == 1
    assert resumed["mobilenet_v2", 1].resumed_from_epoch == 0
    assert _max_diff(summary.oof, reference["summary"].oof) <= 1e-6

    again = run_cv(_spec(run_dir, data))  # a finished run is only read back
    assert all(f.already_done for f in again.folds)
    assert again.oof == summary.oof


def test_resume_refuses_changed_settings(reference, data):
    with pytest.raises(UserError, match="different settings"):
        run_cv(_spec(reference["dir"], data, lr=0.02))
    changed = dict(data, labels=[1 - y for y in data["labels"]])
    with pytest.raises(UserError, match="data_sha256"):
        run_cv(_spec(reference["dir"], changed))


def test_missing_imagenet_weights_stop_the_run_before_training(data, tmp_path):
    with pytest.raises(UserError) as err:
        run_cv(_spec(tmp_path / "run", data, weights_dir=tmp_path / "empty"))
    assert str(tmp_path / "empty" / "resnet18-f37072fd.pth") in err.value.message
    assert "wbsdesk weights import" in str(err.value)
    assert not (tmp_path / "run").exists()


def test_spec_from_protocol():
    proto = parse_protocol((REPO / "study_protocols" / "demo.toml").read_text())
    spec = CVSpec.from_protocol(proto.training, proto.augmentation, run_dir=Path("r"),
                                photo_ids=["a", "b"], crop_paths=["a.png", "b.png"],
                                labels=[0, 1], folds=[1, 2], device="cpu")
    assert spec.archs == proto.training.architectures
    assert spec.input_px == proto.training.input_px and spec.copies == proto.augmentation.copies
    assert spec.weights_dir is None  # demo trains from scratch
    assert spec.device == "cpu" and spec.crop_paths == (Path("a.png"), Path("b.png"))
    paper = parse_protocol((REPO / "study_protocols" / "liu2021_wbs.toml").read_text())
    spec = CVSpec.from_protocol(paper.training, paper.augmentation, run_dir=Path("r"),
                                photo_ids=["a", "b"], crop_paths=["a", "b"], labels=[0, 1],
                                folds=[1, 2])
    assert spec.weights_dir is not None and spec.epochs == 100 and spec.batch_size == 16


def test_spec_validation(data, tmp_path):
    with pytest.raises(ValueError, match="equal lengths"):
        _spec(tmp_path, dict(data, labels=data["labels"][:-1]))
    with pytest.raises(ValueError, match="0 or 1"):
        _spec(tmp_path, dict(data, labels=[2] * len(data["labels"])))
    with pytest.raises(ValueError, match="two different folds"):
        _spec(tmp_path, dict(data, folds=[1] * len(data["folds"])))


def test_augmentation_is_reproducible_from_the_seed(data):
    images = decode_crops(data["crop_paths"], size=32)
    assert images.shape == (16, 3, 32, 32) and images.dtype == torch.uint8
    t = TrainPreset(size=32, rotation_degrees=15, crop_scale=(0.8, 1.0), hflip=True,
                    autoaugment="imagenet", mean=(0.485, 0.456, 0.406),
                    std=(0.229, 0.224, 0.225))
    torch.manual_seed(derive_seed(1, "resnet18", 1, 0))
    a = t(images[:4])
    torch.manual_seed(derive_seed(1, "resnet18", 1, 0))
    b = t(images[:4])
    c = t(images[:4])
    assert a.dtype == torch.float32 and a.shape == (4, 3, 32, 32)
    assert torch.equal(a, b) and not torch.equal(b, c)
    assert not torch.equal(a[0], a[1])  # every image gets its own random draw


def test_execution_plans():
    det = plan_execution("cpu", deterministic=True, bf16=True, channels_last=True)
    assert (det.bf16, det.channels_last, det.compile) == (False, False, False)
    auto = plan_execution("cpu")
    assert auto.bf16 == cpu_has_native_bf16() and auto.channels_last
    assert plan_execution("cpu", compile=True).compile is False  # CUDA only
    assert plan_execution("auto").device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_helpers():
    assert [(s.start, s.stop) for s in batch_slices(9, 4)] == [(0, 4), (4, 8)]
    assert [(s.start, s.stop) for s in batch_slices(10, 4)] == [(0, 4), (4, 8), (8, 10)]
    tr, te = fold_split([1, 2, 3, 1], 1)
    assert tr.tolist() == [1, 2] and te.tolist() == [0, 3]


def test_read_oof_round_trips_exactly(reference):
    path = reference["dir"] / "resnet18" / "fold1" / "oof.csv"
    assert read_oof(path) == {p: v for p, v in reference["summary"].oof["resnet18"].items()
                              if p in read_oof(path)}


def test_sparser_checkpoints_resume_to_the_same_result(reference, data, tmp_path):
    run_dir = tmp_path / "sparse"
    token = CancelToken()

    def progress(p):
        if _epoch_end(p, "resnet18", 1, 1):
            token.cancel()

    spec = _spec(run_dir, data, archs=("resnet18",), checkpoint_every=2)
    with pytest.raises(Cancelled):
        run_cv(spec, progress=progress, cancel=token)
    assert not (run_dir / "resnet18" / "fold1" / "checkpoint.pt").exists()  # none yet
    summary = run_cv(spec)
    assert summary.oof["resnet18"] == pytest.approx(reference["summary"].oof["resnet18"],
                                                    abs=1e-6)


def test_checkpoint_seconds_spaces_checkpoints_out_but_keeps_the_fold_model(data, tmp_path,
                                                                           monkeypatch):
    saved: list[tuple[str, int]] = []
    original = cv_module.save_checkpoint

    def spy(path, state):
        saved.append((Path(path).parent.name, int(state["epoch"])))
        return original(path, state)

    monkeypatch.setattr(cv_module, "save_checkpoint", spy)
    spec = _spec(tmp_path / "spaced", data, archs=("resnet18",), checkpoint_seconds=3600)
    run_cv(spec)
    # Epoch 1 is inside the hour, so only each fold's last epoch (the fold model) is saved.
    assert saved == [("fold1", 2), ("fold2", 2)]
    with pytest.raises(ValueError, match="checkpoint_seconds"):
        _spec(tmp_path / "bad", data, checkpoint_seconds=-1)
