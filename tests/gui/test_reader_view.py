"""The reading screen: scripted sessions, timing, expiry, practice, resume, blindness."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

from tests.gui.reading_study import LABELS, file_name, make_reading_study, subject_key
from wbsdesk.gui import dialogs, reader_text
from wbsdesk.gui.dry_run import run_script
from wbsdesk.gui.main_window import MainWindow
from wbsdesk.gui.reader_view import build_reader_widget
from wbsdesk.services import reading
from wbsdesk.services.reading import ScriptedAnswer

TOL = 0.06  # seconds of scheduling slack allowed on a busy 2-core test machine


def _answers(*pairs):
    return [ScriptedAnswer(r, d) for r, d in pairs]


def _reader_for(ws, qtbot, *, name="R1", **kw):
    if ws.store.reader(name) is None:
        reading.add_reader(ws, name, role="pediatrician", years=4)
    setup = reading.open_session(ws, "tiny", name, seed=kw.pop("seed", 1))
    w = build_reader_widget(ws, setup)
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    return setup, w


def test_full_scripted_session(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=5, seconds=0.2, window=0.3)
    setup, w = _reader_for(ws, qtbot)
    answers = _answers((5, 0.05), (1, 0.1), (4, 0.25), (2, 0.3), (3, 0.02))
    committed = []
    summary = run_script(w, answers, echo=committed.append, timeout_s=20)
    assert committed == [f"committed {i}" for i in range(5)]
    reads = ws.store.reads(setup.session_id)
    assert [r["rating"] for r in reads] == [5, 1, 4, 2, 3]
    assert [r["binary_read"] for r in reads] == [True, False, True, False, False]
    for r in reads:
        assert abs(r["display_s"] - 0.2) < TOL
        assert r["hidden_mono"] > r["shown_mono"] and r["shown_at"] < r["hidden_at"]
        assert r["answered_at"] and r["response_s"] > 0
    assert ws.store.session(setup.session_id).status == "finished"
    assert summary["photos_read"] == 5
    assert "Photos read: 5" in w.message_text.text()
    assert ws.store.integrity_check() == []


def test_answer_during_display_vs_after(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=3, seconds=0.3, window=1.0)
    setup, w = _reader_for(ws, qtbot)
    run_script(w, _answers((4, 0.05), (2, 0.5), (3, 0.05)), timeout_s=20)
    r0, r1, r2 = ws.store.reads(setup.session_id)
    # during: the photo stays its full time, the next one follows when it hides
    assert r0["answered_mono"] < r0["hidden_mono"] and abs(r0["response_s"] - 0.05) < TOL
    assert abs(r0["display_s"] - 0.3) < TOL
    assert 0 <= r1["shown_mono"] - r0["hidden_mono"] < 0.05
    # after: grey until the answer, then the next photo
    assert r1["answered_mono"] > r1["hidden_mono"] and abs(r1["response_s"] - 0.5) < TOL
    assert abs(r1["display_s"] - 0.3) < TOL
    assert 0 <= r2["shown_mono"] - r1["answered_mono"] < 0.05


def test_response_window_expiry_records_no_answer(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=2, seconds=0.15, window=0.25)
    setup, w = _reader_for(ws, qtbot)
    said = []
    w.read_committed.connect(lambda rec: QTimer.singleShot(0, lambda: said.append(
        w.status.text())))
    run_script(w, _answers((None, 0), (2, 0.05)), timeout_s=20)
    r0, r1 = ws.store.reads(setup.session_id)
    assert r0["rating"] is None and r0["binary_read"] is None
    assert r0["answered_mono"] is None and r0["answered_at"] is None and r0["response_s"] is None
    # the reader is told, on the grey screen, before the next photo comes
    notice = reader_text.no_answer_notice_ms(setup.reading) / 1000
    assert abs(r1["shown_mono"] - r0["hidden_mono"] - 0.25 - notice) < TOL
    assert said[0] == reader_text.NO_ANSWER
    assert r1["rating"] == 2
    assert reading.session_summary(ws, setup.session_id)["photos_read"] == 2


def test_practice_photos_are_not_scored(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=3, practice=2, seconds=0.15, window=0.3)
    setup, w = _reader_for(ws, qtbot)
    seen = []
    w.photo_shown.connect(lambda pos: seen.append((pos, w.part_label.text(),
                                                   w.progress_label.text())))
    titles = []

    def after_commit(rec):  # runs before the script continues the pause
        QTimer.singleShot(0, lambda: titles.append(
            w.message_title.text() if w.pages.currentWidget() is w.message_page else ""))

    w.read_committed.connect(after_commit)
    summary = run_script(w, _answers(*[(4, 0.05)] * 5), timeout_s=20)
    reads = ws.store.reads(setup.session_id)
    assert [r["practice"] for r in reads] == [True, True, False, False, False]
    assert summary["photos_read"] == 3
    assert [s[1].startswith("Practice") for s in seen] == [True, True, False, False, False]
    assert [s[2] for s in seen] == ["1 / 2", "2 / 2", "1 / 3", "2 / 3", "3 / 3"]
    assert titles[1] == "Practice done"
    scored = [r for r in reading.export_reads(ws, "tiny") if not r["practice"]]
    assert len(scored) == 3


def test_resume_after_close(ws, tmp_path, qtbot, monkeypatch):
    make_reading_study(ws, tmp_path, n=4, seconds=0.2, window=0.5)
    reading.add_reader(ws, "R1", role="pediatrician")
    window = MainWindow(ws, admin=True, fullscreen_reader=False)
    qtbot.addWidget(window)
    window.show()
    reader = window.start_session("tiny", "R1")
    assert reader is not None and not window.unlocked
    assert window.windowTitle() == "wbsdesk — reading"
    reader.begin()
    for _ in range(2):
        with qtbot.waitSignal(reader.read_committed, timeout=5000):
            qtbot.keyClick(reader, Qt.Key.Key_2)
    asked = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: asked.append(a) or True)
    window.close()
    assert asked and window.reader is None
    sid = ws.store.session_of(ws.store.reader("R1").id, ws.store.study("tiny").id).id
    assert ws.store.session(sid).status == "in_progress"
    assert ws.store.read_positions(sid) == {0, 1}

    setup = reading.open_session(ws, "tiny", "R1")
    assert setup.resumed and setup.interruptions == 1 and setup.done == {0, 1}
    w2 = build_reader_widget(ws, setup)
    qtbot.addWidget(w2)
    w2.show()
    assert w2.message_title.text() == "Welcome back"
    first = []
    w2.photo_shown.connect(first.append)
    run_script(w2, _answers(*[(3, 0.05)] * 4), timeout_s=20)
    assert first[0] == 2
    reads = ws.store.reads(sid)
    assert [r["position"] for r in reads] == [0, 1, 2, 3]
    assert [r["after_interruption"] for r in reads] == [False, False, True, False]
    assert abs(reads[2]["display_s"] - 0.2) < TOL  # a full display time after resuming
    assert ws.store.session(sid).status == "finished"


def test_keeping_reading_after_esc_shows_the_photo_again(ws, tmp_path, qtbot, monkeypatch):
    make_reading_study(ws, tmp_path, n=2, seconds=0.4, window=0.5)
    setup, w = _reader_for(ws, qtbot)
    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: False)
    w.begin()
    first = w.machine.current
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert w.machine.phase == "paused" and not w.canvas.showing
    with qtbot.waitSignal(w.photo_shown) as shown:
        qtbot.keyClick(w, Qt.Key.Key_Space)
    assert shown.args == [first.position]
    run_script(w, _answers((1, 0.05), (1, 0.05)), timeout_s=20)
    assert ws.store.reads(setup.session_id)[0]["after_interruption"] is True


def _texts(root: QWidget, *, visible_only: bool) -> set[str]:
    out = set()
    for w in [root, *root.findChildren(QWidget)]:
        if visible_only and not w.isVisible():
            continue
        for getter in ("text", "toolTip", "windowTitle", "accessibleName",
                       "accessibleDescription", "statusTip", "whatsThis", "placeholderText"):
            f = getattr(w, getter, None)
            if callable(f):
                v = f()
                if isinstance(v, str) and v:
                    out.add(v)
    return out


def test_reader_mode_shows_no_label_subject_or_file_name(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=6, practice=1, seconds=0.15, window=0.3)
    reading.add_reader(ws, "R1", role="pediatrician")
    reading.add_reader(ws, "Other reader", role="pediatrician")
    study = ws.store.study("tiny")
    photos = ws.store.photos(study.id)
    crops = ws.store.crops(study.id)
    forbidden = {subject_key(i) for i in range(6)} | {file_name(i) for i in range(6)}
    forbidden |= {file_name(i).rsplit(".", 1)[0] for i in range(6)}
    forbidden |= {p.stored_path for p in photos} | {p.sha256[:12] for p in photos}
    forbidden |= {c.reader_crop_path for c in crops.values()}
    forbidden |= {c.reader_crop_sha256[:12] for c in crops.values()}
    forbidden |= {"other_syndrome", "healthy", "wbs", LABELS["other_syndrome"],
                  LABELS["healthy"], "Other reader", "tiny"}
    window = MainWindow(ws, admin=True, fullscreen_reader=False)
    qtbot.addWidget(window)
    window.show()
    reader = window.start_session("tiny", "R1")
    snapshots = []

    def snap(*_):
        texts = _texts(reader, visible_only=False) | _texts(window, visible_only=True)
        snapshots.append(texts - {reader.progress_label.text()})

    snap()
    reader.photo_shown.connect(snap)
    reader.photo_hidden.connect(snap)
    run_script(reader, _answers(*[(4, 0.2)] * 7), timeout_s=30)
    snap()
    assert len(snapshots) == 2 + 2 * 7
    for texts in snapshots:
        for t in texts:
            bad = [f for f in forbidden
                   if re.search(rf"(?<![a-z0-9]){re.escape(f.lower())}(?![a-z0-9])", t.lower())]
            assert not bad, (t, bad)
            if LABELS["wbs"] in t:
                assert t == "Does this child have Williams-Beuren syndrome?"
    during = [s for s in snapshots[1:-1]]
    scored = during[2:]  # after the practice photo, every photo's screen reads the same
    assert all(s == scored[0] for s in scored)


def test_the_question_names_the_positive_group(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=2)
    _, w = _reader_for(ws, qtbot)
    assert w.question.text() == "Does this child have Williams-Beuren syndrome?"
    assert [b.text() for b in w.buttons] == [
        "1   Definitely not", "2   Probably not", "3   Unsure", "4   Probably",
        "5   Definitely"]
    w.shutdown()


@pytest.mark.parametrize("key", [Qt.Key.Key_Space, Qt.Key.Key_Return])
def test_keyboard_alone_starts_and_answers(ws, tmp_path, qtbot, key):
    make_reading_study(ws, tmp_path, n=1, seconds=0.15, window=0.3)
    setup, w = _reader_for(ws, qtbot)
    with qtbot.waitSignal(w.photo_shown):
        qtbot.keyClick(w, key)
    with qtbot.waitSignal(w.finished, timeout=5000):
        qtbot.keyClick(w, Qt.Key.Key_4)
    assert ws.store.reads(setup.session_id)[0]["rating"] == 4
    assert w.buttons[3].isChecked() is False or w.pages.currentWidget() is w.message_page


def test_start_page_states_the_real_rules(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=4, practice=0, seconds=10, window=20)
    _setup, w = _reader_for(ws, qtbot)
    text = w.message_text.text()
    assert "4 photos to read" in text
    assert "at least 40 s" in text  # 4 photos x 10 s
    assert "exactly 10 seconds, whatever you do" in text
    assert "turns grey and you have 20 seconds more to answer" in text
    assert "recorded the moment you give it" in text
    assert "follows your answer" not in text  # the old, wrong rule


def test_answer_cue_and_countdown_are_visible(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=2, seconds=0.3, window=3.0)
    _setup, w = _reader_for(ws, qtbot)
    w.begin()
    qtbot.waitUntil(lambda: w.machine.phase.value == "showing", timeout=2000)
    assert w.status.text().strip() == ""  # nothing yet
    w.answer(4)
    assert w.status.text() == "Answer recorded:  4 · Probably"
    assert w.status.isVisible()
    # the next photo: no answer during the display, then the grey screen counts down
    qtbot.waitUntil(lambda: w.machine.phase.value == "hidden" and w.machine.current.position == 1,
                    timeout=3000)
    qtbot.waitUntil(lambda: w.status.text().startswith("Answer now"), timeout=1000)
    assert re.fullmatch(r"Answer now  ·  [123] s left", w.status.text())


def test_status_line_never_moves_the_photo(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=1, seconds=0.3, window=3.0)
    _setup, w = _reader_for(ws, qtbot)
    w.begin()
    qtbot.waitUntil(lambda: w.machine.phase.value == "showing", timeout=2000)
    before = w.canvas.geometry()
    w.answer(2)
    qtbot.wait(20)
    assert w.canvas.geometry() == before


def test_instructions_count_practice_apart_and_say_what_is_left():
    from wbsdesk.core.protocol import Reading

    r = Reading(seconds_per_photo=10, response_window_seconds=20)
    lines = reader_text.instructions(r, scored_left=150, practice_left=2, resumed=False)
    assert lines[0].startswith("2 photos for practice first (they do not count), then 150 "
                               "photos to read. This takes at least 25 min 20 s")
    again = reader_text.instructions(r, scored_left=37, practice_left=0, resumed=True)
    assert again[0] == "The session continues where it stopped."
    assert again[1].startswith("Still to do: 37 photos to read. This takes at least 6 min 10 s")
    none = reader_text.instructions(Reading(response_window_seconds=0), scored_left=1,
                                    practice_left=0, resumed=False)
    assert any("an answer after that is not recorded" in line for line in none)
    assert reader_text.countdown(19.2) == "Answer now  ·  20 s left"
    assert reader_text.countdown(0.0) == "Answer now  ·  0 s left"


def test_message_pages_fit_their_own_text(ws, tmp_path, qtbot):
    make_reading_study(ws, tmp_path, n=2, practice=1, seconds=0.15, window=0.3)
    _setup, w = _reader_for(ws, qtbot)
    start_h = w.message_text.height()
    assert start_h >= w.message_text.heightForWidth(w.message_text.width()) > 0
    w._message("Practice done", "The photos that count start now.", "Continue", "continue")
    line = w.message_text.fontMetrics().height()
    assert w.message_text.height() < 2 * line + 8 < start_h  # one line, not the start page's
