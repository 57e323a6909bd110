"""Kill -9 in either phase of a sequential aided session: nothing committed is lost or
changed, nothing is duplicated, and the session resumes at the unfinished phase."""

from __future__ import annotations

import random
import time

import pytest

from tests.gui.aided_study import make_aided_study
from tests.gui.test_kill import _start
from wbsdesk.config import db_path as workspace_db
from wbsdesk.store import open_store

N_PHOTOS = 12
KILLS = 6


def _expected_steps(n: int) -> list[tuple[int, int]]:
    return [(p, phase) for p in range(n) for phase in (1, 2)]


def _check(db_path, answers, announced, seen):
    """Reads are a prefix of the blind/aided steps, with the scripted ratings; every read
    seen before is still there, unchanged."""
    store = open_store(db_path)
    try:
        assert store.integrity_check() == []
        reader = store.reader("kill-test")
        session = store.session_of(reader.id, store.study("tiny").id) if reader else None
        if session is None:
            assert not announced
            return {}, None
        reads = store.reads(session.id)
        steps = [(r["position"], r["phase"]) for r in reads]
        assert steps == _expected_steps(N_PHOTOS)[:len(steps)]
        assert announced <= set(steps)
        now = {(r["position"], r["phase"]): r for r in reads}
        for key, before in seen.items():
            assert now[key] == before  # locked: never changed, never gone
        for (pos, phase), r in now.items():
            want = answers[pos][0] if phase == 1 else answers[pos][2]
            assert r["rating"] == want
            assert r["modality"] == ("unaided" if phase == 1 else "aided")
        return now, session
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_in_either_phase_loses_nothing_committed(ws, tmp_path):
    make_aided_study(ws, tmp_path, n=N_PHOTOS, seconds=0.15, window=0.25)
    ws.close()
    rng = random.Random(7)
    answers = []
    for _ in range(N_PHOTOS):
        blind = None if rng.random() < 0.15 else rng.randint(1, 5)
        aided = None if rng.random() < 0.15 else rng.randint(1, 5)
        answers.append((blind, round(rng.uniform(0.02, 0.3), 3), aided,
                        round(rng.uniform(0.02, 0.3), 3)))
    answers_file = tmp_path / "answers.txt"
    answers_file.write_text("".join(
        f"{'-' if b is None else b} {d} {'-' if a is None else a} {e}\n"
        for b, d, a, e in answers))
    db_path = workspace_db(tmp_path / "ws")
    t0 = time.monotonic()
    kills = 0
    seen: dict = {}
    phases_killed = set()
    while kills < KILLS:
        proc, lines, started, pump = _start(tmp_path / "ws", answers_file)
        assert started.wait(30), lines
        # after a few more committed reads (a slow start-up must not eat the kill), then
        # anywhere: on the blind view, on the aided view or in between
        want = rng.randint(0, 3)
        deadline = time.monotonic() + 30
        while (sum(x.startswith("committed ") for x in lines) < want
               and proc.poll() is None and time.monotonic() < deadline):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.wait(30)
        pump.join(10)
        announced = set()
        for x in lines:
            if x.startswith("committed "):
                parts = x.split()
                announced.add((int(parts[1]), 2 if parts[-1] == "aided" else 1))
        seen, session = _check(db_path, answers, announced, seen)
        if seen:
            phases_killed.add(max(seen)[1])  # the last committed phase before the kill
        assert len(seen) < 2 * N_PHOTOS, "the session finished before the kills"
    assert phases_killed == {1, 2}, phases_killed  # killed after both kinds of read
    proc, lines, _, pump = _start(tmp_path / "ws", answers_file)
    assert proc.wait(60) == 0, lines
    pump.join(10)
    seen, session = _check(db_path, answers, set(), seen)
    assert len(seen) == 2 * N_PHOTOS and session.status == "finished"
    assert session.interruptions >= 1
    assert time.monotonic() - t0 < 300  # a hang guard (process start-ups dominate)
