"""Kill -9 during a dry run with repeat reads: every committed read (repeats included)
survives, nothing is duplicated, and the session resumes in its order, repeats included."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from tests.gui.reading_study import make_reading_study
from tests.gui.test_kill import _start
from wbsdesk.config import db_path as workspace_db
from wbsdesk.core.repeats import merge_repeats
from wbsdesk.core.session import Stimulus
from wbsdesk.store import open_store

N_PHOTOS = 24
PRACTICE = 1
KILLS = 6
REPEATS = "repeat_fraction = 0.125\nrepeat_min_gap = 4\n"  # 3 repeats


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
        base = [Stimulus(i, p, f) for i, (p, f) in enumerate(session.photo_order)]
        plan = merge_repeats(base, store.repeat_slots(session.id))
        assert len(plan) == N_PHOTOS + PRACTICE + 3
        shown_at = {s.position: i for i, s in enumerate(plan)}
        reads = store.reads(session.id)
        repeats = store.repeat_reads(session.id)
        committed = sorted(shown_at[r["position"]] for r in reads + repeats)
        assert committed == list(range(len(committed)))  # a prefix of the display order
        assert len({r["photo_id"] for r in reads}) == len(reads)
        assert len({r["photo_id"] for r in repeats}) == len(repeats)
        assert announced <= {r["position"] for r in reads + repeats}  # nothing lost
        assert len(committed) >= previous
        for r in reads + repeats:
            assert r["rating"] == answers[shown_at[r["position"]]][0]
            assert plan[shown_at[r["position"]]].photo_id == r["photo_id"]
        return len(committed), session
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_with_repeats_loses_and_duplicates_nothing(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=N_PHOTOS, practice=PRACTICE, seconds=0.15, window=0.25,
                       extra=REPEATS)
    ws.close()
    rng = random.Random(7)
    answers = []
    for _ in range(N_PHOTOS + PRACTICE + 3):
        rating = None if rng.random() < 0.1 else rng.randint(1, 5)
        answers.append((rating, round(rng.uniform(0.02, 0.3), 3)))
    answers_file = tmp_path / "answers.txt"
    answers_file.write_text("".join(f"{'-' if r is None else r} {d}\n" for r, d in answers))
    db_path = workspace_db(tmp_path / "ws")
    kills = count = 0
    while kills < KILLS:
        proc, lines, started, pump = _start(tmp_path / "ws", answers_file)
        assert started.wait(30), lines
        time.sleep(rng.uniform(0.0, 0.8))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(30)
        pump.join(10)
        announced = {int(x.split()[1]) for x in lines if x.startswith("committed ")}
        count, _ = _check(db_path, answers, announced, count)
        assert count < N_PHOTOS + PRACTICE + 3, "the session finished before the kills"
    proc, lines, _, pump = _start(tmp_path / "ws", answers_file)
    assert proc.wait(60) == 0, lines
    pump.join(10)
    count, session = _check(db_path, answers, set(), count)
    assert count == N_PHOTOS + PRACTICE + 3 and session.status == "finished"
