"""Qt tables: the renderer of result tables, and the plain tables of the other views.

:func:`make_result_table` shows a :class:`~wbsdesk.core.result_table.ResultTable` in a
read-only, sortable ``QTableWidget``: its headers, the cell texts its columns write (the
same as the CSV's numbers, the HTML and the PDF), numbers right-aligned and sorted as
numbers (:meth:`~wbsdesk.core.result_table.Column.sort_key`). It computes and renames
nothing. :func:`table_tsv` gives a table as shown (current sort order) as tab-separated
text. :func:`make_table`, :func:`fill_table` and :func:`fit_height` serve the simple tables
of the Studies view and the wizard (shared here, so those views do not import each other).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
)

from wbsdesk.core.csv_export import safe_cell
from wbsdesk.core.result_table import Column, ResultTable

__all__ = ["MIN_ROWS", "SORT_ROLE", "CompactHeader", "fill_table", "fit_height",
           "line_height", "make_result_table", "make_table", "min_table_height", "shown_text",
           "table_tsv", "two_lines"]

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: One-line rows every result table shows without scrolling (also in the default window).
MIN_ROWS = 8
#: Text cells longer than this take two lines (reader names, roles).
TEXT_ONE_LINE = 24
#: Result-table headers longer than this take two lines.
HEADER_ONE_LINE = 13
#: Widest a result table may be with every cell on one line (px): the room for a table in
#: the default 1200 x 760 window. A wider one breaks its long cells (:func:`shown_text`).
ONE_LINE_WIDTH = 940


def two_lines(label: str, longer_than: int = 19) -> str:
    """A long header broken at the space nearest its middle (shown, not renamed)."""
    spaces = [i for i, ch in enumerate(label) if ch == " "]
    if len(label) <= longer_than or not spaces:
        return label
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return f"{label[:cut]}\n{label[cut + 1:]}"


class CompactHeader(QHeaderView):
    """A horizontal header that keeps room for the sort arrow in the sorted column only.

    Qt widens *every* section of a sortable table by the header's height (so two-line
    headers cost 30+ px per column, and Table 5 overflowed the default window); here only
    the column sorted by gets that room, and the columns are fitted again when the sort
    column changes, so no header is ever elided.
    """

    def __init__(self, parent: QTableWidget) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionsClickable(True)
        self.setHighlightSections(False)
        self.sortIndicatorChanged.connect(lambda *_: self.resizeSections())

    def sectionSizeFromContents(self, logicalIndex: int) -> QSize:  # noqa: N802, N803
        size = super().sectionSizeFromContents(logicalIndex)
        if self.isSortIndicatorShown() and logicalIndex != self.sortIndicatorSection():
            margin = self.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, self)
            size.setWidth(size.width() - size.height() - margin)
        return size


class _SortItem(QTableWidgetItem):
    """A cell that sorts by its key (numbers as numbers)."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(a, float) and isinstance(b, float):
            return a < b
        return str(a if a is not None else "") < str(b if b is not None else "")


def shown_text(column: Column, text: str) -> str:
    """A cell's text with the line breaks that keep a table narrow (the words unchanged):
    a value's interval on a second line, a long name broken near its middle."""
    if column.kind == "estimate" and " (" in text:
        return text.replace(" (", "\n(", 1)
    if column.kind == "text":
        return two_lines(text, longer_than=TEXT_ONE_LINE)
    return text


def line_height(t: QTableWidget) -> int:
    """Height of a one-line row of ``t`` (what ``resizeRowsToContents`` gives it)."""
    return max(t.fontMetrics().height() + 4, t.verticalHeader().minimumSectionSize())


def min_table_height(t: QTableWidget, rows: int = MIN_ROWS) -> int:
    """The height at which ``t`` shows its header and ``rows`` one-line rows."""
    return (t.horizontalHeader().sizeHint().height() + rows * line_height(t)
            + 2 * t.frameWidth())


def make_result_table(table: ResultTable) -> QTableWidget:
    """A read-only, sortable Qt table showing ``table`` (numbers right-aligned).

    Long headers take two lines; so do long cells (:func:`shown_text`; the TSV copy joins
    them again) when the table would be wider than :data:`ONE_LINE_WIDTH` px with every cell
    on one line, and only then (one-line rows show more of a long table). Columns fit
    their text; the table is never shorter than its header and :data:`MIN_ROWS` rows. Each
    column's footnote is its header's tooltip (the footnotes are also shown under the
    table by the view).
    """
    cols = table.columns
    t = QTableWidget(len(table.rows), len(cols))
    t.setHorizontalHeader(CompactHeader(t))
    t.setHorizontalHeaderLabels([two_lines(c.title, HEADER_ONE_LINE) for c in cols])
    for j, c in enumerate(cols):
        if c.note:
            t.horizontalHeaderItem(j).setToolTip(f"{c.title}: {c.note}")
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)  # cells are never squeezed into broken words
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    for r, row in enumerate(table.rows):
        for j, (c, value) in enumerate(zip(cols, row, strict=True)):
            item = _SortItem(c.text(value))
            key = c.sort_key(value)
            item.setData(SORT_ROLE, key)
            if c.numeric:
                item.setTextAlignment(right)
            t.setItem(r, j, item)
    # sortable by a header click, but shown in the table's row order until then
    t.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    t.setSortingEnabled(True)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(False)
    t.resizeColumnsToContents()
    width = sum(header.sectionSize(j) for j in range(len(cols)))
    if width > ONE_LINE_WIDTH:  # too wide on one line: long cells take two
        for r in range(t.rowCount()):
            for j, c in enumerate(cols):
                item = t.item(r, j)
                item.setText(shown_text(c, item.text()))
        t.resizeColumnsToContents()
    t.resizeRowsToContents()
    t.setMinimumHeight(min_table_height(t))
    return t


def table_tsv(t: QTableWidget) -> str:
    """The table as shown (headers, then rows in their current order) as TSV.

    A cell a spreadsheet would run as a formula once pasted (a reader named ``=HYPERLINK(...)``)
    gets a leading apostrophe, as in every CSV file (:func:`~wbsdesk.core.csv_export.safe_cell`).
    """
    cols = range(t.columnCount())

    def flat(s: str) -> str:
        return safe_cell(" ".join(s.split("\n")))

    lines = ["\t".join(flat(t.horizontalHeaderItem(c).text()) for c in cols)]
    for r in range(t.rowCount()):
        lines.append("\t".join(flat(t.item(r, c).text() if t.item(r, c) else "")
                               for c in cols))
    return "\n".join(lines) + "\n"


def make_table(headers: list[str]) -> QTableWidget:
    """A read-only, row-selecting table with the given column headers."""
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return t


def fill_table(t: QTableWidget, rows: list[list[object]]) -> None:
    """Replace the rows of a table (numbers right-aligned)."""
    t.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem("" if value is None else str(value))
            if isinstance(value, int | float):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(r, c, item)


def fit_height(t: QTableWidget) -> None:
    """Make a table exactly as tall as its rows."""
    header = t.horizontalHeader()
    h = max(header.height(), header.sizeHint().height()) + 2 * t.frameWidth()
    h += sum(t.rowHeight(r) for r in range(t.rowCount()))
    t.setFixedHeight(h)
