"""The report command: models vs. readers, as CSV tables, figure, iMRMC file, HTML and PDF.

The figure and the PDF need Qt, which the CLI never imports: the entry point
(``wbsdesk.__main__``) registers a renderer factory here, like the GUI launcher. Without
one the report is written without them.

With no (non-simulated) reader on the study -- the demo has only simulated readers -- the
report is still written, for the models alone, and the command says so and how to include
the simulated readers (``--include-simulated``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.errors import WbsdeskWarning

RendererFactory = Callable[[], Any]
_renderer_factory: list[RendererFactory] = []


def register_report_renderer(factory: RendererFactory) -> None:
    """Let ``wbsdesk report`` draw the figure and print the PDF (registered by the GUI side)."""
    _renderer_factory[:] = [factory]


def _plain(v: Any) -> Any:
    """JSON-safe data: NaN/inf become null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


@cli.command("report")
@click.argument("name")
@click.option("--run", "runs", multiple=True,
              help="Training run (default: the latest finished one); repeat it to compare "
                   "several runs' models, with an ensemble across them.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder for the report "
                                 "(default: WORKSPACE/reports/NAME_RUN_CONTROLS).")
@click.option("--controls", default="all", show_default=True,
              help="Controls: 'all', or one control group of the protocol for a "
                   "sub-analysis (e.g. healthy, other_syndrome).")
@click.option("--include-simulated", is_flag=True,
              help="Include simulated readers (the demo's stand-ins, marked everywhere).")
@click.option("--include-dry-run", is_flag=True, help="Include dry-run (rehearsal) readers.")
@click.option("--by", "by", multiple=True, metavar="COLUMN",
              help="Also split the subgroup audit by this manifest metadata column "
                   "(repeatable), e.g. ancestry, photo source or expression. Sex and age "
                   "bands are always shown.")
@json_option
@click.pass_obj
def report_cmd(obj: Ctx, name: str, runs: tuple[str, ...], out_dir: Path | None, controls: str,
               include_simulated: bool, include_dry_run: bool, by: tuple[str, ...],
               as_json: bool) -> None:
    """Compare the models of a run of NAME with its readers and write the report.

    Writes Tables 1, 3, 4 and 5, DeLong and MRMC tables (CSV), the ROC figure (PNG, SVG),
    an iMRMC input file, and a self-contained HTML report and its PDF. Research use only.
    """
    from wbsdesk.services.analysis_runs import build_runs_comparison
    from wbsdesk.services.reports import default_report_dir, write_report
    from wbsdesk.services.result_tables import table_map
    from wbsdesk.services.runs_table import runs_table

    obj.output(out_dir)
    with obj.open() as ws, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WbsdeskWarning)
        try:
            comp = build_runs_comparison(ws, name, runs, include_simulated=include_simulated,
                                         include_dry_run=include_dry_run, controls=controls)
        finally:
            shown = dict.fromkeys(str(w.message) for w in caught
                                  if issubclass(w.category, WbsdeskWarning))
            for text in shown:
                click.secho(f"Warning: {text}", fg="yellow", err=True)
        from wbsdesk.services.report_audit import attach_audit, audit_tables
        from wbsdesk.services.session_policy import history_tables

        before = set(comp.notes)
        comp = attach_audit(ws, comp, by=by)  # calibration, subgroups, confounds, baseline
        from wbsdesk.services.agreement import attach_agreement
        from wbsdesk.services.agreement_tables import comparison_agreement

        comp = attach_agreement(ws, comp)  # intra- and inter-reader agreement
        for text in comp.notes:
            if text not in before:
                click.secho(f"Warning: {text}", fg="yellow", err=True)
        renderer = _renderer_factory[0]() if _renderer_factory else None
        from wbsdesk.services.report_aided import aided_report_section, aided_summary

        aided_part = aided_report_section(ws, name, include_simulated=include_simulated,
                                          include_dry_run=include_dry_run)  # aided studies
        files = write_report(comp, out_dir or default_report_dir(ws, comp), renderer=renderer,
                             sections=[aided_part[0]] if aided_part else [])
        aided = aided_summary(aided_part, files.files)
    left_out = comp.counts["readers_left_out"]
    if not comp.readers:
        sims = left_out.get("simulated", [])
        hint = (f" Add --include-simulated to compare with the {len(sims)} simulated "
                "reader(s)." if sims else "")
        click.secho(f"No physician reader has a finished session on {name!r}: the report "
                    f"holds the models only.{hint}", fg="yellow", err=True)
    if renderer is None:
        click.secho("The figure and the PDF were skipped: no renderer (Qt) in this build.",
                    fg="yellow", err=True)
    data = {"study": comp.study, "run": comp.run, "controls": comp.controls,
            "simulated_included": comp.simulated_included, **files.to_dict(),
            "readers": [{"name": r.name, "kind": r.kind} for r in comp.readers],
            "readers_left_out": left_out, "exclusions": list(comp.exclusions),
            "aided": aided,
            "warnings": list(comp.notes),
            "tables": {**{name: t.to_dict() for name, t in table_map(comp).items()},
                       **{t.name: t.to_dict() for t in audit_tables(comp)},
                       **{t.name: t.to_dict() for t in comparison_agreement(comp)},
                       **{t.name: t.to_dict() for t in history_tables(comp)}},
            "baseline_warning": comp.audit.warning,
            "runs": runs_table(comp).to_dict()}

    def render() -> None:
        click.echo(f"Report of {comp.study!r} (run {comp.run}, {comp.positive} vs. "
                   f"{comp.controls} controls) written to {files.out_dir}")
        if comp.simulated_included:
            click.secho("SIMULATED readers are included (not physicians).", bold=True)
        if comp.audit.warning:
            click.secho(comp.audit.warning, fg="red", bold=True)
        tables = {"runs": runs_table(comp), **table_map(comp)}
        for name in ("runs", "auc", "mrmc_readers"):
            t = tables[name]
            if t.rows:
                click.secho(t.title, bold=True)
                table(t.headers(), t.texts())
        click.echo("Open " + str(files.files["html"]) + ". Research use only.")

    emit(_plain(data), as_json, render)
