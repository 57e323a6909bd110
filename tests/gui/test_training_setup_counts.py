"""The training set-up counts the photos the run trains on."""

from __future__ import annotations

from tests.gui.training_study import make_tiny_study
from wbsdesk.gui.training_setup import TrainingSetupPanel
from wbsdesk.services.faces import exclude_subject
from wbsdesk.services.studies import load_study


def test_the_setup_counts_the_photos_the_run_trains_on(qtbot, ws, tmp_path):
    """An excluded child's photo is not trained on, so the set-up does not count it (the
    wizard said 45 photos for a run of 43)."""
    make_tiny_study(ws, tmp_path)
    panel = TrainingSetupPanel(ws)
    qtbot.addWidget(panel)
    panel.set_study("t")
    assert "2-fold cross-validation of 12 photos at 32 px" in panel.study_label.text()
    st = load_study(ws, "t")
    first = ws.store.subjects(st.id)[0].key
    exclude_subject(ws, "t", first, reason="profile photo only")
    panel.set_study("t")
    assert "2-fold cross-validation of 11 photos at 32 px" in panel.study_label.text()
