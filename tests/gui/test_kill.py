"""Kill -9 at random moments: nothing committed is lost, nothing is duplicated, ever."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.gui.reading_study import make_reading_study
from wbsdesk.config import db_path as workspace_db
from wbsdesk.store import open_store

N_PHOTOS = 32
PRACTICE = 1
KILLS = 10


def _start(ws_root, answers_file):
    cmd = [sys.executable, "-m", "wbsdesk", "--workspace", str(ws_root), "session", "dry-run",
           "tiny", "--answers", str(answers_file), "--seconds", "0.15",
           "--response-window", "0.25", "--reader", "kill-test", "--seed", "5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "",
                                 "PYTHONPATH": os.pathsep.join(sys.path)})
    lines: list[str] = []
    started = threading.Event()

    def pump():
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("session "):
                started.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return proc, lines, started, reader


def _check(db_path, answers, announced, previous):
    store = open_store(db_path)
    try:
        assert store.integrity_check() == []
        reader = store.reader("kill-test")
        study = store.study("tiny")
        session = store.session_of(reader.id, study.id) if reader else None
        if session is None:
            assert not announced
            return 0, None
        reads = store.reads(session.id)
        positions = [r["position"] for r in reads]
        assert positions == list(range(len(reads)))  # a prefix of the order, no gaps
        assert len({(r["photo_id"], r["practice"]) for r in reads}) == len(reads)
        assert announced <= set(positions)  # nothing committed was lost
        assert len(reads) >= previous
        for r in reads:
            assert r["rating"] == answers[r["position"]][0]
            assert r["practice"] == (r["position"] < PRACTICE)
        return len(reads), session
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=N_PHOTOS, practice=PRACTICE, seconds=0.15, window=0.25)
    ws.close()
    rng = random.Random(2021)
    answers = []
    for _ in range(N_PHOTOS + PRACTICE):
        rating = None if rng.random() < 0.15 else rng.randint(1, 5)
        answers.append((rating, round(rng.uniform(0.02, 0.3), 3)))
    answers_file = tmp_path / "answers.txt"
    answers_file.write_text("".join(f"{'-' if r is None else r} {d}\n" for r, d in answers))
    db_path = workspace_db(tmp_path / "ws")
    t0 = time.monotonic()
    kills = resumed_runs = 0
    count = 0
    while kills < KILLS:
        existed = count > 0 or _check(db_path, answers, set(), 0)[1] is not None
        proc, lines, started, pump = _start(tmp_path / "ws", answers_file)
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.05, 0.8))  # anywhere, start-up included
        else:
            assert started.wait(30), lines
            time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(30)
        pump.join(10)
        resumed_runs += existed
        announced = {int(x.split()[1]) for x in lines if x.startswith("committed ")}
        count, _ = _check(db_path, answers, announced, count)
        assert count < N_PHOTOS + PRACTICE, "the session finished before 10 kills"
    proc, lines, _, pump = _start(tmp_path / "ws", answers_file)
    assert proc.wait(60) == 0, lines
    pump.join(10)
    count, session = _check(db_path, answers, set(), count)
    assert count == N_PHOTOS + PRACTICE and session.status == "finished"
    assert 1 <= session.interruptions <= resumed_runs + 1
    assert time.monotonic() - t0 < 90
