"""A child process that opens a reader's session and holds it, for the session-lock tests."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HOLD = """
import sys, time
from wbsdesk.services import reading
from wbsdesk.services.workspace import open_workspace
ws = open_workspace(sys.argv[1])
if sys.argv[4] == "dry":
    setup = reading.open_dry_run(ws, sys.argv[2], reader=sys.argv[3])
else:
    setup = reading.open_session(ws, sys.argv[2], sys.argv[3])
print("held", setup.session_id, flush=True)
time.sleep(300)
"""


@contextlib.contextmanager
def holding_session(root: Path, study: str, reader: str, *,
                    dry_run: bool = False) -> Iterator[subprocess.Popen]:
    """Run a child that holds ``reader``'s session on ``study``; SIGKILL it on exit."""
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(root), study, reader,
                              "dry" if dry_run else "session"],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().split()
        assert line[:1] == ["held"], f"the child did not take the session: {line}"
        yield child
    finally:
        kill(child)


def kill(child: subprocess.Popen) -> None:
    """SIGKILL the child (as a crash would) and reap it."""
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()
