"""The whole wizard, as a first-time user goes through it: photos in, results and Dashboard out.

Real jobs: the alignment and the training run in spawned processes (MTCNN on synthetic
faces; one epoch of ResNet-18 at 32 px on 11 photos, 2 folds).
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWizard

from tests.gui.wizard_data import (
    NEXT,
    NO_FACE,
    can_go_on,
    click_at,
    drag,
    known_faces,
    photo_folder,
    prepared_study,
    protocol_file,
    shot,
)
from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.gui import dialogs
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.runners import ProcessJob
from wbsdesk.gui.wizard import (
    PAGE_FACES,
    PAGE_IMPORT,
    PAGE_SETUP,
    PAGE_SUMMARY,
    PAGE_TRAINING,
    StudyWizard,
)
from wbsdesk.services import faces as face_service
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study

COMMIT = QWizard.WizardButton.CommitButton


def _fix_by_hand(qtbot, w: StudyWizard, entry, known) -> None:
    """Crop one photo through the crop tool: the mouse for the no-face photo, else the API."""
    review = w.faces_page.review
    review.set_filter("all")
    assert review.select_photo(entry.photo_id)
    review.crop_button.click()
    tool = review.crop_tool
    qtbot.wait(20)
    if entry.subject == NO_FACE:
        drag(tool.canvas, (100, 120), (220, 280))
        for xy in ((135, 175), (185, 175), (160, 210), (140, 245), (180, 245)):
            click_at(tool.canvas, xy)
    else:  # a synthetic face the detector missed: place what the generator drew
        box, lm = known[entry.subject]
        tool.set_box(*box)
        for i in range(0, 10, 2):
            tool.add_landmark(lm[i], lm[i + 1])
    assert tool.markup_ready() and len(tool.landmarks) == 5
    qtbot.waitUntil(lambda: tool.preview is not None, timeout=30_000)
    with qtbot.waitSignal(tool.applied, timeout=30_000):
        tool.apply_button.click()
    qtbot.waitUntil(lambda: tool.job is None)


@pytest.mark.slow
def test_the_wizard_takes_a_photo_folder_to_results(qtbot, ws, tmp_path):
    folder, clean, bad = photo_folder(tmp_path)
    window = MainWindow(ws, admin=True, fullscreen_reader=False)
    qtbot.addWidget(window)
    w = StudyWizard(ws, window.studies)  # as the Studies view opens it
    w.show()

    # 1. a new study that follows a (tiny) protocol
    page1 = w.study_page
    page1.name_edit.setText("flow")
    page1.set_protocol_file(protocol_file(tmp_path))
    assert "2-fold cross-validation" in page1.summary.text()
    shot(w, tmp_path / "1-study.png")
    w.button(NEXT).click()
    assert w.currentId() == PAGE_IMPORT and w.study == "flow"

    # 2. a bad manifest is refused and changes nothing; the fixed one imports
    page2 = w.import_page
    sid = ws.store.study("flow").id
    page2.set_inputs(folder, bad)
    qtbot.waitUntil(lambda: page2.check is not None and page2.job is None, timeout=60_000)
    assert page2.problems.rowCount() == 2 and not can_go_on(w)
    assert ws.store.subjects(sid) == [] and not (ws.root / "photos").exists()
    shot(w, tmp_path / "2-import-refused.png")
    page2.set_inputs(folder, clean)
    qtbot.waitUntil(lambda: page2.check is not None and page2.job is None, timeout=60_000)
    page2.import_button.click()
    qtbot.waitUntil(lambda: page2.outcome is not None and page2.job is None, timeout=60_000)
    assert len(ws.store.subjects(sid)) == 11 and can_go_on(w)
    w.button(NEXT).click()

    # 3. alignment runs in a process, with progress; then the review fixes the rest
    page3 = w.faces_page
    assert w.currentId() == PAGE_FACES and isinstance(page3.job, ProcessJob)
    seen = []
    page3.job.progressed.connect(seen.append)
    assert not can_go_on(w)
    qtbot.waitUntil(lambda: page3.job is None, timeout=300_000)
    assert page3.summary is not None and page3.summary.aligned == 11 and seen
    todo = [e for e in page3.review.entries if e.needs_attention]
    assert NO_FACE in {e.subject for e in todo} and not can_go_on(w)
    assert "your attention" in page3.status.text()
    assert page3.review.filter_combo.currentData() == "needs_review"
    shot(w, tmp_path / "3-faces-review.png")
    known = known_faces(clean)
    for entry in todo:
        _fix_by_hand(qtbot, w, entry, known)
    assert can_go_on(w) and "All 11 photos are ready" in page3.status.text()
    manual = [e.subject for e in page3.review.entries if e.method == "manual"]
    assert sorted(manual) == sorted(e.subject for e in todo)
    page3.review.open_crop_tool()
    shot(w, tmp_path / "3-crop-tool.png")
    page3.review.close_crop_tool()
    w.button(NEXT).click()

    # 4. training set-up: the protocol's choices; the commit button starts training
    page4 = w.setup_page
    assert w.currentId() == PAGE_SETUP
    qtbot.waitUntil(page4.isComplete, timeout=60_000)
    assert page4.panel.choices()["archs"] == ["resnet18"]
    assert page4.panel.choices()["epochs"] == 1 and page4.panel.choices()["weights"] == "none"
    assert w.button(COMMIT).text() == "Start training" and can_go_on(w)
    shot(w, tmp_path / "4-setup.png")
    w.button(COMMIT).click()
    # the set-up page hands page 5 one typed request (the protocol's epochs: no override)
    assert w.training_request == TrainRequest("flow", archs=("resnet18",), device="auto",
                                              weights="none")

    # 5. training starts on entry; Next when it has finished
    page5 = w.training_page
    assert w.currentId() == PAGE_TRAINING and page5.running() and not can_go_on(w)
    with qtbot.waitSignal(page5.panel.finished, timeout=600_000) as done:
        pass
    run = done.args[0]
    assert w.run == run and can_go_on(w) and "Training finished" in page5.message.text()
    shot(w, tmp_path / "5-training.png")
    w.button(NEXT).click()

    # 6. Table 4 and the ROC of the new run
    page6 = w.summary_page
    assert w.currentId() == PAGE_SUMMARY
    qtbot.waitUntil(lambda: page6.comparison is not None, timeout=120_000)
    comp = page6.comparison
    t = page6.table
    base = comp.audit.baseline_model  # the audit's trivial baseline: a row and a curve
    assert comp.run == run and t.item(0, 0).text() == "ResNet-18"
    assert t.rowCount() == 1 + (base is not None)
    headers = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    pooled = t.item(0, headers.index("Pooled AUC")).text()
    assert pooled == f"{comp.model('resnet18').roc.auc:.3f}"
    assert page6.roc.curve_labels() == ["ResNet-18", *(["Trivial baseline"] if base else [])]
    if comp.audit.warning:  # said in words above the table
        assert "A trivial baseline" in page6.message.text() and page6.message.kind == "warn"
    assert "No physician has read these photos yet" in page6.message.text()
    # the footnotes read as words: "model's", never an HTML escape such as "&#x27;"
    note = page6.table_note.text()
    assert "the model's probability" in note and "&#" not in note and "Mean ± SD" in note
    shot(w, tmp_path / "6-summary.png")
    assert page6.dashboard_button.isEnabled()
    page6.dashboard_button.click()
    assert window.current_view == "Dashboard" and not w.isVisible()
    assert window.dashboard.run_combo.currentData() == run
    assert window.dashboard.study_combo.currentText() == "flow"


@pytest.mark.slow
def test_closing_during_training_asks_then_stops_a_resumable_run(qtbot, ws, tmp_path,
                                                                monkeypatch):
    study, _ = prepared_study(ws, tmp_path)
    face_service.exclude_subject(ws, study, NO_FACE, reason="no face in the photo")
    w = StudyWizard(ws, study=study)
    qtbot.addWidget(w)
    w.training_request = TrainRequest(study, archs=("resnet18",),
                                      settings=RunSettings(epochs=200), device="cpu",
                                      weights="none")
    w.show_page(PAGE_TRAINING)
    w.show()
    page = w.training_page
    assert page.running()
    run = page.panel.run_name
    qtbot.waitUntil(lambda: ws.store.run(run) is not None, timeout=120_000)
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: asked.append(a[2]) or False)
    w.reject()  # "Keep training"
    assert asked and "Training is still running" in asked[0]
    assert w.isVisible() and page.running()
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: True)
    with qtbot.waitSignal(page.panel.cancelled, timeout=120_000) as stopped:
        w.reject()  # "Stop and close": cancels and waits for the process
    assert stopped.args == [run] and not w.isVisible() and not page.running()
    assert ws.store.run(run).status == "cancelled"
    assert "resume it later from the Training view" in page.message.text()
    assert not page.resume_button.isHidden()


@pytest.mark.slow
def test_alignment_can_be_stopped_and_goes_on_later(qtbot, ws, tmp_path):
    _, clean, _ = photo_folder(tmp_path)
    create_study(ws, "a", protocol_file(tmp_path))
    import_manifest(ws, "a", clean)
    w = StudyWizard(ws, study="a")
    qtbot.addWidget(w)
    w.show_page(PAGE_FACES)
    w.show()
    page = w.faces_page
    assert page.job is not None and page.cancel_button.isVisible()  # started on entry
    with qtbot.waitSignal(page.job.finished, timeout=120_000):
        page.cancel_button.click()
    assert "Stopped" in page.message.text() and not can_go_on(w)
    assert page.align_button.isEnabled() and not page.cancel_button.isVisible()
    assert "not been searched for a face yet" in page.status.text()
