"""Errors a user can act on, and cancellation (which is never shown as an error)."""

from __future__ import annotations

from dataclasses import dataclass


class WbsdeskWarning(UserWarning):
    """A warning raised by wbsdesk itself (tests turn these into errors)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with user input: where it is and why it is wrong."""

    file: str
    row: int | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}, row {self.row}"
        return f"{where}: {self.reason}"


class UserError(Exception):
    """Something the user can fix; shown as a plain message, never as a traceback.

    Parameters
    ----------
    message : str
        What went wrong, in words a user understands.
    hint : str, optional
        What to do about it.
    problems : list of Problem, optional
        Every individual problem found (file, row, reason), for reports and tables.
    """

    def __init__(self, message: str, *, hint: str | None = None,
                 problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.problems = list(problems or [])

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {p}" for p in self.problems]
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)


class Cancelled(Exception):  # noqa: N818 - a state, not an error
    """A job stopped because the user asked it to."""
