"""Reading commands: readers, sessions of a study, rehearsal dry runs and export of reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.services import reading as reading_service

SessionDriver = Callable[..., dict[str, Any]]
# The GUI function that drives the real reader widget offscreen. The CLI never imports the
# GUI package; the entry point (wbsdesk.__main__) registers it, like the GUI launcher.
_session_driver: list[SessionDriver] = []


def register_session_driver(driver: SessionDriver) -> None:
    """Let ``wbsdesk session dry-run`` drive the reader widget (registered by the GUI side)."""
    _session_driver[:] = [driver]


def _driver() -> SessionDriver:
    if not _session_driver:
        raise click.ClickException("the reader screen is not available in this build")
    return _session_driver[0]


@cli.group()
def reader() -> None:
    """Add and list readers (the physicians who read the photos)."""


@reader.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(reading_service.ROLES),
              help="The reader's role.")
@click.option("--years", type=click.IntRange(0, 80), default=None,
              help="Years of experience.")
@json_option
@click.pass_obj
def reader_add(obj: Ctx, name: str, role: str, years: int | None, as_json: bool) -> None:
    """Add reader NAME (a display name or a code such as R01)."""
    with obj.open() as ws:
        r = reading_service.add_reader(ws, name, role=role, years=years)
    data = {"name": r.name, "role": r.role, "years": r.years}
    emit(data, as_json, lambda: click.echo(f"Added reader {r.name!r} ({r.role}"
                                           + (f", {r.years} years" if r.years is not None
                                              else "") + ")."))


@reader.command("list")
@json_option
@click.pass_obj
def reader_list(obj: Ctx, as_json: bool) -> None:
    """List the readers (simulated and dry-run readers are marked)."""
    with obj.open() as ws:
        rows = reading_service.list_readers(ws)

    def render() -> None:
        if not rows:
            click.echo("No readers yet. Add one with 'wbsdesk reader add NAME --role ROLE'.")
            return
        table(["reader", "role", "years", "kind"],
              [[r["name"], r["role"], r["years"], r["kind"]] for r in rows])

    emit(rows, as_json, render)


@cli.group()
def session() -> None:
    """Reading sessions: list them, rehearse a protocol, export the reads."""


@session.command("list")
@click.argument("name")
@json_option
@click.pass_obj
def session_list(obj: Ctx, name: str, as_json: bool) -> None:
    """List the reading sessions of study NAME."""
    with obj.open() as ws:
        rows = reading_service.study_sessions(ws, name)

    def render() -> None:
        if not rows:
            click.echo(f"No reading sessions on {name!r} yet.")
            return
        table(["reader", "kind", "status", "read", "interruptions", "started"],
              [[r["reader"], r["kind"], r["status"], f"{r['read']} / {r['total']}",
                r["interruptions"], r["started_at"]] for r in rows])

    emit(rows, as_json, render)


@session.command("dry-run")
@click.argument("name")
@click.option("--answers", "answers_file", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="One line per photo shown: RATING (1-5, or - for none) and DELAY seconds.")
@click.option("--seconds", type=float, default=None,
              help="Display time per photo instead of the protocol's.")
@click.option("--response-window", type=float, default=None,
              help="Seconds to answer after the photo hides, instead of the protocol's.")
@click.option("--reader", "reader_name", default=None,
              help="Dry-run reader to use or resume (default: a new dry-run-N).")
@click.option("--seed", type=int, default=None, help="Order seed of a new session.")
@json_option
@click.pass_obj
def session_dry_run(obj: Ctx, name: str, answers_file: Path, seconds: float | None,
                    response_window: float | None, reader_name: str | None, seed: int | None,
                    as_json: bool) -> None:
    """Rehearse study NAME's protocol: drive the real reader screen offscreen with scripted
    answers, under a reader flagged dry run."""
    text = answers_file.read_text(encoding="utf-8")
    summary = _driver()(workspace=obj.workspace_path, study=name, answers_text=text,
                        answers_source=str(answers_file), reader=reader_name,
                        seconds=seconds, response_window=response_window, seed=seed,
                        echo=lambda line: click.echo(line, err=as_json))

    def render() -> None:
        click.echo(f"Dry run by {summary['reader']!r} on {name!r}: {summary['photos_read']} "
                   f"photos read in {summary['seconds']:.1f} s "
                   f"({summary['interruptions']} interruptions).")

    emit(summary, as_json, render)


@session.command("export")
@click.argument("name")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@click.option("--with-file-names", is_flag=True,
              help="Put the photos' original file names in the photo column (they often "
                   "hold a child's name); by default it holds pseudonymous IDs (P0042).")
@json_option
@click.pass_obj
def session_export(obj: Ctx, name: str, out: Path | None, with_file_names: bool,
                   as_json: bool) -> None:
    """Export every read of study NAME as CSV (or JSON), one row per photo and reader.

    Text that a spreadsheet would run as a formula (starting with = + - @) gets a leading
    apostrophe in the CSV.
    """
    obj.output(out)
    with obj.open() as ws:
        rows = reading_service.export_reads(ws, name, with_file_names=with_file_names)
    if as_json:
        import json

        text = json.dumps(rows, indent=2) + "\n"
    else:
        text = reading_service.reads_csv(rows)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {len(rows)} reads to {out}", err=True)
