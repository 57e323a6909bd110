"""Reader mode is a kiosk: admin views need the passphrase; sessions lock the window."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.reading_study import make_reading_study
from wbsdesk.gui import dialogs
from wbsdesk.gui.dialogs import ErrorDialog
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.services import admin, reading


def test_reader_mode_cannot_open_admin_views_without_the_passphrase(qtbot, ws, monkeypatch):
    admin.set_passphrase(ws, "open sesame")
    w = MainWindow(ws)
    qtbot.addWidget(w)
    w.show()
    assert w.current_view == "lock" and not w.unlocked
    asked = []
    monkeypatch.setattr(dialogs, "ask_passphrase",
                        lambda parent, first_time: asked.append(first_time) or None)
    for view in ("Studies", "Reading", "Training", "Dashboard"):
        assert w.open_view(view) is False
        assert w.current_view == "lock"
    w.nav.setCurrentRow(0)
    qtbot.keyClick(w.nav, Qt.Key.Key_Return)  # keyboard navigation asks too
    assert w.current_view == "lock" and asked and not any(asked)
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, first_time: "guess")
    assert w.open_view("Reading") is False and w.current_view == "lock"
    refused = w.findChildren(ErrorDialog)[-1]
    assert refused.text() == "That is not the admin passphrase."
    assert "wbsdesk admin forget-passphrase" in refused.informativeText()
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, first_time: "open sesame")
    assert w.open_view("Reading") is True and w.current_view == "Reading"
    w.lock()
    assert w.current_view == "lock" and not w.unlocked


def test_the_passphrase_is_set_on_first_use(qtbot, ws, monkeypatch):
    w = MainWindow(ws)
    qtbot.addWidget(w)
    seen = []
    monkeypatch.setattr(dialogs, "ask_passphrase",
                        lambda parent, first_time: seen.append(first_time) or "first one!")
    assert w.open_view("Studies") and seen == [True]
    assert admin.has_passphrase(ws) and admin.verify_passphrase(ws, "first one!")


def test_a_session_locks_the_window_and_hides_everything_else(qtbot, ws, tmp_path):
    make_reading_study(ws, tmp_path, n=2)
    reading.add_reader(ws, "R1", role="other")
    w = MainWindow(ws, admin=True, fullscreen_reader=False)
    qtbot.addWidget(w)
    w.show()
    assert w.open_view("Reading")
    w.reading.refresh_readers(select="R1")
    with qtbot.waitSignal(w.reading.start_requested):
        w.reading.start_button.click()
    assert w.reader is not None and not w.unlocked
    assert w.outer.currentWidget() is w.reader
    assert not w.side.isVisible() and not w.statusBar().isVisible()
    assert not w.studies.isVisible() and not w.reading.isVisible()
    w.reader.done.emit()
    assert w.reader is None and w.current_view == "lock"
    qtbot.wait(50)  # the navigation may take focus again: that alone opens nothing
    assert w.current_view == "lock"


def test_adding_a_reader_in_the_gui(qtbot, ws, monkeypatch):
    w = MainWindow(ws, admin=True)
    qtbot.addWidget(w)
    monkeypatch.setattr(dialogs, "ask_new_reader",
                        lambda parent, roles: ("R07", "clinical geneticist", 9))
    w.add_reader()
    r = ws.store.reader("R07")
    assert (r.role, r.years) == ("clinical geneticist", 9)
    assert w.reading.selected_reader() == "R07"
    w.add_reader()  # the same name again: a message, nothing added
    assert w.findChildren(ErrorDialog)[-1].text() == "a reader named 'R07' already exists"
