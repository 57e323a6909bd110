"""The physician's reading screen: one photo at a time, for exactly the protocol's seconds.

Blind by construction: the screen gets a :class:`~wbsdesk.services.reading.SessionSetup`
(photo ids and crop paths only) and never shows a file name, subject, group or another
reader's answer. Each photo is painted, then its onset is recorded on the monotonic clock;
a precise timer replaces it by neutral grey after ``seconds_per_photo``. The next crop is
decoded and scaled off the GUI thread so the switch is immediate.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QFont, QImage, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.formatting import fmt_duration
from wbsdesk.core.session import Phase, ReadingSession, ReadRecord, Stimulus
from wbsdesk.gui import dialogs, reader_text
from wbsdesk.gui.photo_canvas import (
    BAR_SHOW,
    BAR_WAIT,
    GREY,
    LoaderSignals,
    LoadTask,
    PhotoCanvasWidget,
    TimeBarWidget,
    load_image,
)
from wbsdesk.services.reading import SessionSetup

log = logging.getLogger(__name__)

TEXT = "#f2f2f2"
MUTED = "#d0d0d0"
CUE = "#b9f0b9"      # "Answer recorded"
URGENT = "#ffe08a"   # "Answer now" on the grey screen
_KEYS = {getattr(Qt.Key, f"Key_{i}"): i for i in range(1, 10)}


def _label(text: str = "", *, size: float = 1.0, color: str = TEXT, bold: bool = False) -> QLabel:
    lab = QLabel(text)
    f = QFont(lab.font())
    f.setPointSizeF(f.pointSizeF() * size)
    f.setBold(bold)
    lab.setFont(f)
    lab.setStyleSheet(f"color: {color}; background: transparent;")
    lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lab.setWordWrap(True)
    return lab


_BUTTON_CSS = """
QPushButton { background: #e6e6e6; color: #1a1a1a; border: 2px solid #e6e6e6;
              border-radius: 8px; padding: 10px 8px; }
