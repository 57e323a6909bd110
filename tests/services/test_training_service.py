"""Training through the service: gates, OOF coverage in the store, cancel/resume, predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.services.conftest import TINY, tiny_protocol
from wbsdesk.cli import cli
from wbsdesk.core.jobs import CancelToken
from wbsdesk.core.training_request import TrainRequest
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.services import faces, training
from wbsdesk.services.demo import write_demo_photos
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, folds


def _oof(ws, run_name):
    run = ws.store.run(run_name)
    return {(a, pid): (fold, p) for a, pid, fold, p in ws.store.predictions(run.id)}


def test_training_covers_every_photo_once_in_its_own_fold(tiny):
    ws = tiny
    rep = training.train(ws, TrainRequest("t", deterministic=True))
    assert rep.status == "finished" and rep.folds_imported == 2
    study = ws.store.study("t")
    subject_fold = ws.store.folds(study.id)
    photo_subject = {p.id: p.subject_id for p in ws.store.photos(study.id)}
    oof = _oof(ws, rep.run)
    assert sorted(pid for _, pid in oof) == sorted(photo_subject)
    for (_, pid), (fold, p) in oof.items():
        assert fold == subject_fold[photo_subject[pid]] and 0.0 <= p <= 1.0
    # no subject is in its own fold's training set
    for split in Path(rep.run_dir).glob("resnet18/fold*/split.json"):
        s = json.loads(split.read_text())
        train_subjects = {photo_subject[int(i)] for i in s["train"]}
        test_subjects = {photo_subject[int(i)] for i in s["test"]}
        assert not train_subjects & test_subjects
    run = ws.store.run(rep.run)
    assert run.versions["torch"] and run.spec["epochs"] == 2 and run.seed == 7
    assert json.loads(run.protocol_json)["name"] == "demo"
    # importing the same folder again changes nothing
    data = training.training_data(ws, training.load_study(ws, "t"))
    assert training.import_finished_folds(ws, run.id, Path(rep.run_dir), data) == 2
    assert _oof(ws, rep.run) == oof


def test_cancel_leaves_a_resumable_run_equal_to_an_unbroken_one(tiny):
    ws = tiny
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p)
        if "fold 2/2" in p.message:
            token.cancel()

    with pytest.raises(Cancelled):
        training.train(ws, TrainRequest("t", deterministic=True), progress=progress,
                       cancel=token)
    (cancelled,) = training.list_runs(ws, "t")
    assert cancelled["status"] == "cancelled" and cancelled["folds_done"] == 1
    rep = training.train(ws, TrainRequest("t", resume=cancelled["run"], deterministic=True))
    assert rep.run == cancelled["run"] and rep.folds_imported == 2
    fresh = training.train(ws, TrainRequest("t", deterministic=True))
    a, b = _oof(ws, rep.run), _oof(ws, fresh.run)
    assert a.keys() == b.keys()
    assert max(abs(a[k][1] - b[k][1]) for k in a) <= 1e-6
    with pytest.raises(UserError, match="already finished"):
        training.train(ws, TrainRequest("t", resume=rep.run))


def test_a_run_that_another_process_trains_is_not_offered_for_resume(tiny, tmp_path):
    from wbsdesk.services.run_lock import RunLock, run_in_use

    ws = tiny
    token = CancelToken()
    with pytest.raises(Cancelled):
        training.train(ws, TrainRequest("t", deterministic=True), cancel=token,
                       progress=lambda p: token.cancel())
    (run,) = training.list_runs(ws, "t")
    row = ws.store.run(run["run"])
    # another process resumes it: it holds the run's lock and has marked it running
    other = RunLock(ws.root / row.run_dir, row.name)
    other.acquire()
    try:
        with ws.store.atomic():
            ws.store.set_run_status(row.id, "running")
        (info,) = training.list_runs(ws, "t")
        assert info["in_use"] and run_in_use(ws.root / row.run_dir)
        assert training.latest_resumable_run(ws, "t") is None
        with pytest.raises(UserError, match="being trained by another process"):
            training.train(ws, TrainRequest("t", resume=row.name, deterministic=True))
        out = CliRunner().invoke(cli, ["--workspace", str(ws.root), "runs", "t"])
        assert "interrupted" not in out.output and "running" in out.output
    finally:
        other.release()
    # once that process is gone, the run reads as interrupted and resumes
    (info,) = training.list_runs(ws, "t")
    assert info["status"] == "running" and not info["in_use"]
    out = CliRunner().invoke(cli, ["--workspace", str(ws.root), "runs", "t"])
    assert "interrupted (resumable)" in out.output
    assert training.latest_resumable_run(ws, "t") == row.name
    rep = training.train(ws, TrainRequest("t", resume=row.name, deterministic=True))
    assert rep.status == "finished" and not run_in_use(ws.root / row.run_dir)


def test_training_refuses_photos_that_are_not_ready(tiny):
    ws = tiny
    faces.exclude_subject(ws, "t", "DEMO-001", reason=None)  # no-op: keeps everyone included
    study = ws.store.study("t")
    photo = ws.store.photos(study.id)[0]
    with ws.store.atomic():
        ws.store.upsert_crop(photo.id, status="needs_review", reasons=["multiple_faces"],
                             method="mtcnn", n_faces=2, settings={})
    with pytest.raises(UserError, match="cannot start training") as info:
        training.train(ws, TrainRequest("t"))
    assert "several faces" in str(info.value)
    assert ws.store.runs(study.id) == []


def test_missing_imagenet_weights_stop_before_training(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    manifest = write_demo_photos(tmp_path / "faces", seed=5, counts=TINY, with_practice=False)
    create_study(ws, "t", tiny_protocol(tmp_path, init="imagenet"))
    import_manifest(ws, "t", manifest)
    folds(ws, "t")
    faces.align_study(ws, "t", known_faces=True, workers=1)
    with pytest.raises(UserError) as info:
        training.train(ws, TrainRequest("t"))
    text = str(info.value)
    expected = tmp_path / "torch_home" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert str(expected) in text and "wbsdesk weights import" in text
    assert ws.store.runs(ws.store.study("t").id) == []


def test_cli_train_runs_and_predict_with_heatmap(tiny, tmp_path, monkeypatch):
    skimage_data = pytest.importorskip("skimage.data")
    root = str(tiny.root)
    res = CliRunner().invoke(cli, ["--workspace", root, "train", "t", "--json"])
    assert res.exit_code == 0, res.output
    run = json.loads(res.stdout)["run"]
    res = CliRunner().invoke(cli, ["--workspace", root, "runs", "t", "--json"])
    assert json.loads(res.stdout)[0]["folds_done"] == 2
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()).save(photo)
    heat = tmp_path / "heat.png"
    res = CliRunner().invoke(cli, ["--workspace", root, "predict", "t", str(photo), "--run", run,
                                   "--heatmap", str(heat), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["face_status"] == "ok" and set(out["per_arch"]) == {"resnet18"}
    assert len(out["per_fold"]["resnet18"]) == 2
    assert out["ensemble"] == pytest.approx(np.mean(out["per_fold"]["resnet18"]))
    with Image.open(heat) as im:
        assert im.size == (224, 224) and im.mode == "RGB"
    # the heatmap names its model and folds, and the map it read: the last block is 1 x 1 at
    # 32 px, so layer1's 8 x 8 map is read with LayerCAM weights (fine enough: no warning)
    g = out["gradcam"]
    assert (g["architecture"], g["folds"], g["feature_map"]) == ("resnet18", [1, 2], [8, 8])
    assert (g["layer"], g["method"], g["last_feature_map"]) == ("layer1", "LayerCAM", [1, 1])
    assert g["warning"] is None
    assert not any("feature map" in w for w in out["all_warnings"])
    assert out["reference"]["n_photos"] > 0 and isinstance(out["warnings"], list)
    # text output: an adult's age is warned, the map read is named; one fold's map on request
    res = CliRunner().invoke(cli, ["--workspace", root, "predict", "t", str(photo), "--run", run,
                                   "--heatmap", str(heat), "--heatmap-fold", "2",
                                   "--age-months", "400"])
    assert res.exit_code == 0, res.output
    assert ("feature map 8×8 (layer1) at 32 px input, weighted per position (LayerCAM), "
            "finer than the last block's 1×1") in res.output
    assert "Warning: an adult (400 months, 33 years): the models were trained on children" \
        in res.output
    assert f"Grad-CAM of ResNet-18 (fold 2 alone, run {run})" in res.output
    res = CliRunner().invoke(cli, ["--workspace", root, "predict", "t", str(photo), "--run", run,
                                   "--heatmap", str(heat), "--heatmap-fold", "3"])
    assert res.exit_code == 1 and "has no finished fold 3" in res.output
    # a batch: the fold models are loaded once; each photo's folds and spread are shown
    mirrored, blank = tmp_path / "mirrored.png", tmp_path / "blank.png"
    Image.fromarray(skimage_data.astronaut()[:, ::-1]).save(mirrored)
    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    from wbsdesk.ml import infer

    loads = []
    real = infer.load_run_models
    monkeypatch.setattr(infer, "load_run_models", lambda *a, **k: loads.append(1) or real(*a, **k))
    res = CliRunner().invoke(cli, ["--workspace", root, "predict", "t", str(photo),
                                   str(mirrored), str(blank), "--run", run, "--json"])
    assert res.exit_code == 0, res.output
    items = json.loads(res.stdout)
    assert loads == [1] and [i["photo"] for i in items] == [str(photo), str(mirrored), str(blank)]
    assert items[0]["per_arch"] == out["per_arch"]  # as the photo scored alone
    s = items[0]["spread"]["resnet18"]
    assert s["folds"] == items[0]["per_fold"]["resnet18"] and s["mean"] == pytest.approx(
        items[0]["per_arch"]["resnet18"])
    assert s["sd"] == pytest.approx(np.std(s["folds"], ddof=1))
    assert s["min"] == min(s["folds"]) and s["max"] == max(s["folds"])
    assert "no face found" in items[2]["error"]
    res = CliRunner().invoke(cli, ["--workspace", root, "predict", "t", str(photo),
                                   str(mirrored), "--run", run])
    assert res.exit_code == 0, res.output
    assert "P(wbs)  SD" in res.output and "fold 1  fold 2" in res.output
    assert res.output.count("ResNet-18 ") == 2
    refused = CliRunner().invoke(cli, ["--workspace", root, "predict", "t", str(photo),
                                       str(mirrored), "--heatmap", str(heat)])
    assert refused.exit_code == 2 and "one photo at a time" in refused.output


def _cli(root, *args):
    res = CliRunner().invoke(cli, ["--workspace", str(root), *args])
    # a refusal is a message and exit status 1, never an exception with a traceback
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    return res


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_replaced_damaged_or_planted_checkpoints_are_refused_by_predict_and_resume(tiny,
                                                                                   tmp_path):
    import torch

    skimage_data = pytest.importorskip("skimage.data")
    ws, root = tiny, tiny.root
    token = CancelToken()

    def progress(p):
        if "fold 2/2" in p.message:
            token.cancel()

    with pytest.raises(Cancelled):  # fold 1 finished, fold 2 to resume
        training.train(ws, TrainRequest("t", deterministic=True), progress=progress,
                       cancel=token)
    (cancelled,) = training.list_runs(ws, "t")
    # a finished run with the same settings
    done = training.train(ws, TrainRequest("t", deterministic=True))
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()).save(photo)
    run_dir = Path(done.run_dir)
    one, two = run_dir / "resnet18" / "fold1", run_dir / "resnet18" / "fold2"
    originals = {p: p.read_bytes() for d in (one, two) for p in d.iterdir()}

    def predict():
        return _cli(root, "predict", "t", str(photo), "--run", done.run)

    def restore():
        for p, data in originals.items():
            p.write_bytes(data)

    # 1. fold checkpoints swapped (with their done.json and records: the store still knows)
    for name in ("checkpoint.pt", "checkpoint.pt.sha256", "done.json"):
        if (one / name) not in originals:  # no record beside the checkpoint (older code)
            continue
        (one / name).write_bytes(originals[two / name])
        (two / name).write_bytes(originals[one / name])
    res = predict()
    assert res.exit_code == 1
    assert f"run {done.run!r}, resnet18 fold 1" in res.output
    assert str(one / "checkpoint.pt") in res.output and "SHA-256" in res.output
    restore()
    assert predict().exit_code == 0  # the run's own files are fine

    # 2. a truncated checkpoint: a message, no traceback, no advice to use weights_only=False
    ckpt = one / "checkpoint.pt"
    ckpt.write_bytes(originals[ckpt][: len(originals[ckpt]) // 2])
    res = predict()
    assert res.exit_code == 1 and str(ckpt) in res.output
    assert "weights_only" not in res.output
    restore()

    # 3. a planted pickle that would run code: refused, and the code never runs
    marker = tmp_path / "pwned"
    torch.save({"model": {}, "config": {"arch": "resnet18"}, "x": _Evil(marker)}, ckpt)
    res = predict()
    assert res.exit_code == 1 and str(ckpt) in res.output
    assert not marker.exists()
    restore()

    # 4. resume: the cancelled run's finished fold replaced by the other run's fold model
    mine = Path(ws.root / ws.store.run(cancelled["run"]).run_dir) / "resnet18" / "fold1"
    kept = (mine / "checkpoint.pt").read_bytes()
    (mine / "checkpoint.pt").write_bytes(originals[two / "checkpoint.pt"])
    res = _cli(root, "train", "t", "--resume", cancelled["run"], "--deterministic")
    assert res.exit_code == 1
    assert f"run {cancelled['run']!r}, resnet18 fold 1" in res.output
    assert str(mine / "checkpoint.pt") in res.output
    (mine / "checkpoint.pt").write_bytes(kept)
    res = _cli(root, "train", "t", "--resume", cancelled["run"], "--deterministic")
    assert res.exit_code == 0, res.output
