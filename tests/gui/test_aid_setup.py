"""Setting up an aided study in the GUI: the Reading view's aid line, the run dialog (which
refuses a run that lacks photos, naming them) and the background job that prepares it."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from tests.gui.aided_study import add_run, make_aided_study
from tests.gui.reading_study import make_reading_study
from wbsdesk.gui.aid_setup import AidRunDialog, AidSetupWidget
from wbsdesk.gui.reading_view import ReadingAdminWidget
from wbsdesk.services import aid as aid_service
from wbsdesk.services.aid_jobs import aid_options
from wbsdesk.services.studies import load_study


@pytest.fixture
def study(ws, tmp_path):
    """An aided study with no aid yet: run1 lacks two photos, run2 covers them all."""
    make_aided_study(ws, tmp_path, n=6, prepare=False)  # makes run1 (all photos)
    ids = aid_service.scored_photo_ids(ws, load_study(ws, "tiny"))
    add_run(ws, "tiny", name="run2", skip=frozenset(ids[:2]))
    names = [s.key for s in ws.store.subjects(load_study(ws, "tiny").id)]
    return ws, names[:2]


def _wait(widget, qtbot, ms=120_000):
    with qtbot.waitSignal(widget.job.finished, timeout=ms):
        pass


def test_the_reading_view_shows_the_aid_line_only_for_an_aided_design(study, tmp_path,
                                                                      qtbot):
    ws, _ = study
    make_reading_study(ws, tmp_path, n=3, name="blind")
    view = ReadingAdminWidget(ws, "tiny")
    qtbot.addWidget(view)
    view.show()
    assert view.aid.isVisible() and "none prepared yet" in view.aid.label.text()
    assert "no session can start" in view.aid.label.text()
    view.study_combo.setCurrentText("blind")
    QApplication.processEvents()
    assert not view.aid.isVisible()


def test_the_dialog_refuses_a_run_that_lacks_photos_naming_them(study, qtbot):
    ws, missing = study
    dialog = AidRunDialog(ws, aid_options(ws, "tiny"))
    qtbot.addWidget(dialog)
    assert [dialog.run_combo.itemData(i) for i in range(dialog.run_combo.count())] == [
        "run2", "run1"]  # newest first
    assert dialog.choice() == ("run2", "ensemble", False)
    assert not dialog.ok_button.isEnabled()
    text = dialog.check.text()
    assert "Cannot prepare" in text and "2 of 6" in text
    assert all(name in text for name in missing)
    dialog.run_combo.setCurrentIndex(1)  # run1 covers every photo
    assert dialog.ok_button.isEnabled() and "every photo to read" in dialog.check.text()
    dialog.model_combo.setCurrentIndex(dialog.model_combo.findData("resnet18"))
    assert not dialog.ok_button.isEnabled()  # the protocol's sessions show the ensemble
    assert "would be refused when a session starts" in dialog.check.text()


def test_preparing_runs_in_the_background_and_the_sessions_then_show_it(study, qtbot):
    ws, missing = study
    w = AidSetupWidget(ws)
    qtbot.addWidget(w)
    w.set_study("tiny")
    failures = []
    w.error.connect(failures.append)
    # a run that lacks photos is refused by the job too, naming them; nothing is stored
    w.start("run2", "ensemble", False)
    assert w.running() and not w.button.isEnabled() and w.bar.isVisibleTo(w)
    _wait(w, qtbot)
    assert len(failures) == 1 and failures[0].user_error
    assert all(name in failures[0].message for name in missing)
    assert aid_service.current_aid(ws, "tiny") is None
    assert "Not prepared" in w.status.text() and w.button.isEnabled()
    done = []
    w.prepared.connect(done.append)
    w.start("run1", "ensemble", False)
    _wait(w, qtbot)
    aid = aid_service.current_aid(ws, "tiny")
    assert aid is not None and aid.run == "run1" and done[0]["aid_set"] == aid.id
    assert len(aid.scores) == 6 and not aid.has_heatmaps
    assert "run <b>run1</b>" in w.label.text() and "Aid prepared" in w.status.text()
    assert not w.running() and not w.bar.isVisibleTo(w)
