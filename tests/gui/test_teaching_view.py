"""The teaching screen and the administrator's choice for an expired session."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from tests.gui.reading_study import LABELS, make_reading_study
from wbsdesk.core.session import ReadRecord
from wbsdesk.gui import resume_dialog
from wbsdesk.gui.app import FixedClock
from wbsdesk.gui.dry_run import press_key
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.teaching_view import BANNER, TeachingReaderWidget
from wbsdesk.services import reading, teaching


def _finished_reader(ws, name="R1"):
    reading.add_reader(ws, name, role="pediatrician")
    setup = reading.open_session(ws, "tiny", name, seed=1)
    try:
        for s in setup.plan:
            reading.record_read(ws, setup.session_id, ReadRecord(
                position=s.position, photo_id=s.photo_id, practice=False, rating=2,
                binary_read=False, shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1,
                shown_at="a", hidden_at="b", answered_at="c", display_s=0.2, response_s=0.1,
                after_interruption=False))
        reading.finish_session(ws, setup.session_id)
    finally:
        setup.release()


def _window(ws, qtbot):
    w = MainWindow(ws, "tiny", admin=True, fullscreen_reader=False, idle_lock_ms=10**8)
    qtbot.addWidget(w)
    w.show()
    return w


def test_the_teaching_screen_shows_the_truth_after_each_answer(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=3, seconds=0.5, window=1.0)
    _finished_reader(ws)
    study_reads = ws.store.study_reads(ws.store.study("tiny").id)
    win = _window(ws, qtbot)
    t = teaching.open_teaching(ws, "tiny", "R1", seed=2)
    clock = FixedClock()
    w = win.start_teaching_setup(t, clock=clock)
    assert isinstance(w, TeachingReaderWidget) and win.reader is w
    assert w.banner.text() == BANNER and w.banner.isVisible()
    assert win.windowTitle() == "wbsdesk — teaching session"
    assert w.message_title.text() == "Teaching session"
    assert "not a study read" in w.message_text.text()
    assert "There is no feedback" not in w.message_text.text()
    right = 0
    for i, s in enumerate(t.setup.plan):
        if i == 0:
            press_key(w, Qt.Key.Key_Space, " ")  # the start page
        assert w.pages.currentWidget() is w.reading_page
        assert w.part_label.text() == "Teaching (not a study read)"
        truth = t.truth[s.photo_id]
        rating = 5 if i != 1 else 1  # photo 1: "definitely not"
        clock.t += 0.1
        press_key(w, getattr(Qt.Key, f"Key_{rating}"), str(rating))
        clock.t += 0.5
        w._on_due()  # the photo's time is up: the read is stored, then the truth shows
        ok = (rating == 5) == truth.positive
        right += ok
        assert w.pages.currentWidget() is w.message_page
        assert w.message_title.text() == ("Right" if ok else "Not right")
        assert f"This child's group: {LABELS[truth.group]}." in w.message_text.text()
        assert w.feedback_photo.isVisible() and not w.feedback_photo.pixmap().isNull()
        stored = ws.store.teaching_reads(t.teaching_id)
        assert [r["position"] for r in stored] == list(range(i + 1))
        assert stored[-1]["correct"] == int(ok) and stored[-1]["truth_group"] == truth.group
        press_key(w, Qt.Key.Key_Space, " ")
    assert w.message_title.text() == "The teaching session is complete"
    assert not w.feedback_photo.isVisible()
    assert f"Right answers: {right} of 3" in w.message_text.text()
    assert ws.store.teaching_session(t.teaching_id)["status"] == "finished"
    assert ws.store.study_reads(ws.store.study("tiny").id) == study_reads
    press_key(w, Qt.Key.Key_Return)
    assert win.reader is None  # back to reader mode


def test_the_reading_view_offers_a_teaching_session(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=3)
    _finished_reader(ws)
    win = _window(ws, qtbot)
    win.open_view("Reading")
    view = win.reading
    assert not view.teaching_button.isEnabled()
    view.table.selectRow(0)
    assert view.teaching_button.isEnabled()
    view.teaching_button.click()
    assert isinstance(win.reader, TeachingReaderWidget)
    win.leave_reader()
    # an unfinished study session is refused with a clear message
    reading.add_reader(ws, "R2", role="pediatrician")
    reading.open_session(ws, "tiny", "R2", seed=3).release()
    shown = []
    win.show_error = shown.append
    assert win.start_teaching("tiny", "R2") is None
    assert "is not finished" in shown[0].message


def test_an_expired_session_asks_the_administrator(ws, tmp_path, qtbot, monkeypatch):
    make_reading_study(ws, tmp_path, n=3, extra="resume_within_hours = 0.0003\n")
    reading.add_reader(ws, "R1", role="pediatrician")
    setup = reading.open_session(ws, "tiny", "R1", seed=1)
    s = setup.plan[0]
    reading.record_read(ws, setup.session_id, ReadRecord(
        position=0, photo_id=s.photo_id, practice=False, rating=4, binary_read=True,
        shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1, shown_at="a", hidden_at="b",
        answered_at="c", display_s=0.2, response_s=0.1, after_interruption=False))
    setup.release()
    time.sleep(1.5)  # past the limit of about a second
    win = _window(ws, qtbot)
    win.open_view("Reading")
    assert win.reading.table.item(0, 4).text() == "in progress, 1 / 3 · past the resume limit"
    asked = []

    def choose(answer):
        def ask(parent, expired):
            asked.append(expired)
            return answer
        return ask

    monkeypatch.setattr(resume_dialog, "ask_resume_decision", choose(None))
    assert win.start_session("tiny", "R1") is None  # cancelled: nothing decided
    assert asked[0].reads == 1 and asked[0].session_id == setup.session_id
    assert ws.store.session_events(session_id=setup.session_id) == []
    monkeypatch.setattr(resume_dialog, "ask_resume_decision", choose(("restart", "away")))
    reader = win.start_session("tiny", "R1")
    assert reader is not None and reader.setup.session_id != setup.session_id
    assert not reader.setup.resumed
    assert ws.store.session(setup.session_id).voided_at is not None
    assert win.reading.table.item(0, 4).text() == "not started"  # the void one is gone
    [event] = ws.store.session_events(session_id=setup.session_id)
    assert (event["kind"], event["via"], event["reason"]) == ("restart", "gui", "away")
    win.leave_reader()


def test_the_decision_dialog_needs_a_choice(ws, tmp_path, qtbot):
    from datetime import UTC, datetime

    from wbsdesk.core.resume_policy import ResumeCheck
    from wbsdesk.services.session_policy import ExpiredSession

    exp = ExpiredSession(7, "tiny", "R1", 1, ResumeCheck(
        datetime(2026, 1, 1, tzinfo=UTC).isoformat(), 30.0, 24.0), 12, 40)
    dlg = resume_dialog.ResumeDecisionDialog(exp)
    qtbot.addWidget(dlg)
    texts = " ".join(lab.text() for lab in dlg.findChildren(QLabel))
    assert "interrupted 30.0 h ago, after 12 of 40 photos" in texts
    assert "The 12 answers so far stay in the database" in texts
    assert not dlg.ok.isEnabled() and dlg.decision() is None
    dlg.keep_on.setChecked(True)
    assert dlg.ok.isEnabled() and dlg.decision() == "continue"
    dlg.restart.setChecked(True)
    dlg.reason_edit.setText("  long leave ")
    assert dlg.decision() == "restart" and dlg.reason() == "long leave"
