"""The first main window: lists studies, shows the selected one, starts without torch."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from tests.conftest import PROTOCOLS
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study, folds


def test_window_lists_studies_and_shows_details(qtbot, ws, photo_set):
    create_study(ws, "alpha", PROTOCOLS / "liu2021_wbs.toml")
    create_study(ws, "beta", PROTOCOLS / "demo.toml")
    import_manifest(ws, "beta", photo_set(6))
    folds(ws, "beta")
    w = MainWindow(ws, study="beta")
    qtbot.addWidget(w)
    t = w.studies.studies_table
    assert [t.item(r, 0).text() for r in range(t.rowCount())] == ["alpha", "beta"]
    assert t.item(1, 4).text() == "real"  # the demo protocol, but real photos
    assert w.studies.title.text() == "beta"  # no synthetic mark on real photos
    g = w.studies.groups_table
    assert g.rowCount() == 3 and g.item(0, 1).text() == "2"
    assert "5 folds" in w.studies.details.text()
    t.selectRow(0)
    assert w.studies.title.text() == "alpha"
    assert "not assigned" in w.studies.details.text()


def test_empty_workspace_says_how_to_start(qtbot, ws):
    w = MainWindow(ws)
    qtbot.addWidget(w)
    assert "wbsdesk demo" in w.studies.empty.text()


def test_gui_startup_does_not_import_torch(tmp_path):
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from wbsdesk.services.workspace import open_workspace\n"
        "from wbsdesk.gui.main_window import MainWindow\n"
        f"w = MainWindow(open_workspace({str(tmp_path / 'ws')!r}))\n"
        "w.show(); app.processEvents()\n"
        "bad = sorted(m for m in ('torch', 'torchvision', 'facenet_pytorch') if m in sys.modules)\n"
        "print('HEAVY', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_screenshot_command_writes_a_png(tmp_path):
    shot = tmp_path / "main.png"
    subprocess.run([sys.executable, "-m", "wbsdesk", "--workspace", str(tmp_path / "ws"), "gui",
                    "--screenshot", str(shot), "--view", "main"], check=True, timeout=120,
                   env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    with Image.open(shot) as im:
        assert im.size == (1280, 800)
