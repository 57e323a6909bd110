"""Every named view renders (in-process), and ``gui --screenshot`` writes the reader views."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.gui.aided_study import make_aided_study
from tests.gui.reading_study import make_reading_study
from wbsdesk.gui.app import VIEWS
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.reader_view import GREY


def test_the_issue_views_exist():
    assert {"main", "reader", "reader-hidden", "reader-summary"} <= set(VIEWS)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_each_view_renders(qtbot, ws, tmp_path, view):
    if "aided" in view:  # a sequential aided study with a prepared aid (heatmaps drawn)
        make_aided_study(ws, tmp_path, n=4, seconds=10.0, window=20.0, heatmaps=True,
                         aid='["probability", "heatmap"]')
    else:
        make_reading_study(ws, tmp_path, n=4, seconds=10.0, window=20.0)
    w = MainWindow(ws, admin=True, fullscreen_reader=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    VIEWS[view](w, "tiny")
    assert not w.grab().isNull()
    if view.startswith("reader"):
        r = w.reader
        assert r is not None and ws.store.sessions(ws.store.study("tiny").id) == []
        if view == "reader":
            assert r.canvas.showing and 0.5 < r.time_bar.fraction < 0.8
        if view == "reader-hidden":
            assert not r.canvas.showing and r.machine.phase == "hidden"
        if view == "reader-summary":
            assert "Photos read: 4" in r.message_text.text()
        if view.startswith("reader-aided"):
            assert r.machine.stage == "aided" and r.canvas.showing
            assert r.panel.bar.score == r.machine.aid_score
            assert r.heatmap_on == view.endswith("heatmap")
        w.leave_reader()


def test_screenshot_command_renders_reader_views(tmp_path):
    from wbsdesk.services.workspace import open_workspace

    with open_workspace(tmp_path / "ws") as ws:
        make_reading_study(ws, tmp_path, n=3)
    centre = {}
    for view in ("reader", "reader-hidden"):
        shot = tmp_path / f"{view}.png"
        subprocess.run([sys.executable, "-m", "wbsdesk", "--workspace", str(tmp_path / "ws"),
                        "gui", "--screenshot", str(shot), "--view", view, "--study", "tiny"],
                       check=True, timeout=120,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
        with Image.open(shot) as im:
            assert im.size == (1280, 800)
            arr = np.asarray(im.convert("RGB"))
        centre[view] = arr[300:420, 580:700]
    grey = np.array([GREY.red(), GREY.green(), GREY.blue()])
    assert (centre["reader-hidden"] == grey).all()
    assert not (centre["reader"] == grey).all()
    res = subprocess.run([sys.executable, "-m", "wbsdesk", "--workspace", str(tmp_path / "ws"),
                          "gui", "--screenshot", str(tmp_path / "x.png"), "--view", "reader"],
                         timeout=120, env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
                         capture_output=True, text=True)
    assert res.returncode == 1 and "no study named 'demo'" in res.stderr
