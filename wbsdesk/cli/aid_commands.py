"""Aid commands: prepare the model's out-of-fold aid for aided reading, and show it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.cli.face_commands import cancel_on_ctrl_c
from wbsdesk.core.jobs import Progress
from wbsdesk.services import aid as aid_service


@cli.group()
def aid() -> None:
    """The model's aid for aided reading (sequential or crossover designs)."""


@aid.command("prepare")
@click.argument("name")
@click.option("--run", "run", default=None,
              help="A finished run of the study (default: the latest finished one).")
@click.option("--model", default=None,
              help="'ensemble' or one architecture (default: the protocol's aid_model).")
@click.option("--heatmaps/--no-heatmaps", default=None,
              help="Compute Grad-CAM overlays (default: when the protocol's aid lists them).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu",
              show_default=True, help="Where Grad-CAM runs.")
@json_option
@click.pass_obj
def aid_prepare(obj: Ctx, name: str, run: str | None, model: str | None,
                heatmaps: bool | None, device: str, as_json: bool) -> None:
    """Compute every photo's out-of-fold aid of study NAME from a finished run and make it
    the aid its aided sessions show (refused, naming them, if the run lacks photos)."""
    out = sys.stderr if as_json else None
    with obj.open() as ws, cancel_on_ctrl_c() as token, \
            click.progressbar(length=1, label="Preparing the aid", file=out) as bar:

        def progress(p: Progress) -> None:
            bar.length = max(p.total, 1)
            bar.update(p.done - bar.pos)

        a = aid_service.prepare_aid(ws, name, run, model=model, heatmaps=heatmaps,
                                    device=device, progress=progress, cancel=token)
    data = a.summary()
    emit(data, as_json, lambda: click.echo(
        f"Aid set {a.id} of {name!r}: run {a.run!r}, {a.model} "
        f"({', '.join(a.archs)}), {len(a.scores)} photos"
        + (", with heatmaps." if a.has_heatmaps else ", probabilities only.")))


@aid.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def aid_show(obj: Ctx, name: str, as_json: bool) -> None:
    """Show the aid that study NAME's aided sessions use."""
    with obj.open() as ws:
        a = aid_service.current_aid(ws, name)
    data = a.summary() if a else None

    def render() -> None:
        if a is None:
            click.echo(f"No aid prepared for {name!r}: 'wbsdesk aid prepare {name} --run RUN'.")
            return
        click.echo(f"Aid set {a.id}: run {a.run!r}, {a.model} ({', '.join(a.archs)}), "
                   f"{len(a.scores)} photos, heatmaps: {'yes' if a.has_heatmaps else 'no'}, "
                   f"prepared {a.created_at}.")

    emit(data, as_json, render)


@aid.command("compare")
@click.argument("name")
@click.option("--include-simulated", is_flag=True,
              help="Take simulated (demo) readers too; they are flagged everywhere.")
@click.option("--include-dry-run", is_flag=True, help="Take dry-run readers too.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the section's CSV tables, iMRMC files and aided.html here.")
@json_option
@click.pass_obj
def aid_compare(obj: Ctx, name: str, include_simulated: bool, include_dry_run: bool,
                out: Path | None, as_json: bool) -> None:
    """Unaided vs aided reads of study NAME: reader-averaged AUC, sensitivity and specificity
    per modality (OR/Hillis RRRC), each reader's change (DeLong), harmed readers, changed
    reads by the model's call (automation bias) and time per read."""
    from wbsdesk.services.analysis_aided import build_aided_comparison
    from wbsdesk.services.report_aided import write_aided_report
    from wbsdesk.services.result_tables_aided import aided_tables, effect_sentence

    obj.output(out)
    with obj.open() as ws:
        comp = build_aided_comparison(ws, name, include_simulated=include_simulated,
                                      include_dry_run=include_dry_run)
    files = write_aided_report(comp, out) if out is not None else []
    tables = aided_tables(comp)
    data = comp.to_dict()
    data["tables"] = {t.name: t.to_dict() for t in tables}
    if files:
        data["files"] = [str(f) for f in files]

    def render() -> None:
        design, *rest = tables
        for label, text in design.texts():
            click.echo(f"{label}: {text}")
        for t in comp.tests:  # benefit or harm as the CI shows it
            click.echo(effect_sentence(t, f"{100 * comp.ci_level:g}% CI"))
        for t in rest:
            click.secho(f"\n{t.title}", bold=True)
            table(t.headers(), t.texts())
            for note in t.footnotes():
                click.echo(f"  {note}")
        for note in comp.notes:
            click.echo(f"Note: {note}")
        for f in files:
            click.echo(f"wrote {f}")

    emit(data, as_json, render)

