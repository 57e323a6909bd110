"""The aided reading screen: blind view, locked answer, aided view, heatmap key, resume."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel

from tests.gui.aided_study import make_aided_study
from wbsdesk.core.session_aided import Stage
from wbsdesk.gui import reader_text
from wbsdesk.gui.dry_run import press_key, run_script
from wbsdesk.gui.reader_aided import AidedReaderWidget
from wbsdesk.gui.reader_view import build_reader_widget
from wbsdesk.services import reading
from wbsdesk.services.reading import ScriptedAnswer

TOL = 0.06


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _open(ws, name="R1", seed=1):
    if ws.store.reader(name) is None:
        reading.add_reader(ws, name, role="pediatrician", years=4)
    return reading.open_session(ws, "tiny", name, seed=seed)


def _show(qtbot, w):
    qtbot.addWidget(w)
    w.resize(900, 760)
    w.show()
    return w


def _screen_texts(w) -> list[str]:
    """Every text a reader could see on the reading page (labels and buttons)."""
    page = w.reading_page
    out = [lab.text() for lab in page.findChildren(QLabel) if lab.isVisibleTo(w)]
    out += [b.text() for b in page.findChildren(QAbstractButton) if b.isVisibleTo(w)]
    return out


def test_a_scripted_sequential_session_stores_both_reads_with_their_own_timing(
        ws, tmp_path, qtbot):
    make_aided_study(ws, tmp_path, n=3, seconds=0.2, window=0.4, aided_seconds=0.3)
    setup = _open(ws)
    w = _show(qtbot, build_reader_widget(ws, setup))
    assert isinstance(w, AidedReaderWidget)
    answers = [ScriptedAnswer(2, 0.05, 4, 0.1), ScriptedAnswer(5, 0.3, 5, 0.05),
               ScriptedAnswer(1, 0.05, None, 0.0)]
    summary = run_script(w, answers, timeout_s=30)
    reads = ws.store.reads(setup.session_id)
    assert [(r["position"], r["phase"], r["modality"], r["rating"]) for r in reads] == [
        (0, 1, "unaided", 2), (0, 2, "aided", 4), (1, 1, "unaided", 5), (1, 2, "aided", 5),
        (2, 1, "unaided", 1), (2, 2, "aided", None)]
    for r in reads:
        want = 0.3 if r["phase"] == 2 else 0.2
        assert abs(r["display_s"] - want) < TOL
        if r["phase"] == 2:
            assert r["aid_score"] == setup.aid.scores[r["photo_id"]]
            assert r["heatmap_viewed"] is None  # this aid has no heatmap
    # the aided view follows the committed blind read at once, with its own onset
    assert 0 <= reads[1]["shown_mono"] - reads[0]["hidden_mono"] < 0.05
    assert abs(reads[1]["response_s"] - 0.1) < TOL
    assert reads[3]["shown_mono"] > reads[2]["answered_mono"]  # blind answered on grey
    assert summary["photos_read"] == 3
    assert ws.store.session(setup.session_id).status == "finished"


def test_the_reader_never_sees_the_aid_before_the_blind_answer_is_committed(
        ws, tmp_path, qtbot):
    make_aided_study(ws, tmp_path, n=3, seconds=0.2, window=0.4, heatmaps=True,
                     aid='["probability", "heatmap"]')
    setup = _open(ws)
    sid = setup.session_id
    score_texts = {f"{v:.2f}" for v in setup.aid.scores.values()}
    groups = (setup.aid.positive_label, setup.aid.negative_label)
    seen: list[tuple[str, int, int]] = []

    def check_blind_screen(w, when: str) -> None:
        texts = " | ".join(_screen_texts(w))
        assert not any(s in texts for s in score_texts), (when, texts)
        assert "Model" not in texts and setup.aid.negative_label not in texts, (when, texts)
        assert "locked" not in texts and "heatmap" not in texts.lower(), (when, texts)
        assert w.panel.bar.score is None and not w.heatmap_on
        assert all(t.strip() == "" for t in w.panel.texts())

    holder = []

    def commit(rec):
        w = holder[0]
        if rec.phase == 1:  # the blind read is being committed: still nothing of the aid
            check_blind_screen(w, f"commit of position {rec.position}")
            seen.append(("commit", rec.position, rec.phase))
        return reading.record_read(ws, sid, rec)

    w = _show(qtbot, AidedReaderWidget(setup, commit,
                                       lambda: reading.finish_session(ws, sid)))
    holder.append(w)

    def on_shown(position: int) -> None:
        m = w.machine
        seen.append(("shown", position, 2 if m.stage == Stage.AIDED else 1))
        if m.stage == Stage.BLIND:
            check_blind_screen(w, f"blind view of position {position}")
            press_key(w, Qt.Key.Key_H, "h")  # the heatmap key does nothing here
            check_blind_screen(w, f"H on the blind view of position {position}")
            return
        # the aided view: the model's score, the bar's group names, the locked answer
        texts = " | ".join(_screen_texts(w))
        score = setup.aid.scores[m.current.photo_id]
        assert f"{score:.2f}" in texts and all(g in texts for g in groups)
        blind = next(r for r in ws.store.reads(sid) if r["position"] == position)
        assert reader_text.locked_answer(setup.reading, blind["rating"]) in texts
        assert w.panel.bar.score == score
        # the locked answer is a label: no answer button is checked or marked
        assert not any(b.isChecked() for b in w.buttons)

    w.photo_shown.connect(on_shown)
    run_script(w, [ScriptedAnswer(3, 0.05, 4, 0.05)] * 3, timeout_s=30)
    assert seen == [(k, p, ph) for p in range(3)
                    for k, ph in (("shown", 1), ("commit", 1), ("shown", 2))]


def test_h_shows_the_heatmap_in_the_aided_view_and_the_read_records_it(ws, tmp_path, qtbot):
    make_aided_study(ws, tmp_path, n=2, seconds=1.0, window=1.0, heatmaps=True,
                     aid='["probability", "heatmap"]')
    setup = _open(ws)
    clock = Clock()
    w = _show(qtbot, build_reader_widget(ws, setup, clock=clock))
    w.begin()
    base = w.canvas._image
    press_key(w, Qt.Key.Key_H, "h")
    assert w.canvas._image is base and not w.heatmap_on  # blind view: no heatmap
    w.answer(2)
    clock.t += 1.0
    w._on_due()  # the photo hides; the answer given during it is committed
    assert w.machine.stage == Stage.AIDED and w.machine.phase.value == "showing"
    assert w.canvas._image is base  # the same crop, already decoded
    assert reader_text.heatmap_hint(False) in w.hint.text()
    press_key(w, Qt.Key.Key_H, "h")
    assert w.heatmap_on and w.canvas._image is not base
    assert w.canvas._image.pixelColor(w.canvas._image.width() // 2,
                                      w.canvas._image.height() // 2).red() > 200
    assert reader_text.heatmap_hint(True) in w.hint.text()
    press_key(w, Qt.Key.Key_H, "h")
    assert not w.heatmap_on and w.canvas._image is base
    w.answer(5)
    clock.t += 1.0
    w._on_due()
    # the second photo: blind, then aided without looking at the heatmap
    w.answer(1)
    clock.t += 1.0
    w._on_due()
    w.answer(1)
    clock.t += 1.0
    w._on_due()
    reads = ws.store.reads(setup.session_id)
    assert [(r["phase"], r["heatmap_viewed"]) for r in reads] == [
        (1, None), (2, True), (1, None), (2, False)]
    assert ws.store.session(setup.session_id).status == "finished"


def test_a_session_stopped_between_the_two_reads_resumes_in_the_aided_view(
        ws, tmp_path, qtbot, monkeypatch):
    make_aided_study(ws, tmp_path, n=3, seconds=1.0, window=1.0)
    setup = _open(ws)
    clock = Clock()
    w = _show(qtbot, build_reader_widget(ws, setup, clock=clock))
    w.begin()
    first = w.machine.current
    clock.t += 0.4
    w.answer(4)
    clock.t += 0.6
    w._on_due()  # blind read committed; the aided view is up
    assert w.machine.stage == Stage.AIDED
    from wbsdesk.gui import dialogs

    monkeypatch.setattr(dialogs, "confirm", lambda *a, **k: True)
    assert w.request_stop()
    w.shutdown()
    setup.release()
    again = _open(ws)
    assert again.locked == {first.position: 4} and again.done == frozenset()
    clock2 = Clock()
    w2 = _show(qtbot, build_reader_widget(ws, again, clock=clock2))
    assert "Welcome back" in w2.message_title.text()
    w2.begin()
    m = w2.machine
    assert m.current == first and m.stage == Stage.AIDED
    assert reader_text.locked_answer(again.reading, 4) in " | ".join(_screen_texts(w2))
    assert not any(b.isChecked() for b in w2.buttons)  # never shown as editable
    clock2.t += 0.2
    w2.answer(2)
    clock2.t += 0.8
    w2._on_due()
    reads = ws.store.reads(again.session_id)
    assert [(r["position"], r["phase"], r["rating"], r["after_interruption"])
            for r in reads] == [(0, 1, 4, False), (0, 2, 2, True)]
    assert m.current is not None and m.stage == Stage.BLIND and m.current.position == 1
    w2.shutdown()
    again.release()
