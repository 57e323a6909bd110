"""The face review grid and the manual crop tool, driven as a user would (mouse and buttons)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from tests.gui.wizard_data import NO_FACE, click_at, drag, prepared_study
from wbsdesk.gui.face_review import FaceReviewWidget


def _review(qtbot, ws, study) -> FaceReviewWidget:
    w = FaceReviewWidget(ws)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    w.set_study(study)
    return w


def test_review_shows_what_needs_attention_and_the_crop_tool_fixes_it(qtbot, ws, tmp_path):
    study, _ = prepared_study(ws, tmp_path)
    w = _review(qtbot, ws, study)
    n = len(w.entries)
    assert n == 11 and "1 needs your attention" in w.counts.text()
    assert w.filter_combo.currentText() == f"All photos ({n})"
    w.set_filter("needs_review")
    (noface,) = [e for e in w.entries if e.needs_attention]
    assert noface.subject == NO_FACE and w.visible_ids() == [noface.photo_id]
    assert w.grid.item(0).text() == f"{NO_FACE}\nno face"
    assert "no face found" in w.header.text()
    w.set_filter("manual")
    assert len(w.visible_ids()) == n - 1
    w.set_filter("needs_review")

    # crop by hand: drag a box, click the five points in order, preview, apply
    w.crop_button.click()
    tool = w.crop_tool
    assert w.right.currentWidget() is tool and tool.box is None
    assert not tool.apply_button.isEnabled() and "Drag a box" in tool.prompt.text()
    qtbot.wait(50)
    canvas = tool.canvas
    drag(canvas, (80, 90), (240, 300))
    bx, by, bw, bh = tool.box
    k = 1 / canvas._fit()[0]  # one widget pixel in photo pixels
    assert abs(bx - 80) <= k and abs(by - 90) <= k
    assert abs(bw - 160) <= 2 * k and abs(bh - 210) <= 2 * k
    assert "eye on the image's left" in tool.prompt.text()
    assert tool.apply_button.isEnabled()  # a box alone is enough
    points = [(125, 160), (195, 160), (160, 205), (130, 245), (190, 245)]
    for i, xy in enumerate(points):
        click_at(canvas, xy)
        assert len(tool.landmarks) == i + 1
        if i < 4:
            assert not tool.apply_button.isEnabled()  # 1-4 points: finish or undo
    tool.undo_button.click()
    assert len(tool.landmarks) == 4
    click_at(canvas, points[-1])
    with qtbot.waitSignal(tool.preview_ready, timeout=30_000):
        pass
    assert tool.preview is not None and tool.preview.model_crop.size == (224, 224)
    assert not tool.model_label.pixmap().isNull() and not tool.reader_label.pixmap().isNull()
    assert np.allclose(tool.preview.landmarks, tool.landmarks)
    with qtbot.waitSignal(tool.applied, timeout=30_000) as applied:
        tool.apply_button.click()
    assert applied.args == [noface.photo_id]
    qtbot.waitUntil(lambda: tool.job is None)

    # the photo is ok now, cropped by hand, and the crop is what the preview showed
    assert w.right.currentWidget() is w.detail and "Manual crop saved" in w.message.text()
    fixed = next(e for e in w.entries if e.photo_id == noface.photo_id)
    assert fixed.status == "ok" and fixed.method == "manual" and not fixed.needs_attention
    assert np.allclose(fixed.bbox, tool.box, atol=0.01)
    with Image.open(fixed.model_crop) as stored:
        assert np.array_equal(np.asarray(stored.convert("RGB")),
                              np.asarray(tool.preview.model_crop))
    assert not any(e.needs_attention for e in w.entries)
    log = ws.store.audit_log(ws.store.study(study).id)
    assert log[-1]["action"] == "manual_crop" and log[-1]["detail"]["subject"] == NO_FACE
    assert w.selected_id() == noface.photo_id  # still selected, now under "All photos"


def test_exclusion_needs_a_reason_and_can_be_undone(qtbot, ws, tmp_path):
    study, _ = prepared_study(ws, tmp_path)
    w = _review(qtbot, ws, study)
    changed = []
    w.changed.connect(lambda: changed.append(1))
    w.set_filter("needs_review")
    assert w.exclude_button.isVisible() and not w.exclude_button.isEnabled()
    w.reason.setText("not a face photo")
    assert w.exclude_button.isEnabled()
    w.exclude_button.click()
    assert changed and "0 excluded" not in w.counts.text()
    assert "need" not in w.counts.text()  # nothing needs attention any more
    w.set_filter("excluded")
    (e,) = [x for x in w.entries if x.excluded]
    assert e.subject == NO_FACE and e.exclusion_reason == "not a face photo"
    assert w.include_button.isVisible() and not w.crop_button.isEnabled()
    assert "excluded: not a face photo" in w.header.text()
    w.include_button.click()
    assert not any(x.excluded for x in w.entries)
    actions = [a["action"] for a in ws.store.audit_log(ws.store.study(study).id)]
    assert actions[-2:] == ["exclude", "include"]


def test_a_bad_box_is_explained_inline(qtbot, ws, tmp_path):
    study, _ = prepared_study(ws, tmp_path)
    w = _review(qtbot, ws, study)
    w.set_filter("needs_review")
    w.open_crop_tool()
    tool = w.crop_tool
    tool.set_box(10, 10, 1.0, 1.0)  # too small to crop
    qtbot.waitUntil(lambda: tool.message.isVisible(), timeout=30_000)
    assert "face box" in tool.message.text() and tool.preview is None
    qtbot.waitUntil(lambda: tool.job is None)


def test_manual_cropping_keeps_torch_out_of_the_window_process(tmp_path):
    """The preview and apply path (Pillow only) never loads torch into the GUI process."""
    from wbsdesk.services.workspace import open_workspace

    root = tmp_path / "ws"
    with open_workspace(root) as w:
        study, _ = prepared_study(w, tmp_path)
        photo = w.store.photos(w.store.study(study).id)[0].id
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from wbsdesk.gui.wizard import StudyWizard\n"
        "from wbsdesk.services.study_jobs import preview_crop_job, apply_crop_job\n"
        "from wbsdesk.core.jobs import CancelToken\n"
        "from wbsdesk.services.workspace import open_workspace\n"
        f"ws = open_workspace({str(root)!r})\n"
        f"w = StudyWizard(ws, study={study!r})\n"
        "kw = dict(box=[60, 60, 200, 240], progress=lambda p: None, cancel=CancelToken())\n"
        f"preview_crop_job(ws.root, {study!r}, {photo}, **kw)\n"
        f"apply_crop_job(ws.root, {study!r}, {photo}, **kw)\n"
        "print('HEAVY', sorted(m for m in ('torch', 'torchvision') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
                         timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_photos_are_drawn_upright_in_the_crop_tools_pixels(qtbot, tmp_path):
    """A phone photo stored sideways (EXIF orientation 6) is shown and measured upright."""
    from PIL import ImageOps

    from wbsdesk.gui.crop_canvas import load_upright

    arr = np.zeros((200, 300, 3), np.uint8)
    arr[:, :150] = (255, 0, 0)
    arr[:100, :, 1] = 255
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    with Image.open(tmp_path / "rot.jpg") as raw:
        upright = ImageOps.exif_transpose(raw).convert("RGB")
    for max_side in (0, 150):
        image, full = load_upright(tmp_path / "rot.jpg", max_side)
        assert full == upright.size == (200, 300)
        k = image.width() / full[0]
        for x, y in ((20, 20), (180, 20), (20, 280)):
            c = image.pixelColor(int(x * k), int(y * k))
            assert np.allclose((c.red(), c.green(), c.blue()), upright.getpixel((x, y)),
                               atol=8)


def test_photos_not_yet_searched_are_counted_apart_from_those_needing_attention(
        qtbot, ws, tmp_path):
    """While the wizard aligns, photos not searched yet are said to be so; they do not yet
    need the user's attention (the page said '45 need your attention' at 0 %)."""
    from tests.gui.wizard_data import photo_folder, protocol_file
    from wbsdesk.services.importer import import_manifest
    from wbsdesk.services.studies import create_study

    _, clean, _ = photo_folder(tmp_path)
    create_study(ws, "fresh", protocol_file(tmp_path))
    import_manifest(ws, "fresh", clean)
    w = _review(qtbot, ws, "fresh")
    n = len(w.entries)
    assert w.counts.text() == f"{n} photos: 0 ok, {n} not searched for a face yet, 0 excluded"
    study, _ = prepared_study(ws, tmp_path / "other", name="t")
    w.set_study(study)
    assert "1 needs your attention" in w.counts.text() and "not searched" not in w.counts.text()
