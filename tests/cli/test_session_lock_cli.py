"""`session dry-run` refuses a session that another process holds, naming that process."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from tests.gui.reading_study import make_reading_study
from tests.services.session_holder import holding_session
from wbsdesk.cli import cli
from wbsdesk.services import reading
from wbsdesk.services.workspace import open_workspace


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_dry_run_of_a_held_session_is_refused_then_resumes(tmp_path, qapp):
    root = tmp_path / "ws"
    with open_workspace(root) as ws:
        make_reading_study(ws, tmp_path, n=2, seconds=10.0, window=20.0)
        reading.add_reader(ws, "dry-run-7", role="other", dry_run=True)
    answers = tmp_path / "answers.txt"
    answers.write_text("3 0.02\n4 0.02\n")
    args = ["--workspace", str(root), "session", "dry-run", "tiny", "--answers", str(answers),
            "--reader", "dry-run-7", "--seconds", "0.1", "--response-window", "0.1"]
    with holding_session(root, "tiny", "dry-run-7", dry_run=True) as child:
        out = CliRunner().invoke(cli, args)
        assert out.exit_code == 1
        assert (f"dry-run-7's session on 'tiny' is open in another process (process "
                f"{child.pid} on ") in out.output
    out = CliRunner().invoke(cli, args)  # killed holder: the session resumes and finishes
    assert out.exit_code == 0, out.output
    assert "session 1 by dry-run-7: 0 of 2 photos already read" in out.output
