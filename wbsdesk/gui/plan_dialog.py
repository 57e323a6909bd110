"""'Plan a study': how many readers and cases a reader study needs (OR/Hillis power).

The inputs are those of ``wbsdesk plan``: where the variance components come from (this
study's pilot reads against its model, the published Van Dyke set, or typed values), the
analysis (random or fixed readers / cases), alpha, the desired power, the effect size
(blank: the pilot's observed difference) and the reader counts. The plan is computed by
:func:`wbsdesk.services.planning.make_plan` in a :class:`~wbsdesk.gui.runners.ThreadJob`
(its own database connection); the dialog shows the cases needed per number of readers
in a table (copyable as TSV) and the power against the number of cases, one curve per
number of readers, with the desired power as a dashed line. A refused input clears the
results and says why.

Open it on its own: ``python -m wbsdesk.gui.plan_dialog WORKSPACE [STUDY]``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.jobs import CancelToken, Progress
from wbsdesk.core.sizing_plan import parse_counts
from wbsdesk.errors import UserError
from wbsdesk.gui.runners import ThreadJob
from wbsdesk.services import planning
from wbsdesk.services.workspace import Workspace, open_workspace

#: Sources of the variance components (combo data -> label).
SOURCES = {"study": "This study's pilot reads (readers vs. model)",
           "typical": "Published typical set: Van Dyke et al. 1993",
           "typed": "Typed variance components"}
_TYPED_FIELDS = (("var_tr", "var_TR"), ("cov1", "Cov1"), ("cov2", "Cov2"), ("cov3", "Cov3"),
                 ("var_error", "var_error"))
ERROR_STYLE = "QLabel { color:#a00000; }"


@dataclass(frozen=True)
class PlanRequest:
    """Everything a plan depends on (built from the dialog's inputs)."""

    source: str
    design: str
    analysis: str
    alpha: float
    power: float
    effect: float | None
    readers: list[int] | None
    cases: tuple[int, ...] = ()
    study: str | None = None
    run: str | None = None
    include_simulated: bool | None = None
    controls: str = "all"
    typed: dict[str, float] = field(default_factory=dict)


def compute_plan(root: Path, request: PlanRequest, *, progress: Any,
                 cancel: CancelToken) -> planning.StudyPlan:
    """The plan for ``request`` (opens its own connection for a study's pilot reads)."""
    progress(Progress(0, 1, "planning"))
    cancel.raise_if_cancelled()
    if request.source == "study":
        if not request.study:
            raise UserError("No study is selected to take pilot reads from.")
        with open_workspace(root) as ws:
            pilot = planning.study_pilot(ws, request.study, run=request.run,
                                         include_simulated=request.include_simulated,
                                         controls=request.controls)
    elif request.source == "typical":
        pilot = planning.typical_pilot(design=request.design)  # type: ignore[arg-type]
    else:
        pilot = planning.typed_pilot(**request.typed, design=request.design)  # type: ignore
    plan = planning.make_plan(pilot, readers=request.readers, cases=request.cases,
                              effect=request.effect, alpha=request.alpha,
                              power=request.power, analysis=request.analysis)  # type: ignore
    progress(Progress(1, 1, "done"))
    return plan


def _float(text: str, what: str) -> float:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise UserError(f"{what}: {text.strip()!r} is not a number.") from None


class PlanDialog(QDialog):
    """Plan a study: inputs on the left, the table and the power curves on the right.

    Parameters
    ----------
    ws : Workspace
    study, run : str, optional
        The study (and run) whose pilot reads to use; without a study only the typical
        and typed sources are offered.
    include_simulated : bool, optional
        As in the Dashboard (default: simulated readers only in a synthetic study).
    controls : str
    """

    def __init__(self, ws: Workspace, study: str | None = None, *, run: str | None = None,
                 include_simulated: bool | None = None, controls: str = "all",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plan a study" + (f" — {study}" if study else ""))
        self._root = ws.root
        self._context = {"study": study, "run": run, "include_simulated": include_simulated,
                         "controls": controls}
        self.job: ThreadJob | None = None
        self.plan: planning.StudyPlan | None = None

        self.source = QComboBox()
        for key, label in SOURCES.items():
            if key != "study" or study:
                self.source.addItem(label, key)
        self.design = QComboBox()
        for key, label in planning.DESIGNS.items():
            self.design.addItem(label, key)
        self.analysis = QComboBox()
        for key, label in planning.ANALYSES.items():
            self.analysis.addItem(f"{label} ({key})", key)
        self.alpha = QDoubleSpinBox(decimals=3, minimum=0.001, maximum=0.5, singleStep=0.01,
                                    value=0.05)
        self.power = QDoubleSpinBox(decimals=2, minimum=0.5, maximum=0.99, singleStep=0.05,
                                    value=0.8)
        self.effect = QLineEdit()
        self.effect.setPlaceholderText("the pilot's observed difference")
        self.effect.setToolTip("Difference of reader-averaged AUCs to detect, e.g. 0.05")
        self.readers = QLineEdit()
        self.readers.setPlaceholderText("4-6, 8, 10, 12, 15, 20")
        self.cases = QLineEdit()
        self.cases.setPlaceholderText("optional, e.g. 100, 200")
        self.cases.setToolTip("Also show the power at these numbers of cases")
        form = QFormLayout()
        form.addRow("Variance components", self.source)
        form.addRow("Design", self.design)
        form.addRow("Analysis", self.analysis)
        form.addRow("Alpha", self.alpha)
        form.addRow("Desired power", self.power)
        form.addRow("Effect size (AUC)", self.effect)
        form.addRow("Readers", self.readers)
        form.addRow("Power at cases", self.cases)

        self.typed_box = QGroupBox("Typed variance components (AUC scale)")
        typed_form = QFormLayout(self.typed_box)
        self.typed: dict[str, QLineEdit] = {}
        for key, label in _TYPED_FIELDS:
            edit = QLineEdit()
            edit.setPlaceholderText("e.g. 0.0002")
            self.typed[key] = edit
            typed_form.addRow(label, edit)
        self.pilot_cases = QSpinBox(minimum=2, maximum=1_000_000, value=100)
        typed_form.addRow("Pilot cases (K*)", self.pilot_cases)

        self.compute_button = QPushButton("Compute")
        self.compute_button.setDefault(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addLayout(form)
        lv.addWidget(self.typed_box)
        lv.addWidget(self.compute_button)
        lv.addWidget(self.message)
        lv.addStretch(1)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        # the legend sits beside the axes, so it never covers a curve
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setBackground("w")
        self.plot_item = p = self.plot.addPlot(row=0, col=0)
        p.showGrid(x=True, y=True, alpha=0.15)
        for side, label in (("bottom", "number of cases K"), ("left", "power")):
            p.setLabel(side, label, color="#000000")
            p.getAxis(side).setTextPen("k")
            p.getAxis(side).setPen("k")
        self.legend = pg.LegendItem(labelTextColor="k", labelTextSize="8pt")
        self.plot.addItem(self.legend, row=0, col=1)
        self.plot.ci.layout.setColumnStretchFactor(0, 1)
        self.plot.setMinimumSize(420, 260)
        self.copy_button = QPushButton("Copy table")
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(self.table)
        right_split.addWidget(self.plot)
        right_split.setSizes([220, 360])
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.summary)
        rv.addWidget(right_split, 1)
        rv.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 770])
        v = QVBoxLayout(self)
        v.addWidget(split)
        self.resize(1150, 720)

        self.source.currentIndexChanged.connect(self._on_source_changed)
        self.compute_button.clicked.connect(self.compute)
        self.copy_button.clicked.connect(self.copy_table)
        close.clicked.connect(self.close)
        self._on_source_changed()
        self._clear()

    # -- inputs ----------------------------------------------------------------------------
    def _on_source_changed(self, *_: Any) -> None:
        source = self.source.currentData()
        self.typed_box.setVisible(source == "typed")
        if source == "study":  # a study's reads size the readers vs. model design only
            self.design.setCurrentIndex(self.design.findData("readers-vs-model"))
        self.design.setEnabled(source != "study")
        self.effect.setPlaceholderText("required for typed values" if source == "typed"
                                       else "the pilot's observed difference")

    def request(self) -> PlanRequest:
        """The inputs as a :class:`PlanRequest` (raises :class:`UserError` on bad text)."""
        effect = self.effect.text().strip()
        typed = {}
        if self.source.currentData() == "typed":
            for key, label in _TYPED_FIELDS:
                text = self.typed[key].text()
                if not text.strip():
                    raise UserError(f"Type a value for {label}.")
                typed[key] = _float(text, label)
            typed["pilot_cases"] = self.pilot_cases.value()
        return PlanRequest(
            source=self.source.currentData(), design=self.design.currentData(),
            analysis=self.analysis.currentData(), alpha=self.alpha.value(),
            power=self.power.value(),
            effect=_float(effect, "Effect size") if effect else None,
            readers=parse_counts([self.readers.text()], what="Readers"),
            cases=tuple(parse_counts([self.cases.text()], what="Power at cases") or ()),
            typed=typed, **self._context)

    def compute(self) -> None:
        """Compute the plan in a worker thread (a running one is left to finish)."""
        if self.job is not None:
            return
        try:
            req = self.request()
        except UserError as exc:
            self._show_error(exc.message, exc.hint)
            return
        job = ThreadJob(compute_plan, self._root, req, title="Plan a study")
        job.succeeded.connect(self._show)
        job.failed.connect(lambda f: self._show_error(f.message, getattr(f, "hint", None)))
        job.finished.connect(self._on_finished)
        self.job = job
        self.compute_button.setEnabled(False)
        self.message.setText("")
        job.start()

    def _on_finished(self) -> None:
        self.job = None
        self.compute_button.setEnabled(True)

    # -- results ---------------------------------------------------------------------------
    def _clear(self) -> None:
        self.plan = None
        self.summary.setText("")
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.plot_item.clear()
        self.legend.clear()
        self.copy_button.setEnabled(False)

    def _show_error(self, message: str, hint: str | None = None) -> None:
        self._clear()  # no partial output
        self.message.setText(f"Cannot plan: {message}" + (f"\n{hint}" if hint else ""))

    def _show(self, plan: planning.StudyPlan) -> None:
        self.plan = plan
        self.message.setText("")
        p, c = plan.pilot, plan.pilot.components
        how = "observed in the pilot" if plan.effect_observed else "given"
        lines = [f"<b>{planning.DESIGNS[p.design].capitalize()}</b>, "
                 f"{planning.ANALYSES[plan.analysis]} (Obuchowski–Rockette / Hillis).",
                 f"Pilot: {p.source}."]
        if p.aucs:
            lines.append("AUC " + ", ".join(f"{k} {v:.3f}" for k, v in p.aucs.items()) + ".")
        lines.append(f"var_TR {c.var_tr:.3g}, Cov1 {c.cov1:.3g}, Cov2 {c.cov2:.3g}, "
                     f"Cov3 {c.cov3:.3g}, var_error {c.var_error:.3g}, K* {c.pilot_cases}. "
                     f"Effect {abs(plan.effect):.4f} ({how}), alpha {plan.alpha:g}, "
                     f"power {plan.target_power:g}.")
        lines += [f"<i>{n}</i>" for n in p.notes]
        self.summary.setText("<br>".join(lines))
        self._fill_table(plan)
        self._draw(plan)
        self.copy_button.setEnabled(True)

    def table_rows(self) -> tuple[list[str], list[list[str]]]:
        """Headers and text rows of the plan on show (empty without one)."""
        plan = self.plan
        if plan is None:
            return [], []
        headers = ["Readers", "Cases needed", "Positive + controls", "Power",
                   "Power, unlimited cases", *[f"Power at {k}" for k in plan.cases]]
        rows = []
        for r in plan.rows:
            if r.cases_needed is not None:
                need = str(r.cases_needed)
            elif r.limit_power <= plan.target_power:
                need = "never"
            else:
                need = f"> {plan.max_cases}"
            rows.append([str(r.readers), need,
                         f"{r.positives} + {r.controls}" if r.positives is not None else "",
                         _fmt(r.power), _fmt(r.limit_power),
                         *[_fmt(r.power_at[k]) for k in plan.cases]])
        return headers, rows

    def _fill_table(self, plan: planning.StudyPlan) -> None:
        headers, rows = self.table_rows()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                if text == "never":
                    item.setToolTip("The readers' own spread (var_TR) caps the power below "
                                    "the desired one, however many cases are read.")
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def _draw(self, plan: planning.StudyPlan) -> None:
        item = self.plot_item
        item.clear()
        self.legend.clear()
        x = plan.grid_cases.astype(float)
        n = len(plan.rows)
        for i, row in enumerate(plan.rows):
            color = pg.intColor(i, hues=max(n, 2), values=1, maxValue=220)
            curve = item.plot(x, plan.grid_power[i], pen=pg.mkPen(color, width=2))
            self.legend.addItem(curve, f"{row.readers} readers")
            if row.cases_needed is not None and row.cases_needed <= x[-1]:
                item.plot([row.cases_needed], [row.power], pen=None, symbol="o",
                          symbolSize=7, symbolBrush=color, symbolPen="k")
        target = pg.InfiniteLine(pos=plan.target_power, angle=0,
                                 pen=pg.mkPen("#444444", width=1,
                                              style=Qt.PenStyle.DashLine))
        item.addItem(target)
        self.legend.addItem(pg.PlotDataItem(pen=target.pen), f"power {plan.target_power:g}")
        item.setXRange(float(x[0]), float(x[-1]), padding=0.02)
        item.setYRange(0.0, 1.0, padding=0.02)

    def copy_table(self) -> str:
        """Put the table on the clipboard as TSV; returns the text."""
        headers, rows = self.table_rows()
        text = "\n".join("\t".join(r) for r in [headers, *rows]) + "\n" if headers else ""
        QGuiApplication.clipboard().setText(text)
        return text

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        """Let a running plan finish before the dialog goes (it takes well under 1 s)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()
        super().closeEvent(event)


def _fmt(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    """Open the dialog on a workspace (and study): ``python -m wbsdesk.gui.plan_dialog``."""
    from PySide6.QtWidgets import QApplication

    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit("usage: python -m wbsdesk.gui.plan_dialog WORKSPACE [STUDY]")
    app = QApplication.instance() or QApplication([])
    with open_workspace(Path(args[0])) as ws:
        dialog = PlanDialog(ws, args[1] if len(args) > 1 else None)
        dialog.show()
        return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
