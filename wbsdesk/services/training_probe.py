"""Before training: this computer's device, the ImageNet weight files, and a time estimate.

Everything that needs torch runs in a job (the GUI runs these functions in a spawned
process, so the window never loads torch): :func:`check_environment` (device and weight
files), :func:`import_weights_file`, and :func:`probe_throughput`, which **measures** a few
training steps of each architecture on this machine with the study's own crops and the
protocol's settings, then extrapolates to the whole cross-validation
(:meth:`ThroughputEstimate.seconds`). The estimate's arithmetic needs no torch, so a
changed epoch count is re-estimated without measuring again.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wbsdesk.core.formatting import fmt_rough_duration
from wbsdesk.core.jobs import CancelToken, Progress, ProgressFn, no_progress
from wbsdesk.core.protocol import Training
from wbsdesk.core.scheduling import makespan
from wbsdesk.core.training_request import RunSettings
from wbsdesk.errors import UserError
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import CHECKPOINT_SECONDS, training_data
from wbsdesk.services.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

#: The architectures every install registers (the paper's five); the registry may add more.
KNOWN_ARCHS: tuple[str, ...] = Training().architectures


@dataclass(frozen=True)
class DeviceInfo:
    """The device ``"auto"`` trains on (see :func:`wbsdesk.ml.throughput.device_info`)."""

    kind: str
    name: str
    label: str
    threads: int
    cuda_available: bool
    gpus: tuple[str, ...] = ()


@dataclass(frozen=True)
class WeightsInfo:
    """Whether one architecture's ImageNet weight file is installed."""

    arch: str
    file_name: str
    path: str
    url: str
    present: bool


@dataclass(frozen=True)
class Environment:
    """What :func:`check_environment` found: device, registered architectures, weights."""

    device: DeviceInfo
    archs: tuple[str, ...]
    weights: tuple[WeightsInfo, ...]

    def weights_of(self, arch: str) -> WeightsInfo | None:
        """The weight-file status of ``arch`` (None if unknown)."""
        return next((w for w in self.weights if w.arch == arch), None)

    def missing_weights(self, archs: Iterable[str]) -> list[str]:
        """The architectures among ``archs`` whose ImageNet file is not installed."""
        return [a for a in archs if not (w := self.weights_of(a)) or not w.present]


def detect_device() -> DeviceInfo:
    """The device training would use with ``device="auto"`` (imports torch)."""
    from wbsdesk.ml.throughput import device_info

    d = device_info()
    return DeviceInfo(kind=d["kind"], name=d["name"], label=d["label"], threads=d["threads"],
                      cuda_available=d["cuda_available"], gpus=tuple(d["gpus"]))


def weights_overview(archs: Iterable[str] | None = None) -> list[WeightsInfo]:
    """Per architecture (default: all registered), whether its weight file is installed."""
    from wbsdesk.ml.weights import weights_status

    return [WeightsInfo(arch=s.arch, file_name=s.file_name, path=str(s.path), url=s.url,
                        present=s.present)
            for s in weights_status(archs, with_sha256=False)]


def check_environment(*, progress: ProgressFn = no_progress,
                      cancel: CancelToken | None = None) -> Environment:
    """Device, registered architectures and weight files, in one go (a job function)."""
    from wbsdesk.ml.registry import list_archs

    progress(Progress(0, 1, "checking this computer"))
    env = Environment(device=detect_device(), archs=tuple(list_archs()),
                      weights=tuple(weights_overview()))
    progress(Progress(1, 1, "checked"))
    return env


def import_weights_file(path: str | Path, *, progress: ProgressFn = no_progress,
                        cancel: CancelToken | None = None) -> tuple[str, Environment]:
    """Check and install one ImageNet weight file (a job function).

    Returns
    -------
    (str, Environment)
        The architecture the file belongs to, and the environment afterwards.

    Raises
    ------
    UserError
        When the file is not the ImageNet weights of a registered architecture.
    """
    from wbsdesk.ml.weights import import_weights

    progress(Progress(0, 1, f"checking {Path(path).name}"))
    got = import_weights(path)
    return got.arch, check_environment()


def training_problem(ws: Workspace, name: str) -> str | None:
    """Why study ``name`` cannot be trained now (faces, folds, classes), or None.

    One short paragraph: the first line of the refusal (not every photo it lists) and its
    hint.
    """
    try:
        training_data(ws, load_study(ws, name))
    except UserError as exc:
        first = exc.message.splitlines()[0].rstrip(":")
        return f"{first}{f' ({exc.hint})' if exc.hint else ''}."
    return None


