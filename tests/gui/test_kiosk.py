"""Reader mode is a kiosk: admin views need the passphrase; sessions lock the window."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog, QPushButton, QVBoxLayout

from tests.gui.reading_study import make_reading_study
from tests.services.session_holder import holding_session
from wbsdesk.gui import dialogs
from wbsdesk.gui.admin_lock import DialogLockWidget
from wbsdesk.gui.dialogs import ErrorDialog, PassphraseDialog, SetupPassphraseDialog
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.services import admin, reading
from wbsdesk.services.session_lock import session_in_use

pytestmark = pytest.mark.usefixtures("fast_scrypt")


def _window(qtbot, ws, **kw):
    w = MainWindow(ws, **kw)
    qtbot.addWidget(w)
    w.show()
    return w


def _last_error(w):
    return w.findChildren(ErrorDialog)[-1]


def test_reader_mode_cannot_open_admin_views_without_the_passphrase(qtbot, ws, monkeypatch):
    admin.set_passphrase(ws, "open sesame")
    w = _window(qtbot, ws)
    assert w.current_view == "lock" and not w.unlocked
    assert w.lock_page.unlock_button.isVisible() and not w.lock_page.setup_button.isVisible()
    asked = []
    monkeypatch.setattr(dialogs, "ask_passphrase",
                        lambda parent, wait: asked.append(wait()) or None)
    for view in ("Studies", "Reading", "Training", "Dashboard"):
        assert w.open_view(view) is False
        assert w.current_view == "lock"
    w.nav.setCurrentRow(0)
    qtbot.keyClick(w.nav, Qt.Key.Key_Return)  # keyboard navigation asks too
    assert w.current_view == "lock" and asked == [0.0] * 5
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, wait: "guess")
    assert w.open_view("Reading") is False and w.current_view == "lock"
    refused = _last_error(w)
    assert refused.text() == "That is not the admin passphrase."
    # the kiosk never tells a reader how to reset the passphrase
    assert refused.informativeText() == "" and "wbsdesk" not in refused.text()
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, wait: "open sesame")
    assert w.open_view("Reading") is True and w.current_view == "Reading"
    w.lock()
    assert w.current_view == "lock" and not w.unlocked


def test_an_admin_click_without_a_passphrase_sets_nothing(qtbot, ws):
    # any passphrase dialog here fails the test (tests/gui/conftest.py)
    w = _window(qtbot, ws)
    page = w.lock_page
    assert page.setup_button.isVisible() and not page.unlock_button.isVisible()
    assert "No admin passphrase has been set up" in page.text.text()
    rect = w.nav.visualItemRect(w.nav.item(0))
    qtbot.mouseClick(w.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.current_view == "lock" and not w.unlocked
    told = _last_error(w)
    assert told.text() == "No admin passphrase has been set up on this workspace yet."
    assert "Set up admin passphrase…" in told.informativeText()
    assert "wbsdesk" not in told.informativeText()
    for view in ("Reading", "Dashboard", "Screening"):
        assert w.open_view(view) is False
    assert not admin.has_passphrase(ws)


def test_setting_up_the_first_passphrase_is_an_explicit_step(qtbot, ws, monkeypatch):
    dlg = SetupPassphraseDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    intro = dlg.findChildren(type(dlg.problem))[0].text()
    assert "study administrator" in intro and "locked out" in intro
    assert dlg.ok_button.text() == "Set up and become administrator"
    dlg.passphrase.setText("first one!")
    dlg.repeat.setText("first one?")
    dlg.ok_button.click()
    assert dlg.isVisible() and dlg.problem.text() == "The two entries differ."
    dlg.repeat.setText("first one!")
    dlg.ok_button.click()
    assert dlg.result() == QDialog.DialogCode.Accepted

    w = _window(qtbot, ws)
    monkeypatch.setattr(dialogs, "ask_new_passphrase", lambda parent: None)
    w.lock_page.setup_button.click()  # cancelled: nothing set, still locked
    assert not admin.has_passphrase(ws) and w.current_view == "lock"
    monkeypatch.setattr(dialogs, "ask_new_passphrase", lambda parent: "first one!")
    w.lock_page.setup_button.click()
    assert admin.has_passphrase(ws) and admin.verify_passphrase(ws, "first one!")
    assert w.unlocked and w.current_view == "Studies"
    w.lock()
    assert w.lock_page.unlock_button.isVisible() and not w.lock_page.setup_button.isVisible()
    assert [e["action"] for e in ws.store.audit_log()].count("set_admin_passphrase") == 1


def test_wrong_passphrases_make_the_next_attempt_wait(qtbot, ws, monkeypatch):
    admin.set_passphrase(ws, "open sesame")
    w = _window(qtbot, ws)
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, wait: "guess")
    for _ in range(3):
        assert w.open_view("Studies") is False
    assert _last_error(w).informativeText() == "Too many wrong passphrases: try again in 5 s."
    waits = []
    monkeypatch.setattr(dialogs, "ask_passphrase",
                        lambda parent, wait: waits.append(wait()) or "open sesame")
    assert w.open_view("Studies") is False  # even the right one waits
    assert 0 < waits[0] <= 5
    assert _last_error(w).text().startswith("Too many wrong passphrases: try again in")
    # the dialog shows the time left and takes nothing until then
    left = [3.2]
    dlg = PassphraseDialog(w, wait=lambda: left[0])
    qtbot.addWidget(dlg)
    assert not dlg.ok_button.isEnabled()
    assert dlg.problem.text() == "Too many wrong passphrases: try again in 4 s."
    left[0] = 0.0
    qtbot.waitUntil(lambda: dlg.ok_button.isEnabled(), timeout=2000)
    assert dlg.problem.text() == ""
    # a new window (the app restarted) still waits
    w2 = _window(qtbot, ws)
    waits.clear()
    assert w2.open_view("Studies") is False and waits and waits[0] > 0


class _BusyDialog(QDialog):
    """Stands in for a wizard whose job runs."""

    def __init__(self, parent):
        super().__init__(parent)
        self.button = QPushButton("Next")
        QVBoxLayout(self).addWidget(self.button)

    def busy(self):
        return True


def test_idle_unlocked_views_go_back_to_reader_mode(qtbot, ws, monkeypatch):
    admin.set_passphrase(ws, "open sesame")
    w = _window(qtbot, ws, admin=True, idle_lock_ms=400)
    assert w.unlocked and w.idle.timer.isActive()
    for _ in range(6):  # input keeps it unlocked
        qtbot.wait(150)
        qtbot.mouseMove(w.nav.viewport(), QPoint(5 + _, 5))
    assert w.unlocked and w.current_view == "Studies"
    w.show_error(RuntimeError("left open"))  # a dialog over the admin views is closed
    busy = _BusyDialog(w)
    busy.open()
    qtbot.waitUntil(lambda: not w.unlocked, timeout=3000)
    assert w.current_view == "lock" and not w.idle.timer.isActive()
    assert not any(d.isVisible() for d in w.findChildren(ErrorDialog))
    cover = busy.findChild(DialogLockWidget)
    assert busy.isVisible() and cover.isVisible() and not busy.button.isEnabled()
    qtbot.keyClick(busy, Qt.Key.Key_Escape)  # Esc does not close (or stop) it
    assert busy.isVisible()
    monkeypatch.setattr(dialogs, "ask_passphrase", lambda parent, wait: "open sesame")
    cover.unlock_button.click()
    assert w.unlocked and busy.button.isEnabled() and not cover.isVisible()
    busy.accept()


def test_the_idle_time_comes_from_the_protocol(qtbot, ws, tmp_path, monkeypatch):
    make_reading_study(ws, tmp_path, n=2)
    assert _window(qtbot, ws).idle.timer.interval() == 5 * 60_000
    monkeypatch.setattr(admin, "idle_lock_minutes", lambda ws: 0.5)
    w = _window(qtbot, ws, admin=True)
    assert w.idle.timer.interval() == 30_000


def test_reader_mode_shows_no_folder_names(qtbot, ws):
    w = _window(qtbot, ws)
    assert str(ws.root) not in w.windowTitle() and w.windowTitle() == "wbsdesk — reader mode"
    assert w.statusBar().currentMessage() == ""
    w2 = _window(qtbot, ws, admin=True)
    assert str(ws.root) in w2.windowTitle()


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
    ids = (ws.store.study("tiny").id, ws.store.reader("R1").id)
    assert session_in_use(ws.root, *ids)
    w.reader.done.emit()
    assert w.reader is None and w.current_view == "lock"
    assert not session_in_use(ws.root, *ids)  # the screen closed: the session is free
    qtbot.wait(50)  # the navigation may take focus again: that alone opens nothing
    assert w.current_view == "lock"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_session_open_in_another_process_is_refused_by_name(qtbot, ws, tmp_path):
    make_reading_study(ws, tmp_path, n=2)
    reading.add_reader(ws, "R1", role="other")
    w = _window(qtbot, ws, admin=True, fullscreen_reader=False)
    with holding_session(ws.root, "tiny", "R1") as child:
        assert w.start_session("tiny", "R1") is None
        refused = _last_error(w)
        assert refused.text().startswith("R1's session on 'tiny' is open in another process "
                                         f"(process {child.pid} on ")
        assert w.reader is None and w.unlocked
    reader = w.start_session("tiny", "R1")  # the holder was killed: it resumes here
    assert reader is not None and reader.setup.resumed
    w.leave_reader()


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
