"""Reading use cases: readers, sessions, idempotent reads, export, simulated readers, admin."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from tests.gui.reading_study import make_reading_study, subject_key
from wbsdesk.core.protocol import Reading
from wbsdesk.core.session import ReadRecord
from wbsdesk.errors import UserError
from wbsdesk.services import admin, reading


def _record(setup, position, rating=4):
    s = setup.plan[position]
    return ReadRecord(position=s.position, photo_id=s.photo_id, practice=s.practice,
                      rating=rating, binary_read=setup.reading.binary_read(rating),
                      shown_mono=1.0, hidden_mono=1.2, answered_mono=1.1, shown_at="a",
                      hidden_at="b", answered_at="c", display_s=0.2, response_s=0.1,
                      after_interruption=False)


def test_add_reader_checks_its_input(ws):
    r = reading.add_reader(ws, " Dr. A ", role="pediatric cardiologist", years=12)
    assert (r.name, r.role, r.years) == ("Dr. A", "pediatric cardiologist", 12)
    with pytest.raises(UserError, match="already exists"):
        reading.add_reader(ws, "Dr. A", role="other")
    with pytest.raises(UserError, match="unknown role"):
        reading.add_reader(ws, "B", role="surgeon")
    with pytest.raises(UserError, match="0-80"):
        reading.add_reader(ws, "B", role="other", years=81)
    with pytest.raises(UserError, match="not allowed"):
        reading.add_reader(ws, "", role="other")
    assert [r["kind"] for r in reading.list_readers(ws)] == ["physician"]


def test_session_needs_ok_crops_and_a_known_reader(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=3, crops=False)
    reading.add_reader(ws, "R1", role="pediatrician")
    with pytest.raises(UserError, match="cannot start reading"):
        reading.open_session(ws, "tiny", "R1")
    with pytest.raises(UserError, match="no reader named"):
        reading.open_session(ws, "tiny", "nobody")


def test_sessions_start_resume_record_and_finish(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=4, practice=1)
    reading.add_reader(ws, "R1", role="pediatrician")
    reading.add_reader(ws, "R2", role="clinical geneticist")
    a = reading.open_session(ws, "tiny", "R1", seed=11)
    b = reading.open_session(ws, "tiny", "R2", seed=12)
    assert len(a.plan) == 5 and a.plan[0].practice and not a.resumed
    assert [s.photo_id for s in a.plan] != [s.photo_id for s in b.plan]
    assert a.question == "Does this child have Williams-Beuren syndrome?"
    assert all(p.is_file() for p in a.images.values())
    stored = ws.store.session(a.session_id)
    assert stored.order_seed == 11 and json.loads(stored.protocol_json)["name"] == "tiny"
    assert reading.record_read(ws, a.session_id, _record(a, 0)) is True
    assert reading.record_read(ws, a.session_id, _record(a, 0)) is False  # idempotent
    assert reading.record_read(ws, a.session_id, _record(a, 1)) is True
    with pytest.raises(UserError, match="unread"):
        reading.finish_session(ws, a.session_id)
    a.release()  # the reading screen closed
    again = reading.open_session(ws, "tiny", "R1", seed=99)
    assert again.resumed and again.done == {0, 1} and again.interruptions == 1
    assert again.plan == a.plan  # the stored order, not a new one
    for pos in range(2, 5):
        reading.record_read(ws, a.session_id, _record(a, pos, rating=pos))
    summary = reading.finish_session(ws, a.session_id)
    assert summary["photos_read"] == 4 and summary["practice_read"] == 1
    assert summary["finished"] and "accuracy" not in summary
    again.release()
    with pytest.raises(UserError, match="already finished"):
        reading.open_session(ws, "tiny", "R1")
    rows = {r["reader"]: r for r in reading.study_sessions(ws, "tiny")}
    assert rows["R1"]["status"] == "finished"
    assert (rows["R1"]["read"], rows["R1"]["total"], rows["R1"]["practice"]) == (4, 4, 1)
    assert rows["R2"]["status"] == "in_progress" and rows["R2"]["read"] == 0


def test_export_writes_every_read_with_flags(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=3)
    setup = reading.open_dry_run(ws, "tiny", seconds=0.5, response_window=1.0, seed=1)
    assert setup.reader == "dry-run-1" and setup.reading.seconds_per_photo == 0.5
    for pos in range(3):
        reading.record_read(ws, setup.session_id, _record(setup, pos, rating=pos + 1))
    rows = reading.export_reads(ws, "tiny")
    assert len(rows) == 3 and {r["kind"] for r in rows} == {"dry run"}
    assert {r["subject"] for r in rows} == {subject_key(i) for i in range(3)}
    parsed = list(csv.DictReader(io.StringIO(reading.reads_csv(rows))))
    assert [int(r["rating"]) for r in parsed] == [1, 2, 3]
    assert list(parsed[0]) == list(reading.EXPORT_COLUMNS)
    reading.add_reader(ws, "Dr. B", role="other")
    with pytest.raises(UserError, match="not a dry-run reader"):
        reading.open_dry_run(ws, "tiny", reader="Dr. B")
    with pytest.raises(UserError, match="--seconds"):
        reading.open_dry_run(ws, "tiny", seconds=0.0)


def test_parse_answers():
    got = reading.parse_answers("# rating delay\n4 1.5\n- 0\n\n2, 12 # after\n", scale_size=5)
    assert [(a.rating, a.delay) for a in got] == [(4, 1.5), (None, 0.0), (2, 12.0)]
    for bad, why in [("6 1", "1..5"), ("x 1", "not a number"), ("3", "RATING DELAY"),
                     ("3 -1", "0..3600"), ("", "no answers")]:
        with pytest.raises(UserError, match=why):
            reading.parse_answers(bad, scale_size=5)


def test_simulated_readers_are_plausible_and_flagged(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=90, crops=False, practice=2, seconds=10.0, window=20.0)
    names = reading.add_simulated_readers(ws, "tiny", seed=5)
    assert len(names) == 4
    assert reading.add_simulated_readers(ws, "tiny", seed=5) == []  # already there
    kinds = {r["name"]: r["kind"] for r in reading.list_readers(ws)}
    assert all(kinds[n] == "simulated" for n in names)
    rows = reading.export_reads(ws, "tiny")
    assert {r["kind"] for r in rows} == {"simulated"}
    for name in names:
        mine = [r for r in rows if r["reader"] == name]
        assert len(mine) == 92 and sum(r["practice"] for r in mine) == 2
        scored = [r for r in mine if not r["practice"] and r["rating"] is not None]
        truth = np.array([r["group"] == "wbs" for r in scored])
        read = np.array([bool(r["binary_read"]) for r in scored])
        accuracy = (truth == read).mean()
        assert 0.5 <= accuracy <= 0.95, (name, accuracy)
        rts = np.array([r["response_s"] for r in scored])
        assert 1.5 <= np.median(rts) <= 7.0 and rts.min() >= 1.5
        assert all(abs(r["display_s"] - 10.0) < 0.02 for r in mine)
    sessions = reading.study_sessions(ws, "tiny")
    assert {s["status"] for s in sessions} == {"finished"}


def test_simulated_accuracy_matches_the_paper_on_average():
    reading_rules = Reading()
    rng = np.random.default_rng(0)
    truth = np.array([True] * 1040 + [False] * 2360)
    for sim in reading.SIMULATED_READERS:
        ratings = np.array(reading.simulate_ratings(truth, sim, reading_rules, rng))
        read = ratings >= 4
        acc = (read == truth).mean()
        sens, spec = read[truth].mean(), (~read[~truth]).mean()
        assert 0.64 <= acc <= 0.84 and abs(sens - sim.sensitivity) < 0.04
        assert abs((sens + spec) / 2 - (sim.sensitivity + sim.specificity) / 2) < 0.03


def test_admin_passphrase_is_salted_and_checked(ws, tmp_path):
    assert not admin.has_passphrase(ws)
    assert admin.verify_passphrase(ws, "anything") is False
    with pytest.raises(UserError, match="8 characters"):
        admin.set_passphrase(ws, "short")
    admin.set_passphrase(ws, "correct horse")
    stored = ws.store.setting(admin.SETTING_KEY)
    assert "correct horse" not in stored
    record = json.loads(stored)
    assert record["algorithm"] == "scrypt" and len(bytes.fromhex(record["salt"])) == 16
    assert admin.verify_passphrase(ws, "correct horse")
    assert not admin.verify_passphrase(ws, "correct horsE")
    with pytest.raises(UserError, match="not correct"):
        admin.set_passphrase(ws, "new passphrase", current="wrong one")
    admin.set_passphrase(ws, "new passphrase", current="correct horse")
    assert admin.verify_passphrase(ws, "new passphrase")
    assert json.loads(ws.store.setting(admin.SETTING_KEY))["salt"] != record["salt"]
