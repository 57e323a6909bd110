"""The root command group, output helpers and the one place errors become exit codes."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from wbsdesk import __version__
from wbsdesk.config import resolve_workspace
from wbsdesk.errors import Cancelled, UserError
from wbsdesk.log import setup_logging

log = logging.getLogger(__name__)
GuiLauncher = Callable[..., int]
_gui_launcher: list[GuiLauncher] = []
_gui_views: list[Callable[[], Sequence[str]]] = []
_self_test: list[Callable[[], int]] = []


def register_gui(launcher: GuiLauncher, *,
                 views: Callable[[], Sequence[str]] | None = None) -> None:
    """Let ``wbsdesk gui`` start the GUI (the CLI never imports the GUI package itself).

    ``views`` returns the names ``--view`` accepts (the GUI's own list; ``gui --help``
    shows them and an unknown name is refused before Qt starts).
    """
    _gui_launcher[:] = [launcher]
    _gui_views[:] = [views] if views is not None else []


def _view_names() -> list[str]:
    return list(_gui_views[0]()) if _gui_views else []


class _GuiCommand(click.Command):
    """``wbsdesk gui``, whose help ends with the GUI's views (read when it is shown)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = _view_names()
        if names:
            formatter.write_paragraph()
            formatter.write_text("Views for --view:")
            line = ""
            with formatter.indentation():
                for name in names:  # whole names per line (click would split at hyphens)
                    if line and len(line) + len(name) + 2 > formatter.width - 8:
                        formatter.write(" " * formatter.current_indent + line + ",\n")
                        line = ""
                    line = f"{line}, {name}" if line else name
                formatter.write(" " * formatter.current_indent + line + "\n")
        super().format_epilog(ctx, formatter)


def register_self_test(run: Callable[[], int]) -> None:
    """Let ``wbsdesk --self-test`` run the installation check (it renders with Qt)."""
    _self_test[:] = [run]


def _on_self_test(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    if not _self_test:
        raise click.ClickException("the self-test is not available in this build")
    ctx.exit(_self_test[0]())


class _Group(click.Group):
    """Turns :class:`UserError`, and an ``OSError`` on a named file (not a folder, disk full,
    permission denied), into a message and exit status 1; cancellation into 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            log.info("user error: %s", exc.message)
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(1)
        except (Cancelled, KeyboardInterrupt):
            click.echo("Cancelled.", err=True)
            ctx.exit(130)
        except OSError as exc:  # a file the user named or owns: not a folder, full, denied
            if exc.filename is None:
                raise
            log.info("file system error on %s", exc.filename, exc_info=True)  # log file only
            click.secho(f"Error: {exc.filename}: {exc.strerror or exc}", fg="red", err=True)
            ctx.exit(1)


class Ctx:
    """What every command gets: the workspace folder (opened on demand)."""

    def __init__(self, workspace: Path) -> None:
        self.workspace_path = workspace

    def open(self):
        """Open the workspace (creating it if needed)."""
        from wbsdesk.services.workspace import open_workspace

        return open_workspace(self.workspace_path)

    def output(self, path: Path | None) -> Path | None:
        """``path`` (a file or folder a command will write), refused with a UserError when it
        lies in the workspace's own folders (``.store/``, ``photos/``, ...); ``None`` stays."""
        if path is not None:
            from wbsdesk.services.workspace import refuse_own_folder

            refuse_own_folder(self.workspace_path, path)
        return path


@click.group(cls=_Group, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", type=click.Path(file_okay=False, path_type=Path),
              envvar="WBSDESK_WORKSPACE",
              help="Workspace folder (default: $WBSDESK_WORKSPACE or the per-user data folder).")
@click.option("-v", "--verbose", is_flag=True, help="Log details to stderr.")
@click.version_option(__version__, "--version", prog_name="wbsdesk")
@click.option("--self-test", is_flag=True, is_eager=True, expose_value=False,
              callback=_on_self_test,
              help="Check this installation end to end (offscreen, temporary workspace).")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, verbose: bool) -> None:
    """wbsdesk: facial-gestalt reader studies (physicians vs. CNNs on the same photos).

    With no command, opens the app window.
    """
    root = resolve_workspace(workspace)
    ctx.obj = Ctx(root)
    if ctx.resilient_parsing:
        return
    if ctx.invoked_subcommand == "db":  # 'db check' writes nothing, not even a log file
        setup_logging(None, verbose=verbose)
    elif verbose or ctx.invoked_subcommand not in (None, "gui"):
        from wbsdesk.config import ensure_private_dir

        setup_logging(ensure_private_dir(root), verbose=verbose)
    if ctx.invoked_subcommand is None:
        ctx.invoke(gui_command)


@cli.command("gui", cls=_GuiCommand)
@click.option("--study", default=None, help="Study to open (default: the first one).")
@click.option("--screenshot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Render VIEW offscreen, save it as a PNG and exit.")
@click.option("--view", default="main", show_default=True,
              help="View for --screenshot (the views are listed below).")
@click.pass_obj
def gui_command(obj: Ctx, study: str | None, screenshot: Path | None, view: str) -> None:
    """Open the app window (or, with --screenshot, save one view as a PNG and exit)."""
    if not _gui_launcher:
        raise click.ClickException("the GUI is not available in this build")
    names = _view_names()
    if names and view not in names:
        raise click.BadParameter(f"{view!r} is not a view; choose one of {', '.join(names)}",
                                 param_hint="'--view'")
    obj.output(screenshot)
    code = _gui_launcher[0](workspace=obj.workspace_path, study=study, screenshot=screenshot,
                            view=view)
    sys.exit(code)


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` to print it for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        render()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r]
                                           for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, r in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


def json_option(f: Callable) -> Callable:
    """The shared ``--json`` flag."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)
