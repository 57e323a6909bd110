"""Entry point: ``wbsdesk`` with no arguments opens the app, otherwise runs the CLI."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _launch_gui(*, workspace: Path, study: str | None, screenshot: Path | None,
                view: str) -> int:
    from wbsdesk.gui.app import run_gui

    return run_gui(workspace=workspace, study=study, screenshot=screenshot, view=view)


def _drive_dry_run(**kwargs: object) -> dict:
    from wbsdesk.gui.dry_run import drive_dry_run

    return drive_dry_run(**kwargs)


def _report_renderer() -> object:
    from wbsdesk.gui.report_render import QtReportRenderer

    return QtReportRenderer()


def register_gui_parts() -> None:
    """Give the CLI the GUI functions it may call (it never imports the GUI itself)."""
    from wbsdesk.cli import register_gui
    from wbsdesk.cli.base import register_self_test
    from wbsdesk.cli.reading_commands import register_session_driver
    from wbsdesk.cli.report_commands import register_report_renderer

    register_gui(_launch_gui)
    register_self_test(_self_test)
    register_session_driver(_drive_dry_run)
    register_report_renderer(_report_renderer)


def _self_test() -> int:
    import click

    from wbsdesk.gui.selftest import run_self_test

    return run_self_test(click.echo)


def main(argv: list[str] | None = None) -> None:
    """Run wbsdesk (the console script and ``python -m wbsdesk``)."""
    multiprocessing.freeze_support()
    os.umask(0o077)  # everything the app creates is readable by the user only
    from wbsdesk.cli import cli

    register_gui_parts()
    args = sys.argv[1:] if argv is None else argv
    cli.main(args=args, prog_name="wbsdesk")


if __name__ == "__main__":
    main()
