"""`wbsdesk admin`: set, change and forget the admin passphrase from the command line."""

from __future__ import annotations

from click.testing import CliRunner

from wbsdesk.cli import cli
from wbsdesk.services import admin
from wbsdesk.services.workspace import open_workspace


def _run(root, args, text=""):
    return CliRunner().invoke(cli, ["--workspace", str(root), "admin", *args], input=text)


def _actions(root):
    with open_workspace(root) as ws:
        return [e["action"] for e in ws.store.audit_log()]


def test_set_change_and_forget_the_passphrase(tmp_path, fast_scrypt):
    root = tmp_path / "ws"
    out = _run(root, ["passphrase"], "first-secret\nfirst-secret\n")
    assert out.exit_code == 0, out.output
    assert "Admin passphrase set up: the app's admin views now need it" in out.output
    assert "first-secret" not in out.output  # prompts hide what is typed
    with open_workspace(root) as ws:
        assert admin.verify_passphrase(ws, "first-secret")
    # changing needs the current one; a wrong one changes nothing
    out = _run(root, ["passphrase"], "wrong-secret\n")
    assert out.exit_code == 1 and "not correct" in out.output
    assert "forget-passphrase" in out.output
    out = _run(root, ["passphrase"], "first-secret\nsecond-secret\nmismatch\n"
                                     "second-secret\nsecond-secret\n")
    assert out.exit_code == 0 and "Admin passphrase changed." in out.output
    with open_workspace(root) as ws:
        assert admin.verify_passphrase(ws, "second-secret")
        assert not admin.verify_passphrase(ws, "first-secret")
    # too short is refused with the rule
    out = _run(root, ["passphrase"], "second-secret\nshort\nshort\n")
    assert out.exit_code == 1 and "at least 8 characters" in out.output
    # forgetting asks first; "no" keeps it
    out = _run(root, ["forget-passphrase"], "n\n")
    assert out.exit_code != 0
    with open_workspace(root) as ws:
        assert admin.has_passphrase(ws)
    out = _run(root, ["forget-passphrase", "--yes"])
    assert out.exit_code == 0 and "removed" in out.output
    with open_workspace(root) as ws:
        assert not admin.has_passphrase(ws)
    assert _run(root, ["forget-passphrase", "--yes"]).output.startswith("No admin passphrase")
    assert _actions(root).count("set_admin_passphrase") == 2
    assert _actions(root).count("forget_admin_passphrase") == 1
