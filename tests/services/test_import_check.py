"""The import dry run: the same problems as a refused import, counts for a clean one, no writes."""

from __future__ import annotations

import pytest

from tests.conftest import PROTOCOLS, make_photo, snapshot, write_manifest
from wbsdesk.core.jobs import CancelToken
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.services.importer import check_import, import_manifest
from wbsdesk.services.studies import create_study
from wbsdesk.services.study_jobs import check_import_job, import_job
from wbsdesk.services.workspace import open_workspace


def _bad_manifest(tmp_path):
    d = tmp_path / "in"
    make_photo(d / "a.png", seed=1)
    make_photo(d / "b.png", seed=2)
    (d / "empty.jpg").write_bytes(b"")
    return write_manifest(d / "m.csv", [
        {"subject_id": "A", "photo": "a.png", "group": "wbs", "sex": "F"},
        {"subject_id": "B", "photo": "b.png", "group": "helthy", "sex": "M"},
        {"subject_id": "C", "photo": "missing.png", "group": "healthy", "sex": ""},
        {"subject_id": "D", "photo": "empty.jpg", "group": "healthy", "sex": "X"},
        {"subject_id": "E", "photo": "../a.png", "group": "healthy", "sex": ""},
    ])


def test_dry_run_reports_what_the_import_refuses_and_writes_nothing(tmp_path):
    root = tmp_path / "ws"
    with open_workspace(root) as w:
        create_study(w, "s", PROTOCOLS / "liu2021_wbs.toml")
    manifest = _bad_manifest(tmp_path)
    before = snapshot(root)
    with open_workspace(root) as w:
        check = check_import(w, "s", manifest)
    assert snapshot(root) == before, "a dry run changed the workspace"
    assert not check.clean
    rows = sorted((p.row, p.reason.split(":")[0]) for p in check.problems)
    assert [r for r, _ in rows] == [3, 4, 5, 6]
    assert any("unknown group 'helthy'" in p.reason for p in check.problems)
    assert any("missing.png: file not found" in p.reason for p in check.problems)
    assert any("outside the photos folder" in p.reason for p in check.problems)
    assert any("sex 'X'" in p.reason for p in check.problems)
    with open_workspace(root) as w, pytest.raises(UserError) as info:
        import_manifest(w, "s", manifest)
    assert info.value.problems == check.problems  # one check, two callers


def test_clean_dry_run_counts_then_the_import_lands(ws, study, photo_set):
    manifest = photo_set(6)
    check = check_import(ws, "s", manifest)
    assert check.clean and (check.rows, check.subjects, check.new_subjects, check.photos) == (
        6, 6, 6, 6)
    assert ws.store.subjects(study.id) == []
    import_manifest(ws, "s", manifest)
    again = check_import(ws, "s", manifest)
    assert again.clean and again.new_subjects == 0 and again.subjects == 6


def test_a_missing_photo_folder_is_a_problem_not_a_crash(ws, study, photo_set, tmp_path):
    check = check_import(ws, "s", photo_set(2), tmp_path / "nowhere")
    assert not check.clean and "photos folder does not exist" in check.problems[0].reason


def test_job_functions_use_their_own_connection(tmp_path, photo_set):
    root = tmp_path / "ws"
    with open_workspace(root) as w:
        create_study(w, "s", PROTOCOLS / "demo.toml")
    manifest = photo_set(6)
    events = []
    check = check_import_job(root, "s", manifest, progress=events.append,
                             cancel=CancelToken())
    assert check.clean and events
    out = import_job(str(root), "s", str(manifest), str(manifest.parent),
                     progress=events.append, cancel=CancelToken())
    assert out.report.subjects_added == 6 and out.folds.newly_assigned
    assert sum(sum(v) for v in out.folds.table.values()) == 6
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        check_import_job(root, "s", manifest, progress=events.append, cancel=token)
