"""Small widget helpers shared by the views."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from wbsdesk.services.workspace import Workspace


def fill_study_combo(combo: QComboBox, ws: Workspace, keep: str | None) -> str:
    """Fill ``combo`` with the workspace's studies, keeping ``keep`` selected if it exists.

    Signals are blocked while filling; returns the selected study name ('' when none).
    """
    names = [s.name for s in ws.store.studies()]
    combo.blockSignals(True)
    combo.clear()
    combo.addItems(names)
    if keep in names:
        combo.setCurrentText(keep)
    combo.blockSignals(False)
    return combo.currentText()
