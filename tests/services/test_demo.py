"""The synthetic demo study: deterministic, complete, labelled synthetic."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from wbsdesk.cli import cli
from wbsdesk.errors import UserError
from wbsdesk.services.demo import (
    DEMO_STUDY,
    GROUP_COUNTS,
    PRACTICE_GROUPS,
    build_demo,
    write_demo_photos,
)
from wbsdesk.services.studies import show_study

SMALL = {"wbs": 3, "other_syndrome": 2, "healthy": 3}


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_faces(tmp_path):
    write_demo_photos(tmp_path / "a", seed=11, counts=SMALL)
    write_demo_photos(tmp_path / "b", seed=11, counts=SMALL)
    write_demo_photos(tmp_path / "c", seed=12, counts=SMALL)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert len(a) == sum(SMALL.values()) + len(PRACTICE_GROUPS) + 1  # photos + manifest
    assert all(a[k] != c[k] for k in a if k.endswith(".jpg"))


def test_subject_ids_do_not_reveal_the_group(tmp_path):
    m = write_demo_photos(tmp_path / "a", seed=3, counts={"wbs": 10, "healthy": 10})
    rows = m.read_text().splitlines()[1:]
    first_half = [r.split(",")[2] for r in rows[:10]]
    assert set(first_half) == {"wbs", "healthy"}  # shuffled, not grouped by id


def test_demo_study_is_complete(demo_ws):
    info = show_study(demo_ws, DEMO_STUDY)
    assert info["synthetic"] is True and "synthetic" in info["title"].lower()
    assert info["subjects"] == sum(GROUP_COUNTS.values()) == 150
    assert {g: v["subjects"] for g, v in info["groups"].items()} == GROUP_COUNTS
    assert all("synthetic" in v["label"] for v in info["groups"].values())
    assert info["folds"]["assigned"] and info["folds"]["unassigned_subjects"] == 0
    assert info["faces"]["ok"] == 150 and info["faces"]["manual"] == 150
    # a separate practice set, one per group, so no reader practises on a scored face
    assert info["practice_only_subjects"] == len(PRACTICE_GROUPS) == 3
    assert {g: v["practice_only"] for g, v in info["groups"].items()} == {
        g: PRACTICE_GROUPS.count(g) for g in GROUP_COUNTS}
    subj = demo_ws.store.subjects(demo_ws.store.study(DEMO_STUDY).id)
    assert all(s.metadata["synthetic"] == "1" for s in subj)
    assert all(len(json.loads(s.metadata["landmarks"])) == 5 for s in subj)
    assert all(s.sex in ("M", "F") and 6 <= s.age_months <= 180 for s in subj)


def test_demo_is_deterministic_against_a_fresh_drawing(demo_ws, tmp_path):
    photos = demo_ws.store.photos(demo_ws.store.study(DEMO_STUDY).id)
    manifest = write_demo_photos(tmp_path / "again", counts={"wbs": 46, "other_syndrome": 40,
                                                             "healthy": 64})
    fresh = _digest(manifest.parent)
    assert sorted(p.sha256 for p in photos) == sorted(v for k, v in fresh.items()
                                                      if k.endswith(".jpg"))


def test_second_build_is_refused_and_if_missing_is_a_no_op(demo_ws):
    with pytest.raises(UserError, match="already has a study named 'demo'"):
        build_demo(demo_ws)
    res = CliRunner().invoke(cli, ["--workspace", str(demo_ws.root), "demo", "--if-missing",
                                   "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["built"] is False


def test_the_demo_command_trains_the_demo_protocol(tmp_path, monkeypatch):
    from wbsdesk.__main__ import main
    from wbsdesk.services import demo, training

    calls = []

    def fake_train(ws, request, **kw):
        calls.append((request.study, request.demo))
        return type("R", (), {"run": "demo-run"})()

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(demo, "GROUP_COUNTS", {"wbs": 3, "other_syndrome": 2, "healthy": 3})
    with pytest.raises(SystemExit) as info:
        main(["--workspace", str(tmp_path / "w"), "demo", "--json"])
    assert info.value.code == 0
    assert calls == [("demo", True)]


DEMO_CHILD = """
import sys, time
from pathlib import Path
from wbsdesk.services import demo
demo.GROUP_COUNTS = {"wbs": 3, "other_syndrome": 2, "healthy": 3}
from wbsdesk.__main__ import main
go = Path(sys.argv[2])
while not go.exists():  # both processes start building at the same moment
    time.sleep(0.01)
main(["--workspace", sys.argv[1], "demo", "--no-train", "--if-missing", "--json"])
"""


def test_two_simultaneous_demo_builds_make_one_demo_without_a_traceback(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO
    from wbsdesk.services.workspace import open_workspace

    root = tmp_path / "w"
    with open_workspace(root):  # the workspace exists; the race is about the demo itself
        pass
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", DEMO_CHILD, str(root), str(go)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    go.touch()
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    built = sorted(json.loads(out)["built"] for out, _ in outs)
    assert built == [False, True]  # one built it; the other waited, then found it there
    with open_workspace(root) as ws:
        study = ws.store.study(DEMO_STUDY)
        subjects = ws.store.subjects(study.id)
        assert len({s.key for s in subjects}) == len(subjects)  # nobody imported twice
        info = show_study(ws, DEMO_STUDY)
        assert info["subjects"] == sum(SMALL.values())
        assert info["faces"]["ok"] == info["photos"] == info["subjects"]  # complete, not half
        assert len(ws.store.studies()) == 1


HOLD_DEMO_LOCK = """
import sys, time
from pathlib import Path
from wbsdesk.errors import UserError
from wbsdesk.services.os_lock import FileLock
with FileLock(Path(sys.argv[1]), lambda who: UserError("busy")):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_build_that_another_process_holds_is_refused_naming_it(ws):
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO
    from wbsdesk.services.demo import DEMO_LOCK

    child = subprocess.Popen([sys.executable, "-c", HOLD_DEMO_LOCK, str(ws.tmp_dir / DEMO_LOCK)],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=rf"demo study .* is being built by process "
                                            rf"{child.pid} on "):
            build_demo(ws, counts=SMALL, train=False, wait=0.5)
        assert ws.store.study(DEMO_STUDY) is None  # nothing half-built
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    res = build_demo(ws, counts=SMALL, train=False, wait=10)  # a killed holder frees it
    assert res is not None and ws.store.study(DEMO_STUDY) is not None