@dataclass(frozen=True)
class ThroughputEstimate:
    """Speeds measured on this machine, and the run they are extrapolated to.

    ``timings[arch]`` holds the measured ``seconds_per_step`` (one training batch),
    ``seconds_per_eval_image``, ``seconds_per_decode_image``, ``seconds_per_checkpoint`` and
    ``seconds_per_build`` (building the model, once a unit; 0 when not measured);
    ``steps_per_epoch[i]`` is the number of batches of fold ``i`` (as the training loop
    counts them, from the study's photos, folds, batch size and augmented copies) and
    ``test_photos[i]`` its held-out photos. ``workers`` is how many units the local
    scheduler trains at once here (the steps were timed with the threads each gets).
    """

    study: str
    device: str
    device_label: str
    precision: str
    input_px: int
    batch_size: int
    n_photos: int
    steps_per_epoch: tuple[int, ...]
    checkpoint_every: int
    sample_photos: int
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    checkpoint_seconds: float = 0.0
    test_photos: tuple[int, ...] = ()
    workers: int = 1

    @property
    def folds(self) -> int:
        """Number of cross-validation folds."""
        return len(self.steps_per_epoch)

    def covers(self, archs: Iterable[str]) -> bool:
        """Whether every architecture in ``archs`` was measured."""
        return all(a in self.timings for a in archs)

    def unit_seconds(self, archs: Sequence[str] | None = None, *,
                     epochs: int) -> list[float]:
        """Seconds of each unit (architecture x fold), in the order the scheduler takes
        them: building its model, its steps x the measured step time, its checkpoints (one
        per ``checkpoint_every`` epochs, but no two within ``checkpoint_seconds``; the last
        epoch's always) and predicting its held-out photos.

        Raises
        ------
        KeyError
            For an architecture that was not measured.
        """
        archs = list(self.timings if archs is None else archs)
        tests = self.test_photos or (self.n_photos / max(1, self.folds),) * self.folds
        out = []
        for a in archs:
            t = self.timings[a]
            for fold_steps, n_test in zip(self.steps_per_epoch, tests, strict=True):
                epoch_s = max(fold_steps * t["seconds_per_step"], 1e-9)
                every = max(self.checkpoint_every,
                            math.ceil(self.checkpoint_seconds / epoch_s))
                out.append(t.get("seconds_per_build", 0.0)
                           + fold_steps * epochs * t["seconds_per_step"]
                           + math.ceil(epochs / every) * t["seconds_per_checkpoint"]
                           + n_test * t["seconds_per_eval_image"])
        return out

    def seconds(self, archs: Sequence[str] | None = None, *, epochs: int) -> float:
        """Extrapolated wall time of the whole run, as the scheduler runs it: decoding
        every crop once, then the units (:meth:`unit_seconds`) on :attr:`workers` workers,
        each taking the next unit when it is free (the live ETA's arithmetic,
        :func:`~wbsdesk.core.scheduling.makespan`).

        Raises
        ------
        KeyError
            For an architecture that was not measured.
        """
        archs = list(self.timings if archs is None else archs)
        if not archs:
            return 0.0
        decode = self.n_photos * max(self.timings[a]["seconds_per_decode_image"]
                                     for a in archs)
        return decode + makespan([], self.unit_seconds(archs, epochs=epochs), self.workers)

    def describe(self, archs: Sequence[str] | None = None, *, epochs: int) -> str:
        """E.g. ``"about 12 min on CPU (2 threads)"`` (``", 4 units at a time"`` when the
        scheduler trains several at once)."""
        at_once = f", {self.workers} units at a time" if self.workers > 1 else ""
        return (f"{fmt_rough_duration(self.seconds(archs, epochs=epochs))} on "
                f"{self.device_label}{at_once}")

    def details(self, archs: Sequence[str] | None = None, *, epochs: int) -> str:
        """What was measured and how it was extrapolated, in one sentence."""
        archs = list(self.timings if archs is None else archs)
        speeds = ", ".join(f"{a} {self.timings[a]['seconds_per_step']:.3g} s" for a in archs)
        return (f"Measured per batch of {self.batch_size} at {self.input_px} px ({speeds}); "
                f"× {sum(self.steps_per_epoch)} batches per epoch over {self.folds} folds "
                f"× {epochs} epochs, plus building the models, checkpoints and predictions"
                + (f", {self.workers} units (architecture × fold) at a time." if self.workers > 1
                   else ", one unit (architecture × fold) after another."))


