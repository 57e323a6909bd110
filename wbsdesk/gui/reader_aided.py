"""The reading screen of an aided study: the blind view, then the same crop with the model.

:class:`AidedReaderWidget` is the :class:`~wbsdesk.gui.reader_view.ReaderWidget` with an aid
panel under the photo. The panel keeps its height in every view, so the photo never moves
or rescales, and it is empty until the session's state machine is in its aided stage, which
it reaches only once the blind read is committed: the aid's texts are set then, never
before. The aided view shows the locked first answer (a label, never a button), the model's
score as a number and as a bar between the protocol's group names, and H toggles the
heatmap overlay (decoded off the GUI thread while the blind view is on screen).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from wbsdesk.core.session import Phase, ReadRecord, Stimulus
from wbsdesk.core.session_aided import AidedReadingSession, Stage
from wbsdesk.gui import reader_text
from wbsdesk.gui.photo_canvas import GREY, LoaderSignals, LoadTask, load_image
from wbsdesk.gui.reader_view import MUTED, ReaderWidget, _label
from wbsdesk.services.reading import SessionSetup

log = logging.getLogger(__name__)

TRACK = QColor(80, 80, 80)
FILL = QColor(235, 235, 235)
MARK = QColor(255, 255, 255)


class AidBarWidget(QWidget):
    """A horizontal 0..1 track filled up to the model's score (empty when there is none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Model score bar")
        self.score: float | None = None

    def set_score(self, score: float | None) -> None:
        """Show ``score`` (0..1), or nothing."""
        if score != self.score:
            self.score = score
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), GREY)
        if self.score is not None:
            r = QRectF(self.rect()).adjusted(1, 3, -1, -3)
            p.fillRect(r, TRACK)
            p.fillRect(QRectF(r.left(), r.top(), r.width() * self.score, r.height()), FILL)
            x = r.left() + r.width() * self.score
            p.setPen(QPen(MARK, 3))
            p.drawLine(int(x), 0, int(x), self.height())
        p.end()


