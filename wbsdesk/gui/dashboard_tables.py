"""The dashboard's tables: a comparison laid out like the paper's tables, as Qt tables.

:func:`comparison_tables` turns a computed
:class:`~wbsdesk.services.analysis.Comparison` into :class:`TableSpec` objects (title,
headers, cells, a note) without computing any statistic: every number comes from the
comparison. Each cell keeps the text shown and a sort key, so the Qt tables sort numbers
as numbers. :func:`make_table` builds a sortable ``QTableWidget`` and :func:`table_tsv`
gives the table as it is shown (current sort order) as tab-separated text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
)

from wbsdesk.services.analysis import Comparison

NA = "n/a"
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: One-line rows every table shows without scrolling (also in the default window).
MIN_ROWS = 8


@dataclass(frozen=True)
class Cell:
    """One table cell: the text shown and the key it sorts by (number or text)."""

    text: str
    key: Any = None


@dataclass(frozen=True)
class TableSpec:
    """A table to show: its tab name, title, column headers, rows of cells and a note."""

    tab: str
    title: str
    headers: tuple[str, ...]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _key(x: Any) -> float:
    return -math.inf if _nan(x) else float(x)


def pct(x: float | None) -> Cell:
    """A fraction shown as a percentage with one decimal."""
    return Cell(NA if _nan(x) else f"{100 * x:.1f}", _key(x))


def pm(mean: float, sd: float) -> Cell:
    """Mean ± SD of fractions, shown in % (sorted by the mean)."""
    sd_text = NA if _nan(sd) else f"{100 * sd:.1f}"
    return Cell(NA if _nan(mean) else f"{100 * mean:.1f} ± {sd_text}", _key(mean))


def num(x: float | None, nd: int = 3) -> Cell:
    """A number with ``nd`` decimals."""
    return Cell(NA if _nan(x) else f"{x:.{nd}f}", _key(x))


def ci(lo: float, hi: float, nd: int = 3) -> Cell:
    """A confidence interval ``lo to hi`` (sorted by its lower end)."""
    text = NA if _nan(lo) or _nan(hi) else f"{lo:.{nd}f} to {hi:.{nd}f}"
    return Cell(text, _key(lo))


def pval(p: float | None) -> Cell:
    """A p-value (``<0.001`` below 0.001)."""
    return Cell(NA if _nan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}"), _key(p))


def text(s: Any) -> Cell:
    """Plain text (integers sort as numbers)."""
    if isinstance(s, int):
        return Cell(str(s), float(s))
    return Cell("" if s is None else str(s), "" if s is None else str(s))


def _table1(c: Comparison) -> TableSpec:
    t = c.table1
    g = c.protocol.groups
    ctrl = ", ".join(g.label(x) for x in c.control_groups)

    def age(d: Any) -> Cell:
        return Cell(f"{d.age_mean:.1f} ± {d.age_sd:.1f}" if not _nan(d.age_mean) else NA,
                    _key(d.age_mean))

    rows = [[text("Number of subjects"), text(t.target.n), text(t.controls.n), text("")],
            [text("Age at photograph, months (mean ± SD)"), age(t.target), age(t.controls),
             pval(t.age_p)],
            [text("Sex, male / female"), text(f"{t.target.male} / {t.target.female}"),
             text(f"{t.controls.male} / {t.controls.female}"), pval(t.sex_p)]]
    return TableSpec("Table 1", "Table 1. Who was analysed",
                     ("Characteristic", two_lines(g.label(c.positive)),
                      two_lines(f"Controls ({ctrl})"), "p"), rows,
                     f"Age: {t.age_test}. Sex: {t.sex_test}.")


def _table3(c: Comparison) -> TableSpec:
    g = c.protocol.groups
    groups = list(c.table3)
    rows = [[text(i + 1), *[text(c.table3[x][i]) for x in groups],
             text(sum(c.table3[x][i] for x in groups))] for i in range(c.k)]
    return TableSpec("Table 3", "Table 3. Photos per cross-validation fold",
                     ("Fold", *[two_lines(g.label(x)) for x in groups], "Total"), rows,
                     "Each fold is the test set once; the models never saw its photos while "
                     "training.")


def _table4(c: Comparison) -> TableSpec:
    st = c.protocol.statistics
    metrics = ("accuracy", "precision", "recall", "specificity", "f1", "auc")
    rows = [[text(m.label), *[pm(m.summary.mean[k], m.summary.sd[k]) for k in metrics],
             num(m.roc.auc), ci(m.delong.ci_low, m.delong.ci_high)] for m in c.models]
    lvl = f"{100 * st.ci_level:g}%"
    return TableSpec(
        "Table 4 · models", "Table 4. CNN models: per-fold results, mean ± SD in %",
        ("Model", "Accuracy %", "Precision %", "Sensitivity %", "Specificity %", "F1 %",
         "AUC %", "Pooled AUC", f"{lvl} CI (DeLong)"), rows,
        f"Mean ± SD over {c.counts['folds']} test folds; a photo counts as positive when the "
        f"model's probability is ≥ {st.threshold}. Pooled AUC: all out-of-fold scores "
        f"together ({c.y.size} photos), the curve drawn. n/a: undefined in at least one fold "
        "(e.g. precision when a model called no photo of that fold positive).")


def _role(r: Any) -> str:
    """A reader's role, and 'simulated' / 'dry run' when the reads are not a physician's."""
    return r.role if r.kind == "physician" else f"{r.role} · {r.kind}"


def _table5(c: Comparison) -> TableSpec:
    # the title says "in %"; short headers keep the table as wide as the window
    headers = ("Reader", "Role", "Accuracy", "Precision", "Sensitivity", "Specificity", "F1",
               "AUC\n(yes/no)", "AUC\n(rating)", "Missing\nreads")
    if c.table5 is None:
        return TableSpec("Table 5 · readers", "Table 5. Readers", headers, [],
                         "No reader is included (tick 'Include simulated readers' to show "
                         "simulated readers).")
    rows = [[text(r.label), text(_role(r)), pct(row.accuracy), pct(row.precision),
             pct(row.recall), pct(row.specificity), pct(row.f1), pct(row.auc),
             pct(r.rating_roc.auc), text(len(r.missing))]
            for r, row in zip(c.readers, c.table5.rows, strict=True)]
    a = c.table5.average
    rows.append([text("Average"), text(""), pct(a.accuracy), pct(a.precision),
                 pct(a.recall), pct(a.specificity), pct(a.f1), pct(a.auc),
                 pct(sum(r.rating_roc.auc for r in c.readers) / len(c.readers)), text("")])
    return TableSpec("Table 5 · readers", "Table 5. Readers' yes/no calls, in %", headers,
                     rows, f"On the {c.paired.size} photos every included reader rated. "
                     "AUC (yes/no) = (sensitivity + specificity) / 2; AUC (rating) uses the "
                     "whole rating scale. n/a: undefined.")


def two_lines(label: str) -> str:
    """A long header broken at the space nearest its middle."""
    spaces = [i for i, ch in enumerate(label) if ch == " "]
    if len(label) < 20 or not spaces:
        return label
    cut = min(spaces, key=lambda i: abs(i - len(label) / 2))
    return f"{label[:cut]}\n{label[cut + 1:]}"


def _delong(c: Comparison) -> TableSpec:
    labels = {**{m.name: m.label for m in c.models}, **{r.name: r.label for r in c.readers}}
    readers = [r.name for r in c.readers]
    tests = {(p.a, p.b): p.test for p in c.delong_model_reader}
    rows = []
    for m in c.models:
        row = [text(m.label)]
        for r in readers:
            t = tests[(m.name, r)]
            p = pval(t.p_value).text
            p = p if p.startswith("<") else f"= {p}"
            row.append(Cell(f"{t.difference:+.3f} [{t.ci_low:+.3f}, {t.ci_high:+.3f}]\n"
                            f"p {p}", _key(t.difference)))
        rows.append(row)
    lvl = f"{100 * c.protocol.statistics.ci_level:g}%"
    return TableSpec("Model vs. reader", "DeLong tests: model AUC minus reader AUC",
                     ("Model \\ reader", *[two_lines(labels[r]) for r in readers]), rows,
                     f"Each cell: AUC difference (model − reader's rating AUC) [{lvl} CI], "
                     f"p-value, on the {c.paired.size} photos every reader rated. Positive: "
                     "the model did better.")


def _mrmc(c: Comparison) -> TableSpec:
    lvl = f"{100 * c.protocol.statistics.ci_level:g}% CI"
    headers = ("Analysis", "Estimate", "Model AUC", lvl, "df", "p")
    if c.mrmc is None:
        why = "no reader" if not c.readers else "only one reader"
        return TableSpec("MRMC", "MRMC: readers as a group", headers, [],
                         f"Not computed: {why} (it needs at least two).")
    m = c.mrmc
    labels = {x.name: x.label for x in c.models}
    rows = [[text(f"Readers' average AUC ({what})"), num(e.auc), text(""), ci(e.ci_low,
                                                                              e.ci_high),
             num(e.df, 1), text("")]
            for e, what in ((m.readers_rating, "ratings"), (m.readers_binary, "yes/no"))]
    rows += [[text(f"Readers − {labels.get(name, name)}"), num(r.readers_minus_model),
              num(r.model_auc), ci(r.ci_low, r.ci_high), num(r.df, 1), pval(r.p_value)]
             for name, r in m.models]
    return TableSpec("MRMC", "MRMC: readers as a group vs. each model", headers, rows,
                     "Obuchowski–Rockette with Hillis df (random readers and cases). "
                     "'Readers − model': negative means the model did better.")


def comparison_tables(c: Comparison) -> list[TableSpec]:
    """The dashboard's tables of a comparison, in tab order.

    Parameters
    ----------
    c : Comparison
        A computed comparison (its numbers are only formatted here).

    Returns
    -------
    list of TableSpec
        Table 4, Table 5, model-vs-reader DeLong matrix, MRMC, Table 1, Table 3.
    """
    return [_table4(c), _table5(c), _delong(c), _mrmc(c), _table1(c), _table3(c)]


TRIAGE_NOTE = ("Photos of the paired set ranked by |readers' mean rating scaled to 0..1 − "
               "model probability| (the ensemble's, else the only model's), highest first. "
               "Each reader's cell is rating · response time. Ground truth is shown, not used "
               "in the ranking. Double-click a row for the photo; Grad-CAM explains a model.")


def triage_table(rows: Sequence[dict[str, Any]]) -> TableSpec:
    """The disagreement-triage table of :func:`wbsdesk.services.triage.disagreements` rows.

    Columns: rank, subject, truth group, score, the models' probabilities (architectures
    then ensemble) and each reader's ``rating · seconds``. Column 0 is the rank (the view
    puts the thumbnail there).
    """
    if not rows:
        return TableSpec("Triage", "Disagreement triage", ("#", "Subject", "Truth"),
                         note=TRIAGE_NOTE)
    first = rows[0]
    models = list(first["models"])
    readers = [two_lines(r["label"]) for r in first["readers"]]
    headers = ("#", "Subject", "Truth", "Disagreement", *(
        f"P {first['model_labels'].get(m, m)}" for m in models), *readers)
    out = []
    for rank, row in enumerate(rows, start=1):
        cells = [Cell(str(rank), float(rank)), text(row["subject"]), text(row["group"]),
                 num(row["score"])]
        cells += [num(row["models"][m]) for m in models]
        for rd in row["readers"]:
            t = rd["response_s"]
            shown = f"{rd['rating']} · {t:.1f} s" if t is not None else f"{rd['rating']} · n/a"
            cells.append(Cell(shown, float(rd["rating"])))
        out.append(cells)
    return TableSpec("Triage", "Disagreement triage", headers, out, TRIAGE_NOTE)


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


def min_table_height(t: QTableWidget, rows: int = MIN_ROWS) -> int:
    """The height at which ``t`` shows its header and ``rows`` one-line rows."""
    return (t.horizontalHeader().sizeHint().height() + rows * line_height(t)
            + 2 * t.frameWidth())


def line_height(t: QTableWidget) -> int:
    """Height of a one-line row of ``t`` (what ``resizeRowsToContents`` gives it)."""
    return max(t.fontMetrics().height() + 4, t.verticalHeader().minimumSectionSize())


def make_table(spec: TableSpec) -> QTableWidget:
    """A read-only, sortable table holding ``spec`` (numbers right-aligned).

    Columns fit their text (headers may hold two lines); the table is never shorter than
    its header and :data:`MIN_ROWS` rows.
    """
    t = QTableWidget(len(spec.rows), len(spec.headers))
    t.setHorizontalHeader(CompactHeader(t))
    t.setHorizontalHeaderLabels(list(spec.headers))
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)  # line breaks are the spec's own ("\n"); cells are never squeezed
    for r, row in enumerate(spec.rows):
        for col, cell in enumerate(row):
            item = _SortItem(cell.text)
            item.setData(SORT_ROLE, cell.key)
            if isinstance(cell.key, float):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(r, col, item)
    # sortable by a header click, but shown in the paper's row order until then
    t.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    t.setSortingEnabled(True)
    header = t.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(False)
    t.resizeColumnsToContents()
    t.resizeRowsToContents()
    t.setMinimumHeight(min_table_height(t))
    return t


def table_tsv(t: QTableWidget) -> str:
    """The table as shown (headers, then rows in their current order) as TSV."""
    cols = range(t.columnCount())
    def flat(s: str) -> str:
        return " ".join(s.split("\n"))

    lines = ["\t".join(flat(t.horizontalHeaderItem(c).text()) for c in cols)]
    for r in range(t.rowCount()):
        lines.append("\t".join(flat(t.item(r, c).text() if t.item(r, c) else "")
                               for c in cols))
    return "\n".join(lines) + "\n"


def cell_texts(rows: Sequence[Sequence[Cell]]) -> list[list[str]]:
    """The shown text of every cell (for tests and copying)."""
    return [[c.text for c in row] for row in rows]
