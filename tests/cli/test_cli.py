"""The command line: every command has help, --json works, errors exit 1 and change nothing."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from tests.conftest import PROTOCOLS, make_photo, snapshot, write_manifest
from wbsdesk import __version__
from wbsdesk.cli import cli
from wbsdesk.config import db_path


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


ALL_COMMANDS = list(_commands(cli))


def run(ws, *args, ok=True):
    res = CliRunner().invoke(cli, ["--workspace", str(ws), *args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def test_the_expected_commands_exist():
    expected = {("study", "create"), ("study", "list"), ("study", "show"), ("import",),
                ("folds",), ("table1",), ("demo",), ("db", "check"), ("gui",)}
    assert expected <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help(path):
    res = CliRunner().invoke(cli, [*path, "--help"])
    assert res.exit_code == 0
    assert "Usage:" in res.output
    cmd = cli
    for p in path:
        cmd = cmd.commands[p]
    assert cmd.help and cmd.help.strip(), f"{path} has no help text"


def test_every_table_command_takes_json():
    for path in [("study", "list"), ("study", "show"), ("folds",), ("table1",), ("demo",),
                 ("db", "check"), ("import",), ("study", "create")]:
        res = CliRunner().invoke(cli, [*path, "--help"])
        assert "--json" in res.output, path


def test_gui_help_lists_every_screenshot_view_and_refuses_an_unknown_one(tmp_path):
    from wbsdesk.gui.app import VIEWS  # conftest registered the GUI parts, as main() does

    res = CliRunner().invoke(cli, ["gui", "--help"])
    assert res.exit_code == 0
    listed = res.output.split("Views for --view:")[1].replace(",", " ").split()
    assert listed == list(VIEWS)  # derived from the GUI's own list, in its order
    res = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), "gui",
                                   "--screenshot", str(tmp_path / "x.png"), "--view", "nope"])
    assert res.exit_code == 2 and "'nope' is not a view" in res.output
    assert "dashboard" in res.output and not (tmp_path / "x.png").exists()


def test_version():
    res = CliRunner().invoke(cli, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output


def _paper_sized_study(tmp_path):
    d = tmp_path / "paper"
    rows = []
    i = 0
    for g, n in (("wbs", 104), ("other_syndrome", 91), ("healthy", 145)):
        for _ in range(n):
            make_photo(d / f"{i}.png", seed=i, size=(64, 64))
            rows.append({"subject_id": f"P{i}", "photo": f"{i}.png", "group": g})
            i += 1
    return write_manifest(d / "subjects.csv", rows)


def test_create_import_folds_table3_exactly(tmp_path):
    ws = tmp_path / "ws"
    run(ws, "study", "create", "paper", "--protocol", str(PROTOCOLS / "liu2021_wbs.toml"))
    res = run(ws, "import", "paper", "--manifest", str(_paper_sized_study(tmp_path)), "--json")
    assert json.loads(res.stdout)["subjects_added"] == 340
    data = json.loads(run(ws, "folds", "paper", "--json").stdout)
    assert data["table"] == {"wbs": [21, 21, 21, 21, 20],
                             "other_syndrome": [19, 18, 18, 18, 18],
                             "healthy": [29, 29, 29, 29, 29]}
    assert data["newly_assigned"] is True
    again = json.loads(run(ws, "folds", "paper", "--json").stdout)
    assert again["table"] == data["table"] and again["newly_assigned"] is False
    text = run(ws, "folds", "paper").output
    assert "Subset 1  21   19              29       69" in text
    res = run(ws, "folds", "paper", "--seed", "5", ok=False)
    assert res.exit_code == 1 and "--reassign" in res.output
    show = json.loads(run(ws, "study", "show", "paper", "--json").stdout)
    assert show["groups"]["wbs"]["subjects"] == 104 and show["folds"]["assigned"]
    listing = json.loads(run(ws, "study", "list", "--json").stdout)
    assert listing[0]["subjects"] == 340
    t1 = json.loads(run(ws, "table1", "paper", "--json").stdout)
    assert t1["target"]["n"] == 104 and t1["controls"]["n"] == 236
    assert json.loads(run(ws, "db", "check", "--json").stdout)["ok"] is True


def test_missing_photo_exits_1_names_the_file_and_changes_nothing(tmp_path):
    ws = tmp_path / "ws"
    run(ws, "study", "create", "s", "--protocol", str(PROTOCOLS / "liu2021_wbs.toml"))
    d = tmp_path / "in"
    make_photo(d / "a.png", seed=1)
    m = write_manifest(d / "m.csv", [
        {"subject_id": "A", "photo": "a.png", "group": "wbs"},
        {"subject_id": "B", "photo": "b_missing.jpg", "group": "healthy"}])
    before = snapshot(ws)
    res = run(ws, "import", "s", "--manifest", str(m), ok=False)
    assert res.exit_code == 1
    assert "b_missing.jpg" in res.output and "row 3" in res.output
    assert "file not found" in res.output and "Nothing was imported" in res.output
    assert snapshot(ws) == before


def test_bad_protocol_exits_1_with_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((PROTOCOLS / "demo.toml").read_text().replace("k = 5", "k = 0"))
    res = run(tmp_path / "ws", "study", "create", "x", "--protocol", str(bad), ok=False)
    assert res.exit_code == 1 and "bad.toml" in res.output and "'folds.k'" in res.output


def test_unknown_study_lists_what_exists(tmp_path):
    res = run(tmp_path / "ws", "study", "show", "nope", ok=False)
    assert res.exit_code == 1 and "no study named 'nope'" in res.output


def test_workspace_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WBSDESK_WORKSPACE", str(tmp_path / "envws"))
    res = CliRunner().invoke(cli, ["study", "create", "s", "--protocol",
                                   str(PROTOCOLS / "demo.toml")])
    assert res.exit_code == 0, res.output
    assert db_path(tmp_path / "envws").exists()
