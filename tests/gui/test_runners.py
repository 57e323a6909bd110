"""Thread and process jobs: one signal vocabulary, errors, cancellation, the status area."""

from __future__ import annotations

import pytest

from tests.gui import jobfns
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.gui.dialogs import ErrorDialog, present_error
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.gui.runners import ProcessJob, ThreadJob


def _record(job):
    events = []
    for name in ("started", "progressed", "succeeded", "failed", "cancelled", "finished"):
        getattr(job, name).connect(lambda *a, _n=name: events.append((_n, *a)))
    return events


@pytest.mark.parametrize("kind", [ThreadJob, ProcessJob])
def test_job_succeeds_with_progress(qtbot, kind):
    job = kind(jobfns.count, 3, title="count")
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=30_000):
        job.start()
    names = [e[0] for e in events]
    assert names[0] == "started" and names[-2:] == ["succeeded", "finished"]
    assert [e[1].done for e in events if e[0] == "progressed"] == [1, 2, 3]
    assert events[-2][1] == 30 and not job.running


@pytest.mark.parametrize("kind", [ThreadJob, ProcessJob])
def test_job_failures_carry_user_errors_and_tracebacks(qtbot, kind):
    for fn, user in ((jobfns.refuse, True), (jobfns.crash, False)):
        job = kind(fn)
        events = _record(job)
        with qtbot.waitSignal(job.finished, timeout=30_000):
            job.start()
        failure = next(e[1] for e in events if e[0] == "failed")
        assert isinstance(failure, JobFailure) and failure.user_error is user
        if user:
            assert failure.message == "nothing to do" and failure.hint == "add something first"
        else:
            assert "boom" in failure.message and "RuntimeError" in failure.traceback


@pytest.mark.parametrize("kind", [ThreadJob, ProcessJob])
def test_cancel_is_polite_and_silent(qtbot, kind):
    job = kind(jobfns.polite_wait)
    events = _record(job)
    job.start()
    qtbot.wait(300)
    with qtbot.waitSignal(job.finished, timeout=30_000):
        job.cancel()
    assert [e[0] for e in events][-2:] == ["cancelled", "finished"]


def test_a_process_that_ignores_cancel_is_terminated(qtbot):
    job = ProcessJob(jobfns.ignore_cancel, grace_s=0.3)
    events = _record(job)
    job.start()
    qtbot.wait(300)
    with qtbot.waitSignal(job.finished, timeout=30_000):
        job.cancel()
    assert [e[0] for e in events][-2:] == ["cancelled", "finished"]


def test_error_presenter(qtbot):
    assert present_error(None, Cancelled()) is None
    box = present_error(None, UserError("12 photos have no face", hint="open Review"))
    qtbot.addWidget(box)
    assert box.text() == "12 photos have no face" and box.informativeText() == "open Review"
    assert box.detailedText() == ""
    try:
        raise KeyError("bug")
    except KeyError as exc:
        box = present_error(None, exc)
    qtbot.addWidget(box)
    assert "Something went wrong" in box.text() and "KeyError" in box.detailedText()


def test_window_runs_a_job_in_the_status_area(qtbot, ws):
    w = MainWindow(ws, admin=True)
    qtbot.addWidget(w)
    w.show()
    job = ThreadJob(jobfns.refuse, title="Checking")
    with qtbot.waitSignal(job.finished, timeout=10_000):
        w.run_job(job)
        assert w.job_status.isVisible()
    assert not w.job_status.isVisible()
    boxes = w.findChildren(ErrorDialog)
    assert boxes and boxes[-1].text() == "nothing to do"
