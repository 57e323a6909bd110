"""The dashboard's "Agreement" tab: intra-reader (repeat reads) and inter-reader agreement.

The comparison on show carries its agreement
(:func:`wbsdesk.services.agreement.attach_agreement`, computed with the comparison off the
GUI thread); this tab only shows its two tables
(:func:`wbsdesk.services.agreement_tables.agreement_tables`, by
:func:`~wbsdesk.gui.tables.make_result_table`, so they read as the report and its CSVs),
each under its title and above its footnotes, or the reason it is empty.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QTableWidget, QVBoxLayout, QWidget

from wbsdesk.gui.tables import make_result_table, min_table_height, table_tsv
from wbsdesk.services.agreement_tables import comparison_agreement

__all__ = ["AGREEMENT_TAB", "AgreementTabWidget"]

#: Name of the dashboard tab.
AGREEMENT_TAB = "Agreement"
NOTE_STYLE = "QLabel { color:#444444; }"


def _content_height(t: QTableWidget) -> int:
    """The height that shows every row of ``t`` (rows as tall as their text)."""
    t.resizeRowsToContents()
    return (t.horizontalHeader().sizeHint().height() + 2 * t.frameWidth() + 2
            + sum(t.rowHeight(r) for r in range(t.rowCount())))


class AgreementTabWidget(QScrollArea):
    """Both agreement tables of the comparison on show."""

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self._inner = QWidget()
        self._box = QVBoxLayout(self._inner)
        self.setWidget(self._inner)
        self.sub: dict[str, QTableWidget] = {}
        self._tables: tuple[Any, ...] = ()

    def clear(self) -> None:
        """Show nothing."""
        while self._box.count():
            item = self._box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sub = {}

    def _label(self, text: str, *, note: bool = False) -> QLabel:
        label = QLabel(text)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if note:
            label.setStyleSheet(NOTE_STYLE)
        self._box.addWidget(label)
        return label

    def show_comparison(self, comp: Any) -> None:
        """Show the agreement of ``comp`` (a line saying so when none is attached)."""
        self.clear()
        tables = self._tables = comparison_agreement(comp)
        if not tables:
            self._label("<i>No agreement was computed for this comparison.</i>")
            self._box.addStretch(1)
            return
        for t in tables:
            self._label(f"<b>{html.escape(t.title)}</b>")
            if t.rows:
                w = make_result_table(t)
                w.setFixedHeight(max(_content_height(w), min_table_height(w, rows=2)))
                self.sub[t.name] = w
                self._box.addWidget(w)
                self._label(html.escape(" ".join(t.footnotes())), note=True)
            else:
                self._label(html.escape(t.empty_text), note=True)
        self._box.addStretch(1)

    def tsv(self) -> str:
        """Both tables as shown, as TSV, each after its title (empty when none)."""
        return "\n".join(f"{t.title}\n{table_tsv(self.sub[t.name])}"
                         for t in self._tables if t.name in self.sub)
