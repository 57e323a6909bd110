"""Practice photos come from a practice-only set that no analysis sees; the synthetic label
follows the photos."""

from __future__ import annotations

import pytest

from tests.conftest import make_photo, write_manifest
from tests.gui.reading_study import make_reading_study, subject_key
from wbsdesk.errors import UserError
from wbsdesk.services import reading, studies
from wbsdesk.services.importer import import_manifest


def test_practice_photos_are_practice_only_subjects_and_never_scored(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=6, practice=2)
    practice_keys = {subject_key(6), subject_key(7)}
    reading.add_reader(ws, "R1", role="pediatrician")
    setup = reading.open_session(ws, "tiny", "R1", seed=5)
    try:
        study = ws.store.study("tiny")
        by_photo = {p.id: p.subject_id for p in ws.store.photos(study.id)}
        key_of = {s.id: s.key for s in ws.store.subjects(study.id)}
        shown_practice = {key_of[by_photo[s.photo_id]] for s in setup.plan if s.practice}
        scored = [key_of[by_photo[s.photo_id]] for s in setup.plan if not s.practice]
        assert shown_practice == practice_keys
        assert not practice_keys & set(scored) and len(scored) == 6
    finally:
        setup.release()
    # left out of the folds, Table 1 and the scored reading set
    report = studies.folds(ws, "tiny")
    assert sum(sum(counts) for counts in report.table.values()) == 6
    t1 = studies.demographics(ws, "tiny")[1]
    assert t1.target.n + t1.controls.n == 6
    rows = {r["name"]: r for r in studies.list_studies(ws)}
    assert rows["tiny"]["subjects"] == 6 and rows["tiny"]["practice_only"] == 2


def test_without_a_practice_set_no_practice_photo_is_shown(ws, tmp_path, caplog):
    make_reading_study(ws, tmp_path, n=4)  # no practice-only subjects
    study = ws.store.study("tiny")
    ws.store.db.execute("UPDATE studies SET protocol_json = json_set(protocol_json, "
                        "'$.reading.practice_photos', 2) WHERE id = ?", [study.id])
    reading.add_reader(ws, "R1", role="pediatrician")
    setup = reading.open_session(ws, "tiny", "R1", seed=5)
    setup.release()
    assert not any(s.practice for s in setup.plan) and len(setup.plan) == 4
    assert "asks for 2 practice photos but has 0 practice-only subjects" in caplog.text


def test_practice_marks_are_refused_once_a_session_exists(ws, tmp_path):
    make_reading_study(ws, tmp_path, n=4)
    with pytest.raises(UserError, match="no subject 'NOPE'"):
        studies.set_practice(ws, "tiny", ["NOPE"])
    assert studies.set_practice(ws, "tiny", [subject_key(0)]) == [subject_key(0)]
    assert studies.set_practice(ws, "tiny", [subject_key(0)]) == []  # already
    reading.add_reader(ws, "R1", role="pediatrician")
    reading.open_session(ws, "tiny", "R1", seed=1).release()
    with pytest.raises(UserError, match="already has reading sessions"):
        studies.set_practice(ws, "tiny", [subject_key(1)])


def test_synthetic_label_follows_the_photos_not_the_protocol(ws, tmp_path):
    from wbsdesk.config import bundled_protocol

    studies.create_study(ws, "realdemo", bundled_protocol("demo"))  # synthetic protocol
    studies.create_study(ws, "gen", bundled_protocol("liu2021_wbs"))  # real-study protocol
    for name, flag in (("realdemo", None), ("gen", "1")):
        folder = tmp_path / name
        rows = []
        for i in range(3):
            make_photo(folder / f"p{i}.jpg", seed=40 + i)
            row = {"subject_id": f"S{i}", "photo": f"p{i}.jpg", "group": "wbs"}
            if flag:
                row["synthetic"] = flag
            rows.append(row)
        import_manifest(ws, name, write_manifest(folder / "m.csv", rows))
    assert studies.load_study(ws, "realdemo").synthetic is False
    assert studies.load_study(ws, "gen").synthetic is True
    listed = {r["name"]: r["synthetic"] for r in studies.list_studies(ws)}
    assert listed == {"realdemo": False, "gen": True}