class AidPanelWidget(QWidget):
    """Under the photo: the locked first answer, the model's score and its bar.

    Fixed height in every view; :meth:`clear` leaves it blank (the blind view).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.locked = _label(" ", size=1.1, color=MUTED)
        self.score = _label(" ", size=1.35, bold=True)
        self.bar = AidBarWidget()
        self.negative = _label(" ", size=0.95, color=MUTED)
        self.positive = _label(" ", size=0.95, color=MUTED)
        for lab in (self.locked, self.score, self.negative, self.positive):
            lab.setWordWrap(False)
            lab.setFixedHeight(lab.fontMetrics().height() + 4)
        self.negative.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.positive.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout()
        row.setSpacing(12)
        row.addWidget(self.negative, 2)
        row.addWidget(self.bar, 3)
        row.addWidget(self.positive, 2)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 4, 0, 0)
        v.setSpacing(2)
        v.addWidget(self.locked)
        v.addWidget(self.score)
        v.addLayout(row)
        v.activate()
        self.setFixedHeight(v.sizeHint().height())

    def clear(self) -> None:
        """Blank: nothing of the aid (and no locked answer) is on screen."""
        for lab in (self.locked, self.score, self.negative, self.positive):
            lab.setText(" ")
        self.bar.set_score(None)

    def show_aid(self, *, locked: str | None, score: float | None, negative: str,
                 positive: str) -> None:
        """Fill the panel for the aided view (``score`` ``None``: the heatmap only)."""
        self.locked.setText(locked or " ")
        if score is None:
            self.score.setText(" ")
            self.bar.set_score(None)
            self.negative.setText(" ")
            self.positive.setText(" ")
            return
        self.score.setText(reader_text.model_estimate(score, positive))
        self.bar.set_score(score)
        self.negative.setText(negative)
        self.positive.setText(positive)

    def texts(self) -> list[str]:
        """Every text on the panel (for tests)."""
        return [lab.text() for lab in (self.locked, self.score, self.negative, self.positive)]


class AidedReaderWidget(ReaderWidget):
    """The reading screen of a sequential or crossover session (see the module notes)."""

    machine: AidedReadingSession

    def __init__(self, setup: SessionSetup, commit: Callable[[ReadRecord], Any],
                 on_finish: Callable[[], dict[str, Any]], *,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None) -> None:
        self._heat_on = False
        self._heat_cache: dict[int, tuple[int, QImage]] = {}
        self._heat_requested: set[tuple[int, int]] = set()
        self._base: tuple[int, int, QImage] | None = None  # position, side, crop image
        super().__init__(setup, commit, on_finish, clock=clock, parent=parent)

    def _make_machine(self, commit: Callable[[ReadRecord], Any]) -> AidedReadingSession:
        s = self.setup
        aid = s.aid
        return AidedReadingSession(
            s.plan, s.reading, commit, mode=s.mode or "sequential",
            aid_scores=aid.scores if aid is not None else {},
            heatmaps=bool(aid is not None and aid.heatmap), phase=s.read_phase, done=s.done,
            locked=s.locked, resumed=s.resumed, clock=self._clock)

    def _build(self) -> None:
        super()._build()
        self.panel = AidPanelWidget()
        self.panel.clear()
        layout = self.reading_page.layout()
        layout.insertWidget(layout.indexOf(self.question), self.panel)
        self._heat_loader = LoaderSignals(self)
        self._heat_loader.loaded.connect(self._on_heat_loaded)
        self._heat_loader.failed.connect(self._on_heat_failed)

    def _instructions(self) -> list[str]:
        lines = super()._instructions()
        aid = self.setup.aid
        shows = aid.shows if aid is not None else ()
        positive = aid.positive_label if aid is not None else ""
        return lines + reader_text.aided_instructions(
            self.setup.reading, mode=self.machine.mode, shows=shows, positive_label=positive)

    # -- the two views ---------------------------------------------------------------------
    @property
    def heatmap_on(self) -> bool:
        """Whether the heatmap overlay is on screen."""
        return self._heat_on

    def _show_next(self) -> None:
        m = self.machine
        aided = m.stage == Stage.AIDED
        self._heat_on = False
        if aided:
            aid = self.setup.aid
            locked = (reader_text.locked_answer(self.setup.reading, m.locked_rating)
                      if m.mode == "sequential" else None)
            self.panel.show_aid(locked=locked,
                                score=m.aid_score if aid.probability else None,
                                negative=aid.negative_label, positive=aid.positive_label)
        else:
            self.panel.clear()
        super()._show_next()
        s = m.current
        if s is None:
            return
        if aided and self.setup.aid.heatmap:
            self.hint.setText(f"{self._hint_text}     {reader_text.heatmap_hint(False)}")
            self._preload_heat(s)
        elif m.mode == "sequential" and not s.practice and self.setup.aid.heatmap:
            self._preload_heat(s)  # decoded while the blind view is up, shown only later

    def _update_labels(self) -> None:
        super()._update_labels()
        m = self.machine
        s = m.current or m.upcoming
        if s is None or s.practice:
            return
        if m.mode == "sequential":
            part = reader_text.AIDED_PART if m.stage == Stage.AIDED else reader_text.BLIND_PART
            self.part_label.setText(part)
        elif m.mode == "aided":
            self.part_label.setText("With the model")

    def _take_image(self, s: Stimulus) -> QImage:
        side = self.canvas.photo_side()
        if self._base is not None and self._base[:2] == (s.position, side):
            return self._base[2]  # the blind view's crop, for its aided view
        img = super()._take_image(s)
        self._base = (s.position, side, img)
        return img

    # -- the heatmap -----------------------------------------------------------------------
    def toggle_heatmap(self) -> None:
        """Show or hide the heatmap overlay (aided view, while the photo is on screen)."""
        m = self.machine
        aid = self.setup.aid
        s = m.current
        if (aid is None or not aid.heatmap or s is None or m.stage != Stage.AIDED
                or m.phase != Phase.SHOWING or self._base is None):
            return
        if self._heat_on:
            self.canvas.set_image(self._base[2])
        else:
            try:
                img = self._heat_image(s)
            except OSError as exc:
                log.warning("the heatmap of position %d cannot be shown: %s", s.position, exc)
                return
            self.canvas.set_image(img)
            m.note_heatmap()
        self._heat_on = not self._heat_on
        self.canvas.repaint()
        self.hint.setText(f"{self._hint_text}     {reader_text.heatmap_hint(self._heat_on)}")

    def _heat_image(self, s: Stimulus) -> QImage:
        side = self.canvas.photo_side()
        held = self._heat_cache.get(s.position)
        if held is not None and held[0] == side:
            return held[1]
        img = load_image(self.setup.aid.heatmaps[s.photo_id], side)
        self._heat_cache[s.position] = (side, img)
        return img

    def _preload_heat(self, s: Stimulus) -> None:
        side = self.canvas.photo_side()
        held = self._heat_cache.get(s.position)
        if (held is not None and held[0] == side) or (s.position, side) in self._heat_requested:
            return
        path = self.setup.aid.heatmaps.get(s.photo_id)
        if path is None:
            return
        self._heat_requested.add((s.position, side))
        self._pool.start(LoadTask(self._heat_loader, s.position, path, side))

    def _on_heat_loaded(self, position: int, side: int, image: QImage) -> None:
        self._heat_requested.discard((position, side))
        s = self.machine.current or self.machine.upcoming
        if s is not None and s.position == position and side == self.canvas.photo_side():
            self._heat_cache = {position: (side, image)}

    def _on_heat_failed(self, position: int, side: int, why: str) -> None:
        self._heat_requested.discard((position, side))
        log.warning("preloading the heatmap at position %d failed: %s", position, why)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_H and self.pages.currentWidget() is self.reading_page:
            self.toggle_heatmap()
            return
        super().keyPressEvent(event)