def probe_throughput(ws: Workspace, name: str, archs: Sequence[str], *, device: str = "auto",
                     settings: Mapping[str, Any] | None = None,
                     sample: int = 8, steps: int = 3, warmup: int = 2,
                     progress: ProgressFn = no_progress,
                     cancel: CancelToken | None = None) -> ThroughputEstimate:
    """Measure a few training steps of each architecture here, for a time estimate.

    Each architecture trains ``warmup + steps`` batches of the protocol's batch size on the
    first ``sample`` crops of the study (cycled), at the protocol's input size, with its
    augmentation and this machine's execution plan for ``device``; only the ``steps``
    batches after the warm-up are timed. Nothing is written to the workspace.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study (its faces must be ready for training).
    archs : sequence of str
    device : {"auto", "cpu", "cuda"}, keyword-only
    settings : mapping, optional, keyword-only
        The run's settings (:class:`~wbsdesk.core.training_request.RunSettings` as plain
        data, e.g. ``{"input_px": 128, "batch_size": 8}``): timed at these, not the
        protocol's.
    sample : int, keyword-only
        How many of the study's crops to decode.
    steps, warmup : int, keyword-only
        Timed and untimed batches per architecture (the median timed batch counts).
    progress, cancel : keyword-only
        The job contract (one report per architecture).

    Returns
    -------
    ThroughputEstimate
    """
    from wbsdesk.ml.cvspec import CVSpec
    from wbsdesk.ml.throughput import device_info, time_training_steps
    from wbsdesk.ml.train import batch_slices

    if not archs:
        raise UserError("choose at least one architecture to estimate")
    cancel = cancel or CancelToken()
    study = load_study(ws, name)
    data = training_data(ws, study)
    protocol = RunSettings.from_dict(settings or {}).apply(study.protocol)
    n = max(1, min(sample, len(data.crop_paths)))
    workers, threads = _scheduler_slots(protocol, data, archs, device)
    # In the workspace: the checkpoint timing is then on the disk runs are written to.
    with tempfile.TemporaryDirectory(prefix="probe-", dir=ws.tmp_dir) as tmp:
        spec = CVSpec.from_protocol(
            protocol.training, protocol.augmentation, run_dir=Path(tmp),
            photo_ids=[str(p) for p in data.photo_ids[:n]], crop_paths=data.crop_paths[:n],
            labels=data.labels[:n], folds=[1 + i % 2 for i in range(n)], weights_dir=None,
            archs=tuple(archs), device=device, num_threads=threads)
        timings: dict[str, dict[str, float]] = {}
        precision, used = "fp32", "cpu"
        # predictions are timed at a held-out fold's size, as training makes them
        fold_sizes = [sum(1 for f in data.folds if f == k) for k in set(data.folds)]
        held_out = max(fold_sizes, default=n)
        for i, arch in enumerate(archs):
            cancel.raise_if_cancelled()
            progress(Progress(i, len(archs), f"timing {arch} on this computer"))
            t = time_training_steps(spec, arch, steps=steps, warmup=warmup,
                                    eval_images=held_out, cancel=cancel)
            precision, used = t.precision, t.device
            timings[arch] = {"seconds_per_step": t.seconds_per_step,
                             "seconds_per_eval_image": t.seconds_per_eval_image,
                             "seconds_per_decode_image": t.seconds_per_decode_image,
                             "seconds_per_checkpoint": t.seconds_per_checkpoint,
                             "seconds_per_build": t.seconds_per_build}
    progress(Progress(len(archs), len(archs), "timed"))
    copies = protocol.augmentation.copies
    steps_per_epoch = []
    for k in sorted(set(data.folds)):
        n_train = sum(1 for f in data.folds if f != k)
        steps_per_epoch.append(len(batch_slices(n_train * copies, protocol.training.batch_size)))
    info = device_info()
    label = info["label"] if used == info["kind"] else f"CPU ({info['threads']} threads)"
    return ThroughputEstimate(
        study=name, device=used, device_label=label, precision=precision,
        input_px=protocol.training.input_px, batch_size=protocol.training.batch_size,
        n_photos=len(data.photo_ids), steps_per_epoch=tuple(steps_per_epoch),
        checkpoint_every=spec.checkpoint_every, sample_photos=n, timings=timings,
        checkpoint_seconds=CHECKPOINT_SECONDS,
        test_photos=tuple(sum(1 for f in data.folds if f == k) for k in sorted(set(data.folds))),
        workers=workers)


def _scheduler_slots(protocol: Any, data: Any, archs: Sequence[str],
                     device: str) -> tuple[int, int | None]:
    """How many units the local scheduler would train at once here, and the CPU threads
    each gets (None: torch's default, one unit at a time in-process)."""
    from wbsdesk.ml.cvspec import CVSpec
    from wbsdesk.ml.scheduler import local_slots
    from wbsdesk.ml.train import plan_execution

    full = CVSpec.from_protocol(
        protocol.training, protocol.augmentation, run_dir=Path("."),
        photo_ids=[str(p) for p in data.photo_ids], crop_paths=data.crop_paths,
        labels=data.labels, folds=data.folds, weights_dir=None, archs=tuple(archs),
        device=device, workers=None)
    slots = local_slots(full, plan_execution(device), n_units=len(archs) * len(set(data.folds)))
    return len(slots), (None if slots[0].inline else slots[0].threads)


def probe_throughput_job(root: Path, name: str, archs: Sequence[str], *,
                         progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
                         **options: Any) -> ThroughputEstimate:
    """:func:`probe_throughput` with its own connection to the workspace at ``root``."""
    with open_workspace(root) as ws:
        return probe_throughput(ws, name, archs, progress=progress, cancel=cancel, **options)
