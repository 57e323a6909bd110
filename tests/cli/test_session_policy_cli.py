"""wbsdesk session resume-policy and train-readers on the command line."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from tests.gui.reading_study import make_reading_study
from wbsdesk.cli import cli, session_commands
from wbsdesk.core.session import ReadRecord
from wbsdesk.services import reading
from wbsdesk.services.workspace import open_workspace


def run(ws_root, *args, ok=True):
    res = CliRunner().invoke(cli, ["--workspace", str(ws_root), *args],
                             catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def _interrupted(root, tmp_path, limit_hours):
    with open_workspace(root) as ws:
        make_reading_study(ws, tmp_path, n=3, extra=f"resume_within_hours = {limit_hours}\n")
        reading.add_reader(ws, "R1", role="pediatrician")
        setup = reading.open_session(ws, "tiny", "R1", seed=2)
        s = setup.plan[0]
        reading.record_read(ws, setup.session_id, ReadRecord(
            position=0, photo_id=s.photo_id, practice=False, rating=4, binary_read=True,
            shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1, shown_at="a", hidden_at="b",
            answered_at="c", display_s=0.2, response_s=0.1, after_interruption=False))
        setup.release()
        return setup.session_id


def test_resume_policy_checks_refuses_and_decides(tmp_path):
    root = tmp_path / "ws"
    sid = _interrupted(root, tmp_path, 0.0003)  # about a second
    time.sleep(1.5)
    state = json.loads(run(root, "session", "resume-policy", "tiny", "--reader", "R1",
                           "--json").output)
    assert state["expired"] and state["session"] == sid and state["reads"] == 1
    text = run(root, "session", "resume-policy", "tiny", "--reader", "R1").output
    assert "Decide with --restart" in text
    res = run(root, "session", "resume-policy", "tiny", "--restart", ok=False)
    assert res.exit_code == 2 and "need --reader" in res.output
    out = json.loads(run(root, "session", "resume-policy", "tiny", "--reader", "R1",
                         "--continue", "--reason", "clinic ran late", "--json").output)
    assert out["decision"] == "continue" and out["via"] == "cli" and out["session"] == sid
    history = json.loads(run(root, "session", "resume-policy", "tiny", "--json").output)
    assert history["name"] == "session_history"
    assert [r["decision"] for r in history["rows"]] == ["Continued: protocol deviation"]
    assert history["rows"][0]["reason"] == "clinic ran late"
    assert "Session history" in run(root, "session", "resume-policy", "tiny").output


def test_resume_policy_within_the_limit_is_refused(tmp_path):
    root = tmp_path / "ws"
    _interrupted(root, tmp_path, 24)
    res = run(root, "session", "resume-policy", "tiny", "--reader", "R1", "--restart",
              ok=False)
    assert res.exit_code == 1 and "it simply resumes" in res.output
    assert "no session on 'tiny' past the resume limit" in run(
        root, "session", "resume-policy", "tiny", "--reader", "R1").output
    empty = run(root, "session", "resume-policy", "tiny").output
    assert "No session was restarted or continued" in empty


def test_train_readers_opens_the_teaching_screen_and_lists_sessions(tmp_path, monkeypatch):
    root = tmp_path / "ws"
    with open_workspace(root) as ws:
        make_reading_study(ws, tmp_path, n=3)
        reading.add_reader(ws, "Trainee", role="other")
    calls = []

    def fake_launcher(**kw):
        calls.append(kw)
        from wbsdesk.services import teaching

        with open_workspace(kw["workspace"]) as w:
            t = teaching.open_teaching(w, kw["study"], kw["reader"], seed=kw["seed"])
            t.release()
            return teaching.teaching_summary(w, t.teaching_id)

    monkeypatch.setattr(session_commands, "_teaching_launcher", [fake_launcher])
    out = run(root, "session", "train-readers", "tiny", "--reader", "Trainee", "--seed",
              "4").output
    assert calls == [{"workspace": root, "study": "tiny", "reader": "Trainee", "seed": 4}]
    assert "0 of 3 photos, 0 right (stopped; resumes next time)" in out
    rows = json.loads(run(root, "session", "train-readers", "tiny", "--list",
                          "--json").output)
    assert [(r["reader"], r["status"], r["photos_total"]) for r in rows] == [
        ("Trainee", "in_progress", 3)]
    res = run(root, "session", "train-readers", "tiny", ok=False)
    assert res.exit_code == 2 and "--reader" in res.output
