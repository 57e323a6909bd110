"""Starting the Qt application: the window, or an offscreen screenshot of one named view.

Views for ``wbsdesk gui --screenshot PATH --view VIEW [--study NAME]`` are registered in
:data:`VIEWS` (name -> function that puts the window in that state). Reader views show a
preview session of the study (nothing is stored) on a fixed clock.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wbsdesk.gui.aided_views import AIDED_VIEWS
from wbsdesk.gui.wizard_views import WIZARD_VIEWS

log = logging.getLogger(__name__)

DEFAULT_STUDY = "demo"


class FixedClock:
    """A clock that only moves when told to (screenshots show a chosen moment)."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _view_main(window: Any, study: str) -> None:
    window.open_view("Studies")


def _preview(window: Any, study: str) -> tuple[Any, FixedClock]:
    from wbsdesk.services.reading import preview_setup

    clock = FixedClock()
    reader = window.enter_reader(preview_setup(window.ws, study), clock=clock)
    return reader, clock


def _view_lock(window: Any, study: str) -> None:
    window.lock()


def _view_reading(window: Any, study: str) -> None:
    window.open_view("Reading")


def _view_reader_start(window: Any, study: str) -> None:
    _preview(window, study)


def _view_reader(window: Any, study: str) -> None:
    reader, clock = _preview(window, study)
    reader.begin()
    clock.t += 0.35 * reader.setup.reading.seconds_per_photo
    reader._on_tick()


def _view_reader_answered(window: Any, study: str) -> None:
    reader, clock = _preview(window, study)
    reader.begin()
    clock.t += 0.35 * reader.setup.reading.seconds_per_photo
    reader.answer(4)
    clock.t += 0.2 * reader.setup.reading.seconds_per_photo
    reader._on_tick()


def _view_reader_hidden(window: Any, study: str) -> None:
    reader, clock = _preview(window, study)
    reader.begin()
    clock.t += reader.setup.reading.seconds_per_photo
    reader._on_due()
    clock.t += 0.25 * reader.setup.reading.response_window_seconds
    reader._on_tick()


def _view_reader_summary(window: Any, study: str) -> None:
    from wbsdesk.core.session import Phase

    reader, clock = _preview(window, study)
    reader.begin()
    secs = reader.setup.reading.seconds_per_photo
    m = reader.machine
    n = 0
    while m.phase == Phase.SHOWING:
        shown = clock.t
        clock.t += 2.0 + (n * 7919 % 50) / 10  # answers after 2-7 s
        reader.answer(3)
        clock.t = shown + secs
        reader._on_due()
        n += 1


def _view_dashboard(window: Any, study: str) -> None:
    d = window.dashboard
    d.reload(study)  # as a user sees it: a demo study includes its simulated readers
    window.open_view("Dashboard")
    d.wait_until_ready()
    d.tabs.setCurrentIndex(0)


def _view_training(window: Any, study: str) -> None:
    from wbsdesk.services.training import list_runs

    window.open_view("Training")
    window.training.reload(study)
    finished = [r["run"] for r in list_runs(window.ws, study) if r["status"] == "finished"]
    if finished:  # a finished run's loss curves
        window.training.refresh_runs(select=finished[-1])


def _view_screening(window: Any, study: str) -> None:
    import tempfile

    from wbsdesk.gui.screening_view import show_example

    window.open_view("Screening")
    window.screening_example = tempfile.TemporaryDirectory(prefix="wbsdesk-shot-")
    show_example(window.screening, study, Path(window.screening_example.name))


#: Named views for ``--screenshot`` (later issues add theirs). A view function may return
#: the widget to grab (e.g. a wizard); by default the window is grabbed.
VIEWS: dict[str, Callable[[Any, str], Any]] = {
    "main": _view_main,
    "lock": _view_lock,
    "reading": _view_reading,
    "reader-start": _view_reader_start,
    "reader": _view_reader,
    "reader-answered": _view_reader_answered,
    "reader-hidden": _view_reader_hidden,
    "reader-summary": _view_reader_summary,
    "dashboard": _view_dashboard,
    "training": _view_training,
    "screening": _view_screening,
    **WIZARD_VIEWS,
    **AIDED_VIEWS,
}


def _install_excepthook(window: Any) -> Callable[..., Any]:
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        log.error("uncaught exception", exc_info=(kind, exc, tb))
        try:
            window.show_error(exc)
        except Exception:  # the presenter itself failed; the log has the error
            previous(kind, exc, tb)

    sys.excepthook = hook
    return previous


def _set_icon(app: Any) -> None:
    """The window icon from ``resources/`` (missing in odd installs: then Qt's default)."""
    from PySide6.QtGui import QIcon

    from wbsdesk.config import resources_dir

    icon = resources_dir() / "wbsdesk.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def run_gui(*, workspace: Path, study: str | None = None, screenshot: Path | None = None,
            view: str = "main") -> int:
    """Open the main window on ``workspace`` (or save a screenshot of ``view`` and exit).

    Returns
    -------
    int
        The process exit status.
    """
    if screenshot is not None:
        if view not in VIEWS:
            log.error("unknown view %r; choose one of %s", view, ", ".join(VIEWS))
            return 2
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from wbsdesk.config import ensure_private_dir
    from wbsdesk.errors import UserError
    from wbsdesk.gui.main_window import MainWindow
    from wbsdesk.log import setup_logging
    from wbsdesk.services.workspace import open_workspace

    setup_logging(ensure_private_dir(workspace))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("wbsdesk")
    _set_icon(app)
    try:
        ws = open_workspace(workspace)
    except UserError as exc:  # no usable database, one still open elsewhere, damage
        log.error("cannot open the workspace %s: %s", workspace, exc)
        if screenshot is None:
            from wbsdesk.gui.dialogs import present_error

            box = present_error(None, exc)
            if box is not None:
                box.exec()
        return 1
    try:
        if screenshot is not None:
            window = MainWindow(ws, study=study, admin=True, fullscreen_reader=False)
            window.resize(1280, 800)
            window.show()
            app.processEvents()
            try:
                target = VIEWS[view](window, study or DEFAULT_STUDY) or window
            except UserError as exc:
                log.error("cannot render view %s: %s", view, exc)
                window.close()
                return 1
            app.processEvents()
            ok = target.grab().save(str(screenshot), "PNG")
            if target is not window:
                target.close()
            window.leave_reader()
            window.close()
            log.info("saved screenshot of %s to %s", view, screenshot)
            return 0 if ok else 1
        window = MainWindow(ws, study=study)
        previous = _install_excepthook(window)
        window.show()
        try:
            return app.exec()
        finally:
            sys.excepthook = previous
    finally:
        ws.close()
