"""The result side of the Screening view: probabilities, warnings, crop and Grad-CAM.

Warnings (the photo differs from the study's photos; the heatmap cannot localise) are
visible text, never only tooltips. The heatmap has a colour scale drawn from the same ramp
as the overlay, a caption naming the architecture, the folds, the run and the size of the
feature map it was read from, and a chooser for another architecture or a single fold.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from wbsdesk.core.architectures import arch_label
from wbsdesk.core.heatmaps import folds_text
from wbsdesk.gui.colour_scale import ColourScaleWidget
from wbsdesk.gui.tables import fill_table, fit_height, make_table
from wbsdesk.services.prediction import ScreeningResult

__all__ = ["ScreeningResultWidget"]

IMAGE_PX = 200
WARN_STYLE = ("background: #fff3cd; color: #5c4400; border: 1px solid #e0c36a; "
              "padding: 4px;")


def _pixmap(png: bytes | None, side: int) -> QPixmap:
    pm = QPixmap()
    if png:
        pm.loadFromData(png, "PNG")
        pm = pm.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                       Qt.TransformationMode.SmoothTransformation)
    return pm


def _html(text: str) -> str:
    """Escape for a rich-text label (apostrophes stay as they are)."""
    return html.escape(text, quote=False)


def _esc(text: str) -> str:
    """Escape for a rich-text label; the sentence starts with a capital."""
    return _html(text[:1].upper() + text[1:])


def _items(lines: list[str]) -> str:
    return "".join(f"<li>{_esc(t)}</li>" for t in lines)


class ScreeningResultWidget(QWidget):
    """Probabilities per model, out-of-distribution warnings, the crop and its Grad-CAM.

    Signals
    -------
    heatmap_requested(object)
        ``(arch, fold)`` chosen in the heatmap chooser (``fold`` None: mean of the folds).
    """

    heatmap_requested = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._filling = False
        self.ensemble_label = QLabel()
        self.ensemble_label.setWordWrap(True)
        self.table = make_table(["Model", "Probability", "Fold models"])
        self.warnings_label = QLabel()
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet(WARN_STYLE)
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.crop = QLabel()
        self.heatmap = QLabel()
        for w in (self.crop, self.heatmap):
            w.setFixedSize(IMAGE_PX, IMAGE_PX)
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.colour_scale = ColourScaleWidget(IMAGE_PX)
        self.heatmap_choice = QComboBox()
        self.heatmap_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.heatmap_choice.setToolTip("Which model's Grad-CAM: the mean over an "
                                       "architecture's fold models, or one fold's model")
        self.heatmap_caption = QLabel()
        self.heatmap_caption.setWordWrap(True)
        self.heatmap_warning = QLabel()
        self.heatmap_warning.setWordWrap(True)
        self.heatmap_warning.setStyleSheet(WARN_STYLE)

        self._titles = (QLabel("Grad-CAM of"),)
        choose = QHBoxLayout()
        choose.addWidget(self._titles[0])
        choose.addWidget(self.heatmap_choice)
        choose.addStretch(1)
        grid = QGridLayout()
        grid.addWidget(self.crop, 0, 0)
        grid.addWidget(self.heatmap, 0, 1)
        grid.addWidget(self.colour_scale, 1, 1)
        # the caption beside the images (the panel is wider than two images, rarely taller)
        grid.addWidget(self.heatmap_caption, 0, 2, 2, 1, Qt.AlignmentFlag.AlignTop)
        self.heatmap_caption.setMinimumWidth(150)
        grid.setColumnStretch(2, 1)
        grid.setVerticalSpacing(2)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 4, 0)
        v.setSpacing(4)
        v.addWidget(self.ensemble_label)
        v.addWidget(self.table)
        v.addWidget(self.warnings_label)
        v.addWidget(self.notes_label)
        v.addLayout(choose)
        v.addWidget(self.heatmap_warning)  # above the images: seen without scrolling
        v.addLayout(grid)
        v.addStretch(1)
        self.heatmap_choice.currentIndexChanged.connect(self._on_choice_changed)
        self.show_result(None, "")

    def show_result(self, result: ScreeningResult | None, target: str) -> None:
        """Show a scored photo (``None``: clear); ``target`` is the positive group's label."""
        p = result.prediction if result is not None else None
        scored = p is not None
        for w in (self.table, self.crop, self.heatmap, self.colour_scale, self.heatmap_choice,
                  *self._titles):
            w.setVisible(scored)
        if p is None:
            fill_table(self.table, [])
            self.ensemble_label.setText("")
            for w in (self.heatmap, self.crop):
                w.clear()
            for w in (self.warnings_label, self.notes_label, self.heatmap_warning,
                      self.heatmap_caption):
                w.setText("")
                w.setVisible(False)
            return
        rows: list[list[Any]] = [[arch_label(a), f"{v:.3f}",
                                  "  ".join(f"{x:.2f}" for x in p.per_fold[a])]
                                 for a, v in p.per_arch.items()]
        rows.append(["Ensemble (mean of the models)", f"{p.ensemble:.3f}", ""])
        fill_table(self.table, rows)
        fit_height(self.table)
        self.ensemble_label.setText(
            f"<span style='font-size:13pt'>Ensemble probability of <b>{target}</b>: "
            f"<b>{p.ensemble:.2f}</b></span><br>(models of run {p.run}; each architecture is "
            "the mean of its fold models)")
        self.show_checks(result)
        self.crop.setPixmap(_pixmap(result.crop_png, IMAGE_PX))
        self._fill_choice(p)
        self.show_heatmap(result, target)

    def show_checks(self, result: ScreeningResult) -> None:
        """The out-of-distribution warnings and notes of a result."""
        p = result.prediction
        if p is None:
            return
        if p.warnings:
            self.warnings_label.setText(
                "<b>This photo is unlike the study's photos — the probabilities may not "
                f"apply:</b><ul style='margin:0'>{_items(p.warnings)}</ul>")
        self.warnings_label.setVisible(bool(p.warnings))
        self.notes_label.setText("<br>".join(f"Note: {_html(n)}." for n in p.notes))
        self.notes_label.setVisible(bool(p.notes))

    def show_heatmap(self, result: ScreeningResult, target: str) -> None:
        """The Grad-CAM overlay, its colour scale, caption and warnings."""
        p = result.prediction
        self.heatmap.setPixmap(_pixmap(result.heatmap_png, IMAGE_PX))
        self.colour_scale.set_title(f"contribution to “{target}”")
        info = p.gradcam if p is not None else None
        self.heatmap_caption.setVisible(info is not None)
        if info is None:
            self.heatmap_caption.setText("")
            self.heatmap_warning.setVisible(False)
            return
        focus = "" if info.focus.flat else f" {_esc(info.focus.text())}."
        self.heatmap_caption.setText(
            "Left: the aligned face the models saw. Right: Grad-CAM of "
            f"{arch_label(info.arch)} ({_html(info.folds_phrase)}, run {_html(info.run)}) for "
            f"“{_html(target)}”: warm colours weigh most. {_esc(info.read_text)}.{focus}")
        problems = [t for t in (info.warning, info.focus.text() if info.focus.flat else None)
                    if t]
        self.heatmap_warning.setText(f"<b>Heatmap:</b><ul style='margin:0'>{_items(problems)}"
                                     "</ul>" if problems else "")
        self.heatmap_warning.setVisible(bool(problems))
        self._select_choice(info.arch, info.folds[0] if len(info.folds) == 1 else None)

    # -- the heatmap chooser ----------------------------------------------------------------
    def _fill_choice(self, p: Any) -> None:
        self._filling = True
        try:
            self.heatmap_choice.clear()
            for arch, folds in p.fold_numbers.items():
                label = arch_label(arch)
                self.heatmap_choice.addItem(f"{label} — mean of {folds_text(folds)}",
                                            (arch, None))
                for k in folds:
                    self.heatmap_choice.addItem(f"{label} — fold {k} alone", (arch, k))
        finally:
            self._filling = False

    def _select_choice(self, arch: str, fold: int | None) -> None:
        self._filling = True
        try:
            for i in range(self.heatmap_choice.count()):
                if self.heatmap_choice.itemData(i) == (arch, fold):
                    self.heatmap_choice.setCurrentIndex(i)
                    break
        finally:
            self._filling = False

    def _on_choice_changed(self, index: int) -> None:
        if self._filling or index < 0:
            return
        self.heatmap_requested.emit(self.heatmap_choice.itemData(index))
