"""What a training run is asked to do: one typed :class:`TrainRequest` for every front end.

The wizard, the Training view, the CLI and the Ray driver build the same frozen
:class:`TrainRequest` and hand it to :func:`wbsdesk.services.training.train`. Its
:class:`RunSettings` override the protocol's training settings (input size, batch size,
learning rate, schedule, epochs, momentum, weight decay) for one run; they are validated as
the protocol is, stored with the run (its resolved protocol and spec) and shown wherever
the run is (:func:`settings_text`). No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_args, get_type_hints

from wbsdesk.core.protocol import Protocol, Training, protocol_from_dict
from wbsdesk.errors import UserError

__all__ = ["LR_SCHEDULES", "SETTING_FLAGS", "RunSettings", "TrainRequest", "setting_changes",
           "setting_range", "settings_text"]

#: The run settings and the command-line option that sets each.
SETTING_FLAGS: dict[str, str] = {
    "input_px": "--input-px", "batch_size": "--batch-size", "lr": "--lr",
    "lr_schedule": "--lr-schedule", "epochs": "--epochs", "momentum": "--momentum",
    "weight_decay": "--weight-decay"}

DEVICES = ("auto", "cpu", "cuda")

#: The learning-rate schedules a protocol (and so a run) may use.
LR_SCHEDULES: tuple[str, ...] = get_args(get_type_hints(Training)["lr_schedule"])
#: Batch normalisation cannot train on single photos: a run's batch size starts here.
MIN_BATCH_SIZE = 2


def setting_range(key: str) -> tuple[float | None, float | None, bool]:
    """``(low, high, low_open)`` of a numeric run setting: the protocol file's range for the
    key (batch size from 2), the one definition the CLI's options and the Training set-up's
    fields are bounded by.

    Examples
    --------
    >>> setting_range("input_px"), setting_range("batch_size"), setting_range("lr")
    ((16, 1024, False), (2, 4096, False), (0, 10, True))
    """
    if key not in SETTING_FLAGS or key == "lr_schedule":
        raise KeyError(key)
    meta = next(f.metadata for f in fields(Training) if f.name == key)
    low, high, low_open = meta["range"]
    if key == "batch_size":
        low = max(low, MIN_BATCH_SIZE)
    return low, high, low_open


@dataclass(frozen=True)
class RunSettings:
    """Overrides of the protocol's ``[training]`` settings for one run (None = protocol's)."""

    input_px: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    lr_schedule: str | None = None
    epochs: int | None = None
    momentum: float | None = None
    weight_decay: float | None = None

    def overrides(self) -> dict[str, Any]:
        """The settings that are set, as plain data.

        Examples
        --------
        >>> RunSettings(lr=0.02, epochs=5).overrides()
        {'lr': 0.02, 'epochs': 5}
        """
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    def apply(self, protocol: Protocol) -> Protocol:
        """The protocol with these settings, validated like a protocol file.

        Raises
        ------
        UserError
            A value outside the protocol's range (e.g. ``--lr 0``), naming the option.
        """
        over = self.overrides()
        if not over:
            return protocol
        if over.get("batch_size") is not None and over["batch_size"] < MIN_BATCH_SIZE:
            raise UserError(f"--batch-size must be at least {MIN_BATCH_SIZE} (batch "
                            "normalisation cannot train on single photos)")
        data = protocol.to_dict()
        data["training"] = {**data["training"], **over}
        try:
            return protocol_from_dict(data, source="run settings")
        except UserError as exc:
            flags = ", ".join(SETTING_FLAGS[k] for k in over)
            raise UserError(exc.message, hint=f"check {flags}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSettings:
        """Settings from plain data (unknown keys are refused)."""
        unknown = sorted(set(data) - set(SETTING_FLAGS))
        if unknown:
            raise ValueError(f"unknown run settings: {', '.join(unknown)}")
        return cls(**dict(data))


@dataclass(frozen=True)
class TrainRequest:
    """A training run to start or resume.

    Attributes
    ----------
    study : str
    archs : tuple of str or None
        Architectures (None = the protocol's).
    settings : RunSettings
        Overrides of the protocol's training settings for this run.
    device : {"auto", "cpu", "cuda"}
    devices : tuple of str
        GPUs to spread the units over (``("cuda:0", "cuda:1")``); empty = every visible
        GPU when training on CUDA.
    workers : int or None
        Units trained at once on this machine (None = chosen from memory and cores).
    weights : {"imagenet", "none"} or None
        Initialisation (None = the protocol's).
    resume : str or None
        An unfinished run to continue (its settings are the ones it started with).
    deterministic : bool
        Exact fp32, reproducible (CPU).
    demo : bool
        The demo's quick run.
    run_name : str or None
        Name of a new run (None = ``<study>-<date>-<time>``).
    ray_address : str or None
        Run the units as Ray tasks on this cluster (``"auto"`` or ``host:port``).
    """

    study: str
    archs: tuple[str, ...] | None = None
    settings: RunSettings = field(default_factory=RunSettings)
    device: str = "auto"
    devices: tuple[str, ...] = ()
    workers: int | None = None
    weights: str | None = None
    resume: str | None = None
    deterministic: bool = False
    demo: bool = False
    run_name: str | None = None
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.archs is not None:
            object.__setattr__(self, "archs", tuple(self.archs) or None)
        object.__setattr__(self, "devices", tuple(self.devices))
        if isinstance(self.settings, Mapping):
            object.__setattr__(self, "settings", RunSettings.from_dict(self.settings))
        if not self.study:
            raise UserError("name the study to train")
        if self.device not in DEVICES:
            raise UserError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.weights not in (None, "imagenet", "none"):
            raise UserError(f"--weights must be 'imagenet' or 'none', not {self.weights!r}")
        if self.workers is not None and self.workers < 1:
            raise UserError("--workers must be at least 1")
        if self.devices and self.device == "cpu":
            raise UserError("--devices names GPUs, but the device is 'cpu'",
                            hint="use --device cuda or auto with --devices")
        if self.resume is not None:
            fixed = [*self.settings.overrides()]
            if self.archs:
                fixed.append("archs")
            if self.weights is not None:
                fixed.append("weights")
            if fixed:
                raise UserError(f"run {self.resume!r} keeps the settings it started with; "
                                f"{', '.join(fixed)} cannot change on resume",
                                hint="start a new run for other settings")

    @property
    def epochs(self) -> int | None:
        """Epochs per fold asked for (None = the protocol's)."""
        return self.settings.epochs

    def as_dict(self) -> dict[str, Any]:
        """Plain form (logs, ``--json``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["archs"] = list(self.archs) if self.archs else None
        out["devices"] = list(self.devices)
        out["settings"] = self.settings.overrides()
        return out


#: How :func:`settings_text` shows each setting.
_SHOW = {"input_px": "{} px", "batch_size": "batch {}", "lr": "lr {:g}", "lr_schedule": "{}",
         "epochs": "{} epochs", "momentum": "momentum {:g}", "weight_decay": "wd {:g}"}


def settings_text(values: Mapping[str, Any], protocol: Mapping[str, Any] | None = None) -> str:
    """A run's training settings in a few words; those differing from the protocol are
    marked with ``*`` and listed with the protocol's value.

    Parameters
    ----------
    values : mapping
        The run's settings (e.g. its stored spec).
    protocol : mapping, optional
        The protocol's ``[training]`` table.

    Examples
    --------
    >>> settings_text({"input_px": 64, "batch_size": 8, "lr": 0.005, "lr_schedule": "cosine",
    ...                "epochs": 3}, {"input_px": 64, "batch_size": 16, "lr": 0.005,
    ...                "lr_schedule": "cosine", "epochs": 3})
    '64 px · batch 8* · lr 0.005 · cosine · 3 epochs (* run setting; protocol: batch 16)'
    """
    shown, changed = [], []
    for key, fmt in _SHOW.items():
        if key not in values or values[key] is None:
            continue
        if key in ("momentum", "weight_decay") and (protocol is None or key not in protocol
                                                    or protocol[key] == values[key]):
            continue  # shown only when a run changed them
        text = fmt.format(values[key])
        if protocol is not None and key in protocol and protocol[key] != values[key]:
            changed.append(fmt.format(protocol[key]))
            text += "*"
        shown.append(text)
    out = " · ".join(shown)
    if changed:
        out += f" (* run setting; protocol: {', '.join(changed)})"
    return out


#: How :func:`setting_changes` names each setting.
_NAMES = {"input_px": ("input", "{} px"), "batch_size": ("batch size", "{}"),
          "lr": ("learning rate", "{:g}"), "lr_schedule": ("schedule", "{}"),
          "epochs": ("epochs", "{}"), "momentum": ("momentum", "{:g}"),
          "weight_decay": ("weight decay", "{:g}")}


def setting_changes(values: Mapping[str, Any], protocol: Mapping[str, Any]) -> str:
    """The settings a run changed from its protocol, in words ('' when none).

    Examples
    --------
    >>> setting_changes({"input_px": 64, "batch_size": 16, "lr": 0.02},
    ...                 {"input_px": 224, "batch_size": 16, "lr": 0.01})
    'input 64 px (protocol 224 px), learning rate 0.02 (protocol 0.01)'
    """
    out = []
    for key, (name, fmt) in _NAMES.items():
        if values.get(key) is None or key not in protocol or protocol[key] == values[key]:
            continue
        out.append(f"{name} {fmt.format(values[key])} (protocol {fmt.format(protocol[key])})")
    return ", ".join(out)
