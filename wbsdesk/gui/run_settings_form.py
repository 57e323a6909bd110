"""The run settings of the Training set-up: input size, batch size, learning rate, schedule.

:class:`RunSettingsForm` shows the protocol's values and lets one run change them, as
``wbsdesk train --input-px/--batch-size/--lr/--lr-schedule`` does. Its fields are bounded
by :func:`wbsdesk.core.training_request.setting_range` (the protocol's ranges, the CLI's
bounds too), and :meth:`RunSettingsForm.overrides` holds only the values that differ from
the protocol, so the run records what was changed. The line under the fields reads as
``wbsdesk runs`` shows the run: changed settings are marked with ``*``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from wbsdesk.core.protocol import Training
from wbsdesk.core.training_request import LR_SCHEDULES, setting_range, settings_text

__all__ = ["RunSettingsForm"]

#: Decimals of the learning-rate field (its smallest value is 10^-LR_DECIMALS).
LR_DECIMALS = 5
SCHEDULE_TEXT = {"constant": "Constant", "cosine": "Cosine decay", "step": "Step decay"}


class RunSettingsForm(QGroupBox):
    """Input size, batch size, learning rate and schedule of one run (protocol's filled in).

    Signals
    -------
    changed()
        A value changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Run settings (this run only)", parent)
        self._protocol: dict[str, Any] = {}
        self.input_spin = QSpinBox()
        self.batch_spin = QSpinBox()
        for spin, key, suffix in ((self.input_spin, "input_px", " px"),
                                  (self.batch_spin, "batch_size", " photos")):
            low, high, _ = setting_range(key)
            spin.setRange(int(low), int(high))
            spin.setSuffix(suffix)
        self.input_spin.setToolTip("Side of the square image the networks see (--input-px)")
        self.batch_spin.setToolTip("Photos per training step (--batch-size)")
        self.lr_spin = QDoubleSpinBox()
        low, high, low_open = setting_range("lr")
        self.lr_spin.setDecimals(LR_DECIMALS)
        self.lr_spin.setRange(low + (10 ** -LR_DECIMALS if low_open else 0), high)
        self.lr_spin.setSingleStep(0.001)
        self.lr_spin.setToolTip("Learning rate of stochastic gradient descent (--lr)")
        self.schedule_combo = QComboBox()
        for key in LR_SCHEDULES:
            self.schedule_combo.addItem(SCHEDULE_TEXT.get(key, key), key)
        self.schedule_combo.setToolTip("How the learning rate changes over the epochs "
                                       "(--lr-schedule)")
        self.reset_button = QPushButton("Protocol's settings")
        self.reset_button.setToolTip("Put the protocol's values back")
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Input size", self.input_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Learning rate", self.lr_spin)
        row = QHBoxLayout()
        row.addWidget(self.schedule_combo, 1)
        row.addWidget(self.reset_button)
        form.addRow("Schedule", row)
        form.addRow(self.summary_label)
        for spin in (self.input_spin, self.batch_spin, self.lr_spin):
            spin.valueChanged.connect(self._on_changed)
        self.schedule_combo.currentIndexChanged.connect(self._on_changed)
        self.reset_button.clicked.connect(self.reset)

    def set_protocol(self, training: Training) -> None:
        """Show the protocol's training settings (what a run uses unless changed here)."""
        self._protocol = {"input_px": training.input_px, "batch_size": training.batch_size,
                          "lr": training.lr, "lr_schedule": training.lr_schedule,
                          "epochs": training.epochs}
        self.reset()

    def reset(self) -> None:
        """Back to the protocol's values."""
        p = self._protocol
        if not p:
            return
        for w in (self.input_spin, self.batch_spin, self.lr_spin, self.schedule_combo):
            w.blockSignals(True)
        self.input_spin.setValue(p["input_px"])
        self.batch_spin.setValue(max(p["batch_size"], self.batch_spin.minimum()))
        self.lr_spin.setValue(p["lr"])
        self.schedule_combo.setCurrentIndex(self.schedule_combo.findData(p["lr_schedule"]))
        for w in (self.input_spin, self.batch_spin, self.lr_spin, self.schedule_combo):
            w.blockSignals(False)
        self._on_changed()

    def values(self) -> dict[str, Any]:
        """The settings shown: ``input_px``, ``batch_size``, ``lr``, ``lr_schedule``."""
        return {"input_px": self.input_spin.value(), "batch_size": self.batch_spin.value(),
                "lr": round(self.lr_spin.value(), LR_DECIMALS),
                "lr_schedule": self.schedule_combo.currentData()}

    def overrides(self) -> dict[str, Any]:
        """The settings that differ from the protocol's (a run's ``RunSettings``)."""
        p = self._protocol
        return {k: v for k, v in self.values().items()
                if k in p and (abs(v - p[k]) > 10 ** -(LR_DECIMALS + 2) if k == "lr"
                               else v != p[k])}

    def summary(self, epochs: int | None = None) -> str:
        """The run's settings as ``wbsdesk runs`` shows them (``*``: changed)."""
        values = {**self._protocol, **self.values()}
        if epochs is not None:
            values["epochs"] = epochs
        return settings_text(values, self._protocol)

    def show_summary(self, epochs: int | None = None) -> None:
        """Refresh the line under the fields (with the chosen epochs)."""
        self.summary_label.setText(f"This run: {self.summary(epochs)}")
        self.reset_button.setEnabled(bool(self.overrides()))

    def _on_changed(self, *_: Any) -> None:
        self.show_summary()
        self.changed.emit()
