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
    """Set the admin passphrase, or change it (asks for the current one first)."""
    with obj.open() as ws:
        current = None
        if admin.has_passphrase(ws):
            current = click.prompt("Current admin passphrase", hide_input=True)
            if not admin.verify_passphrase(ws, current):
                raise UserError("the current admin passphrase is not correct",
                                hint="if it is forgotten: 'wbsdesk admin forget-passphrase'")
        new = click.prompt("New admin passphrase", hide_input=True,
                           confirmation_prompt="Repeat the new admin passphrase")
        admin.set_passphrase(ws, new, current=current)
    click.echo("Admin passphrase set.")


@admin_group.command("forget-passphrase")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget_passphrase_cmd(obj: Ctx, yes: bool) -> None:
    """Remove a forgotten admin passphrase; the GUI asks for a new one on next use (audited)."""
    with obj.open() as ws:
        if not admin.has_passphrase(ws):
            click.echo("No admin passphrase is set.")
            return
        if not yes:
            click.confirm("Remove the admin passphrase of this workspace? Until a new one is "
                          "set, the admin views open for whoever sets it", abort=True)
        admin.forget_passphrase(ws)
    click.echo("Admin passphrase removed; the next admin view asks for a new one.")
