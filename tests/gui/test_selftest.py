"""``wbsdesk --self-test`` checks an installation end to end and says so in its exit status."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from wbsdesk.cli import cli


def test_self_test_passes_in_a_fresh_process(tmp_path):
    out = subprocess.run([sys.executable, "-m", "wbsdesk", "--self-test"], capture_output=True,
                         text=True, timeout=600, cwd=tmp_path,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    for step in ("store", "demo study", "MTCNN", "training (spawned process)", "dashboard"):
        assert f"ok   {step}" in out.stdout
    assert "self-test passed" in out.stdout


def test_self_test_failure_gives_exit_status_1(monkeypatch):
    from wbsdesk.cli import base
    from wbsdesk.gui import selftest

    def broken(root):
        raise RuntimeError("no face today")

    monkeypatch.setattr(selftest, "STEPS", [("MTCNN", broken)])
    monkeypatch.setattr(base, "_self_test", [lambda: selftest.run_self_test(print)])
    res = CliRunner().invoke(cli, ["--self-test"])
    assert res.exit_code == 1
    assert "FAIL MTCNN: no face today" in res.output and "FAILED" in res.output
