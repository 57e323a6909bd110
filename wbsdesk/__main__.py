"""Entry point: ``wbsdesk`` with no arguments opens the app, otherwise runs the CLI."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

#: Where a console-less app's ``--self-test`` writes its report (in the workspace's logs/).
SELF_TEST_LOG = "self-test.log"


def _launch_gui(*, workspace: Path, study: str | None, screenshot: Path | None,
                view: str) -> int:
    from wbsdesk.gui.app import run_gui

    return run_gui(workspace=workspace, study=study, screenshot=screenshot, view=view)


def _gui_views() -> list[str]:
    from wbsdesk.gui.app import VIEWS  # no Qt is imported with it

    return list(VIEWS)


def _drive_dry_run(**kwargs: object) -> dict:
    from wbsdesk.gui.dry_run import drive_dry_run

    return drive_dry_run(**kwargs)


def _run_teaching(**kwargs: object) -> dict:
    from wbsdesk.gui.teaching_view import run_teaching

    return run_teaching(**kwargs)


def _report_renderer() -> object:
    from wbsdesk.gui.report_render import QtReportRenderer

    return QtReportRenderer()


def register_gui_parts() -> None:
    """Give the CLI the GUI functions it may call (it never imports the GUI itself)."""
    from wbsdesk.cli import register_gui
    from wbsdesk.cli.base import register_self_test
    from wbsdesk.cli.reading_commands import register_session_driver
    from wbsdesk.cli.report_commands import register_report_renderer
    from wbsdesk.cli.session_commands import register_teaching_launcher

    register_gui(_launch_gui, views=_gui_views)
    register_self_test(_self_test)
    register_session_driver(_drive_dry_run)
    register_report_renderer(_report_renderer)
    register_teaching_launcher(_run_teaching)


def _self_test() -> int:
    import click

    from wbsdesk.gui.selftest import run_self_test
    from wbsdesk.log import has_console

    if has_console():
        return run_self_test(click.echo)
    # A windowed frozen app: nobody sees standard output, so the report goes to
    # <default workspace>/logs/self-test.log (the steps' own logs go to the temporary one).
    from wbsdesk.config import ensure_private_dir, resolve_workspace

    logs = ensure_private_dir(ensure_private_dir(resolve_workspace(None)) / "logs")
    with open(logs / SELF_TEST_LOG, "a", encoding="utf-8") as out:

        def report(line: str) -> None:
            out.write(line + "\n")
            out.flush()

        return run_self_test(report)


def main(argv: list[str] | None = None) -> None:
    """Run wbsdesk (the console script, ``python -m wbsdesk`` and the frozen app).

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments without the program name (default: ``sys.argv[1:]``).
    """
    from wbsdesk.log import redirect_missing_streams

    # A console-less frozen app (and its spawned job processes) has no stdout/stderr: send
    # what would be printed to the log instead. This must precede freeze_support(), which
    # runs a spawned child's job and never returns there.
    redirect_missing_streams()
    multiprocessing.freeze_support()
    os.umask(0o077)  # everything the app creates is readable by the user only
    from wbsdesk.cli import cli

    register_gui_parts()
    args = sys.argv[1:] if argv is None else argv
    cli.main(args=args, prog_name="wbsdesk")


if __name__ == "__main__":
    main()
