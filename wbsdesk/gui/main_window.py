"""The main window: navigation, the job status area, the error presenter and reader mode.

Reader mode is a kiosk. Until the admin passphrase is entered the window shows only a lock
page (:mod:`~wbsdesk.gui.admin_lock`; a workspace without a passphrase keeps the admin views
closed and offers the explicit set-up step); a running session fills the screen with the
reading screen and nothing else. Imports, ground truth, dashboards and readers' sessions sit
behind the passphrase, and unlocked views lock again after a time without input.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from wbsdesk import __version__
from wbsdesk.core.jobs import Progress
from wbsdesk.errors import UserError
from wbsdesk.gui import dialogs
from wbsdesk.gui.admin_lock import (
    IdleWatcher,
    LockWidget,
    ask_and_unlock,
    lock_admin_dialogs,
    set_up_passphrase,
)
from wbsdesk.gui.dashboard import DashboardWidget
from wbsdesk.gui.reader_view import ReaderWidget, build_reader_widget
from wbsdesk.gui.reading_view import ReadingAdminWidget
from wbsdesk.gui.runners import describe
from wbsdesk.gui.screening_view import ScreeningWidget
from wbsdesk.gui.studies_view import StudiesWidget
from wbsdesk.gui.training_view import TrainingViewWidget
from wbsdesk.services import admin
from wbsdesk.services import reading as reading_service
from wbsdesk.services.reading import SessionSetup
from wbsdesk.services.session_policy import SessionExpiredError
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

NAV = ("Studies", "Reading", "Training", "Dashboard", "Screening")
#: Views that need the admin passphrase (every view but the lock page and a session).
ADMIN_VIEWS = frozenset(NAV)


class NavListWidget(QListWidget):
    """The navigation list: a click, or Enter/Space on the current item, asks for a view.

    Moving with the arrow keys (or the list taking focus) only moves the highlight.
    """

    view_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.itemClicked.connect(self._on_item)

    def _on_item(self, item: QListWidgetItem) -> None:
        if item.flags() & Qt.ItemFlag.ItemIsEnabled:
            self.view_requested.emit(item.text())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and item:
            self._on_item(item)
        else:
            super().keyPressEvent(event)


class JobStatusWidget(QWidget):
    """The status-bar area that shows the running job's progress and a Cancel button."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(self.label)
        h.addWidget(self.bar)
        h.addWidget(self.cancel_button)
        self.hide()


