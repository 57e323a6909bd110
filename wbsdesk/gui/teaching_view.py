"""The teaching screen: the reading screen, marked TEACHING, with the truth after each answer.

:class:`TeachingReaderWidget` is the physician's reading screen
(:class:`~wbsdesk.gui.reader_view.ReaderWidget`: same timing, keys and pauses) with a
banner saying that this is a teaching session and not a study read, and, after each
answer is stored, a page with the photo's true group and whether the answer was right.
Its answers go to the teaching tables (:mod:`wbsdesk.services.teaching`), never to the
study's reads. :func:`run_teaching` opens it in a window for ``wbsdesk session
train-readers``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from wbsdesk.core.formatting import fmt_duration
from wbsdesk.core.protocol import Reading
from wbsdesk.core.session import Phase, ReadRecord
from wbsdesk.gui import reader_text
from wbsdesk.gui.photo_canvas import load_image
from wbsdesk.gui.reader_view import TEXT, ReaderWidget
from wbsdesk.services.teaching import TeachingSetup, Truth, judge

log = logging.getLogger(__name__)

BANNER = "TEACHING SESSION — not a study read: the true answer is shown after each photo"
#: Side of the photo shown again with its truth (pixels).
FEEDBACK_PHOTO_PX = 300
BANNER_CSS = ("background: #f2c14e; color: #1a1a1a; font-weight: bold; padding: 6px;"
              " border-bottom: 2px solid #1a1a1a;")


def teaching_instructions(reading: Reading, *, left: int, resumed: bool) -> list[str]:
    """The teaching start page's paragraphs (the reading rules, with feedback).

    Examples
    --------
    >>> from wbsdesk.core.protocol import Reading
    >>> teaching_instructions(Reading(), left=3, resumed=False)[0][:33]
    'This is a teaching session, not a'
    """
    rules = [line for line in reader_text.instructions(
        reading, scored_left=left, practice_left=0, resumed=resumed)
        if "no feedback" not in line]
    rules = [line.replace(" There is no feedback on whether it was right.", "")
             for line in rules]
    return ["This is a teaching session, not a study read. After each answer you see the "
            "child's true group and whether your answer was right. These answers are kept "
            "apart and never enter the study's results.", *rules]


def feedback_text(reading: Reading, rating: int | None, truth: Truth,
                  positive_label: str) -> tuple[str, str]:
    """(title, text) of the page after an answer: right or not, the truth, the answer."""
    binary = None if rating is None else reading.binary_read(rating)
    right = judge(binary, truth)
    title = {True: "Right", False: "Not right", None: "No answer recorded"}[right]
    yes_no = "" if binary is None else (" (counts as yes)" if binary else " (counts as no)")
    answer = ("You gave no answer in time." if rating is None else
              f"Your answer: {rating} · {reading.scale[rating - 1]}{yes_no}.")
    has = "has" if truth.positive else "does not have"
    return title, (f"This child's group: {truth.label}.\n\nThe child {has} "
                   f"{positive_label}.\n\n{answer}")


class TeachingReaderWidget(ReaderWidget):
    """The reading screen of a teaching session (see the module docstring).

    Parameters
    ----------
    teaching : TeachingSetup
    commit, on_finish, clock :
        As for :class:`~wbsdesk.gui.reader_view.ReaderWidget` (``commit`` stores a teaching
        answer).
    """

    def __init__(self, teaching: TeachingSetup, commit: Callable[[ReadRecord], Any],
                 on_finish: Callable[[], dict[str, Any]], *,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        self.teaching = teaching
        self.feedback: list[tuple[int, bool | None]] = []  # (position, right) this sitting
        super().__init__(teaching.setup, commit, on_finish, clock=clock, parent=parent)

    def _build(self) -> None:
        super()._build()
        self.banner = QLabel(BANNER)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet(BANNER_CSS)
        self.banner.setAccessibleName("Teaching session")
        self.layout().insertWidget(0, self.banner)
        # the photo again beside its truth, on the feedback page only
        self.feedback_photo = QLabel()
        self.feedback_photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.feedback_photo.hide()
        self.message_page.layout().insertWidget(1, self.feedback_photo)

    def _show_start_page(self) -> None:
        if self.machine.phase == Phase.FINISHED:
            self._finish()
            return
        left = len(self.machine.peek(len(self.machine.plan)))
        lines = teaching_instructions(self.setup.reading, left=left,
                                      resumed=self.setup.resumed)
        self._message("Teaching session", "\n\n".join(lines), "Start  (Space)", "start")

    def _update_labels(self) -> None:
        super()._update_labels()
        self.part_label.setText("Teaching (not a study read)")

    def _after_read(self, rec: ReadRecord) -> None:
        self.read_committed.emit(rec)
        self._stop_timers()
        truth = self.teaching.truth[rec.photo_id]
        right = judge(rec.binary_read, truth)
        self.feedback.append((rec.position, right))
        title, text = feedback_text(self.setup.reading, rec.rating, truth,
                                    self.teaching.positive_label)
        self.canvas.set_image(None)
        self._message(title, text, "Next photo  (Space)", "continue")
        try:
            img = load_image(self.setup.images[rec.photo_id], FEEDBACK_PHOTO_PX)
        except OSError as exc:  # the answer is stored; the photo is only a reminder
            log.warning("cannot show the photo again: %s", exc)
        else:
            self.feedback_photo.setPixmap(QPixmap.fromImage(img))
            self.feedback_photo.show()
        color = {True: reader_text_color("right"), False: reader_text_color("wrong"),
                 None: reader_text_color("none")}[right]
        self.message_title.setStyleSheet(f"color: {color}; background: transparent;")

    def _message(self, title: str, text: str, button: str, action: str) -> None:
        self.message_title.setStyleSheet(f"color: {TEXT}; background: transparent;")
        self.feedback_photo.hide()
        super()._message(title, text, button, action)

    def _finish_text(self, s: dict[str, Any]) -> tuple[str, str]:
        return ("The teaching session is complete",
                f"Right answers: {s['correct']} of {s['photos_read']}\n\n"
                f"Time: {fmt_duration(s['seconds'])}\n\n"
                "These answers are not part of the study.")


def reader_text_color(kind: str) -> str:
    """The feedback title's colour: green right, orange wrong, grey no answer."""
    return {"right": "#b9f0b9", "wrong": "#ffb37a", "none": "#d0d0d0"}[kind]


