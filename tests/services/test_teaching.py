"""Teaching sessions: the truth after each answer, stored apart, never in any result."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import warnings
import zipfile

import pytest

from tests.gui.reading_study import make_reading_study
from tests.services.test_analysis import add_run, synthetic_probs
from wbsdesk.core.session import ReadRecord
from wbsdesk.errors import UserError
from wbsdesk.services import reading, teaching
from wbsdesk.services.analysis import build_comparison
from wbsdesk.services.bundle import write_bundle
from wbsdesk.services.planning import study_pilot
from wbsdesk.services.result_tables import comparison_tables
from wbsdesk.services.studies import load_study
from wbsdesk.services.table_render import result_csv


def _rec(stim, rating, reading_rules):
    return ReadRecord(position=stim.position, photo_id=stim.photo_id, practice=False,
                      rating=rating, binary_read=None if rating is None
                      else reading_rules.binary_read(rating), shown_mono=1.0,
                      hidden_mono=1.2, answered_mono=None if rating is None else 1.1,
                      shown_at="a", hidden_at="b", answered_at=None if rating is None else "c",
                      display_s=0.2, response_s=None if rating is None else 0.1,
                      after_interruption=False)


def _finish_study_session(ws, reader):
    setup = reading.open_session(ws, "tiny", reader, seed=1)
    try:
        for s in setup.plan:
            reading.record_read(ws, setup.session_id, _rec(s, 4, setup.reading))
        reading.finish_session(ws, setup.session_id)
    finally:
        setup.release()


def test_a_teaching_session_judges_each_answer_and_keeps_it_apart(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=4)
    reading.add_reader(ws, "R1", role="pediatrician")
    _finish_study_session(ws, "R1")
    reads_before = ws.store.study_reads(ws.store.study("tiny").id)
    t = teaching.open_teaching(ws, "tiny", "R1", seed=4)
    try:
        assert not t.setup.resumed and t.setup.session_id is None
        assert len(t.setup.plan) == 4 and not any(s.practice for s in t.setup.plan)
        study = load_study(ws, "tiny")
        for s in t.setup.plan:
            truth = t.truth[s.photo_id]
            assert truth.positive == (truth.group == study.protocol.groups.positive)
            rating = 5 if truth.positive else 1  # right every time ...
            if s.position == 1:
                rating = 3  # ... but "unsure" counts as no
            assert teaching.record_teaching_read(ws, t, _rec(s, rating, t.setup.reading))
        # the same answer again is not stored twice
        assert not teaching.record_teaching_read(ws, t, _rec(t.setup.plan[0], 2,
                                                            t.setup.reading))
        summary = teaching.finish_teaching(ws, t.teaching_id)
    finally:
        t.release()
    second = t.truth[t.setup.plan[1].photo_id].positive
    assert summary["photos_read"] == 4 and summary["correct"] == (3 if second else 4)
    stored = ws.store.teaching_reads(t.teaching_id)
    assert stored[0]["rating"] != 2
    assert all(r["truth_group"] == t.truth[r["photo_id"]].group for r in stored)
    # the study's reads are untouched, and the teaching is audited
    assert ws.store.study_reads(ws.store.study("tiny").id) == reads_before
    actions = [a["action"] for a in ws.store.audit_log(ws.store.study("tiny").id)]
    assert actions[-2:] == ["start_teaching_session", "finish_teaching_session"]
    assert teaching.teaching_history(ws, "tiny")[0]["reader"] == "R1"


def test_teaching_only_after_the_study_reads_and_never_before_them(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=3)
    reading.add_reader(ws, "R1", role="pediatrician")
    reading.add_reader(ws, "Trainee", role="other")
    setup = reading.open_session(ws, "tiny", "R1", seed=1)
    setup.release()
    with pytest.raises(UserError, match="not finished"):
        teaching.open_teaching(ws, "tiny", "R1")
    # a reader without a study session may be taught, and then never reads the study
    t = teaching.open_teaching(ws, "tiny", "Trainee", seed=2)
    teaching.record_teaching_read(ws, t, _rec(t.setup.plan[0], 5, t.setup.reading))
    t.release()
    with pytest.raises(UserError, match="showed the truth"):
        reading.open_session(ws, "tiny", "Trainee")
    # an unfinished teaching session resumes where it stopped
    again = teaching.open_teaching(ws, "tiny", "Trainee")
    again.release()
    assert again.setup.resumed and again.teaching_id == t.teaching_id
    assert again.setup.done == frozenset({0})
    with pytest.raises(UserError, match="still has unread photos"):
        teaching.finish_teaching(ws, t.teaching_id)


def _numbers(ws, tmp_path, tag):
    """Every number the study's results hold: tables, export, sizing, bundle tables."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = build_comparison(ws, "demo", include_simulated=True)
        pilot = study_pilot(ws, "demo", include_simulated=True)
        out = tmp_path / f"bundle-{tag}.zip"
        write_bundle(ws, "demo", out, include_simulated=True)
    with zipfile.ZipFile(out) as zf:
        bundled = {n: zf.read(n) for n in zf.namelist() if n.startswith("tables/")}
    return ({t.name: result_csv(t) for t in comparison_tables(comp)},
            reading.export_reads(ws, "demo"), dataclasses.asdict(pilot), bundled,
            reading.study_sessions(ws, "demo"))


