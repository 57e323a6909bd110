"""The bad-input corpus (tests/data/make_bad_inputs.py): every case is refused with file, row
and reason, by the service and by the CLI, and the workspace stays byte-for-byte unchanged."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from PIL import EpsImagePlugin

from tests.conftest import PROTOCOLS, snapshot
from tests.data.make_bad_inputs import CASES, EPS_WITNESS, existing_manifest, make_case
from wbsdesk.cli import cli
from wbsdesk.errors import UserError
from wbsdesk.services.importer import import_manifest
from wbsdesk.services.studies import create_study
from wbsdesk.services.workspace import open_workspace


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A closed workspace with study ``s`` holding subject F1 (group wbs, one photo)."""
    root = tmp_path_factory.mktemp("bad_inputs") / "ws"
    with open_workspace(root) as w:
        create_study(w, "s", PROTOCOLS / "liu2021_wbs.toml")
        import_manifest(w, "s", existing_manifest(root.parent / "existing"))
    return root


@pytest.fixture
def workspace(template, tmp_path):
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


@pytest.fixture
def no_ghostscript(monkeypatch):
    """Record any attempt to run Ghostscript (it must never happen)."""
    calls = []

    def ghostscript(*args, **kwargs):
        calls.append(args)
        raise AssertionError("Ghostscript was asked to run a user file")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    return calls


def _check_refusal(case, text, problems, manifest):
    assert str(manifest) in text
    if case.names:
        assert case.names in text, text
    if problems is not None:
        assert any(p.file == str(manifest) and p.row == case.row and case.words in p.reason
                   for p in problems), problems
    else:
        where = f"row {case.row}" if case.row is not None else str(manifest)
        assert where in text and case.words in text, text


@pytest.mark.parametrize("name", sorted(CASES))
def test_service_refuses_and_changes_nothing(workspace, tmp_path, no_ghostscript, name):
    case = CASES[name]
    folder = tmp_path / "in"
    manifest = make_case(name, folder)
    before = snapshot(workspace)
    with open_workspace(workspace) as w, pytest.raises(UserError) as info:
        import_manifest(w, "s", manifest)
    assert snapshot(workspace) == before, "a refused import changed the workspace"
    assert "Nothing was imported" in info.value.message
    _check_refusal(case, str(info.value), info.value.problems, manifest)
    assert not no_ghostscript and not (folder / EPS_WITNESS).exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_refuses_and_changes_nothing(workspace, tmp_path, no_ghostscript, name):
    case = CASES[name]
    folder = tmp_path / "in"
    manifest = make_case(name, folder)
    before = snapshot(workspace)
    res = CliRunner().invoke(cli, ["--workspace", str(workspace), "import", "s",
                                   "--manifest", str(manifest)], catch_exceptions=False)
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert snapshot(workspace) == before
    _check_refusal(case, res.output, None, manifest)
    assert not no_ghostscript and not (folder / EPS_WITNESS).exists()
