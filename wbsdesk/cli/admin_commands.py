"""Admin commands: the passphrase that keeps readers out of the study lead's views."""

from __future__ import annotations

import click

from wbsdesk.cli.base import Ctx, cli
from wbsdesk.errors import UserError
from wbsdesk.services import admin


@cli.group("admin")
def admin_group() -> None:
    """The admin passphrase of the GUI's study-lead views."""


@admin_group.command("passphrase")
@click.pass_obj
def passphrase_cmd(obj: Ctx) -> None:
    """Set up the admin passphrase (this makes you the study administrator), or change it
    (asks for the current one first)."""
    with obj.open() as ws:
        current = None
        first = not admin.has_passphrase(ws)
        if not first:
            current = click.prompt("Current admin passphrase", hide_input=True)
            if not admin.verify_passphrase(ws, current):
                raise UserError("the current admin passphrase is not correct",
                                hint="if it is forgotten: 'wbsdesk admin forget-passphrase'")
        new = click.prompt("New admin passphrase", hide_input=True,
                           confirmation_prompt="Repeat the new admin passphrase")
        admin.set_passphrase(ws, new, current=current)
    click.echo("Admin passphrase set up: the app's admin views now need it; readers stay in "
               "reader mode." if first else "Admin passphrase changed.")


@admin_group.command("forget-passphrase")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget_passphrase_cmd(obj: Ctx, yes: bool) -> None:
    """Remove a forgotten admin passphrase (audited); set up a new one afterwards."""
    with obj.open() as ws:
        if not admin.has_passphrase(ws):
            click.echo("No admin passphrase is set.")
            return
        if not yes:
            click.confirm("Remove the admin passphrase of this workspace? Until a new one is "
                          "set up, the admin views stay closed and the app offers to set one "
                          "up to whoever sits at it", abort=True)
        admin.forget_passphrase(ws)
    click.echo("Admin passphrase removed. Set up a new one now with 'wbsdesk admin passphrase'.")
