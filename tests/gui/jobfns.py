"""Job functions for the runner tests (importable by spawned processes; no Qt)."""

from __future__ import annotations

import multiprocessing
import signal
import time
from pathlib import Path

from wbsdesk.core.jobs import Progress
from wbsdesk.errors import UserError


def count(n, *, progress, cancel):
    for i in range(n):
        cancel.raise_if_cancelled()
        progress(Progress(i + 1, n, "counting"))
    return n * 10


def refuse(*, progress, cancel):
    raise UserError("nothing to do", hint="add something first")


def crash(*, progress, cancel):
    raise RuntimeError("boom")


def polite_wait(*, progress, cancel):
    while True:
        cancel.raise_if_cancelled()
        time.sleep(0.02)


def ignore_cancel(*, progress, cancel):
    time.sleep(60)


def ignore_cancel_then_clean_up(path, *, progress, cancel):
    """Ignores the polite cancel, but its clean-up must run when it is stopped."""
    try:
        time.sleep(60)
    finally:
        Path(path).write_text("cleaned up", encoding="utf-8")


def ignore_everything(*, progress, cancel):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    progress(Progress(0, 1, "deaf"))
    time.sleep(60)


def _square(x):
    return x * x


def use_a_worker_pool(*, progress, cancel):
    """Starts processes of its own, as whole-study alignment does."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        return sum(pool.map(_square, range(4)))


def wait_for_cancel_then_mark(path, *, progress, cancel):
    """Runs until cancelled, then records that it stopped cleanly."""
    progress(Progress(0, 1, "waiting"))
    try:
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.02)
    finally:
        Path(path).write_text("stopped cleanly", encoding="utf-8")
