"""Driving the real reading screen offscreen with scripted answers (dry runs, benchmarks).

``wbsdesk session dry-run`` calls :func:`drive_dry_run`; tests and the timing benchmark use
:func:`run_script` on any :class:`~wbsdesk.gui.reader_view.ReaderWidget`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def press_key(widget: Any, key: Any, text: str = "") -> None:
    """Send a key press to ``widget`` as the keyboard would."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, key,
                                             Qt.KeyboardModifier.NoModifier, text))


def run_script(reader: Any, answers: Sequence[Any], *,
               echo: Callable[[str], None] | None = None,
               on_key: Callable[[int, int], None] | None = None,
               timeout_s: float | None = None) -> dict[str, Any]:
    """Run a reading screen to its end, answering the i-th photo shown with ``answers[i]``.

    ``i`` counts the session's display order, practice and repeats included (a repeat's
    ``position`` lies after the order's, so it is not its place on screen).

    Each answer (``rating`` or ``None``, ``delay`` seconds after the photo appears) is typed
    as a key press; the aided view of an aided session takes ``aided_rating`` after
    ``aided_delay``. Pauses (after practice) are continued at once. Returns the summary.

    Raises
    ------
    Exception
        Whatever stopped the session (a read that could not be stored).
    """
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from wbsdesk.core.session import Phase

    loop = QEventLoop()
    outcome: dict[str, Any] = {}

    shown_at = {s.position: i for i, s in enumerate(reader.machine.plan)}

    def on_shown(position: int) -> None:
        a = answers[shown_at[position]]
        aided = getattr(reader.machine, "stage", "blind") == "aided"
        rating, delay = (a.aided_rating, a.aided_delay) if aided else (a.rating, a.delay)
        if rating is None or delay is None:
            return
        stage = getattr(reader.machine, "stage", "blind")

        def type_it() -> None:
            cur = reader.machine.current
            if (cur is not None and cur.position == position
                    and getattr(reader.machine, "stage", "blind") == stage):
                if on_key is not None:
                    on_key(position, rating)
                press_key(reader, getattr(Qt.Key, f"Key_{rating}"), str(rating))

        timer = QTimer(reader)
        timer.setSingleShot(True)
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(type_it)
        timer.timeout.connect(timer.deleteLater)
        timer.start(round(delay * 1000))

    def on_committed(rec: Any) -> None:
        if echo is not None:
            echo(f"committed {rec.position}" + (" aided" if rec.modality == "aided" else "")
                 + (" repeat" if getattr(rec, "repeat", False) else ""))
        if reader.machine.phase == Phase.PAUSED:
            QTimer.singleShot(0, reader.begin)

    def on_finished(summary: dict[str, Any]) -> None:
        outcome["summary"] = summary
        loop.quit()

    def on_failed(exc: BaseException) -> None:
        outcome["error"] = exc
        loop.quit()

    reader.photo_shown.connect(on_shown)
    reader.read_committed.connect(on_committed)
    reader.finished.connect(on_finished)
    reader.failed.connect(on_failed)
    if timeout_s is not None:
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if reader.summary is not None:  # every photo was read before (a resumed session)
        return reader.summary
    QTimer.singleShot(0, reader.begin)
    loop.exec()
    if "error" in outcome:
        raise outcome["error"]
    if "summary" not in outcome:
        raise TimeoutError("the scripted session did not finish in time")
    return outcome["summary"]


def drive_dry_run(*, workspace: Path, study: str, answers_text: str, answers_source: str,
                  reader: str | None = None, seconds: float | None = None,
                  response_window: float | None = None, seed: int | None = None,
                  echo: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Rehearse a study's protocol: the real reading screen, offscreen, scripted answers.

    Starts (or resumes) a session under a dry-run reader and answers photo ``i`` (in display
    order, practice first) with line ``i`` of the answers file. Prints ``committed N`` after
    each stored read through ``echo``.

    Returns
    -------
    dict
        The session summary, with ``reader`` and ``session``.
    """
    from wbsdesk.gui.reader_view import build_reader_widget
    from wbsdesk.services import reading
    from wbsdesk.services.workspace import open_workspace

    app = _app()
    ws = open_workspace(workspace)
    try:
        scale = len(reading.load_study(ws, study).protocol.reading.scale)
        answers = reading.parse_answers(answers_text, scale_size=scale, source=answers_source)
        setup = reading.open_dry_run(ws, study, reader=reader, seconds=seconds,
                                     response_window=response_window, seed=seed,
                                     answers=len(answers), script=answers)
        echo(f"session {setup.session_id} by {setup.reader}: {len(setup.done)} of "
             f"{len(setup.plan)} photos already read")
        widget = build_reader_widget(ws, setup)
        widget.resize(1280, 800)
        widget.show()
        app.processEvents()
        try:
            run_script(widget, answers, echo=echo)
        finally:
            widget.shutdown()
            widget.close()
            widget.deleteLater()
            setup.release()
        summary = reading.session_summary(ws, setup.session_id)
        return {"reader": setup.reader, **summary}
    finally:
        ws.close()