def test_a_teaching_session_changes_no_number_of_the_study(demo_ws, tmp_path):
    ws = demo_ws
    study = load_study(ws, "demo")
    subj = {s.id: s for s in ws.store.subjects(study.id, include_practice=False)}
    folds = ws.store.folds(study.id)
    subjects = {subj[p.subject_id].key: {"photo": p.id, "group": subj[p.subject_id].group,
                                         "fold": folds[p.subject_id]}
                for p in ws.store.photos(study.id) if p.is_primary and p.subject_id in subj}
    add_run(ws, "demo", subjects, synthetic_probs(subjects, ["resnet18", "mobilenet_v2"]))
    before = _numbers(ws, tmp_path, "before")
    n_reads = ws.store.db.execute("SELECT count(*) FROM reads").fetchone()[0]
    reader = "Simulated pediatrician 1"  # finished their study session
    t = teaching.open_teaching(ws, "demo", reader, seed=3)
    try:
        for i, s in enumerate(t.setup.plan):
            rating = None if i % 17 == 0 else 1 + (i % 5)
            teaching.record_teaching_read(ws, t, _rec(s, rating, t.setup.reading))
        teaching.finish_teaching(ws, t.teaching_id)
    finally:
        t.release()
    assert len(ws.store.teaching_reads(t.teaching_id)) == len(t.setup.plan) == 150
    assert ws.store.db.execute("SELECT count(*) FROM reads").fetchone()[0] == n_reads
    after = _numbers(ws, tmp_path, "after")
    names = ("tables", "export", "sizing", "bundle tables", "sessions")
    for name, a, b in zip(names, before, after, strict=True):
        assert a == b, f"the teaching session changed the {name}"


CHILD = """
import sys, time
from wbsdesk.core.session import ReadRecord
from wbsdesk.services import teaching
from wbsdesk.services.workspace import open_workspace
ws = open_workspace(sys.argv[1])
t = teaching.open_teaching(ws, "tiny", "R1", seed=8)
print("open", t.teaching_id, len(t.setup.done), flush=True)
for s in t.setup.plan:
    if s.position in t.setup.done:
        continue
    rec = ReadRecord(position=s.position, photo_id=s.photo_id, practice=False, rating=2,
                     binary_read=False, shown_mono=0.0, hidden_mono=0.2, answered_mono=0.1,
                     shown_at="a", hidden_at="b", answered_at="c", display_s=0.2,
                     response_s=0.1, after_interruption=False)
    teaching.record_teaching_read(ws, t, rec)
    print("committed", s.position, flush=True)
    time.sleep(0.02)
teaching.finish_teaching(ws, t.teaching_id)
print("finished", flush=True)
time.sleep(300)
"""


def test_kill_9_during_a_teaching_session_loses_no_committed_answer(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=12)
    reading.add_reader(ws, "R1", role="pediatrician")
    _finish_study_session(ws, "R1")
    announced: set[int] = set()
    tid = None
    for kill_after in (2, 5, 30):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(ws.root)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            head = child.stdout.readline().split()
            assert head[0] == "open", head
            tid = tid or int(head[1])
            assert int(head[1]) == tid and int(head[2]) == len(announced)
            for _ in range(kill_after):
                line = child.stdout.readline().split()
                if not line or line[0] != "committed":
                    break
                announced.add(int(line[1]))
        finally:
            child.send_signal(signal.SIGKILL)  # mid-session, as a crash would
            child.wait(timeout=30)
            child.stdout.close()
        stored = [r["position"] for r in ws.store.teaching_reads(tid)]
        assert announced <= set(stored)  # nothing announced was lost
        assert stored == list(range(len(stored)))  # a prefix, no gap, no duplicate
        assert ws.store.integrity_check() == []
        announced = set(stored)
    assert ws.store.teaching_session(tid)["status"] == "finished"
    assert len(ws.store.teaching_reads(tid)) == 12
    assert ws.store.study_reads(ws.store.study("tiny").id)  # the study reads are still there
