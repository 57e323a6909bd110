"""The Dashboard's second run picker: compare the chosen run with another one.

:class:`CompareRunCombo` offers "one run" or another finished run of the study; with one
chosen the Dashboard shows both runs' models, labelled by run, and the ensemble across runs
(:func:`wbsdesk.services.analysis_runs.build_runs_comparison`), as ``wbsdesk report NAME
--run A --run B`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

__all__ = ["ONE_RUN", "CompareRunCombo"]

ONE_RUN = "— (none)"


class CompareRunCombo(QComboBox):
    """"—" (the run alone), or another finished run to show beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Show another run's models beside this run's, labelled by run, with "
                        "an ensemble across both runs (the runs must share their folds)")
        self.fill([])

    def fill(self, runs: Sequence[dict[str, Any]], keep: str | None = None) -> None:
        """Offer ``runs`` (rows of :func:`wbsdesk.services.training.list_runs`, newest
        first), keeping ``keep`` chosen if it is still there; signals are blocked."""
        self.blockSignals(True)
        self.clear()
        self.addItem(ONE_RUN, None)
        for r in runs:
            self.addItem(r["run"], r["run"])
            self.setItemData(self.count() - 1, r["settings"]["text"],
                             Qt.ItemDataRole.ToolTipRole)
        self.setCurrentIndex(max(self.findData(keep), 0) if keep is not None else 0)
        self.blockSignals(False)

    def runs(self, chosen: str) -> tuple[str, ...]:
        """The runs to show beside ``chosen`` (none when it is chosen here too)."""
        other = self.currentData()
        return (other,) if other and other != chosen else ()
