"""The Screening view: one new photo scored by a run, research-use banner, nothing stored."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from tests.conftest import make_photo, snapshot
from tests.gui.training_study import make_tiny_study
from wbsdesk.core.heatmaps import coarse_map_warning
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
    assert "Grad-CAM of ResNet-18" in view.heatmap_caption.text()  # the protocol's first
    assert view.heatmap_caption.isVisible() and view.panel.colour_scale.isVisible()
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


def _astronaut(tmp_path):
    skimage_data = pytest.importorskip("skimage.data")
    photo = tmp_path / "outside" / "astronaut.png"
    photo.parent.mkdir(exist_ok=True)
    Image.fromarray(skimage_data.astronaut()).save(photo)
    return photo


def test_heatmap_names_model_folds_and_map_size_and_recomputes_in_the_background(
        qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import QTimer

    window.open_view("Screening")
    view = window.screening
    steps, ticks = [], []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    assert view.open_photo(_astronaut(tmp_path))
    view.job.progressed.connect(lambda _p: steps.append(view.busy_label.text()))
    assert view.busy_bar.isVisible() and view.busy_bar.maximum() == 0  # indeterminate
    assert view.wait_until_done()
    timer.stop()
    # the busy bar showed each step, the event loop kept running, and the bar is gone now
    assert any(s.startswith("Step 3 of 4: Scoring with 4 fold models") for s in steps), steps
    assert any("Grad-CAM of ResNet-18" in s for s in steps)
    assert len(ticks) >= 3 and not view.busy_bar.isVisible()
    p = view.result.prediction
    run = p.run
    caption = view.heatmap_caption.text()
    assert f"Grad-CAM of ResNet-18 (mean of folds 1 and 2, run {run})" in caption
    assert ("Feature map 8×8 (layer1) at 32 px input, weighted per position (LayerCAM), "
            "finer than the last block's 1×1.") in caption
    panel = view.panel
    assert not panel.heatmap_warning.isVisible()  # an 8 x 8 map can localise
    assert panel.colour_scale.isVisible()
    assert panel.colour_scale.title() == "contribution to “Williams-Beuren syndrome (synthetic)”"
    # the bar is drawn in the overlay's own colours: cold blue at the left, red at the right
    img = panel.colour_scale.grab().toImage()
    bar = panel.colour_scale.bar_rect()
    y = bar.center().y()
    left, right = img.pixelColor(bar.left() + 2, y), img.pixelColor(bar.right() - 2, y)
    assert left.blue() > 120 and left.red() < 40 and right.red() > 120 and right.blue() < 40
    choices = [panel.heatmap_choice.itemText(i) for i in range(panel.heatmap_choice.count())]
    assert choices == ["ResNet-18 — mean of folds 1 and 2", "ResNet-18 — fold 1 alone",
                       "ResNet-18 — fold 2 alone", "MobileNet-V2 — mean of folds 1 and 2",
                       "MobileNet-V2 — fold 1 alone", "MobileNet-V2 — fold 2 alone"]
    before = view.result.heatmap_png
    panel.heatmap_choice.setCurrentIndex(5)  # MobileNet-V2, fold 2 alone
    assert view.job is not None and view.busy_bar.isVisible()
    assert not panel.heatmap_choice.isEnabled()
    assert view.wait_until_done()
    assert f"Grad-CAM of MobileNet-V2 (fold 2 alone, run {run})" in view.heatmap_caption.text()
    assert view.result.heatmap_png != before and panel.heatmap_choice.isEnabled()
    assert view.result.prediction.per_arch == p.per_arch  # the scores are kept
    out = tmp_path / "astro.json"
    monkeypatch.setattr(file_dialogs.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(out), ""))
    view.save_button.click()
    data = json.loads(out.read_text())
    g = data["gradcam"]
    assert (g["architecture"], g["folds"], g["feature_map"], g["input_px"]) == \
        ("mobilenet_v2", [2], [8, 8], 32)
    assert (g["layer"], g["method"]) == ("features.3", "LayerCAM")
    assert g["source"] == f"fold 2 alone of MobileNet-V2, run {run}"
    assert g["warning"] is None
    # a map too coarse even at the finest layer is flagged in the panel, in words
    coarse = coarse_map_warning((4, 4), 16)
    res = view.result
    info = dataclasses.replace(res.prediction.gradcam, feature_map=(4, 4), input_px=16,
                               warning=coarse)
    panel.show_heatmap(dataclasses.replace(
        res, prediction=dataclasses.replace(res.prediction, gradcam=info)), "WBS")
    assert panel.heatmap_warning.isVisible()
    assert ("The feature map read is only 4×4 at 16 px input: the heatmap cannot localise "
            "features") in panel.heatmap_warning.text()
    assert set(g["focus"]) == {"mass_share", "area_share", "lift", "sd", "entropy", "flat"}


def test_out_of_distribution_warnings_are_shown_as_text_and_saved(qtbot, window, trained,
                                                                  tmp_path, monkeypatch):
    window.open_view("Screening")
    view = window.screening
    ages = [s.age_months for s in trained.store.subjects(trained.store.study("t").id)]
    lo, hi = min(ages), max(ages)
    assert view.open_photo(_astronaut(tmp_path))
    assert view.wait_until_done()
    p = view.result.prediction
    panel = view.panel
    assert panel.notes_label.isVisible()
    assert f"trained on children aged {lo:g}–{hi:g} months" in panel.notes_label.text()
    # the astronaut photo is framed and sized unlike the study's synthetic photos
    capture = [w for w in p.warnings if w.startswith("different capture")]
    assert capture and panel.warnings_label.isVisible()
    assert "Different capture" in panel.warnings_label.text()
    assert all("the study's photos" in w and "percentile" in w for w in capture)
    # an adult's age, typed after scoring, is checked without scoring again
    qtbot.keyClicks(view.age_edit, "480")
    view.age_edit.editingFinished.emit()
    assert view.job is None
    warnings = view.result.prediction.warnings
    assert warnings[-1].startswith("an adult (480 months, 40 years): the models were trained "
                                   f"on children aged {lo:g}–{hi:g} months")
    assert "An adult (480 months, 40 years)" in panel.warnings_label.text()
    assert not panel.notes_label.text().count("give the age")
    out = tmp_path / "ood.json"
    monkeypatch.setattr(file_dialogs.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(out), ""))
    view.save_button.click()
    data = json.loads(out.read_text())
    assert data["age_months"] == 480 and data["warnings"] == warnings
    assert data["reference"]["age_range_months"] == [lo, hi]
    assert set(data["reference"]["ranges"]) >= {"face_box_share", "megapixels", "brightness"}
    # a new photo scored with the age given gets the same warning from the job itself
    view.score()
    assert view.wait_until_done()
    assert view.result.prediction.warnings[-1] == warnings[-1]
