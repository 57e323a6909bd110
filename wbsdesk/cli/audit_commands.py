"""The audit command: calibration, subgroups and confounds of a study's models and readers."""

from __future__ import annotations

import warnings
from typing import Any

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.errors import WbsdeskWarning

#: The parts of the audit, in the order they are printed.
PARTS = ("calibration", "subgroups", "confound")
#: Long free-text columns left out of the printed tables (they are in --json).
_HIDDEN = {"source", "unit"}


def _print_table(t: Any) -> None:
    shown = [i for i, c in enumerate(t.columns) if c.key not in _HIDDEN]
    click.echo("")
    click.secho(t.title, bold=True)
    if not t.rows:
        click.echo("  (none)")
    else:
        table([t.columns[i].title for i in shown],
              [[t.columns[i].text(r[i]) for i in shown] for r in t.rows])
    for note in t.notes:
        click.echo(f"  Note: {note}")


def _json_table(t: Any) -> dict[str, Any]:
    return {"title": t.title,
            "columns": [{"key": c.key, "title": c.title, "unit": c.unit, "kind": c.kind}
                        for c in t.columns],
            "rows": t.records(), "notes": list(t.notes)}


@cli.command("audit")
@click.argument("name")
@click.option("--run", default=None,
              help="Training run (default: the latest finished one; none: no models).")
@click.option("--by", "by", multiple=True, metavar="COLUMN",
              help="Also split the subgroup audit by this manifest metadata column "
                   "(repeatable), e.g. ancestry, photo source or expression. Sex and age "
                   "bands are always shown.")
@click.option("--controls", default="all", show_default=True,
              help="Controls for calibration and subgroups: 'all' or one control group.")
@click.option("--only", "only", multiple=True, type=click.Choice(PARTS),
              help="Run only these parts (repeatable; default: all three).")
@click.option("--include-simulated", is_flag=True,
              help="Include simulated readers (the demo's stand-ins, marked everywhere).")
@click.option("--include-dry-run", is_flag=True, help="Include dry-run (rehearsal) readers.")
@json_option
@click.pass_obj
def audit_cmd(obj: Ctx, name: str, run: str | None, by: tuple[str, ...], controls: str,
              only: tuple[str, ...], include_simulated: bool, include_dry_run: bool,
              as_json: bool) -> None:
    """Audit the models and readers of NAME before believing them.

    Calibration (reliability diagram, expected calibration error and Brier score of each
    model's out-of-fold probabilities; readers' share of target-group photos per rating
    level), AUC within subgroups (sex, age bands, --by columns) with a test of a
    difference, and confounds (capture statistics by group and a trivial baseline on the
    CNN's folds).
    """
    from wbsdesk.services.audit import calibration_audit, subgroup_audit
    from wbsdesk.services.audit_data import load_audit_cases
    from wbsdesk.services.confound import confound_audit

    parts = [p for p in PARTS if p in only] if only else list(PARTS)
    results: dict[str, Any] = {}
    with obj.open() as ws, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WbsdeskWarning)
        try:
            cases = load_audit_cases(ws, name, run=run, include_simulated=include_simulated,
                                     include_dry_run=include_dry_run)
            if "calibration" in parts:
                results["calibration"] = calibration_audit(ws, name, controls=controls,
                                                           cases=cases)
            if "subgroups" in parts:
                results["subgroups"] = subgroup_audit(ws, name, by=by, controls=controls,
                                                      cases=cases)
            if "confound" in parts:
                results["confound"] = confound_audit(ws, name, cases=cases)
        finally:
            shown = dict.fromkeys(str(w.message) for w in caught
                                  if issubclass(w.category, WbsdeskWarning))
            if not as_json:
                for text in shown:
                    click.secho(f"Warning: {text}", fg="yellow", err=True)
    confound = results.get("confound")
    data: dict[str, Any] = {
        "study": cases.study.name, "run": cases.run, "positive": cases.positive,
        "controls": controls, "warnings": list(shown),
        "baseline_warning": confound.warning if confound else None,
        "padding": confound.padding if confound else None,
        "parts": {part: {t.name: _json_table(t) for t in res.tables()}
                  for part, res in results.items()},
    }

    def render() -> None:
        click.echo(f"Audit of {cases.study.name!r} (run {cases.run or 'none'}, "
                   f"{cases.positive} vs. {controls} controls)")
        if confound is not None and confound.warning:
            click.secho(f"\n{confound.warning}", fg="red", bold=True)
        for res in results.values():
            for t in res.tables():
                _print_table(t)

    emit(data, as_json, render)
