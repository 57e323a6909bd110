"""Job functions for the runner tests (importable by spawned processes; no Qt)."""

from __future__ import annotations

import time

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
