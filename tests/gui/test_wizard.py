"""The study wizard's first pages: creating a study, and an import that is refused until clean."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from PIL import Image

from tests.gui.wizard_data import NEXT, can_go_on, photo_folder, prepared_study, protocol_file, shot
from wbsdesk.gui.app import VIEWS
from wbsdesk.gui.wizard import PAGE_FACES, PAGE_IMPORT, PAGE_STUDY, StudyWizard
from wbsdesk.services.studies import create_study


def wizard(qtbot, ws, **kw) -> StudyWizard:
    """A shown wizard (closed, and its jobs stopped, after the test)."""
    w = StudyWizard(ws, **kw)
    qtbot.addWidget(w)
    w.show()
    return w


def test_study_page_creates_a_study_from_a_protocol(qtbot, ws, tmp_path):
    w = wizard(qtbot, ws)
    page = w.study_page
    assert w.currentId() == PAGE_STUDY and page.subTitle()
    assert page.creating and not page.existing_radio.isEnabled()  # nothing to continue yet
    assert not can_go_on(w)  # no name yet
    # the bundled protocols are offered by name and title
    assert any(page.protocol_combo.itemText(i).startswith("liu2021_wbs — ")
               for i in range(page.protocol_combo.count()))
    page.name_edit.setText("my study")
    assert not can_go_on(w) and "letters, digits" in page.message.text()
    page.name_edit.setText("w1")
    page.set_protocol_file(protocol_file(tmp_path))
    assert can_go_on(w)
    text = page.summary.text()
    for words in ("Williams-Beuren syndrome (synthetic)</b> (the target group)",
                  "2-fold cross-validation", "seed 7", "resnet18; 1 epoch, 32 px input",
                  "from scratch", "10 s per photo", "5-level scale"):
        assert words in text, words
    # a broken protocol is explained on the page, and Next stays off
    broken = tmp_path / "broken.toml"
    broken.write_text(protocol_file(tmp_path).read_text().replace("k = 2", "k = 1"))
    page.set_protocol_file(broken)
    assert not can_go_on(w) and page.message.kind == "error"
    assert "broken.toml" in page.message.text() and "k" in page.message.text()
    page.set_protocol_file(protocol_file(tmp_path))
    w.button(NEXT).click()
    assert w.currentId() == PAGE_IMPORT and w.study == "w1"
    assert ws.store.study("w1").protocol_name == "tiny"
    shot(w, tmp_path / "import-empty.png")
    # back on page 1 the new study is an existing one, and a clash is named
    w.back()
    assert not page.creating and page.study_combo.currentText() == "w1"
    page.new_radio.setChecked(True)
    page.name_edit.setText("w1")
    assert not can_go_on(w) and "already exists" in page.message.text()


def test_continuing_a_study_shows_where_it_stands(qtbot, ws, tmp_path):
    study, _ = prepared_study(ws, tmp_path)
    create_study(ws, "other", protocol_file(tmp_path, "other"))
    w = wizard(qtbot, ws, study=study)
    page = w.study_page
    assert not page.creating and page.study_combo.currentText() == study
    assert "11 subjects" in page.state.text() and "faces: 10 ok, 1 to do" in page.state.text()
    assert can_go_on(w)
    w.button(NEXT).click()
    # already imported: say so, and let the user go on without a manifest
    assert w.currentId() == PAGE_IMPORT and "already has 11 subjects" in (
        w.import_page.message.text())
    assert can_go_on(w)
    w.button(NEXT).click()
    assert w.currentId() == PAGE_FACES
    faces = w.faces_page
    assert faces.job is None  # every photo has been looked at: nothing to align
    assert "1 photo needs your attention" in faces.status.text() and not can_go_on(w)
    assert faces.review.filter_combo.currentData() == "needs_review"


def _workspace_state(ws, study):
    sid = ws.store.study(study).id
    files = sorted(p.relative_to(ws.root).as_posix() for p in ws.root.rglob("*")
                   if p.is_file() and p.parts[-2] != "logs" and "wbsdesk.db" not in p.name)
    return (ws.store.subjects(sid), ws.store.photos(sid),
            [a["action"] for a in ws.store.audit_log(sid)], files)


def test_import_is_refused_until_the_manifest_is_clean(qtbot, ws, tmp_path):
    folder, clean, bad = photo_folder(tmp_path)
    create_study(ws, "t", protocol_file(tmp_path))
    w = wizard(qtbot, ws, study="t")
    w.button(NEXT).click()
    page = w.import_page
    before = _workspace_state(ws, "t")
    page.set_inputs(folder, bad)
    qtbot.waitUntil(lambda: page.check is not None, timeout=60_000)
    qtbot.waitUntil(lambda: page.job is None)
    # every problem in one table: file, row, problem
    t = page.problems
    assert t.isVisible() and [t.horizontalHeaderItem(c).text() for c in range(3)] == [
        "File", "Row", "Problem"]
    rows = [[t.item(r, c).text() for c in range(3)] for r in range(t.rowCount())]
    assert rows == [["subjects_bad.csv", "3", rows[0][2]], ["subjects_bad.csv", "4",
                                                            rows[1][2]]]
    assert "unknown group 'helthy'" in rows[0][2] and "missing.jpg: file not found" in rows[1][2]
    assert "2 problems found" in page.problems_label.text()
    assert page.message.kind == "error" and "nothing will be imported" in page.message.text()
    assert not page.import_button.isEnabled() and not can_go_on(w)
    page.start_import()  # even asked directly, nothing happens
    assert page.job is None and _workspace_state(ws, "t") == before
    shot(w, tmp_path / "import-refused.png")
    # the template has the study's groups
    out = page.save_template(tmp_path / "template.csv")
    assert out.read_text().splitlines()[0].startswith("subject_id,photo,group")
    assert "wbs" in out.read_text() and "template.csv" in page.message.text()
    # the fixed manifest checks clean, then imports and gets its folds
    page.set_inputs(folder, clean)
    qtbot.waitUntil(lambda: page.check is not None and page.job is None, timeout=60_000)
    assert page.check.clean and not page.problems.isVisible()
    assert "11 photos of 11 subjects" in page.message.text()
    assert page.import_button.isEnabled() and not can_go_on(w)  # not imported yet
    assert _workspace_state(ws, "t") == before
    page.import_button.click()
    qtbot.waitUntil(lambda: page.outcome is not None and page.job is None, timeout=60_000)
    assert "Imported 11 subjects and 11 photos" in page.message.text()
    assert "2 folds (seed 7) with 6, 5 subjects" in page.folds_label.text()
    sid = ws.store.study("t").id
    assert len(ws.store.subjects(sid)) == 11 and len(ws.store.folds(sid)) == 11
    assert not page.import_button.isEnabled() and can_go_on(w)


def test_closing_during_a_check_stops_it_at_once(qtbot, ws, tmp_path):
    folder, clean, _ = photo_folder(tmp_path)
    create_study(ws, "t", protocol_file(tmp_path))
    w = wizard(qtbot, ws, study="t")
    w.button(NEXT).click()
    page = w.import_page
    page.set_inputs(folder, clean)
    page.start_check()
    job = page.job
    assert job is not None and job.running
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 10 and not w.isVisible()
    assert not job.running or job.wait(0)
    assert ws.store.subjects(ws.store.study("t").id) == []


def test_screenshot_command_grabs_the_wizard(tmp_path):
    from wbsdesk.services.workspace import open_workspace

    assert {"wizard-study", "wizard-import", "wizard-faces", "wizard-setup",
            "wizard-training", "wizard-summary", "review"} <= set(VIEWS)
    with open_workspace(tmp_path / "ws") as ws:
        study, _ = prepared_study(ws, tmp_path)
    png = tmp_path / "import.png"
    subprocess.run([sys.executable, "-m", "wbsdesk", "--workspace", str(tmp_path / "ws"),
                    "gui", "--screenshot", str(png), "--view", "wizard-import",
                    "--study", study], check=True, timeout=120,
                   env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""})
    with Image.open(png) as im:
        assert im.size == (1120, 800)  # the wizard, not the main window (1280 x 800)
        arr = np.asarray(im.convert("RGB"))
    # the error box of the refused manifest is on it (its pink background)
    pink = np.all(np.abs(arr.astype(int) - [0xFD, 0xEC, 0xEC]) <= 2, axis=-1)
    assert pink.sum() > 5000


def test_after_alignment_with_nothing_to_fix_the_review_shows_every_photo(qtbot, ws, tmp_path):
    from tests.gui.wizard_data import NO_FACE
    from wbsdesk.services import faces as face_service

    study, _ = prepared_study(ws, tmp_path)
    face_service.exclude_subject(ws, study, NO_FACE, reason="no face in the photo")
    w = wizard(qtbot, ws, study=study)
    w.show_page(PAGE_FACES)
    page = w.faces_page
    page.review.set_filter("needs_review")  # as while the alignment ran
    page._on_done()  # the alignment job has ended and nothing needs attention
    review = page.review
    assert review.filter_combo.currentData() == "all"
    assert len(review.visible_ids()) == len(review.entries) == 11
    assert review.selected_id() == review.entries[0].photo_id  # shown large, not empty
    assert can_go_on(w)
