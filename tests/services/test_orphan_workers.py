"""Alignment workers and job processes do not outlive a parent that dies without stopping them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

ROOT = Path(__file__).resolve().parents[2]

POOL_PARENT = """
import multiprocessing, os, time
from concurrent.futures import ProcessPoolExecutor
from wbsdesk.services.face_jobs import init_worker

if __name__ == "__main__":
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_worker)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(120)  # killed here, with the pool never shut down
"""

JOB_PARENT = """
import multiprocessing, sys, time
from tests.gui import jobfns
from wbsdesk.gui.process_entry import run_in_child

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    queue, event = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=run_in_child, args=(jobfns.wait_for_cancel_then_mark,
                       (sys.argv[1],), {}, queue, event))
    proc.start()
    queue.get(timeout=60)  # its first progress report: the job is running
    print(proc.pid, flush=True)
    time.sleep(120)  # killed here, like a GUI that crashes while a job runs
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie awaiting its reaper counts as gone
        return fh.read().split(") ")[-1][0] != "Z"


def _run_and_kill(code: str, *args: str) -> int:
    parent = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
    return child


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_alignment_workers_exit_when_their_parent_is_killed():
    worker = _run_and_kill(POOL_PARENT)
    assert _gone_within(worker, 20), f"worker {worker} outlived its killed parent"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_job_whose_gui_is_killed_cancels_cleanly(tmp_path):
    marker = tmp_path / "marker"
    job = _run_and_kill(JOB_PARENT, str(marker))
    assert _gone_within(job, 20), f"job process {job} outlived its killed parent"
    assert marker.read_text() == "stopped cleanly"
