"""A real file dialog in the GUI process never costs committed reads.

The issue's steps: press Save plot... (the dialog opened in the workspace) and cancel, run
any other wbsdesk command on the workspace, go on reading. Qt's dialog opened and closed
wbsdesk.db, -wal and -shm to sniff their types, which dropped the GUI's SQLite locks; the
other command then deleted the WAL the GUI kept committing to.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QFileSystemModel

from tests.store.dbfiles import commit_read, make_session, reads_in_fresh_process, wbsdesk
from wbsdesk.gui import file_dialogs
from wbsdesk.gui.dialogs import ErrorDialog
from wbsdesk.services.workspace import open_workspace

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and POSIX locks")
GUI = Path(file_dialogs.__file__).parent


@pytest.fixture
def reading(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    file_dialogs._last_folder.clear()
    ws = open_workspace(tmp_path / "ws")
    sid, photos = make_session(ws.store)
    commit_read(ws.store, sid, photos[0], 0)
    yield ws, sid, photos
    ws.close()
    file_dialogs._last_folder.clear()


def _browse_and_cancel(qtbot, folder: Path) -> None:
    """A real (Qt, non-native) save dialog shown on ``folder`` until it has listed and typed
    its files, then cancelled."""
    dialog = QFileDialog(None, "Save the ROC plot", str(folder))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    model = dialog.findChild(QFileSystemModel)
    with qtbot.waitSignal(model.directoryLoaded, timeout=10_000):
        dialog.open()
    qtbot.wait(1500)  # icons and MIME types are resolved after the listing
    dialog.reject()
    dialog.deleteLater()


def _errors_shown() -> list[str]:
    return [w.text() for w in QApplication.topLevelWidgets()
            if isinstance(w, ErrorDialog) and w.isVisible()]


@linux
def test_a_dialog_in_the_workspace_then_another_command_loses_nothing(qtbot, reading):
    ws, sid, photos = reading
    _browse_and_cancel(qtbot, ws.root)  # where wbsdesk.db used to be
    assert file_dialogs.after_dialog(None) and _errors_shown() == []
    wbsdesk(ws.root, "study", "list")  # any other command on the same workspace
    assert ws.store.files_intact(), ws.store.check_files()
    commit_read(ws.store, sid, photos[1], 1)
    commit_read(ws.store, sid, photos[2], 2)
    assert reads_in_fresh_process(ws.store.path, sid) == 3  # committed reads are visible


@linux
def test_a_dialog_that_reaches_the_database_files_stops_writes_and_says_so(qtbot, reading):
    # The mechanism itself: shown on the database's own folder, the dialog drops the locks.
    ws, sid, photos = reading
    _browse_and_cancel(qtbot, ws.store.path.parent)
    assert not ws.store.files_intact()
    assert not file_dialogs.after_dialog(None)
    shown = _errors_shown()
    assert len(shown) == 1 and "changed while the file dialog was open" in shown[0]
    wbsdesk(ws.root, "study", "list")
    with pytest.raises(Exception, match="changed under this window"):
        commit_read(ws.store, sid, photos[1], 1)
    assert reads_in_fresh_process(ws.store.path, sid) == 1  # the committed read is safe
    for w in QApplication.topLevelWidgets():
        if isinstance(w, ErrorDialog):
            w.close()


def test_dialogs_start_outside_the_workspace_and_remember_the_users_folder(qtbot, reading,
                                                                          tmp_path):
    ws, _, _ = reading
    started = []

    def cancel_when_shown():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(50, cancel_when_shown)
            return
        started.append(Path(dialog.directory().absolutePath()))
        dialog.reject()

    QTimer.singleShot(50, cancel_when_shown)
    assert file_dialogs.save_file(None, "Save the ROC plot", ws.root / "roc.png") is None
    assert started[-1] == tmp_path / "home"
    QTimer.singleShot(50, cancel_when_shown)
    assert file_dialogs.existing_folder(None, "Folder for the report", ws.root) is None
    assert started[-1] == tmp_path / "home"
    mine = tmp_path / "reports"
    mine.mkdir()
    file_dialogs.after_dialog(None, mine / "plot.png")  # the user saved there
    assert file_dialogs.start_folder(ws.root / "reports") == mine
    file_dialogs.after_dialog(None, ws.root / "roc.png")  # inside: not remembered
    assert file_dialogs.start_folder(None) == mine
    assert _errors_shown() == []


def test_a_save_inside_the_database_folder_is_refused(qtbot, reading, monkeypatch):
    ws, _, _ = reading
    target = ws.store.path.parent / "plot.png"
    monkeypatch.setattr(file_dialogs.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), ""))
    assert file_dialogs.save_file(None, "Save the ROC plot", "roc.png") is None
    shown = _errors_shown()
    assert len(shown) == 1 and "private database folder" in shown[0]
    for w in QApplication.topLevelWidgets():
        if isinstance(w, ErrorDialog):
            w.close()


def test_a_save_into_the_workspace_photo_folder_is_refused_as_on_the_command_line(
        qtbot, reading, monkeypatch):
    ws, _, _ = reading
    target = ws.root / "photos" / "plot.png"
    monkeypatch.setattr(file_dialogs.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), ""))
    assert file_dialogs.save_file(None, "Save the ROC plot", "roc.png") is None
    shown = _errors_shown()
    assert len(shown) == 1 and "does not write into the workspace's own photos/ folder" in shown[0]
    assert not target.exists()
    for w in QApplication.topLevelWidgets():
        if isinstance(w, ErrorDialog):
            w.close()


def test_every_file_dialog_goes_through_the_helper():
    users = [p.name for p in GUI.glob("*.py")
             if "QFileDialog" in p.read_text(encoding="utf-8") and p.name != "file_dialogs.py"]
    assert users == []


def test_the_dashboard_save_buttons_start_outside_the_workspace(qtbot, ws, monkeypatch,
                                                                tmp_path):
    from wbsdesk.gui.dashboard import DashboardWidget

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    file_dialogs._last_folder.clear()
    seen = []
    monkeypatch.setattr(file_dialogs.QFileDialog, "getSaveFileName",
                        lambda parent, caption, start, *a: seen.append(start) or ("", ""))
    monkeypatch.setattr(file_dialogs.QFileDialog, "getExistingDirectory",
                        lambda parent, caption, start, *a: seen.append(start) or "")
    d = DashboardWidget(ws)
    qtbot.addWidget(d)
    d._on_save_plot()
    d._on_save_report()
    assert seen == [str(tmp_path / "home" / "roc.png"), str(tmp_path / "home")]


def test_a_damaged_database_is_shown_as_a_plain_message(qtbot, tmp_path):
    from wbsdesk.gui.dialogs import present_error

    ws = open_workspace(tmp_path / "ws")
    ws.close()
    with open(ws.store.path, "r+b") as fh:
        fh.write(b"\0" * 100)  # the header: no longer an SQLite file
    with pytest.raises(Exception) as err:
        open_workspace(tmp_path / "ws")
    box = present_error(None, err.value)
    try:
        assert "the workspace database is damaged" in box.text()
        assert str(ws.store.path) in box.text()
        assert "wbsdesk db check" in box.informativeText() and box.detailedText() == ""
    finally:
        box.close()


def test_the_app_shows_why_a_workspace_cannot_open(qtbot, tmp_path):
    from wbsdesk.gui.app import run_gui

    root = tmp_path / "ws"
    (root / "photos" / "ab").mkdir(parents=True)
    (root / "photos" / "ab" / "abc.jpg").write_bytes(b"jpeg")
    shown = []

    def read_and_close():
        box = QApplication.activeModalWidget()
        if not isinstance(box, ErrorDialog):
            QTimer.singleShot(50, read_and_close)
            return
        shown.append(box.text())
        box.accept()

    QTimer.singleShot(50, read_and_close)
    assert run_gui(workspace=root) == 1
    assert len(shown) == 1 and "holds wbsdesk data (photos/)" in shown[0]
    assert not (root / ".store" / "wbsdesk.db").exists()
