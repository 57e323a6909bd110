"""``wbsdesk bundle``: write a study's reproducibility bundle, or verify one.

``wbsdesk bundle NAME --out FILE.zip`` writes the bundle (``bundle create`` is the same
command under its own name, for a study called ``verify``); ``wbsdesk bundle verify
FILE.zip`` recomputes every table from the bundle's own data, with no workspace, and exits
1 when anything differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option

_SHOWN = 20  # differences printed (all are in --json)


class _BundleGroup(click.Group):
    """``bundle NAME ...`` runs ``bundle create NAME ...``; ``bundle verify FILE`` checks."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@cli.group("bundle", cls=_BundleGroup)
def bundle_group() -> None:
    """Reproducibility bundle of a study: 'bundle NAME --out F.zip', 'bundle verify F.zip'.

    The bundle holds the resolved protocol, folds and seeds, the weights' and checkpoints'
    SHA-256, package versions, the out-of-fold predictions, the reads (readers R1, R2...,
    subjects S0001..., photos P0042), every table, the report, a Methods paragraph, a model
    card and the TRIPOD+AI / CLAIM checklists. No photo or crop unless --with-crops.
    """


def _renderer() -> Any:
    """The report's figure renderer, when the entry point registered one (Qt)."""
    from wbsdesk.cli import report_commands

    factory = report_commands._renderer_factory  # registered by wbsdesk.__main__
    return factory[0]() if factory else None


@bundle_group.command("create")
@click.argument("name")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .zip file to write.")
@click.option("--run", default=None, help="Training run (default: the latest finished one).")
@click.option("--controls", default="all", show_default=True,
              help="Controls: 'all' or one control group (a sub-analysis).")
@click.option("--include-simulated", is_flag=True,
              help="Include simulated readers (the demo's stand-ins, marked everywhere).")
@click.option("--include-dry-run", is_flag=True, help="Include dry-run (rehearsal) readers.")
@click.option("--with-crops", is_flag=True,
              help="Also bundle the model's face crops of the analysed cases (they show "
                   "faces: identifying data).")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@json_option
@click.pass_obj
def bundle_create(obj: Ctx, name: str, out: Path, run: str | None, controls: str,
                  include_simulated: bool, include_dry_run: bool, with_crops: bool,
                  force: bool, as_json: bool) -> None:
    """Write the reproducibility bundle of study NAME to --out (one zip file).

    Research use only. Readers, subjects and photos are pseudonymised; no photo or face
    crop is bundled unless --with-crops.
    """
    from wbsdesk.services.bundle import write_bundle

    obj.output(out)
    with obj.open() as ws:
        res = write_bundle(ws, name, out, run=run, controls=controls,
                           include_simulated=include_simulated,
                           include_dry_run=include_dry_run, with_crops=with_crops,
                           force=force, renderer=_renderer(),
                           progress=None if as_json else
                           (lambda msg: click.echo(f"  {msg}", err=True)))

    def render() -> None:
        click.echo(f"Bundle of {name!r} written to {res.path} ({len(res.files)} files, "
                   f"{res.size / 1024:.0f} KiB).")
        click.echo("Photos and crops: " + ("included (--with-crops)." if res.with_crops
                                           else "none."))
        for note in res.warnings:
            click.secho(f"  Note: {note}", fg="yellow")
        click.echo(f"Check it with: wbsdesk bundle verify {res.path}")

    emit(res.to_dict(), as_json, render)


@bundle_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def bundle_verify(file: Path, as_json: bool) -> None:
    """Recompute every table of bundle FILE from its own data and compare (no workspace).

    Exits 0 when every table equals its bundled CSV (numbers within 1e-12, text exactly) and
    every file matches the manifest's SHA-256; 1 otherwise, naming each differing cell.
    """
    from wbsdesk.services.bundle import verify_bundle

    res = verify_bundle(file)

    def render() -> None:
        click.echo(f"Bundle {res.path} (study {res.study}, run {res.run}): recomputed "
                   f"{len(res.tables)} tables, {res.cells} cells.")
        for what, names in (("changed since it was written", res.changed_files),
                            ("listed in the manifest but missing", res.missing_files),
                            ("not in the manifest", res.unlisted_files)):
            for n in names:
                click.secho(f"  File {what}: {n}", fg="red")
        per_table: dict[str, int] = {}
        for m in res.mismatches:
            per_table[m.table] = per_table.get(m.table, 0) + 1
        for t, n in per_table.items():
            click.secho(f"  Table {t}: {n} cell(s) differ from the bundled CSV.", fg="red")
        for m in res.mismatches[:_SHOWN]:
            click.secho(f"  Differs: {m.describe()}", fg="red")
        if len(res.mismatches) > _SHOWN:
            click.secho(f"  ... and {len(res.mismatches) - _SHOWN} more difference(s) "
                        "(--json lists all).", fg="red")
        if res.ok:
            click.secho("OK: every table equals its bundled CSV and every file is as "
                        "written.", fg="green")
        else:
            click.secho("FAILED: the bundle does not reproduce its tables.", fg="red",
                        bold=True)

    emit(res.to_dict(), as_json, render)
    if not res.ok:
        click.get_current_context().exit(1)
