"""Setting up a training run: architectures, epochs, run settings, device, initial weights,
time estimate.

:class:`TrainingSetupPanel` never loads torch in the window's process: the device, the
registered architectures and the ImageNet weight files are checked by
:func:`wbsdesk.services.training_probe.check_environment` in a job process (started when
the panel is first shown), weight files are imported by
:func:`~wbsdesk.services.training_probe.import_weights_file`, and "Estimate time" times a
few real training steps per architecture on this computer
(:func:`~wbsdesk.services.training_probe.probe_throughput_job`) and extrapolates them to
the chosen folds, epochs and architectures.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from wbsdesk.core.architectures import arch_label, arch_labels
from wbsdesk.core.training_request import RunSettings, TrainRequest
from wbsdesk.errors import UserError
from wbsdesk.gui.file_dialogs import open_file
from wbsdesk.gui.process_entry import JobFailure
from wbsdesk.gui.run_settings_form import RunSettingsForm
from wbsdesk.gui.runners import ProcessJob
from wbsdesk.services import training_probe as probe
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

#: The job class for torch work (tests may swap in ThreadJob to stay in-process).
JOB_CLASS: Any = ProcessJob
WEIGHT_CHOICES = (("imagenet", "ImageNet (transfer learning, as in the paper)"),
                  ("none", "None (train from scratch)"))
DEVICE_CHOICES = (("auto", "Automatic (GPU if there is one)"), ("cpu", "CPU"),
                  ("cuda", "GPU (CUDA)"))
ESTIMATE_HINT = ("Press “Estimate time” to time a few training steps of each chosen "
                 "architecture on this computer.")


class TrainingSetupPanel(QWidget):
    """Choose what to train; shows device, weight files, readiness and a time estimate.

    Parameters
    ----------
    ws : Workspace
    parent : QWidget, optional

    Signals
    -------
    changed()
        A choice, the environment check, the weight files or the estimate changed.
    """

    changed = Signal()

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = ws
        self.study = ""
        self._protocol_epochs: int | None = None
        self._protocol: Any = None
        self.environment: probe.Environment | None = None
        self.estimate: probe.ThroughputEstimate | None = None
        self._estimate_key: tuple[Any, ...] | None = None
        self._study_problem: str | None = "Choose a study."
        self._jobs: dict[str, Any] = {}
        self._checked_once = False
        self._note = ""

        self.study_label = QLabel()
        self.study_label.setWordWrap(True)
        self.arch_boxes: dict[str, QCheckBox] = {}
        self.weight_labels: dict[str, QLabel] = {}
        self.arch_group = QGroupBox("Architectures")
        self.arch_grid = QGridLayout(self.arch_group)
        self.arch_grid.setColumnStretch(2, 1)  # the weight status sits next to its name
        self.arch_grid.setHorizontalSpacing(24)
        self.weights_combo = QComboBox()
        for key, text in WEIGHT_CHOICES:
            self.weights_combo.addItem(text, key)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10_000)
        self.epochs_spin.setSuffix(" epochs per fold")
        self.settings_form = RunSettingsForm()
        self.device_combo = QComboBox()
        for key, text in DEVICE_CHOICES:
            self.device_combo.addItem(text, key)
        self.device_label = QLabel("This computer: not checked yet")
        self.import_button = QPushButton("Import weights…")
        self.import_button.setToolTip("Install an ImageNet weight file (.pth) copied from a "
                                      "computer with internet access; nothing is downloaded")
        self.estimate_button = QPushButton("Estimate time")
        self.estimate_button.setToolTip("Time a few training steps here and extrapolate")
        self.estimate_label = QLabel(ESTIMATE_HINT)
        self.estimate_label.setWordWrap(True)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b00020;")

        form = QFormLayout()
        form.addRow("Initial weights", self.weights_combo)
        form.addRow("Training length", self.epochs_spin)
        form.addRow("Device", self.device_combo)
        form.addRow("", self.device_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.estimate_button)
        buttons.addStretch(1)
        v = QVBoxLayout(self)
        v.addWidget(self.study_label)
        v.addWidget(self.arch_group)
        v.addLayout(form)
        v.addWidget(self.settings_form)
        v.addLayout(buttons)
        v.addWidget(self.estimate_label)
        v.addWidget(self.problem_label)
        v.addStretch(1)

        self._set_archs(probe.KNOWN_ARCHS, checked=())
        self.weights_combo.currentIndexChanged.connect(self._on_choice_changed)
        self.epochs_spin.valueChanged.connect(self._on_choice_changed)
        self.settings_form.changed.connect(self._on_choice_changed)
        self.device_combo.currentIndexChanged.connect(self._on_choice_changed)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.estimate_button.clicked.connect(self.start_estimate)
        self._update()

    # -- the contract ----------------------------------------------------------------------
    def set_study(self, name: str) -> None:
        """Show study ``name`` with its protocol's defaults (architectures, epochs, weights)."""
        self.study = name
        study = load_study(self._ws, name)
        t = study.protocol.training
        self._protocol_epochs = t.epochs
        self._protocol = study.protocol
        self.settings_form.set_protocol(t)
        self._set_archs(list(dict.fromkeys([*self.arch_boxes, *t.architectures])),
                        checked=t.architectures)
        self.epochs_spin.blockSignals(True)
        self.epochs_spin.setValue(t.epochs)
        self.epochs_spin.blockSignals(False)
        self.weights_combo.blockSignals(True)
        self.weights_combo.setCurrentIndex(self.weights_combo.findData(t.init))
        self.weights_combo.blockSignals(False)
        self._study_problem = probe.training_problem(self._ws, name)
        # the photos the run trains on: not an excluded child's, nor a practice-only one
        trained = {s.id for s in self._ws.store.subjects(study.id, include_excluded=False,
                                                         include_practice=False)}
        n_photos = sum(1 for p in self._ws.store.photos(study.id)
                       if p.is_primary and p.subject_id in trained)
        self.study_label.setText(
            f"<b>Study {name}</b> — protocol {study.protocol.name}: {study.protocol.folds.k}"
            f"-fold cross-validation of {n_photos} photos at {t.input_px} px, batch size "
            f"{t.batch_size}. The defaults are the protocol's.")
        self.estimate, self._estimate_key = None, None
        self._update()

    def choices(self) -> dict[str, Any]:
        """``{"archs": [...], "epochs": int, "device": str, "weights": str, "settings":
        {...}}`` (``settings``: the run settings changed from the protocol's)."""
        return {"archs": [a for a, b in self.arch_boxes.items() if b.isChecked()],
                "epochs": self.epochs_spin.value(),
                "device": self.device_combo.currentData(),
                "weights": self.weights_combo.currentData(),
                "settings": self.settings_form.overrides()}

    def run_settings(self) -> RunSettings:
        """The run's settings: only those differing from the protocol's, so the run
        records what was changed (as ``wbsdesk train --epochs/--input-px/...``)."""
        c = self.choices()
        epochs = c["epochs"] if c["epochs"] != self._protocol_epochs else None
        return RunSettings(epochs=epochs, **c["settings"])

    def request(self) -> TrainRequest:
        """The run these choices ask for (the same request ``wbsdesk train`` builds)."""
        c = self.choices()
        return TrainRequest(self.study, archs=tuple(c["archs"]) or None,
                            settings=self.run_settings(), device=c["device"],
                            weights=c["weights"])

    def problem(self) -> str:
        """Why training cannot start with these choices ('' when it can)."""
        c = self.choices()
        env = self.environment
        if self._study_problem:
            return self._study_problem
        if not c["archs"]:
            return "Choose at least one architecture."
        if self._protocol is not None:
            try:  # the protocol's checks, as for 'wbsdesk train --input-px ...'
                self.run_settings().apply(self._protocol)
            except UserError as exc:
                return f"Run settings: {exc.message}."
        if c["device"] == "cuda" and env is not None and not env.device.cuda_available:
            return "No usable GPU (CUDA) was found on this computer: choose Automatic or CPU."
        if c["weights"] == "imagenet":
            if env is None:
                return "Checking which ImageNet weight files are installed…"
            missing = env.missing_weights(c["archs"])
            if missing:
                return (f"ImageNet weights are missing for {', '.join(missing)}. Import the "
                        "files with “Import weights…”, or choose Initial weights: None "
                        "(train from scratch).")
        return ""

    def is_ready(self) -> bool:
        """Whether training can start with these choices (the reason is shown otherwise)."""
        return not self.problem()

    # -- jobs ------------------------------------------------------------------------------
    def check_environment(self) -> None:
        """(Re-)check the device, architectures and weight files in a job."""
        self._checked_once = True
        self.device_label.setText("This computer: checking (loading the training "
                                  "libraries)…")
        self._start_job("environment", probe.check_environment, title="Checking this computer")

    def start_estimate(self) -> None:
        """Time a few training steps per chosen architecture here, then extrapolate."""
        c = self.choices()
        if not self.study or not c["archs"] or self._study_problem:
            return
        self._note = ""
        self._start_job("estimate", probe.probe_throughput_job, self._ws.root, self.study,
                        c["archs"], device=c["device"], settings=self._timed_settings(),
                        title="Estimating training time")

    def import_weights(self, path: str | Path) -> None:
        """Check and install one weight file in a job, then refresh the weight status."""
        self._note = f"Checking {Path(path).name}…"
        self._start_job("import", probe.import_weights_file, str(path), title="Importing weights")

    def busy(self) -> bool:
        """Whether a check, estimate or import is running."""
        return bool(self._jobs)

    def shutdown(self, ms: int = 10_000) -> None:
        """Cancel and wait for this panel's jobs (before the panel goes away)."""
        for job in list(self._jobs.values()):
            job.cancel()
        for job in list(self._jobs.values()):
            job.wait(ms)

    def _start_job(self, kind: str, fn: Any, *args: Any, title: str, **kwargs: Any) -> None:
        if kind in self._jobs:
            return
        job = JOB_CLASS(fn, *args, title=title, **kwargs)
        self._jobs[kind] = job
        job.succeeded.connect(lambda result, k=kind: self._on_succeeded(k, result))
        job.failed.connect(lambda failure, k=kind: self._on_failed(k, failure))
        job.finished.connect(lambda k=kind: self._on_job_finished(k))
        self._update()
        job.start()

    def _on_succeeded(self, kind: str, result: Any) -> None:
        if kind == "environment":
            self._set_environment(result)
        elif kind == "import":
            arch, env = result
            self._set_environment(env)
            self._note = f"Installed the ImageNet weights of {arch}."
        else:
            c = self.choices()
            self.estimate = result
            self._estimate_key = self._estimate_of(c)
        self._update()

    def _on_failed(self, kind: str, failure: JobFailure) -> None:
        text = failure.message + (f" — {failure.hint}" if failure.hint else "")
        if kind == "environment":
            self.device_label.setText(f"This computer: the check failed ({text})")
        elif kind == "estimate":
            self.estimate, self._estimate_key = None, None
            self._note = f"<b>The estimate failed:</b> {text}"
        else:
            self._note = f"<b>Not imported:</b> {text}"
        log.info("%s job failed: %s", kind, failure.message)

    def _on_job_finished(self, kind: str) -> None:
        self._jobs.pop(kind, None)
        self._update()

    # -- display ---------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._checked_once:
            self.check_environment()

    def _set_environment(self, env: probe.Environment) -> None:
        self.environment = env
        d = env.device
        self.device_label.setText(f"This computer: <b>{d.label}</b>"
                                  + ("" if d.cuda_available else " — no usable GPU found"))
        cuda = self.device_combo.model().item(self.device_combo.findData("cuda"))
        cuda.setEnabled(d.cuda_available)
        checked = [a for a, b in self.arch_boxes.items() if b.isChecked()]
        self._set_archs(list(dict.fromkeys([*self.arch_boxes, *env.archs])), checked=checked)

    def _set_archs(self, archs: Any, *, checked: Any) -> None:
        for arch in archs:
            if arch not in self.arch_boxes:
                box = QCheckBox(arch_label(arch))
                box.setToolTip(f"'{arch}' in protocols and on the command line")
                box.toggled.connect(self._on_choice_changed)
                label = QLabel()
                row = len(self.arch_boxes)
                self.arch_grid.addWidget(box, row, 0)
                self.arch_grid.addWidget(label, row, 1)
                self.arch_boxes[arch], self.weight_labels[arch] = box, label
        for arch, box in self.arch_boxes.items():
            box.blockSignals(True)
            box.setChecked(arch in checked)
            box.blockSignals(False)

    def _on_choice_changed(self, *_: Any) -> None:
        self._update()

    def _timed_settings(self) -> dict[str, Any]:
        """The run settings a time estimate depends on (input size, batch size)."""
        return {k: v for k, v in self.settings_form.overrides().items()
                if k in ("input_px", "batch_size")}

    def _estimate_of(self, c: dict[str, Any]) -> tuple[Any, ...]:
        """What an estimate was measured for (other choices need a new one)."""
        return (self.study, c["device"], tuple(sorted(self._timed_settings().items())))

    def _on_import_clicked(self) -> None:
        path = open_file(self, "Import ImageNet weights", None,
                         "PyTorch weight files (*.pth *.pt);;All files (*)")
        if path:
            self.import_weights(path)

    def _update(self) -> None:
        env = self.environment
        imagenet = self.weights_combo.currentData() == "imagenet"
        for arch, label in self.weight_labels.items():
            w = env.weights_of(arch) if env is not None else None
            if w is None:
                text = "ImageNet weights: checking…" if env is None else "unknown architecture"
            elif w.present:
                text = "ImageNet weights installed"
            else:
                text = f"ImageNet weights missing ({w.file_name})"
            label.setText(text)
            label.setToolTip(w.path if w is not None else "")
            label.setEnabled(imagenet)
            missing = imagenet and w is not None and not w.present
            label.setStyleSheet("color: #b00020;" if missing else "")
        self.settings_form.show_summary(self.epochs_spin.value())
        self.problem_label.setText(self.problem())
        self.import_button.setEnabled("import" not in self._jobs)
        self.estimate_button.setEnabled("estimate" not in self._jobs and bool(self.study)
                                        and not self._study_problem
                                        and bool(self.choices()["archs"]))
        self._update_estimate()
        self.changed.emit()

    def _update_estimate(self) -> None:
        c = self.choices()
        est = self.estimate
        if "estimate" in self._jobs:
            text = f"Timing {arch_labels(c['archs'])} on this computer…"
        elif est is not None and self._estimate_key == self._estimate_of(c) and c["archs"]:
            if est.covers(c["archs"]):
                text = (f"<b>Estimated time: {est.describe(c['archs'], epochs=c['epochs'])}"
                        f"</b><br><small>{est.details(c['archs'], epochs=c['epochs'])}</small>")
            else:
                text = "The chosen architectures changed: press “Estimate time” again."
        else:
            text = self._note or ESTIMATE_HINT
        self.estimate_label.setText(text)
