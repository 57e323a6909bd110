"""The training lock of a run folder: one process trains a run; a crash frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from wbsdesk.errors import UserError
from wbsdesk.services.run_lock import LOCK_NAME, RunLock, run_in_use

HOLD = """
import sys, time
from wbsdesk.services.run_lock import RunLock
lock = RunLock(sys.argv[1], "r1")
lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_second_holder_is_refused_until_the_first_releases(tmp_path):
    assert not run_in_use(tmp_path)  # no lock file yet
    with RunLock(tmp_path, "r1"):
        assert run_in_use(tmp_path)
        busy = rf"run 'r1' is being trained by .*process {os.getpid()}"
        with pytest.raises(UserError, match=busy):
            RunLock(tmp_path, "r1").acquire()
    assert not run_in_use(tmp_path)
    with RunLock(tmp_path, "r1"):  # free again
        assert run_in_use(tmp_path)
    assert (tmp_path / LOCK_NAME).read_text() == ""  # the holder's note is cleared


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_process_killed_while_training_does_not_leave_the_run_locked(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        assert run_in_use(tmp_path)
        with pytest.raises(UserError, match=f"process {child.pid} on "):
            RunLock(tmp_path, "r1").acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    deadline = time.monotonic() + 10
    while run_in_use(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not run_in_use(tmp_path)
    with RunLock(tmp_path, "r1"):
        pass