def build_teaching_widget(ws: Any, teaching: TeachingSetup, *,
                          clock: Callable[[], float] = time.monotonic,
                          parent: QWidget | None = None) -> TeachingReaderWidget:
    """A teaching screen wired to the store (a preview keeps its answers in memory)."""
    from wbsdesk.services import teaching as teaching_service

    tid = teaching.teaching_id
    if tid is not None:
        return TeachingReaderWidget(
            teaching, lambda rec: teaching_service.record_teaching_read(ws, teaching, rec),
            lambda: teaching_service.finish_teaching(ws, tid), clock=clock, parent=parent)
    holder: list[TeachingReaderWidget] = []

    def preview_summary() -> dict[str, Any]:
        w = holder[0]
        return {"teaching_session": None, "photos_read": len(w.feedback),
                "correct": sum(bool(r) for _, r in w.feedback), "seconds": 0.0,
                "finished": True}

    widget = TeachingReaderWidget(teaching, lambda rec: None, preview_summary, clock=clock,
                                  parent=parent)
    holder.append(widget)
    return widget


def run_teaching(*, workspace: Path, study: str, reader: str,
                 seed: int | None = None) -> dict[str, Any]:
    """Open the app window on the teaching screen (``wbsdesk session train-readers``).

    The window is in reader mode; it closes when the teaching session ends or is stopped.

    Returns
    -------
    dict
        The teaching session's summary (``teaching_session`` is ``None`` when it did not
        start).
    """
    import sys

    from PySide6.QtWidgets import QApplication

    from wbsdesk.config import ensure_private_dir
    from wbsdesk.gui.main_window import MainWindow
    from wbsdesk.log import setup_logging
    from wbsdesk.services import teaching as teaching_service
    from wbsdesk.services.workspace import open_workspace

    setup_logging(ensure_private_dir(workspace))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("wbsdesk")
    with open_workspace(workspace) as ws:
        teaching = teaching_service.open_teaching(ws, study, reader, seed=seed)
        window = MainWindow(ws, study=study)
        widget = None
        try:
            widget = window.start_teaching_setup(teaching)
            widget.stopped.connect(window.close)
            widget.done.connect(window.close)
            window.show()
            app.exec()
        finally:
            if widget is None:
                teaching.release()
            window.close()
        assert teaching.teaching_id is not None
        return teaching_service.teaching_summary(ws, teaching.teaching_id)
