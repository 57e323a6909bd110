"""Session commands of the study administrator: the resume policy and teaching sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from wbsdesk.cli.base import Ctx, emit, json_option, table
from wbsdesk.cli.reading_commands import session

TeachingLauncher = Callable[..., dict[str, Any]]
# The GUI function that opens the teaching screen in a window (registered by
# wbsdesk.__main__; the CLI never imports the GUI package).
_teaching_launcher: list[TeachingLauncher] = []


def register_teaching_launcher(launcher: TeachingLauncher) -> None:
    """Let ``wbsdesk session train-readers`` open the teaching screen."""
    _teaching_launcher[:] = [launcher]


@session.command("resume-policy")
@click.argument("name")
@click.option("--reader", "reader_name", default=None,
              help="The reader whose interrupted session to check or decide on (without it: "
                   "the study's session history).")
@click.option("--restart", "decision", flag_value="restart", default=None,
              help="Restart the expired session: its reads are kept but void (left out of "
                   "every analysis); the reader starts afresh.")
@click.option("--continue", "decision", flag_value="continue",
              help="Let the expired session continue where it stopped (recorded as a "
                   "protocol deviation).")
@click.option("--reason", default="", help="Why (stored with the decision, shown in the "
                                            "report).")
@json_option
@click.pass_obj
def resume_policy_cmd(obj: Ctx, name: str, reader_name: str | None, decision: str | None,
                      reason: str, as_json: bool) -> None:
    """Check or decide on sessions interrupted past the protocol's resume limit.

    An interrupted session resumes where it stopped only within [reading]
    resume_within_hours of its last read. After that the reader is told to call the
    administrator, who restarts it (--restart) or lets it continue (--continue). Both are
    audited and listed in the report's Session history. Without --reader: that history.
    """
    from wbsdesk.services import session_policy as sp

    if decision is not None and reader_name is None:
        raise click.UsageError("--restart and --continue need --reader")
    with obj.open() as ws:
        if reader_name is None:
            t = sp.study_history_table(ws, name)
            emit(t.to_dict(), as_json, lambda: _show_table(t))
            return
        if decision is None:
            state = sp.expired_session(ws, name, reader_name)
            data = {"expired": state is not None,
                    **(state.to_dict() if state else {"study": name, "reader": reader_name})}

            def render() -> None:
                if state is None:
                    click.echo(f"{reader_name} has no session on {name!r} past the resume "
                               "limit: an interrupted one simply resumes.")
                else:
                    click.echo(state.describe() + ".")
                    click.echo("Decide with --restart (reads kept but void) or --continue "
                               "(a protocol deviation), and --reason TEXT.")

            emit(data, as_json, render)
            return
        out = sp.decide_expired(ws, name, reader_name, decision, reason=reason, via="cli")

    def done() -> None:
        what = ("restarted: its reads are kept but void, and the reader starts afresh"
                if decision == "restart" else "continues where it stopped (recorded as a "
                "protocol deviation)")
        click.echo(f"Session {out['session']} of {reader_name} on {name!r} (idle "
                   f"{out['hours_idle']:.1f} h, limit {out['limit_hours']:g} h) {what}.")

    emit(out, as_json, done)


def _show_table(t: Any) -> None:
    click.secho(t.title, bold=True)
    if t.rows:
        table(t.headers(), t.texts())
    else:
        click.echo(t.empty_text)


@session.command("train-readers")
@click.argument("name")
@click.option("--reader", "reader_name", default=None,
              help="The reader to teach (opens the teaching screen).")
@click.option("--seed", type=int, default=None, help="Order seed of a new teaching session.")
@click.option("--list", "list_only", is_flag=True,
              help="List the study's teaching sessions instead.")
@json_option
@click.pass_obj
def train_readers_cmd(obj: Ctx, name: str, reader_name: str | None, seed: int | None,
                      list_only: bool, as_json: bool) -> None:
    """Teaching session on study NAME: the truth (group, right or wrong) after each answer.

    For teaching readers after their study reads. The screen is marked TEACHING SESSION;
    its answers are stored apart and never enter any analysis, report, bundle, sizing or
    agreement. A reader who had one cannot start a study session on NAME afterwards.
    """
    from wbsdesk.services.teaching import teaching_history

    if list_only:
        with obj.open() as ws:
            rows = teaching_history(ws, name)

        def render() -> None:
            if not rows:
                click.echo(f"No teaching sessions on {name!r} yet.")
                return
            table(["reader", "started", "status", "read", "correct"],
                  [[r["reader"], r["started_at"][:16], r["status"],
                    f"{r['photos_read']} / {r['photos_total']}", r["correct"]] for r in rows])

        emit(rows, as_json, render)
        return
    if reader_name is None:
        raise click.UsageError("give --reader NAME (or --list)")
    if not _teaching_launcher:
        raise click.ClickException("the teaching screen is not available in this build")
    summary = _teaching_launcher[0](workspace=obj.workspace_path, study=name,
                                    reader=reader_name, seed=seed)

    def render_summary() -> None:
        if summary.get("teaching_session") is None:
            click.echo("The teaching session did not start.")
            return
        click.echo(f"Teaching session {summary['teaching_session']} of {reader_name!r} on "
                   f"{name!r}: {summary['photos_read']} of {summary['photos_total']} photos, "
                   f"{summary['correct']} right" + (" (finished)." if summary["finished"]
                                                    else " (stopped; resumes next time)."))

    emit(summary, as_json, render_summary)
