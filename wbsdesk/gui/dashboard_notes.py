"""The Dashboard's caveats as visible text: who was left out, what is undefined, what is missing.

A comparison's exclusions ("4 simulated reader(s) left out", "session 3 not finished, left
out") and notes ("No reader is included", undefined precision of a fold, unread photos) are
shown under the run line, most important first: exclusions, then whether readers are
compared at all, then the rest. With many notes the first :data:`SHOWN` stay on screen and a
link shows the others (and hides them again), so the plot keeps its room in a small window.
Undefined values read "n/a", as in the tables.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from wbsdesk.services.reports import shown_note

#: Notes always on screen; more are behind "show all".
SHOWN = 2


def _rank(note: str) -> int:
    """Caveats that change what the comparison means come first."""
    if note.startswith(("No reader", "Only one reader")):
        return 0
    return 1 if "left out" in note or note.startswith("Reader comparisons use") else 2


def ordered_notes(exclusions: Sequence[str], notes: Sequence[str]) -> list[str]:
    """Exclusions, then the notes by importance (stable), in people's words (``n/a``)."""
    return [shown_note(n) for n in (*exclusions, *sorted(notes, key=_rank))]


class NotesLabel(QLabel):
    """The caveats of the comparison on show, as text (never only in a tooltip)."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.setStyleSheet("QLabel { color:#444444; }")
        self.notes: list[str] = []
        self.expanded = False
        self.linkActivated.connect(self._on_link)
        self.hide()

    def set_notes(self, exclusions: Sequence[str], notes: Sequence[str]) -> None:
        """Show these caveats (collapsed to the first few when there are many)."""
        self.notes = ordered_notes(exclusions, notes)
        self._render()

    def set_expanded(self, on: bool) -> None:
        """Show every note, or only the first :data:`SHOWN`."""
        self.expanded = on
        self._render()

    def shown_notes(self) -> list[str]:
        """The notes on screen now."""
        return self.notes if self.expanded else self.notes[:SHOWN]

    def _on_link(self, link: str) -> None:
        self.set_expanded(link == "more")

    def _render(self) -> None:
        self.setVisible(bool(self.notes))
        if not self.notes:
            self.clear()
            return
        text = "<b>Notes:</b> " + " · ".join(html.escape(n) for n in self.shown_notes())
        hidden = len(self.notes) - SHOWN
        if hidden > 0:
            text += (" <a href='less'>(fewer notes)</a>" if self.expanded else
                     f" · <a href='more'>{hidden} more note(s)…</a>")
        self.setText(text)
