"""The frozen app without a console: ``sys.stdout`` and ``sys.stderr`` are ``None``.

A windowed Windows build and a macOS ``.app`` start like this, and so do their spawned job
processes. Output must go to the workspace log file, and nothing may write to ``None``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
import pytest

from wbsdesk import config
from wbsdesk.log import LogStream, has_console, redirect_missing_streams, setup_logging


@pytest.fixture
def no_console(monkeypatch):
    """Call it to drop the standard streams; the logger and umask are restored afterwards.

    (pytest's capture sets ``sys.stdout`` again between set-up and the test, so the test
    itself removes the streams.)
    """
    root = logging.getLogger("wbsdesk")
    handlers, level = list(root.handlers), root.level
    umask = os.umask(0o077)
    os.umask(umask)
    monkeypatch.delenv(config.WORKSPACE_ENV, raising=False)

    def drop_streams() -> None:
        monkeypatch.setattr(sys, "stdout", None)
        monkeypatch.setattr(sys, "stderr", None)

    yield drop_streams
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    os.umask(umask)


def _log_text(workspace: Path) -> str:
    for h in logging.getLogger("wbsdesk").handlers:
        h.flush()
    return (workspace / "logs" / "wbsdesk.log").read_text(encoding="utf-8")


def test_missing_streams_are_replaced_and_logged(no_console, tmp_path):
    no_console()
    assert redirect_missing_streams() == ["stdout", "stderr"]
    assert isinstance(sys.stdout, LogStream) and isinstance(sys.stderr, LogStream)
    assert not has_console()
    assert redirect_missing_streams() == []  # a second call changes nothing
    setup_logging(tmp_path)
    root = logging.getLogger("wbsdesk")
    assert not any(getattr(h, "_wbsdesk_stderr", False) for h in root.handlers)
    click.echo("a table row")
    click.echo("an error line", err=True)
    print("partial ", end="", file=sys.stdout)  # what a library might do
    sys.stdout.write("line\r\nsecond\n")
    sys.stdout.flush()
    # a library logger without handlers ends in logging's last resort, which writes to stderr
    record = logging.LogRecord("somelib", logging.WARNING, __file__, 1, "a library warning",
                               None, None)
    logging.lastResort.handle(record)
    text = _log_text(tmp_path)
    assert "INFO wbsdesk.stdout: a table row" in text
    assert "WARNING wbsdesk.stderr: an error line" in text
    assert "wbsdesk.stdout: partial line" in text
    assert "wbsdesk.stdout: second" in text
    assert "wbsdesk.stderr: a library warning" in text


def test_log_stream_behaves_like_a_text_stream():
    stream = LogStream("wbsdesk.test", logging.INFO)
    assert stream.writable() and not stream.isatty()
    assert stream.encoding == "utf-8"
    assert stream.write("x") == 1
    with pytest.raises(TypeError):
        stream.write(b"bytes")  # type: ignore[arg-type]
    stream.close()


def test_a_console_keeps_its_stderr_handler(tmp_path):
    root = logging.getLogger("wbsdesk")
    before = list(root.handlers)
    try:
        assert has_console()
        setup_logging(tmp_path)
        assert any(getattr(h, "_wbsdesk_stderr", False) for h in root.handlers)
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()


def test_console_less_cli_command_logs_its_output(no_console, tmp_path):
    no_console()
    from wbsdesk.__main__ import main

    ws = tmp_path / "ws"
    with pytest.raises(SystemExit) as exit_info:
        main(["--workspace", str(ws), "study", "list", "--json"])
    assert exit_info.value.code in (0, None)
    assert "wbsdesk.stdout: []" in _log_text(ws)


def test_console_less_help_and_version_do_not_crash(no_console):
    no_console()
    from wbsdesk.__main__ import main

    for args in (["--help"], ["--version"], ["weights", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code in (0, None)


def test_console_less_no_arguments_open_the_gui(no_console, monkeypatch, tmp_path):
    no_console()
    import wbsdesk.__main__ as entry

    opened = {}

    def fake_gui(**kwargs: object) -> int:
        opened.update(kwargs)
        return 0

    monkeypatch.setattr(entry, "_launch_gui", fake_gui)
    monkeypatch.setenv(config.WORKSPACE_ENV, str(tmp_path / "ws"))
    with pytest.raises(SystemExit) as exit_info:
        entry.main([])
    assert exit_info.value.code == 0
    assert opened["workspace"] == (tmp_path / "ws").resolve()
    assert opened["screenshot"] is None


def test_console_less_self_test_reports_to_the_default_log(no_console, monkeypatch, tmp_path):
    no_console()
    import wbsdesk.__main__ as entry
    import wbsdesk.gui.selftest as selftest

    def fake_self_test(report):
        report("ok   store (0.0 s): fake")
        return 0

    monkeypatch.setattr(selftest, "run_self_test", fake_self_test)
    ws = tmp_path / "default-ws"
    monkeypatch.setenv(config.WORKSPACE_ENV, str(ws))
    with pytest.raises(SystemExit) as exit_info:
        entry.main(["--self-test"])
    assert exit_info.value.code == 0
    report = (ws / "logs" / entry.SELF_TEST_LOG).read_text(encoding="utf-8")
    assert report == "ok   store (0.0 s): fake\n"


def test_resources_are_found_in_a_frozen_layout(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert config.is_frozen()
    assert config.resource_root() == tmp_path
    assert config.bundled_protocol("demo") == tmp_path / "study_protocols" / "demo.toml"
    assert config.resources_dir() == tmp_path / "resources"


def test_resources_in_the_source_tree():
    assert not config.is_frozen()
    assert config.bundled_protocol("demo").is_file()
    assert (config.resources_dir() / "wbsdesk.png").is_file()
