"""Screenshot views of aided reading (``wbsdesk gui --screenshot PATH --view VIEW``).

``reader-aided``: a preview of a sequential session (nothing is stored) on a fixed clock,
past the first photo's blind answer, in its aided view; ``reader-aided-heatmap``: the same
with the heatmap on; ``dashboard-aided``: the dashboard's "Aided vs unaided" tab. They need
a prepared aid (the demo built with training has one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _aided_preview(window: Any, study: str) -> Any:
    from wbsdesk.gui.app import FixedClock
    from wbsdesk.services.reading_aided import preview_aided_setup

    clock = FixedClock()
    reader = window.enter_reader(preview_aided_setup(window.ws, study), clock=clock)
    reader.begin()
    secs = reader.setup.reading.seconds_per_photo
    clock.t += 0.4 * secs
    reader.answer(4)
    clock.t += 0.6 * secs
    reader._on_due()  # the blind read is committed: the aided view follows
    clock.t += 0.3 * reader.setup.reading.aided_display_seconds
    reader._on_tick()
    return reader


def _view_reader_aided(window: Any, study: str) -> None:
    _aided_preview(window, study)


def _view_reader_aided_heatmap(window: Any, study: str) -> None:
    _aided_preview(window, study).toggle_heatmap()


def _view_dashboard_aided(window: Any, study: str) -> None:
    from wbsdesk.gui.dashboard_aided import AIDED_TAB

    d = window.dashboard
    d.reload(study)
    window.open_view("Dashboard")
    d.wait_until_ready()
    for i in range(d.tabs.count()):
        if d.tabs.tabText(i) == AIDED_TAB:
            d.tabs.setCurrentIndex(i)
            d.aided.wait_until_ready()
            break
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QSplitter

    for sp in d.findChildren(QSplitter):  # room for the tab, as a user would drag it
        if sp.orientation() == Qt.Orientation.Vertical and sp.count() == 2:
            total = sum(sp.sizes())
            sp.setSizes([total // 5, total - total // 5])


AIDED_VIEWS: dict[str, Callable[[Any, str], Any]] = {
    "reader-aided": _view_reader_aided,
    "reader-aided-heatmap": _view_reader_aided_heatmap,
    "dashboard-aided": _view_dashboard_aided,
}
