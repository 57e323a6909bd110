"""The Studies view: the workspace's studies, and the selected one's groups and folds."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.services import studies as study_service
from wbsdesk.services.workspace import Workspace


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
    h = t.horizontalHeader().height() + 2 * t.frameWidth()
    h += sum(t.rowHeight(r) for r in range(t.rowCount()))
    t.setFixedHeight(h)


class StudiesWidget(QWidget):
    """The workspace's studies, and the selected one's groups and folds."""

    def __init__(self, ws: Workspace, study: str | None = None) -> None:
        super().__init__()
        self._ws = ws
        self.studies_table = make_table(["Study", "Protocol", "Subjects", "Photos", "Data"])
        self.groups_table = make_table(["Group", "Subjects", "Excluded", "Photos", "Primary"])
        self.folds_label = QLabel()
        self.folds_table = make_table(["Subset"])
        self.title = QLabel()
        self.title.setWordWrap(True)
        f = QFont(self.title.font())
        f.setPointSizeF(f.pointSizeF() * 1.3)
        f.setBold(True)
        self.title.setFont(f)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty = QLabel()
        self.empty.setWordWrap(True)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(QLabel("<b>Studies in this workspace</b>"))
        lv.addWidget(self.studies_table)
        lv.addWidget(self.empty)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.addWidget(self.title)
        rv.addWidget(self.details)
        rv.addWidget(self.groups_table)
        rv.addWidget(self.folds_label)
        rv.addWidget(self.folds_table)
        rv.addStretch(1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([520, 680])
        QVBoxLayout(self).addWidget(split)
        self.studies_table.itemSelectionChanged.connect(self._on_selection_changed)
        self.refresh(select=study)

    def refresh(self, select: str | None = None) -> None:
        """Reload the list of studies and select ``select`` (or the first)."""
        rows = study_service.list_studies(self._ws)
        self._names = [r["name"] for r in rows]
        fill_table(self.studies_table, [[r["name"], r["protocol"], r["subjects"], r["photos"],
                                    "SYNTHETIC" if r["synthetic"] else "real"] for r in rows])
        self.empty.setText("" if rows else
                           "No studies yet. Build the demo with <tt>wbsdesk demo</tt>, or "
                           "create one with <tt>wbsdesk study create</tt>.")
        if rows:
            idx = self._names.index(select) if select in self._names else 0
            self.studies_table.selectRow(idx)
        else:
            self._show(None)

    def _on_selection_changed(self) -> None:
        sel = self.studies_table.selectionModel().selectedRows()
        self._show(self._names[sel[0].row()] if sel else None)

    def _show(self, name: str | None) -> None:
        if name is None:
            self.title.setText("")
            fill_table(self.groups_table, [])
            self.details.setText("")
            self.folds_label.setText("")
            self.folds_table.hide()
            return
        info = study_service.show_study(self._ws, name)
        tag = "  [synthetic data]" if info["synthetic"] else ""
        self.title.setText(f"{info['name']}{tag}")
        fill_table(self.groups_table, [
            [v["label"] + ("  (target)" if v["positive"] else ""), v["subjects"],
             v["excluded"], v["photos"], v["primary_photos"]]
            for v in info["groups"].values()])
        fit_height(self.groups_table)
        f = info["folds"]
        folds = (f"{f['k']} folds, seed {f['seed']}" if f["assigned"]
                 else "not assigned yet")
        self.details.setText(f"<p>{info['title']}</p><p>Protocol: <b>{info['protocol']}</b>"
                             f"<br>Subjects: {info['subjects']}, photos: {info['photos']}"
                             f"<br>Cross-validation folds: {folds}</p>")
        report = study_service.fold_report(self._ws, name)
        self.folds_table.setVisible(report is not None)
        if report is None:
            self.folds_label.setText("")
            return
        self.folds_label.setText("<b>Subjects per fold and group</b> (Table 3)")
        labels = [info["groups"][g]["label"] for g in report.groups]
        self.folds_table.setColumnCount(len(labels) + 2)
        self.folds_table.setHorizontalHeaderLabels(["Subset", *labels, "Total"])
        header = self.folds_table.horizontalHeader()
        for c in range(self.folds_table.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        rows = []
        for i in range(report.k):
            counts = [report.table[g][i] for g in report.groups]
            rows.append([f"Subset {i + 1}", *counts, sum(counts)])
        fill_table(self.folds_table, rows)
        fit_height(self.folds_table)
