"""Running long jobs from the GUI: in a worker thread, or in a spawned process.

Both job kinds take a plain job function ``fn(*args, progress, cancel, **kwargs)`` and
emit the same signals: ``started``, ``progressed(Progress)``, ``succeeded(result)``,
``failed(JobFailure)``, ``cancelled`` and, always last, ``finished``. ``cancel()`` only
sets a flag and never blocks. The owner keeps the job object until ``finished``.

- :class:`ThreadJob`: short in-process work (queries, statistics, one-photo previews). A
  job that needs the database opens its own workspace (one connection per thread).
- :class:`ProcessJob`: training, whole-study alignment, batch inference. Runs in a
  ``spawn`` process, reports through a queue drained by a timer, and is terminated when it
  ignores a polite cancel for ``grace_s`` seconds (SIGTERM, which the child turns into a
  cancel so its clean-up runs), then killed after another ``grace_s``. Job processes are
  not daemonic, so a job may start worker processes of its own (alignment uses a pool);
  any still running when the GUI exits are stopped the same way at exit.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import queue as queue_module
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.errors import Cancelled
from wbsdesk.gui.process_entry import JobFailure, run_in_child

log = logging.getLogger(__name__)

#: Job processes started and not yet reaped; stopped at interpreter exit (see below).
_LIVE_PROCESSES: weakref.WeakSet[Any] = weakref.WeakSet()


def _stop_process(proc: Any, grace_s: float) -> None:
    """Terminate ``proc`` (SIGTERM: a forced cancel), then kill it if it has not ended."""
    if not proc.is_alive():
        return
    proc.terminate()
    proc.join(grace_s)
    if proc.is_alive():
        log.warning("job process %s ignored SIGTERM; killing it", proc.pid)
        proc.kill()
        proc.join(grace_s)


@atexit.register
def _stop_live_processes() -> None:
    # Registered after multiprocessing's own exit hook, so it runs first: that hook joins
    # non-daemonic children and would otherwise wait for a job to finish on its own.
    for proc in list(_LIVE_PROCESSES):
        _stop_process(proc, 5.0)


class _JobSignals(QObject):
    started = Signal()
    progressed = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()


class _ThreadWorker(QObject):
    """Lives in the worker thread; runs the function once."""

    progressed = Signal(object)
    done = Signal(str, object)  # outcome ("ok" | "cancelled" | "error"), payload

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict,
                 token: CancelToken) -> None:
        super().__init__()
        self._call = (fn, args, kwargs)
        self._token = token

    @Slot()
    def run(self) -> None:
        fn, args, kwargs = self._call
        try:
            result = fn(*args, progress=self.progressed.emit, cancel=self._token, **kwargs)
        except Cancelled:
            self.done.emit("cancelled", None)
        except BaseException as exc:  # handed to the GUI's error presenter
            self.done.emit("error", JobFailure.from_exception(exc))
        else:
            self.done.emit("ok", result)


class ThreadJob(_JobSignals):
    """Run ``fn`` in a worker-object ``QThread``.

    Parameters
    ----------
    fn : callable
        ``fn(*args, progress=..., cancel=..., **kwargs)``.
    title : str, keyword-only
        Shown in the job status area.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, title: str = "",
                 **kwargs: Any) -> None:
        super().__init__()
        self.title = title or getattr(fn, "__name__", "job")
        self._token = CancelToken()
        self._thread: QThread | None = None
        self._worker = _ThreadWorker(fn, args, kwargs, self._token)
        self._outcome: tuple[str, Any] | None = None

    @property
    def running(self) -> bool:
        """Whether the job has started and not yet finished."""
        return self._thread is not None

    def start(self) -> None:
        """Start the worker thread."""
        thread = QThread()
        self._thread = thread
        self._worker.moveToThread(thread)
        thread.started.connect(self._worker.run)
        self._worker.progressed.connect(self.progressed)
        self._worker.done.connect(self._on_done)
        # direct: the thread ends even while the GUI thread is blocked in wait()
        self._worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self.started.emit()
        thread.start()

    def cancel(self) -> None:
        """Ask the job to stop at its next check (never blocks)."""
        self._token.cancel()

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the thread has ended (for shutdown); ``True`` if it did."""
        return self._thread.wait(ms) if self._thread is not None else True

    @Slot(str, object)
    def _on_done(self, outcome: str, payload: Any) -> None:
        self._outcome = (outcome, payload)

    @Slot()
    def _on_thread_finished(self) -> None:
        outcome, payload = self._outcome or ("error", JobFailure("the job thread ended early"))
        if outcome == "ok":
            self.succeeded.emit(payload)
        elif outcome == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(payload)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.deleteLater()
        self.finished.emit()


class ProcessJob(_JobSignals):
    """Run ``fn`` in a spawned process (``fn`` must be an importable top-level function).

    Parameters
    ----------
    fn : callable
        ``fn(*args, progress=..., cancel=..., **kwargs)``; arguments and results must pickle.
    title : str, keyword-only
        Shown in the job status area.
    grace_s : float, keyword-only
        After ``cancel()``, how long the process may take to stop before it is terminated.
    poll_ms : int, keyword-only
        How often the queue is drained.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, title: str = "",
                 grace_s: float = 5.0, poll_ms: int = 50, **kwargs: Any) -> None:
        super().__init__()
        self.title = title or getattr(fn, "__name__", "job")
        self._call = (fn, args, kwargs)
        self._ctx = multiprocessing.get_context("spawn")
        self._queue: Any = None
        self._cancel_event: Any = None
        self._proc: Any = None
        self._outcome: tuple[str, Any] | None = None
        self._cancel_asked = False
        self._grace_ms = int(grace_s * 1000)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._on_poll)

    @property
    def running(self) -> bool:
        """Whether the process has started and the job has not finished."""
        return self._proc is not None

    def start(self) -> None:
        """Spawn the process and start draining its queue."""
        fn, args, kwargs = self._call
        self._queue = self._ctx.Queue()
        self._cancel_event = self._ctx.Event()
        self._proc = self._ctx.Process(target=run_in_child, daemon=False,
                                       args=(fn, args, kwargs, self._queue, self._cancel_event))
        self.started.emit()
        self._proc.start()
        _LIVE_PROCESSES.add(self._proc)
        log.info("started job %r in process %s", self.title, self._proc.pid)
        self._timer.start()

    def cancel(self) -> None:
        """Ask the process to stop; terminate it if it has not after the grace period."""
        if self._proc is None or self._cancel_asked:
            return
        self._cancel_asked = True
        self._cancel_event.set()
        QTimer.singleShot(self._grace_ms, self._on_grace_expired)

    def wait(self, ms: int = 30_000) -> bool:
        """Block until the process has ended and its outcome is delivered (for shutdown)."""
        if self._proc is None:
            return True
        self._proc.join(ms / 1000)
        if self._proc.is_alive():
            return False
        self._on_poll()
        return self._proc is None

    @Slot()
    def _on_grace_expired(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            log.warning("job %r ignored cancel; terminating process %s", self.title,
                        self._proc.pid)
            self._proc.terminate()
            QTimer.singleShot(self._grace_ms, self._on_terminate_expired)

    @Slot()
    def _on_terminate_expired(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            log.warning("job %r ignored SIGTERM; killing process %s", self.title,
                        self._proc.pid)
            self._proc.kill()

    def _drain(self) -> None:
        while True:
            try:
                kind, payload = self._queue.get_nowait()
            except queue_module.Empty:
                return
            if kind == "progress":
                self.progressed.emit(payload)
            else:
                self._outcome = (kind, payload)

    @Slot()
    def _on_poll(self) -> None:
        if self._proc is None:
            return
        self._drain()
        if self._outcome is None and self._proc.is_alive():
            return
        self._proc.join(1.0)
        if self._proc.is_alive():
            return  # sent its outcome, still exiting
        self._drain()
        self._timer.stop()
        outcome, payload = self._outcome or (None, None)
        code = self._proc.exitcode
        self._proc = None
        self._queue.close()
        if outcome == "ok":
            self.succeeded.emit(payload)
        elif outcome == "cancelled" or (outcome is None and self._cancel_asked):
            self.cancelled.emit()
        elif outcome == "error":
            self.failed.emit(payload)
        else:
            self.failed.emit(JobFailure(f"the job process ended unexpectedly (exit code "
                                        f"{code})"))
        self.finished.emit()


def describe(p: Progress) -> str:
    """A progress report as status-area text."""
    pct = f" ({100 * p.fraction:.0f} %)" if p.total else ""
    return f"{p.message or 'working'}{pct}"
