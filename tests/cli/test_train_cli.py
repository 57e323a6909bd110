"""`wbsdesk train`: the unit plan, run settings recorded and shown, progress in log files."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from tests.gui.training_study import make_tiny_study
from wbsdesk.cli import cli
from wbsdesk.cli.progress_render import CountProgress, TrainProgress
from wbsdesk.core.jobs import Progress
from wbsdesk.core.scheduling import n_batches
from wbsdesk.core.train_events import TrainEvent
from wbsdesk.services import faces as face_service


@pytest.fixture
def tiny(ws, tmp_path):
    make_tiny_study(ws, tmp_path)
    return ws


def _run(ws, *args: str):
    return CliRunner().invoke(cli, ["--workspace", str(ws.root), *args], catch_exceptions=False)


def test_plan_lists_one_unit_per_architecture_and_fold(tiny):
    out = _run(tiny, "train", "t", "--plan", "--json")
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    assert [(u["arch"], u["fold"], u["state"]) for u in plan["units"]] == [
        ("resnet18", 1, "pending"), ("resnet18", 2, "pending")]
    assert all(u["n_train"] + u["n_test"] == 12 and u["epochs"] == 2 for u in plan["units"])
    u = plan["units"][0]  # the demo shows each photo once per epoch, in batches of 4
    assert u["steps_per_epoch"] == n_batches(u["n_train"], 4) and u["seed"] == [7, "resnet18", 1]
    assert plan["executor"] == "local" and len(plan["workers"]) == 1  # 2 cores: one at a time
    out = _run(tiny, "train", "t", "--plan", "--json", "--arch", "resnet18", "--arch",
               "mobilenet_v2", "--epochs", "3", "--batch-size", "3")
    plan = json.loads(out.stdout)
    assert len(plan["units"]) == 4 and {u["epochs"] for u in plan["units"]} == {3}
    assert plan["settings"]["batch_size"] == 3 and "batch 3*" in plan["settings_text"]
    text = _run(tiny, "train", "t", "--plan").output
    assert "2 units for a new run of t" in text and "ResNet-18" in text
    assert not tiny.store.runs(tiny.store.study("t").id)  # a plan trains nothing
    refused = CliRunner().invoke(cli, ["--workspace", str(tiny.root), "train", "t", "--lr",
                                       "0", "--plan"])
    assert refused.exit_code == 1 and "training.lr" in refused.output and "--lr" in refused.output


def test_run_settings_are_recorded_and_progress_is_one_line_per_epoch_in_a_log(tiny):
    out = _run(tiny, "train", "t", "--epochs", "2", "--batch-size", "3", "--input-px", "40",
               "--lr", "0.02", "--deterministic")
    assert out.exit_code == 0, out.output
    log_lines = out.stderr.splitlines()  # stderr is not a terminal here: a log file
    assert "\r" not in out.stderr
    epochs = [ln for ln in log_lines if "· loss " in ln]
    assert len(epochs) == 2 * 2  # 2 units x 2 epochs, one line each
    assert "ResNet-18 · fold 1 of 2 · epoch 1 of 2 · loss" in epochs[0]
    done = [ln for ln in log_lines if "units done" in ln]
    assert len(done) == 2 and "(2 of 2 units done)" in done[-1]
    assert "40 px*" in out.stdout and "batch 3*" in out.stdout and "lr 0.02*" in out.stdout
    (run,) = json.loads(_run(tiny, "runs", "t", "--json").stdout)
    assert run["settings"]["overrides"] == {"input_px": 40, "batch_size": 3, "lr": 0.02}
    assert run["settings"]["protocol"]["input_px"] == 32 and run["folds_done"] == 2
    table = _run(tiny, "runs", "t").stdout
    assert "40 px* · batch 3* · lr 0.02*" in table and "(* run setting; protocol: 32 px" in table
    # a resume plan reads the run folder: every unit is done
    plan = json.loads(_run(tiny, "train", "t", "--plan", "--json", "--resume",
                           run["run"]).stdout)
    assert [u["state"] for u in plan["units"]] == ["done", "done"]
    assert plan["settings"]["input_px"] == 40
    refused = CliRunner().invoke(cli, ["--workspace", str(tiny.root), "train", "t", "--resume",
                                       run["run"], "--lr", "0.1"])
    assert refused.exit_code == 1 and "keeps the settings it started with" in refused.output


def test_align_progress_is_readable_in_a_log_file(ws, monkeypatch):
    def fake_align(ws, name, *, force, workers, progress, cancel):
        for i in range(0, 31):
            progress(Progress(i, 30, f"aligned {i} of 30 photos"))
        return face_service.AlignSummary(study=name, photos=30, aligned=30, skipped=0, ok=30,
                                         needs_review=0, seconds=1.0)

    monkeypatch.setattr(face_service, "align_study", fake_align)
    out = CliRunner().invoke(cli, ["--workspace", str(ws.root), "align", "s"])
    assert out.exit_code == 0, out.output
    lines = out.stderr.splitlines()
    # whole lines, no carriage returns; the first report and the last (not every photo)
    assert "\r" not in out.stderr and lines[0].startswith("Aligning photos: 0 of 30 (0 %)")
    assert lines[-1].startswith("Aligning photos: 30 of 30 (100 %)") and len(lines) == 2


def test_renderers_draw_live_lines_on_a_terminal_and_whole_lines_in_files():
    now = [0.0]
    buf = io.StringIO()
    count = CountProgress("Aligning", buf, tty=False, every_s=10, clock=lambda: now[0])
    for i in range(11):
        now[0] += 4  # a photo every 4 s: a line every 10 s or more, and the last one
        count(Progress(i, 10))
    assert buf.getvalue().splitlines() == ["Aligning: 0 of 10 (0 %) · 4 s",
                                           "Aligning: 3 of 10 (30 %) · 16 s",
                                           "Aligning: 6 of 10 (60 %) · 28 s",
                                           "Aligning: 9 of 10 (90 %) · 40 s",
                                           "Aligning: 10 of 10 (100 %) · 44 s"]
    term = io.StringIO()
    live = TrainProgress(term, tty=True)
    ev = TrainEvent("training", "resnet18", 1, folds=2, epoch=1, epochs=2, step=1, steps=4,
                    state="running", units_total=2)
    live(Progress(1, 16, "", event=ev))
    live(Progress(4, 16, "", event=TrainEvent("training", "resnet18", 1, folds=2, epoch=1,
                                              epochs=2, step=4, steps=4, loss=0.5,
                                              state="running", units_total=2)))
    live(Progress(8, 16, "", event=TrainEvent("training", "resnet18", 1, folds=2, epoch=2,
                                              epochs=2, state="finished", units_done=1,
                                              units_total=2)))
    live.close()
    text = term.getvalue()
    assert text.startswith("\r[  6.2 %] ResNet-18 · fold 1 of 2 · epoch 1 of 2 · batch 1 of 4")
    assert text.endswith("ResNet-18 · fold 1 of 2 · done (1 of 2 units done) · ETA --\n")


def test_plan_with_estimate_says_how_long_the_run_would_take(tiny):
    """`train --plan --estimate` times a few steps here, as the set-up's Estimate time, and
    extrapolates to the plan's folds and epochs; it trains nothing."""
    out = _run(tiny, "train", "t", "--plan", "--estimate", "--json", "--epochs", "3")
    assert out.exit_code == 0, out.output
    plan = json.loads(out.stdout)
    est = plan["estimate"]
    assert est["seconds"] > 0 and " on CPU (" in est["text"]
    assert est["details"].startswith("Measured per batch of 4 at 32 px (resnet18 ")
    assert "over 2 folds × 3 epochs" in est["details"]
    assert not tiny.store.runs(tiny.store.study("t").id)
    text = _run(tiny, "train", "t", "--plan", "--estimate").output
    assert "Estimated time: " in text and "2 units for a new run of t" in text
    for args in (["--estimate"], ["--plan", "--estimate", "--resume", "r"]):
        refused = CliRunner().invoke(cli, ["--workspace", str(tiny.root), "train", "t", *args])
        assert refused.exit_code == 2 and "--estimate goes with --plan" in refused.output