QPushButton:hover { background: #f5f5f5; border-color: #f5f5f5; }
QPushButton:checked { background: #ffffff; border: 3px solid #1a1a1a; font-weight: bold; }
QPushButton:disabled { background: #8a8a8a; color: #4a4a4a; border-color: #8a8a8a; }
"""


class ReaderWidget(QWidget):
    """The reading screen of one session (kiosk content; the window makes it full-screen).

    Parameters
    ----------
    setup : SessionSetup
    commit : callable
        Stores one :class:`ReadRecord` durably (called before the next photo appears).
    on_finish : callable
        Called once every photo has a read; returns the summary (``photos_read``,
        ``seconds``).
    clock : callable, keyword-only
        Monotonic seconds (a fake clock renders fixed screenshots).

    Signals
    -------
    photo_shown(position), photo_hidden(position), read_committed(ReadRecord),
    finished(summary), stopped (the reader stopped mid-session), done (summary dismissed),
    failed(exception).
    """

    photo_shown = Signal(int)
    photo_hidden = Signal(int)
    read_committed = Signal(object)
    finished = Signal(object)
    stopped = Signal()
    done = Signal()
    failed = Signal(object)

    def __init__(self, setup: SessionSetup, commit: Callable[[ReadRecord], Any],
                 on_finish: Callable[[], dict[str, Any]], *,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setup = setup
        self._on_finish = on_finish
        self._clock = clock
        self.machine = self._make_machine(commit)
        self.summary: dict[str, Any] | None = None
        self._cache: dict[int, tuple[int, QImage]] = {}
        self._requested: set[tuple[int, int]] = set()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._loader = LoaderSignals(self)
        self._loader.loaded.connect(self._on_loaded)
        self._loader.failed.connect(self._on_load_failed)
        self._due = QTimer(self)
        self._due.setSingleShot(True)
        self._due.setTimerType(Qt.TimerType.PreciseTimer)
        self._due.timeout.connect(self._on_due)
        self._tick = QTimer(self)
        self._tick.setInterval(40)
        self._tick.timeout.connect(self._on_tick)
        self._notice = QTimer(self)  # "No answer recorded" stays a moment before the next photo
        self._notice.setSingleShot(True)
        self._notice.setInterval(reader_text.no_answer_notice_ms(setup.reading))
        self._notice.timeout.connect(self._next)
        self._build()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._show_start_page()

    def _make_machine(self, commit: Callable[[ReadRecord], Any]) -> ReadingSession:
        """The session's state machine (an aided screen makes an aided one)."""
        s = self.setup
        return ReadingSession(s.plan, s.reading, commit, done=s.done, resumed=s.resumed,
                              clock=self._clock)

    # -- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), GREY)
        self.setPalette(pal)
        self.time_bar = TimeBarWidget()
        self.part_label = _label(size=1.1, color=MUTED)
        self.part_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.progress_label = _label(size=1.25, color=MUTED)
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignRight
                                         | Qt.AlignmentFlag.AlignVCenter)
        self.canvas = PhotoCanvasWidget()
        self.question = _label(self.setup.question, size=1.45, bold=True)
        # "Answer recorded" / "Answer now · 12 s left" / "No answer recorded": one line of
        # fixed height, so the photo never moves or rescales when it changes.
        self.status = _label(" ", size=1.3, bold=True)
        self.status.setWordWrap(False)
        self.status.setFixedHeight(self.status.fontMetrics().height() + 6)
        self.buttons: list[QPushButton] = []
        row = QHBoxLayout()
        row.setSpacing(14)
        for i, text in enumerate(self.setup.reading.scale, start=1):
            b = QPushButton(f"{i}   {text}")
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setAccessibleName(f"{text} (key {i})")
            b.setStyleSheet(_BUTTON_CSS)
            f = QFont(b.font())
            f.setPointSizeF(f.pointSizeF() * 1.3)
            b.setFont(f)
            b.setMinimumHeight(58)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.clicked.connect(lambda _=False, r=i: self.answer(r))
            row.addWidget(b, 1)
            self.buttons.append(b)
        self._hint_text = (f"Answer with keys 1–{len(self.buttons)} or a click.     "
                           "P: pause after this photo.     Esc: stop")
        self.hint = _label(self._hint_text, size=0.95, color=MUTED)
        top = QHBoxLayout()
        top.addWidget(self.part_label, 1)
        top.addWidget(self.progress_label, 1)
        reading = QWidget()
        rv = QVBoxLayout(reading)
        rv.setContentsMargins(40, 8, 40, 20)
        rv.addLayout(top)
        rv.addWidget(self.canvas, 1)
        rv.addSpacing(6)
        rv.addWidget(self.question)
        rv.addWidget(self.status)
        rv.addSpacing(2)
        rv.addLayout(row)
        rv.addSpacing(4)
        rv.addWidget(self.hint)

        self.message_title = _label(size=2.0, bold=True)
        self.message_text = _label(size=1.3)
        self.message_button = QPushButton()
        self.message_button.setStyleSheet(_BUTTON_CSS)
        self.message_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        f = QFont(self.message_button.font())
        f.setPointSizeF(f.pointSizeF() * 1.3)
        self.message_button.setFont(f)
        self.message_button.setMinimumSize(280, 58)
        self.message_button.clicked.connect(self._on_message_button)
        message = QWidget()
        mv = QVBoxLayout(message)
        mv.addStretch(2)
        mv.addWidget(self.message_title)
        mv.addSpacing(16)
        # a readable measure (about 75 characters) instead of the full screen's width
        # (fixed: :meth:`_message` sets the height this width needs for each text)
        self.message_text.setFixedWidth(self.message_text.fontMetrics().averageCharWidth() * 80)
        mv.addWidget(self.message_text, 0, Qt.AlignmentFlag.AlignHCenter)
        mv.addSpacing(28)
        mv.addWidget(self.message_button, 0, Qt.AlignmentFlag.AlignHCenter)
        mv.addStretch(3)

        self.pages = QStackedWidget()
        self.pages.addWidget(message)
        self.pages.addWidget(reading)
        self.message_page, self.reading_page = message, reading
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addWidget(self.time_bar)
        v.addWidget(self.pages, 1)

    # -- pages -----------------------------------------------------------------------------
    def _message(self, title: str, text: str, button: str, action: str) -> None:
        self._stop_timers()
        self.time_bar.set_state(0.0, BAR_SHOW)
        self.message_title.setText(title)
        self.message_text.setText(text)
        self.message_text.setMinimumHeight(0)  # else heightForWidth keeps the last height
        self.message_text.setMaximumHeight(16777215)
        self.message_text.setFixedHeight(
            self.message_text.heightForWidth(self.message_text.width()))
        self.message_button.setText(button)
        self._message_action = action
        self.time_bar.set_idle(True)
        self.pages.setCurrentWidget(self.message_page)
        self._preload_first()

    def _preload_first(self) -> None:
        """On a start or pause page: decode the photo that follows the key press, at the
        size the (hidden) reading page will give it."""
        if (self.pages.currentWidget() is not self.message_page
                or self._message_action not in ("start", "continue")):
            return
        self.layout().activate()
        self.reading_page.setGeometry(self.pages.rect())
        self.reading_page.layout().activate()
        for s in self.machine.peek(1):
            self._preload(s)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._preload_first)  # once the layouts have settled

    def _show_start_page(self) -> None:
        m = self.machine
        if m.phase == Phase.FINISHED:
            self._finish()
            return
        lines = self._instructions()
        title = "Welcome back" if self.setup.resumed else "Reading session"
        self._message(title, "\n\n".join(lines), "Start  (Space)", "start")

    def _instructions(self) -> list[str]:
        """The start page's paragraphs."""
        left = self.machine.peek(len(self.machine.plan))
        return reader_text.instructions(
            self.setup.reading, scored_left=sum(not s.practice for s in left),
            practice_left=sum(s.practice for s in left), resumed=self.setup.resumed)

    def _on_message_button(self) -> None:
        action = self._message_action
        if action in ("start", "continue"):
            if self.machine.phase == Phase.PAUSED:
                self.machine.resume()
            self.time_bar.set_idle(False)
            self.pages.setCurrentWidget(self.reading_page)
            self._next()
        elif action == "done":
            self.done.emit()

    def begin(self) -> None:
        """Leave the start page and show the first photo (as pressing Space does)."""
        if self.pages.currentWidget() is self.message_page:
            self._on_message_button()

    # -- the reading loop ------------------------------------------------------------------
    def _next(self) -> None:
        m = self.machine
        if m.phase == Phase.READY:
            self._show_next()
        elif m.phase == Phase.PAUSED:
            if m.pause_reason == "practice_done":
                self._message("Practice done", "The photos that count start now.",
                              "Continue  (Space)", "continue")
            else:
                self._message("Paused", "Take your time. The session continues with the "
                              "next photo.", "Continue  (Space)", "continue")
        elif m.phase == Phase.FINISHED:
            self._finish()

    def _take_image(self, s: Stimulus) -> QImage:
        side = self.canvas.photo_side()
        held = self._cache.pop(s.position, None)
        if held is not None and held[0] == side:
            return held[1]
        log.debug("photo at position %d was not preloaded at this size", s.position)
        return load_image(self.setup.images[s.photo_id], side)

    def _show_next(self) -> None:
        m = self.machine
        s = m.upcoming
        assert s is not None
        try:
            img = self._take_image(s)
        except OSError as exc:
            self._fail(exc)
            return
        for b in self.buttons:
            b.setChecked(False)
        self.hint.setText(self._hint_text)
        self._set_status("")
        self._update_labels()
        self.canvas.set_image(img)
        self.canvas.repaint()
        m.show()
        self.photo_shown.emit(s.position)
        self._arm()
        self._tick.start()
        self._on_tick()
        for nxt in m.peek(2):
            self._preload(nxt)

    def _set_status(self, text: str, color: str = TEXT) -> None:
        if self.status.text() != (text or " "):
            self.status.setText(text or " ")
            self.status.setStyleSheet(f"color: {color}; background: transparent;")

    def _update_labels(self) -> None:
        n, total, practice = self.machine.progress()
        self.part_label.setText("Practice (does not count)" if practice else "")
        self.progress_label.setText(f"{n} / {total}")

    def _arm(self) -> None:
        left = self.machine.seconds_until_due()
        if left is None:
            self._due.stop()
            return
        self._due.start(max(0, math.floor(left * 1000)))

    def _on_due(self) -> None:
        m = self.machine
        left = m.seconds_until_due()
        if left is None:
            return
        if left > 0.003:
            self._arm()
            return
        if left > 0:
            time.sleep(left)  # the last few milliseconds, for a precise display time
        try:
            if m.phase == Phase.SHOWING:
                self.canvas.set_image(None)
                self.canvas.repaint()
                position = m.current.position if m.current else -1
                rec = m.hide()
                self.photo_hidden.emit(position)
            else:
                rec = m.expire()
        except Exception as exc:  # the read could not be stored
            self._fail(exc)
            return
        if rec is None:
            self._arm()
            self._on_tick()
        else:
            self._after_read(rec)

    def _on_tick(self) -> None:
        m = self.machine
        if m.phase == Phase.SHOWING:
            self.time_bar.set_state(1.0 - m.elapsed_fraction(), BAR_SHOW)
        elif m.phase == Phase.HIDDEN:
            self.time_bar.set_state(1.0 - m.elapsed_fraction(), BAR_WAIT)
            left = m.seconds_until_due()
            if m.answered is None and left is not None:
                self._set_status(reader_text.countdown(left), URGENT)
        else:
            self.time_bar.set_state(0.0, BAR_SHOW)

    def answer(self, rating: int) -> None:
        """Take a rating from a key or a click (ignored outside a photo, or when repeated)."""
        m = self.machine
        if m.phase not in (Phase.SHOWING, Phase.HIDDEN) or m.answered is not None:
            return
        if not 1 <= rating <= len(self.buttons):
            return
        for i, b in enumerate(self.buttons, start=1):
            b.setChecked(i == rating)
        try:
            rec = m.answer(rating)
        except Exception as exc:
            self._fail(exc)
            return
        if rec is not None and rec.rating is None:  # came after the answer window
            for b in self.buttons:
                b.setChecked(False)
        elif m.answered is not None or rec is not None:
            self._set_status(reader_text.answer_cue(self.setup.reading, rating), CUE)
        if rec is not None:
            self._after_read(rec)

    def _after_read(self, rec: ReadRecord) -> None:
        self.read_committed.emit(rec)
        self._due.stop()
        if self.machine.phase != Phase.READY:
            self._tick.stop()
        if rec.rating is None:  # the answer window ran out: say so before moving on
            self._tick.stop()
            self.time_bar.set_state(0.0, BAR_WAIT)
            self._set_status(reader_text.NO_ANSWER, URGENT)
            self._notice.start()
            return
        self._next()

    def _finish(self) -> None:
        self._stop_timers()
        self.canvas.set_image(None)
        try:
            self.summary = self._on_finish()
        except Exception as exc:
            self._fail(exc)
            return
        self._message(*self._finish_text(self.summary), "Done  (Enter)", "done")
        self.finished.emit(self.summary)

    def _finish_text(self, s: dict[str, Any]) -> tuple[str, str]:
        """The closing screen's title and text for the session summary ``s``."""
        return ("Thank you — the session is complete",
                f"Photos read: {s['photos_read']}\n\nTime taken: {fmt_duration(s['seconds'])}")

    def _fail(self, exc: BaseException) -> None:
        log.error("reading session stopped: %s", exc)
        self._stop_timers()
        self.canvas.set_image(None)
        self._message("The session has stopped",
                      "An answer could not be saved. Please call the study lead. "
                      "Your earlier answers are kept.", "Close", "done")
        self.failed.emit(exc)

    def _stop_timers(self) -> None:
        self._due.stop()
        self._tick.stop()
        self._notice.stop()

    # -- preloading ------------------------------------------------------------------------
    def _preload(self, s: Stimulus) -> None:
        side = self.canvas.photo_side()
        held = self._cache.get(s.position)
        if (held is not None and held[0] == side) or (s.position, side) in self._requested:
            return
        self._requested.add((s.position, side))
        self._pool.start(LoadTask(self._loader, s.position, self.setup.images[s.photo_id],
                                   side))

    def _on_loaded(self, position: int, side: int, image: QImage) -> None:
        self._requested.discard((position, side))
        upcoming = {s.position for s in self.machine.peek(3)}
        if position in upcoming and side == self.canvas.photo_side():
            self._cache[position] = (side, image)

    def _on_load_failed(self, position: int, side: int, why: str) -> None:
        self._requested.discard((position, side))
        log.warning("preloading the photo at position %d failed: %s", position, why)

    # -- pausing, stopping and keys --------------------------------------------------------
    def request_pause(self) -> None:
        """Pause between photos: after the current read, or now if between photos."""
        m = self.machine
        m.request_pause()
        if m.phase == Phase.PAUSED:
            self._next()
        elif m.pause_requested:
            self.hint.setText("The session pauses after this photo.")

    @property
    def active(self) -> bool:
        """Whether the session has started and is not finished."""
        return self.machine.phase != Phase.FINISHED

    def request_stop(self) -> bool:
        """Ask to stop mid-session; ``True`` if the reader confirmed (the session stays
        resumable). A photo on screen is taken away first and shown again, in full, later."""
        m = self.machine
        if not self.active:
            return True
        in_notice = self._notice.isActive()
        if m.phase in (Phase.SHOWING, Phase.HIDDEN):
            m.abandon_current()
            self._stop_timers()
            self.canvas.set_image(None)
            self.canvas.repaint()
        self._notice.stop()
        ok = dialogs.confirm(self, "Stop reading?",
                             "Stop the session now? Your answers so far are saved and the "
                             "session can be resumed later.", yes="Stop", no="Keep reading")
        if ok:
            self._stop_timers()
            self.stopped.emit()
            return True
        if m.phase == Phase.PAUSED:
            self._message("Paused", "The photo you were looking at will be shown again "
                          "in full.", "Continue  (Space)", "continue")
        elif in_notice:
            self._next()
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        on_message = self.pages.currentWidget() is self.message_page
        if key in _KEYS and not on_message:
            self.answer(_KEYS[key])
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and on_message:
            self._on_message_button()
        elif key == Qt.Key.Key_P and not on_message:
            self.request_pause()
        elif key == Qt.Key.Key_Escape:
            self.request_stop()
        else:
            super().keyPressEvent(event)

    def shutdown(self) -> None:
        """Stop timers and wait for preloading (before the widget goes away)."""
        self._stop_timers()
        self._pool.clear()
        self._pool.waitForDone(2000)


def build_reader_widget(ws: Any, setup: SessionSetup, *,
                        clock: Callable[[], float] = time.monotonic,
                        parent: QWidget | None = None) -> ReaderWidget:
    """A reading screen wired to the store (or, for a preview, to nothing).

    A stored session commits each read in its own transaction and is marked finished at
    the end; a preview keeps its reads in memory only.
    """
    from wbsdesk.services import reading as reading_service

    cls: type[ReaderWidget] = ReaderWidget
    if setup.mode is not None:  # a session of an aided design
        from wbsdesk.gui.reader_aided import AidedReaderWidget

        cls = AidedReaderWidget
    if setup.session_id is not None:
        sid = setup.session_id
        return cls(setup, lambda rec: reading_service.record_read(ws, sid, rec),
                   lambda: reading_service.finish_session(ws, sid), clock=clock, parent=parent)
    holder: list[ReaderWidget] = []

    def preview_summary() -> dict[str, Any]:
        reads = [r.to_row() for r in holder[0].machine.committed]
        return {"session": None, "photos_read": sum(not r["practice"] and r["phase"] == 1
                                                    for r in reads),
                "seconds": reading_service.active_seconds(reads)}

    widget = cls(setup, lambda rec: None, preview_summary, clock=clock, parent=parent)
    holder.append(widget)
    return widget