class MainWindow(QMainWindow):
    """The app window: navigation on the left, the chosen view on the right.

    Parameters
    ----------
    ws : Workspace
    study : str, optional
        The study to select first.
    admin : bool, keyword-only
        Start with the admin views unlocked (screenshots, tests); by default the window
        starts in reader mode.
    fullscreen_reader : bool, keyword-only
        Show reading sessions full-screen (off for screenshots and tests).
    idle_lock_ms : int, keyword-only
        Milliseconds without input before unlocked views lock again; by default
        :func:`~wbsdesk.services.admin.idle_lock_minutes` of the workspace.
    """

    def __init__(self, ws: Workspace, study: str | None = None, *, admin: bool = False,
                 fullscreen_reader: bool = True, idle_lock_ms: int | None = None) -> None:
        super().__init__()
        self.ws = ws
        self.unlocked = admin
        self._idle_lock_ms = idle_lock_ms
        self.idle = IdleWatcher(self._idle_ms(), self)
        self.idle.idle.connect(self._on_idle)
        self._fullscreen_reader = fullscreen_reader
        self.reader: ReaderWidget | None = None
        self._normal_geometry: QRect | None = None
        self._jobs: list[Any] = []
        self._title = f"wbsdesk {__version__} — {ws.root}"
        self.setWindowTitle(self._title)

        self.nav = NavListWidget()
        self.nav.setFixedWidth(150)
        for name in NAV:
            self.nav.addItem(QListWidgetItem(name))
        self.lock_button = QPushButton("Lock")
        self.lock_button.setToolTip("Back to reader mode")
        self.lock_button.clicked.connect(self.lock)
        side = QWidget()
        sv = QVBoxLayout(side)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.addWidget(self.nav, 1)
        sv.addWidget(self.lock_button)
        self.side = side

        self.lock_page = LockWidget()
        self.lock_page.unlock_button.clicked.connect(lambda: self.open_view("Studies"))
        self.lock_page.setup_button.clicked.connect(self.set_up_admin)
        self.studies = StudiesWidget(ws, study)
        self.studies.resume_requested.connect(self.resume_training)
        self.reading = ReadingAdminWidget(ws, study)
        self.reading.start_requested.connect(self.start_session)
        self.reading.add_reader_requested.connect(self.add_reader)
        self.reading.aid.error.connect(self.show_error)
        self.reading.teaching_requested.connect(self.start_teaching)
        self.dashboard = DashboardWidget(ws, study)
        self.training = TrainingViewWidget(ws, study)
        self.training.error.connect(self.show_error)
        self.training.run_finished.connect(lambda _run: self.studies.show_training())
        self.screening = ScreeningWidget(ws, study)
        self.stack = QStackedWidget()
        self._pages = {"lock": self.lock_page, "Studies": self.studies,
                       "Reading": self.reading, "Training": self.training,
                       "Dashboard": self.dashboard, "Screening": self.screening}
        for page in self._pages.values():
            self.stack.addWidget(page)
        self.nav.view_requested.connect(self.open_view)

        body = QWidget()
        h = QHBoxLayout(body)
        h.addWidget(side)
        h.addWidget(self.stack, 1)
        self.body = body
        self.outer = QStackedWidget()
        self.outer.addWidget(body)
        self.setCentralWidget(self.outer)

        self.job_status = JobStatusWidget()
        self.job_status.cancel_button.clicked.connect(self.cancel_jobs)
        self.statusBar().addPermanentWidget(self.job_status)
        self._show_page("Studies" if admin else "lock")
        if admin:
            self.idle.start()
        self.resize(1200, 760)

    # -- navigation and the admin lock -----------------------------------------------------
    @property
    def current_view(self) -> str:
        """The name of the page on show (``lock`` in reader mode)."""
        page = self.stack.currentWidget()
        return next(k for k, v in self._pages.items() if v is page)

    def _show_page(self, name: str) -> None:
        if name == "lock":
            self.lock_page.refresh(has_passphrase=admin.has_passphrase(self.ws))
        self.stack.setCurrentWidget(self._pages[name])
        self.lock_button.setEnabled(self.unlocked)
        self.nav.setCurrentRow(NAV.index(name) if name in NAV else -1)
        # reader mode shows no folder names (the workspace path may name the study)
        self.setWindowTitle(self._title if self.unlocked else "wbsdesk — reader mode")
        self.statusBar().showMessage(f"Workspace: {self.ws.root}" if self.unlocked else "")

    def open_view(self, name: str) -> bool:
        """Show view ``name``; admin views ask for the passphrase first in reader mode."""
        if name not in self._pages:
            return False
        if name in ADMIN_VIEWS and not self.unlocked and not self.unlock():
            self._show_page("lock")
            return False
        if name == "Reading":
            self.reading.refresh(self.reading.study or None)
        elif name == "Studies":
            self.studies.show_training()
        elif name == "Training":
            self.training.activate()
        elif name == "Screening":
            self.screening.activate()
        self._show_page(name)
        if name == "Dashboard":
            self.dashboard.activate()
        return True

    def unlock(self, parent: QWidget | None = None) -> bool:
        """Ask for the admin passphrase; ``True`` if unlocked.

        Without a passphrase nothing is asked (see :meth:`set_up_admin`).
        """
        if not ask_and_unlock(parent or self, self.ws, self.show_error):
            return False
        self._set_unlocked()
        return True

    def set_up_admin(self) -> bool:
        """The explicit first-run step: set up the admin passphrase and open the views."""
        if not set_up_passphrase(self, self.ws, self.show_error):
            self._show_page("lock")
            return False
        self._set_unlocked()
        return self.open_view("Studies")

    def _set_unlocked(self) -> None:
        self.unlocked = True
        self.lock_button.setEnabled(True)
        self.idle.set_interval(self._idle_ms())
        self.idle.start()

    def _idle_ms(self) -> int:
        if self._idle_lock_ms is not None:
            return self._idle_lock_ms
        return round(admin.idle_lock_minutes(self.ws) * 60_000)

    def lock(self) -> None:
        """Back to reader mode: admin views need the passphrase again."""
        self.unlocked = False
        self.idle.stop()
        self._show_page("lock")

    def _on_idle(self) -> None:
        """No input for the idle time: close (or cover) admin dialogs, back to reader mode."""
        if not self.unlocked or self.reader is not None:
            return
        minutes = self.idle.timer.interval() / 60_000
        log.info("admin views locked after %.1f min without input", minutes)
        lock_admin_dialogs(self, self.unlock)
        self.lock()

    # -- errors and jobs -------------------------------------------------------------------
    def show_error(self, error: BaseException | Any) -> None:
        """The app's one error presenter (a user error's message, or a bug with details)."""
        dialogs.present_error(self, error, log_path=self.ws.root / "logs" / "wbsdesk.log")

    def run_job(self, job: Any) -> None:
        """Start a :mod:`~wbsdesk.gui.runners` job and show it in the status area."""
        self._jobs.append(job)
        st = self.job_status

        def on_progress(p: Progress) -> None:
            st.label.setText(f"{job.title}: {describe(p)}")
            st.bar.setRange(0, max(p.total, 1))
            st.bar.setValue(p.done)

        def on_finished() -> None:
            self._jobs.remove(job)
            if not self._jobs:
                st.hide()

        job.progressed.connect(on_progress)
        job.failed.connect(self.show_error)
        job.cancelled.connect(lambda: self.statusBar().showMessage(f"{job.title}: cancelled",
                                                                   5000))
        job.finished.connect(on_finished)
        st.label.setText(f"{job.title}: starting")
        st.bar.setRange(0, 0)
        st.show()
        job.start()

    def cancel_jobs(self) -> None:
        """Ask every running job to stop (never blocks)."""
        for job in list(self._jobs):
            job.cancel()

    # -- training ----------------------------------------------------------------------------
    def resume_training(self, study: str, run: str) -> bool:
        """Open the Training view and resume ``run`` of ``study``; ``True`` if it started."""
        if self.training.running():
            self.show_error(UserError("a training run is already running",
                                      hint="wait for it to finish, or cancel it in the "
                                           "Training view"))
            self.open_view("Training")
            return False
        if not self.open_view("Training"):
            return False
        return self.training.resume(run, study=study)

    # -- reading sessions ------------------------------------------------------------------
    def add_reader(self) -> None:
        """Ask for a new reader and add it."""
        values = dialogs.ask_new_reader(self, reading_service.ROLES)
        if values is None:
            return
        name, role, years = values
        try:
            reading_service.add_reader(self.ws, name, role=role, years=years)
        except UserError as exc:
            self.show_error(exc)
            return
        self.reading.refresh_readers(select=name)

    def start_session(self, study: str, reader: str) -> ReaderWidget | None:
        """Start or resume ``reader``'s session on ``study`` and enter reader mode."""
        try:
            setup = reading_service.open_session(self.ws, study, reader)
        except SessionExpiredError as exc:  # the administrator restarts or continues it
            if not self.decide_expired(exc):
                return None
            return self.start_session(study, reader)
        except UserError as exc:
            self.show_error(exc)
            return None
        try:
            return self.enter_reader(setup)
        except BaseException:
            setup.release()
            raise

    def decide_expired(self, exc: SessionExpiredError) -> bool:
        """Ask the administrator to restart or continue an expired session; ``True`` once
        a decision is recorded (the reader is told to call the administrator otherwise)."""
        from wbsdesk.gui.resume_dialog import ask_resume_decision
        from wbsdesk.services.session_policy import decide_expired

        if not self.unlocked and not self.unlock():
            self.show_error(exc)
            return False
        choice = ask_resume_decision(self, exc.expired)
        if choice is None:
            return False
        try:
            decide_expired(self.ws, exc.expired.study, exc.expired.reader, choice[0],
                           reason=choice[1], via="gui")
        except UserError as err:
            self.show_error(err)
            return False
        self.reading.refresh_readers()
        return True

    def start_teaching(self, study: str, reader: str) -> ReaderWidget | None:
        """Start or resume ``reader``'s teaching session on ``study`` (truth after each
        answer, stored apart from the study's reads)."""
        from wbsdesk.services.teaching import open_teaching

        try:
            teaching = open_teaching(self.ws, study, reader)
        except UserError as exc:
            self.show_error(exc)
            return None
        try:
            return self.start_teaching_setup(teaching)
        except BaseException:
            teaching.release()
            raise

    def start_teaching_setup(self, teaching: Any, *,
                             clock: Callable[[], float] = time.monotonic) -> ReaderWidget:
        """Fill the window with the teaching screen of ``teaching`` (a TeachingSetup)."""
        from wbsdesk.gui.teaching_view import build_teaching_widget

        widget = build_teaching_widget(self.ws, teaching, clock=clock)
        reader = self.enter_reader(teaching.setup, widget=widget)
        self.setWindowTitle("wbsdesk — teaching session")
        return reader

    def enter_reader(self, setup: SessionSetup, *,
                     clock: Callable[[], float] = time.monotonic,
                     widget: ReaderWidget | None = None) -> ReaderWidget:
        """Lock the admin views and fill the window with the reading screen (``widget``:
        one already built, e.g. a teaching screen)."""
        self.lock()
        reader = widget or build_reader_widget(self.ws, setup, clock=clock)
        reader.stopped.connect(self.leave_reader)
        reader.done.connect(self.leave_reader)
        reader.failed.connect(self.show_error)
        self.reader = reader
        self.outer.addWidget(reader)
        self.outer.setCurrentWidget(reader)
        self.statusBar().hide()
        self.setWindowTitle("wbsdesk — reading")
        if self._fullscreen_reader:
            self._normal_geometry = self.geometry()
            # the whole screen even where no window manager honours "full screen"
            self.setGeometry(self.screen().geometry())
            self.showFullScreen()
        reader.setFocus()
        return reader

    def leave_reader(self) -> None:
        """Close the reading screen and go back to the lock page."""
        reader, self.reader = self.reader, None
        if reader is None:
            return
        reader.shutdown()
        reader.setup.release()  # another process may open the session now
        self.outer.setCurrentWidget(self.body)
        self.outer.removeWidget(reader)
        reader.deleteLater()
        self.statusBar().show()
        if self.isFullScreen() or self._normal_geometry is not None:
            self.showNormal()
            if self._normal_geometry is not None:
                self.setGeometry(self._normal_geometry)
            self._normal_geometry = None
        self.lock()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.reader is not None and self.reader.active and not self.reader.request_stop():
            event.ignore()
            return
        if self.training.running() and not dialogs.confirm(
                self, "Training is running",
                "A training run is in progress. Stop it and close wbsdesk? The run keeps "
                "every finished epoch and can be resumed later.",
                yes="Stop training and close", no="Keep training"):
            event.ignore()
            return
        if self.reader is not None:
            self.reader.shutdown()
            self.reader.setup.release()
        self.idle.stop()
        for job in list(self._jobs):
            job.cancel()
        self.training.shutdown()
        self.screening.shutdown()
        self.reading.aid.shutdown()
        for job in list(self._jobs):
            job.wait()
        self.dashboard.shutdown()
        event.accept()
