"""``wbsdesk plan``: how many readers and cases a reader study needs (OR/Hillis power)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from wbsdesk.cli.base import Ctx, cli, emit, json_option, table
from wbsdesk.errors import UserError

_TYPED = ("var_tr", "cov1", "cov2", "cov3", "var_error", "pilot_cases")


def parse_readers(values: tuple[str, ...]) -> list[int] | None:
    """``("4-6", "10,12")`` -> ``[4, 5, 6, 10, 12]``; None when nothing was given."""
    from wbsdesk.core.sizing_plan import parse_counts

    return parse_counts(values, what="--readers")


def _pilot(obj: Ctx, name: str | None, design: str | None, typical: str | None,
           pilot_file: Path | None, typed: dict[str, Any], run: str | None,
           model: str | None, controls: str, include_simulated: bool | None,
           include_dry_run: bool, cov: str) -> Any:
    from wbsdesk.services import planning

    given = {k: v for k, v in typed.items() if v is not None}
    sources = [s for s, on in (("a study NAME", name is not None),
                               ("--typical", typical is not None),
                               ("--pilot-file", pilot_file is not None),
                               ("typed components (--var-tr ...)", bool(given))) if on]
    if len(sources) != 1:
        raise UserError("Give exactly one source of variance components: a study NAME, "
                        "--pilot-file, --typical, or all of --var-tr --cov1 --cov2 --cov3 "
                        "--var-error --pilot-cases"
                        + (f" (got {' and '.join(sources)})." if sources else "."))
    if name is not None:
        with obj.open() as ws:
            return planning.study_pilot(ws, name, design=design or "readers-vs-model",
                                        run=run, model=model, controls=controls,
                                        include_simulated=include_simulated,
                                        include_dry_run=include_dry_run, cov=cov)
    if design == "readers-vs-model" and pilot_file is not None:
        raise UserError("A pilot file holds two modalities: it sizes the aided design.",
                        hint="use --design aided, or plan readers vs. model from a study")
    if pilot_file is not None:
        return planning.file_pilot(pilot_file, cov=cov)
    if typical is not None:
        return planning.typical_pilot(typical, design=design or "aided")
    missing = [f"--{k.replace('_', '-')}" for k in _TYPED if typed[k] is None]
    if missing:
        raise UserError(f"Typed variance components need {', '.join(missing)} as well.")
    return planning.typed_pilot(**given, design=design or "aided")


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else \
        f"{v:.{digits}f}"


def _render(plan: Any) -> None:
    from wbsdesk.services.planning import ANALYSES, DESIGNS

    p = plan.pilot
    c = p.components
    click.echo(f"Study plan: {DESIGNS[p.design]}; {ANALYSES[plan.analysis]} "
               "(Obuchowski-Rockette / Hillis)")
    click.echo(f"Pilot: {p.source}")
    if p.aucs:
        aucs = ", ".join(f"{k} {v:.3f}" for k, v in p.aucs.items())
        click.echo(f"  AUC: {aucs}; observed difference {p.effect:+.4f}")
    if p.reference:
        click.echo(f"  Source: {p.reference}")
    click.echo(f"  var_TR {c.var_tr:.4g}  cov1 {c.cov1:.4g}  cov2 {c.cov2:.4g}  "
               f"cov3 {c.cov3:.4g}  var_error {c.var_error:.4g}  pilot cases {c.pilot_cases}")
    how = "the pilot's observed difference" if plan.effect_observed else "given"
    click.echo(f"Effect size {abs(plan.effect):.4f} ({how}), alpha {plan.alpha:g}, "
               f"desired power {plan.target_power:g}")
    click.echo()
    headers = ["Readers", "Cases needed", "Positive + controls", "Power",
               "Power, unlimited cases", *[f"Power at {k} cases" for k in plan.cases]]
    rows = []
    for r in plan.rows:
        need = (str(r.cases_needed) if r.cases_needed is not None
                else ("never" if r.limit_power <= plan.target_power
                      else f"> {plan.max_cases}"))
        split = f"{r.positives} + {r.controls}" if r.positives is not None else ""
        rows.append([r.readers, need, split, _fmt(r.power), _fmt(r.limit_power),
                     *[_fmt(r.power_at[k]) for k in plan.cases]])
    table(headers, rows)
    never = [r.readers for r in plan.rows if r.cases_needed is None
             and r.limit_power <= plan.target_power]
    if never:
        click.echo(f"\nWith {', '.join(map(str, never))} reader(s) no number of cases reaches "
                   f"power {plan.target_power:g}: the readers' own spread (var_TR) limits it.")
    for note in p.notes:
        click.echo(f"Note: {note}")


@cli.command("plan")
@click.argument("name", required=False)
@click.option("--design", type=click.Choice(["readers-vs-model", "aided"]), default=None,
              help="What the pivotal study compares (default: readers-vs-model for a "
                   "study NAME, aided otherwise).")
@click.option("--analysis", type=click.Choice(["RRRC", "FRRC", "RRFC"],
                                              case_sensitive=False),
              default="RRRC", show_default=True,
              help="RRRC: random readers and cases; FRRC: fixed readers; RRFC: fixed cases.")
@click.option("--readers", "readers", multiple=True, metavar="J",
              help="Numbers of readers: 6, 4-12 or 4,6,8 (repeatable; default 4-20 in steps "
                   "and the pilot's).")
@click.option("--cases", "cases", multiple=True, type=click.IntRange(2), metavar="K",
              help="Also give the power at K cases (repeatable).")
@click.option("--power", type=float, default=0.8, show_default=True, help="Desired power.")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="Significance level (two-sided).")
@click.option("--effect", type=float, default=None,
              help="AUC difference to detect (default: the pilot's observed difference).")
@click.option("--typical", is_flag=False, flag_value="van-dyke-1993", default=None,
              metavar="[SET]", help="Use a published typical set (van-dyke-1993).")
@click.option("--pilot-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Two-modality iMRMC file of pilot reads (unaided first, aided second).")
@click.option("--var-tr", type=float, default=None, help="Typed: modality x reader variance.")
@click.option("--cov1", type=float, default=None, help="Typed: same reader, other modality.")
@click.option("--cov2", type=float, default=None, help="Typed: other reader, same modality.")
@click.option("--cov3", type=float, default=None, help="Typed: other reader and modality.")
@click.option("--var-error", type=float, default=None, help="Typed: AUC error variance.")
@click.option("--pilot-cases", type=int, default=None,
              help="Typed: the pilot's number of cases K*.")
@click.option("--run", default=None, help="Training run (default: the latest finished one).")
@click.option("--model", default=None,
              help="Architecture of the run, or 'ensemble' (default: the ensemble).")
@click.option("--controls", default="all", show_default=True,
              help="'all', or one control group of the protocol.")
@click.option("--include-simulated/--no-include-simulated", default=None,
              help="Use simulated readers (default: only in the synthetic demo study).")
@click.option("--include-dry-run", is_flag=True, help="Use dry-run (rehearsal) readers.")
@click.option("--cov", type=click.Choice(["jackknife", "delong"]), default="jackknife",
              show_default=True, help="Covariance estimate of the pilot's AUCs.")
@click.option("--max-cases", type=click.IntRange(2, 1_000_000), default=10_000,
              show_default=True, help="Largest number of cases searched.")
@json_option
@click.pass_obj
def plan_cmd(obj: Ctx, name: str | None, design: str | None, analysis: str,
             readers: tuple[str, ...], cases: tuple[int, ...], power: float, alpha: float,
             effect: float | None, typical: str | None, pilot_file: Path | None,
             var_tr: float | None, cov1: float | None, cov2: float | None,
             cov3: float | None, var_error: float | None, pilot_cases: int | None,
             run: str | None, model: str | None, controls: str,
             include_simulated: bool | None, include_dry_run: bool, cov: str,
             max_cases: int, as_json: bool) -> None:
    """How many readers and cases a study needs to show a difference of AUCs.

    Power and the smallest number of cases for each number of readers, by the
    Obuchowski-Rockette / Hillis method (Hillis, Obuchowski & Berbaum 2011). The variance
    components come from one source: study NAME's pilot reads against its model, a
    two-modality --pilot-file, --typical, or typed --var-tr --cov1 --cov2 --cov3
    --var-error --pilot-cases.
    """
    from wbsdesk.services.planning import make_plan

    js = parse_readers(readers)
    typed = {"var_tr": var_tr, "cov1": cov1, "cov2": cov2, "cov3": cov3,
             "var_error": var_error, "pilot_cases": pilot_cases}
    pilot = _pilot(obj, name, design, typical, pilot_file, typed, run, model, controls,
                   include_simulated, include_dry_run, cov)
    plan = make_plan(pilot, readers=js, cases=cases, effect=effect, alpha=alpha, power=power,
                     analysis=analysis.upper(), max_cases=max_cases)  # type: ignore[arg-type]
    emit(plan.to_dict(), as_json, lambda: _render(plan))
