"""The ``wbsdesk`` command line: a thin click layer over :mod:`wbsdesk.services`."""

from wbsdesk.cli import admin_commands as _admin_commands  # noqa: F401  (registers them)
from wbsdesk.cli import aid_commands as _aid_commands  # noqa: F401
from wbsdesk.cli import audit_commands as _audit_commands  # noqa: F401
from wbsdesk.cli import bundle_commands as _bundle_commands  # noqa: F401
from wbsdesk.cli import commands as _commands  # noqa: F401  (registers the commands)
from wbsdesk.cli import face_commands as _face_commands  # noqa: F401
from wbsdesk.cli import plan_commands as _plan_commands  # noqa: F401
from wbsdesk.cli import reading_commands as _reading_commands  # noqa: F401
from wbsdesk.cli import report_commands as _report_commands  # noqa: F401
from wbsdesk.cli import session_commands as _session_commands  # noqa: F401
from wbsdesk.cli import train_commands as _train_commands  # noqa: F401
from wbsdesk.cli.base import cli, register_gui

__all__ = ["cli", "register_gui"]
