"""The Screening view: one new photo scored by a run, research-use banner, nothing stored."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from tests.conftest import make_photo, snapshot
from tests.gui.training_study import make_tiny_study
from wbsdesk.core.training_request import TrainRequest
from wbsdesk.gui import file_dialogs
from wbsdesk.gui.app import VIEWS
from wbsdesk.gui.main_window import MainWindow


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory):
    """A closed workspace with study ``t`` and one finished run of two architectures."""
    from wbsdesk.services import training
    from wbsdesk.services.workspace import open_workspace

    tmp = tmp_path_factory.mktemp("screening")
    with open_workspace(tmp / "ws") as ws:
        make_tiny_study(ws, tmp)
        training.train(ws, TrainRequest("t", archs=("resnet18", "mobilenet_v2"),
                                        device="cpu"))
    return tmp / "ws"


@pytest.fixture
def trained(trained_template, tmp_path):
    from wbsdesk.services.workspace import open_workspace

    root = tmp_path / "ws"
    shutil.copytree(trained_template, root)
    ws = open_workspace(root)
    yield ws
    ws.close()


@pytest.fixture
def window(qtbot, trained):
    w = MainWindow(trained, study="t", admin=True)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.close()


def _table(view):
    t = view.table
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_astronaut_is_scored_by_every_model_and_nothing_is_stored(
        qtbot, window, trained, trained_template, tmp_path, monkeypatch):
    skimage_data = pytest.importorskip("skimage.data")
    photo = tmp_path / "outside" / "astronaut.png"
    photo.parent.mkdir()
    Image.fromarray(skimage_data.astronaut()).save(photo)
    assert window.open_view("Screening")
    view = window.screening
    assert view.banner.isVisible() and "Research use only — not a diagnosis" in \
        view.banner.text()
    assert view.run_combo.currentText() == trained.store.runs(trained.store.study("t").id)[0].name
    assert view.open_photo(photo)
    assert view.wait_until_done()
    assert view.result is not None and "the detected face" in view.message.text()
    rows = _table(view)
    assert [r[0] for r in rows] == ["MobileNet-V2", "ResNet-18", "Ensemble (mean of the models)"]
    probs = [float(r[1]) for r in rows]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert probs[2] == pytest.approx((probs[0] + probs[1]) / 2, abs=1e-3)
    assert len(rows[0][2].split()) == 2  # one probability per fold model
    assert "Williams-Beuren syndrome (synthetic)" in view.ensemble_label.text()
    assert not view.heatmap.pixmap().isNull() and not view.crop.pixmap().isNull()
    assert "Grad-CAM of MobileNet-V2" in view.heatmap_caption.text()
    assert view.banner.isVisible()
    # saved only where the user asks
    out = tmp_path / "mine" / "astro.json"
    out.parent.mkdir()
    monkeypatch.setattr(file_dialogs.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(out), ""))
    view.save_button.click()
    data = json.loads(out.read_text())
    assert data["notice"] == "Research use only — not a diagnosis."
    assert set(data["per_arch"]) == {"resnet18", "mobilenet_v2"}
    assert data["ensemble"] == pytest.approx(probs[2], abs=1e-3)
    with Image.open(out.with_name("astro-gradcam.png")) as im:
        assert im.size == (224, 224)
    assert out.with_name("astro-crop.png").is_file()
    window.close()
    trained.close()
    assert snapshot(trained.root) == snapshot(trained_template)


def test_no_face_found_lets_the_user_draw_the_box(qtbot, window, tmp_path):
    photo = make_photo(tmp_path / "noise.png", seed=3, size=(320, 400))
    window.open_view("Screening")
    view = window.screening
    view.open_photo(photo)
    assert view.wait_until_done()
    assert view.result is None and "No face was found" in view.message.text()
    assert view.score_button.text() == "Score" and not view.save_button.isEnabled()
    canvas = view.canvas
    centre = canvas.rect().center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre - QPoint(60, 80))
    qtbot.mouseMove(canvas, pos=centre + QPoint(60, 70))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(60, 70))
    box = canvas.box
    assert box is not None and 0 <= box[0] < 320 and box[2] > 20 and box[3] > 20
    assert view.score_button.text() == "Score with this box"
    view.score_button.click()
    assert view.wait_until_done()
    assert view.result is not None and view.result.box == box
    assert "your face box" in view.message.text() and len(_table(view)) == 3


@pytest.mark.parametrize("name", ["training", "screening"])
def test_screenshot_views_render(qtbot, window, tmp_path, name):
    target = VIEWS[name](window, "t") or window
    shot = tmp_path / f"{name}.png"
    assert target.grab().save(str(shot), "PNG")
    with Image.open(shot) as im:
        arr = np.asarray(im.convert("RGB"))
    assert arr.shape[:2] == (800, 1280) and arr.std() > 10
    if name == "training":
        assert window.current_view == "Training"
        assert window.training.runs_table.item(0, 1).text() == "finished"
        assert len(window.training.details_plot.points()) == 4  # 2 archs x 2 folds
    else:
        assert window.screening.result is not None
