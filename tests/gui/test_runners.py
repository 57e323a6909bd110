"""Thread and process jobs: one signal vocabulary, errors, cancellation, the status area."""

from __future__ import annotations

import os
import sys

import pytest

from tests.gui import jobfns
from tests.services.conftest import TINY, tiny_protocol
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.gui import runners
from wbsdesk.gui.dialogs import ErrorDialog, present_error
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.gui.runners import ProcessJob, ThreadJob
from wbsdesk.services.demo import write_demo_photos
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study
from wbsdesk.services.study_jobs import align_job


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


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_a_terminated_job_still_runs_its_clean_up(qtbot, tmp_path):
    marker = tmp_path / "marker"
    job = ProcessJob(jobfns.ignore_cancel_then_clean_up, str(marker), grace_s=0.3)
    events = _record(job)
    job.start()
    qtbot.wait(300)
    with qtbot.waitSignal(job.finished, timeout=30_000):
        job.cancel()
    assert [e[0] for e in events][-2:] == ["cancelled", "finished"]
    assert marker.read_text() == "cleaned up"  # SIGTERM arrived as a cancel


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_a_job_deaf_to_sigterm_is_killed(qtbot):
    job = ProcessJob(jobfns.ignore_everything, grace_s=0.3)
    events = _record(job)
    with qtbot.waitSignal(job.progressed, timeout=30_000):
        job.start()
    with qtbot.waitSignal(job.finished, timeout=30_000):
        job.cancel()
    assert [e[0] for e in events][-2:] == ["cancelled", "finished"]


def test_a_job_process_may_start_workers_of_its_own(qtbot):
    job = ProcessJob(jobfns.use_a_worker_pool)
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        job.start()
    assert events[-2] == ("succeeded", 14)


def test_job_processes_left_running_are_stopped_at_exit(qtbot):
    job = ProcessJob(jobfns.ignore_everything)
    with qtbot.waitSignal(job.progressed, timeout=30_000):
        job.start()
    proc = job._proc
    runners._stop_live_processes()  # what the interpreter runs at exit
    assert not proc.is_alive() and proc.exitcode is not None
    with qtbot.waitSignal(job.finished, timeout=10_000):
        pass
    assert not job.running


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores for two workers")
def test_study_alignment_from_the_gui_uses_a_worker_pool(qtbot, ws, tmp_path):
    manifest = write_demo_photos(tmp_path / "faces", seed=5, counts=TINY, with_practice=False)
    create_study(ws, "t", tiny_protocol(tmp_path))
    import_manifest(ws, "t", manifest)
    job = ProcessJob(align_job, str(ws.root), "t", title="Finding faces")
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=180_000):
        job.start()
    summary = events[-2][1]
    assert events[-2][0] == "succeeded" and summary.workers >= 2
    assert summary.aligned == sum(TINY.values()) and not summary.failed
    assert len(ws.store.crops(ws.store.study("t").id)) == sum(TINY.values())


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
