"""Training on a Ray cluster (the optional ``cluster`` extra), on a local CPU cluster.

The out-of-fold probabilities of a run whose units are Ray tasks must equal a local
``--deterministic`` run within 1e-6; the driver writes the units' files into the run folder
and the store (no shared file system is used by the tasks), and cancel/resume work as for a
local run. Small on purpose: one architecture, two folds, 32 px, one epoch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wbsdesk.cli import cli
from wbsdesk.core.jobs import CancelToken
from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.errors import Cancelled
from wbsdesk.services import training

ray = pytest.importorskip(
    "ray", reason="Ray is not installed: the cluster extra is optional "
                  "(pip install 'wbsdesk[cluster]'); 'make test' installs only '.[test]'")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _oof(ws, run: str) -> dict[tuple[str, int], float]:
    row = ws.store.run(run)
    return {(a, int(pid)): p for a, pid, _f, p in ws.store.predictions(row.id)}


def test_ray_tasks_give_the_local_deterministic_result_and_resume(cluster, tiny):
    ws = tiny
    one = RunSettings(epochs=1)
    local = training.train(ws, TrainRequest("t", settings=one, deterministic=True))
    out = CliRunner().invoke(cli, ["--workspace", str(ws.root), "train", "t", "--epochs", "1",
                                   "--deterministic", "--ray", "auto", "--json"])
    assert out.exit_code == 0, out.output
    rep = json.loads(out.stdout)
    assert rep["folds_imported"] == 2
    a, b = _oof(ws, local.run), _oof(ws, rep["run"])
    assert a.keys() == b.keys() and len(a) == 12
    assert max(abs(a[k] - b[k]) for k in a) <= 1e-6
    # the driver wrote every unit's files; the fold models verify against their records
    run_dir = Path(rep["run_dir"])
    for k in (1, 2):
        d = run_dir / "resnet18" / f"fold{k}"
        assert {"checkpoint.pt", "checkpoint.pt.sha256", "losses.json", "oof.csv", "split.json",
                "done.json"} <= {p.name for p in d.iterdir()}
    assert "units done" in out.stderr and "ray:" in out.stderr  # typed progress from the tasks
    # cancel after the first unit (the two tasks run one at a time on 2 CPUs), then resume
    token = CancelToken()

    def progress(p):
        if p.event is not None and p.event.state == "finished":
            token.cancel()

    req = TrainRequest("t", settings=one, deterministic=True, ray_address="auto")
    with pytest.raises(Cancelled):
        training.train(ws, req, progress=progress, cancel=token)
    (stopped,) = [r for r in training.list_runs(ws, "t") if r["status"] == "cancelled"]
    assert stopped["folds_done"] == 1
    seen = []
    resumed = training.train(ws, TrainRequest("t", resume=stopped["run"], ray_address="auto"),
                             progress=lambda p: seen.append(p.event))
    assert resumed.folds_imported == 2
    assert [e.state for e in seen if e is not None and e.unit_changed] == ["skipped", "finished"]
    c = _oof(ws, stopped["run"])
    assert max(abs(a[k] - c[k]) for k in a) <= 1e-6
