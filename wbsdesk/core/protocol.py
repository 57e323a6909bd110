"""Study protocols: TOML text validated strictly into frozen dataclasses.

A protocol describes a study end to end (groups, folds, face crops, training, reading,
statistics) so that a run can be repeated from its file. Every key is checked: an unknown
key, a wrong type or an out-of-range value raises :class:`~wbsdesk.errors.UserError`
naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from wbsdesk.errors import UserError

SCHEMA_VERSION = 1


def _rng(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
         hint: str | None = None) -> dict:
    return {"range": (lo, hi, lo_open), "hint": hint}


@dataclass(frozen=True)
class Groups:
    """Subject groups: ``names`` in display order, ``positive`` is the target group."""

    names: tuple[str, ...]
    positive: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def controls(self) -> tuple[str, ...]:
        """Every group but the positive one."""
        return tuple(g for g in self.names if g != self.positive)

    def label(self, name: str) -> str:
        """Display name of a group (falls back to its key)."""
        return self.labels.get(name, name)


@dataclass(frozen=True)
class Photos:
    """Photo intake rules."""

    per_subject: int = field(default=1, metadata=_rng(1, 100))
    max_pixels: int = field(default=120_000_000, metadata=_rng(1_000_000, 1_000_000_000))
    min_side_px: int = field(default=64, metadata=_rng(16, 10_000))


@dataclass(frozen=True)
class Folds:
    """Cross-validation folds: stratified by group, grouped by subject."""

    k: int = field(default=5, metadata=_rng(2, 50))
    seed: int = field(default=2021, metadata=_rng(0, 2**32 - 1))
    stratify: Literal["group"] = "group"


@dataclass(frozen=True)
class Faces:
    """Face detection and crop settings."""

    detector: Literal["mtcnn"] = "mtcnn"
    landmarks: Literal[5] = 5
    model_crop_px: int = field(default=224, metadata=_rng(32, 1024))
    reader_crop_px: int = field(default=768, metadata=_rng(128, 4096))
    reader_face_area: tuple[float, float] = field(default=(0.30, 0.60), metadata=_rng(0, 1))
    min_confidence: float = field(default=0.90, metadata=_rng(0, 1))
    min_face_px: int = field(default=64, metadata=_rng(8, 4096))
    detect_max_side: int = field(default=1024, metadata=_rng(160, 8192))
    #: How the model crop fills pixels that fall outside the photo: flat neutral ``grey``,
    #: the nearest ``edge`` pixel, or the photo mirrored at its border (``reflect``).
    padding: Literal["grey", "edge", "reflect"] = "grey"


@dataclass(frozen=True)
class Augmentation:
    """Training-set augmentation and input normalisation."""

    copies: int = field(default=2, metadata=_rng(1, 20))
    rotation_degrees: float = field(default=15.0, metadata=_rng(0, 180))
    crop_scale: tuple[float, float] = field(default=(0.8, 1.0), metadata=_rng(0, 1, lo_open=True))
    hflip: bool = True
    autoaugment: Literal["imagenet", "none"] = "imagenet"
    normalize_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    normalize_std: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Training:
    """Model training hyper-parameters."""

    architectures: tuple[str, ...] = ("vgg16", "vgg19", "resnet18", "resnet34", "mobilenet_v2")
    init: Literal["imagenet", "none"] = "imagenet"
    head: Literal["replace_last_linear"] = "replace_last_linear"
    num_outputs: int = field(default=2, metadata=_rng(2, 2))
    optimizer: Literal["sgd"] = "sgd"
    lr: float = field(default=0.01, metadata=_rng(0, 10, lo_open=True))
    momentum: float = field(default=0.9, metadata=_rng(0, 1))
    weight_decay: float = field(default=1e-4, metadata=_rng(0, 1))
    lr_schedule: Literal["constant", "cosine", "step"] = "constant"
    batch_size: int = field(default=16, metadata=_rng(1, 4096))
    epochs: int = field(default=100, metadata=_rng(1, 10_000))
    input_px: int = field(default=224, metadata=_rng(16, 1024))
    seed: int = field(default=2021, metadata=_rng(0, 2**32 - 1))


@dataclass(frozen=True)
class Reading:
    """Timed reading-session rules."""

    seconds_per_photo: float = field(default=10.0, metadata=_rng(0.05, 600))
    response_window_seconds: float = field(default=20.0, metadata=_rng(0, 3600))
    scale: tuple[str, ...] = ("Definitely not", "Probably not", "Unsure", "Probably", "Definitely")
    unsure_counts_as: Literal["negative", "positive"] = "negative"
    order: Literal["per_reader_random", "fixed"] = "per_reader_random"
    practice_photos: int = field(default=0, metadata=_rng(0, 100))
    #: ``blind``: each photo is read once, without the model. ``sequential_aided``: each
    #: photo is read blind, that answer is committed and locked, then the same crop is read
    #: again with the model's aid. ``crossover_aided``: two sessions per reader, one
    #: unaided and one aided, in counterbalanced order, ``washout_days`` apart.
    design: Literal["blind", "sequential_aided", "crossover_aided"] = "blind"
    #: What the aided view shows: the model's probability, its Grad-CAM heatmap, or both.
    aid: tuple[Literal["probability", "heatmap"], ...] = ("probability", "heatmap")
    #: Whose out-of-fold score is the aid: the ``ensemble`` (mean of the run's
    #: architectures) or one architecture of ``training.architectures``.
    aid_model: str = "ensemble"
    #: Display seconds of the aided view (not set: ``seconds_per_photo``).
    aided_seconds: float | None = field(default=None, metadata=_rng(0.05, 600))
    #: Least days between a reader's two crossover sessions.
    washout_days: float = field(default=28.0, metadata=_rng(0, 3650))
    #: Hours after a session's last read within which an interrupted session simply goes
    #: on; after that the administrator restarts it (its reads are kept but void) or lets
    #: it continue (recorded as a protocol deviation).
    resume_within_hours: float = field(default=24.0, metadata=_rng(0, 8760, lo_open=True))
    #: Share of the scored photos shown a second time in the blind phase (intra-reader
    #: agreement; the repeats are left out of the primary analysis). 0: no repeats.
    repeat_fraction: float = field(default=0.0, metadata=_rng(0, 0.5))
    #: Least number of photos shown between a photo's two showings.
    repeat_min_gap: int = field(default=20, metadata=_rng(1, 10_000))

    @property
    def aided(self) -> bool:
        """Whether the design has aided reads."""
        return self.design != "blind"

    @property
    def aided_display_seconds(self) -> float:
        """Display seconds of the aided view (``aided_seconds``, else ``seconds_per_photo``)."""
        return self.seconds_per_photo if self.aided_seconds is None else self.aided_seconds

    def binary_read(self, rating: int) -> bool:
        """Whether a 1-based rating counts as a positive read (the middle level is "unsure")."""
        middle = (len(self.scale) + 1) // 2
        if rating == middle:
            return self.unsure_counts_as == "positive"
        return rating > middle


@dataclass(frozen=True)
class Kiosk:
    """Reader-mode (kiosk) rules of the app."""

    #: Minutes without keyboard or mouse input after which unlocked admin views go back to
    #: reader mode (the app uses the shortest of its studies' values).
    idle_lock_minutes: float = field(default=5.0, metadata=_rng(0.5, 240))


@dataclass(frozen=True)
class Statistics:
    """Conventions for reported statistics."""

    threshold: float = field(default=0.5, metadata=_rng(0, 1))
    sd_ddof: int = field(default=1, metadata=_rng(0, 1))
    ci_level: float = field(default=0.95, metadata=_rng(0.5, 0.999))
    bootstrap_resamples: int = field(default=2000, metadata=_rng(100, 1_000_000))
    bootstrap_seed: int = field(default=2021, metadata=_rng(0, 2**32 - 1))
    ttest: Literal["student", "welch"] = "welch"
    chi2_yates: bool = False
    #: Lower edges (months) of the age bands of the subgroup audit: [0, 36), [36, 72),
    #: [72, 144) and [144, inf). Increasing, non-negative; the last band is open-ended.
    age_bands_months: tuple[float, ...] = field(
        default=(0.0, 36.0, 72.0, 144.0),
        metadata=_rng(0, 1500, hint="list the lower edges only, e.g. [0, 36, 72, 144]: the "
                                    "last band (144 months and over) is open-ended"))


@dataclass(frozen=True)
class Protocol:
    """A whole study protocol, as read from a ``study_protocols/*.toml`` file."""

    name: str
    title: str
    groups: Groups
    schema: int = field(default=SCHEMA_VERSION, metadata=_rng(1, SCHEMA_VERSION))
    reference: str = ""
    synthetic: bool = False
    photos: Photos = field(default_factory=Photos)
    folds: Folds = field(default_factory=Folds)
    faces: Faces = field(default_factory=Faces)
    training: Training = field(default_factory=Training)
    augmentation: Augmentation = field(default_factory=Augmentation)
    reading: Reading = field(default_factory=Reading)
    statistics: Statistics = field(default_factory=Statistics)
    kiosk: Kiosk = field(default_factory=Kiosk)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON/TOML friendly) of the resolved protocol."""
        return _plain(dataclasses.asdict(self))

    def to_json(self) -> str:
        """The resolved protocol as canonical JSON (stored with studies, runs and sessions)."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------
# Loading and validation


def parse_protocol(text: str, *, source: str = "<protocol>") -> Protocol:
    """Parse and validate protocol TOML text.

    Parameters
    ----------
    text : str
        TOML text.
    source : str, keyword-only
        The file name, used in error messages.

    Returns
    -------
    Protocol
        The validated, frozen protocol, with defaults filled in.

    Raises
    ------
    UserError
        On invalid TOML, unknown keys, wrong types or out-of-range values.

    Examples
    --------
    >>> p = parse_protocol('name="x"\\ntitle="X"\\n[groups]\\nnames=["a","b"]\\npositive="a"')
    >>> p.folds.k, p.groups.controls
    (5, ('b',))
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not valid TOML ({exc})") from None
    proto = protocol_from_dict(data, source=source)
    r = proto.reading
    # A file only: the demo's stored session protocols turn blind sessions (with their
    # repeats) into sequential ones after the reads.
    if r.repeat_fraction > 0 and r.design != "blind":
        raise UserError(f"{source}: 'reading.repeat_fraction' needs design = \"blind\" "
                        f"(got {r.design!r}): repeat reads are shown in blind sessions only",
                        hint="set repeat_fraction = 0, or read blind")
    return proto


def protocol_from_dict(data: dict[str, Any], *, source: str = "<protocol>") -> Protocol:
    """Validate a plain dict (e.g. parsed TOML or stored JSON) into a :class:`Protocol`."""
    proto = _build(Protocol, data, source, "")
    _check_cross(proto, source)
    return proto


def _build(cls: type, data: Any, source: str, path: str) -> Any:
    where = f"[{path}]" if path else "top level"
    if not isinstance(data, dict):
        raise UserError(f"{source}: {where} must be a table, got {_tname(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(f"{source}: unknown key {_key(path, unknown[0])!r} in {where}",
                        hint=f"known keys: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        key = _key(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise UserError(f"{source}: missing required key {key!r}")
            continue
        kwargs[name] = _coerce(hints[name], data[name], source, key, f.metadata)
    return cls(**kwargs)


def _key(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _tname(v: Any) -> str:
    return type(v).__name__


def _coerce(tp: Any, value: Any, source: str, key: str, meta: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    bad = f"{source}: {key!r} "
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, source, key)
    if origin is Literal:
        if value not in args or isinstance(value, bool) != any(isinstance(a, bool) for a in args):
            raise UserError(bad + f"must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if origin in (types.UnionType, typing.Union):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            raise TypeError(f"unsupported protocol type {tp}")  # pragma: no cover - schema bug
        # optional: TOML cannot say "none", so only a stored protocol (JSON null) gets here
        return None if value is None else _coerce(rest[0], value, source, key, meta)
    if origin is dict:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise UserError(bad + "must be a table of text values")
        return dict(value)
    if origin is tuple:
        if not isinstance(value, list):
            raise UserError(bad + f"must be a list, got {_tname(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            items = [_coerce(args[0], v, source, f"{key}[{i}]", meta) for i, v in enumerate(value)]
            if not items:
                raise UserError(bad + "must not be empty")
        else:
            if len(value) != len(args):
                raise UserError(bad + f"must have exactly {len(args)} items, got {len(value)}")
            items = [_coerce(a, v, source, f"{key}[{i}]", meta)
                     for i, (a, v) in enumerate(zip(args, value, strict=True))]
        return tuple(items)
    if tp is bool:
        if not isinstance(value, bool):
            raise UserError(bad + f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(bad + f"must be an integer, got {value!r}")
        _check_range(value, meta, bad)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(bad + f"must be a number, got {value!r}")
        _check_range(float(value), meta, bad)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise UserError(bad + f"must be text, got {value!r}")
        return value
    raise TypeError(f"unsupported protocol type {tp}")  # pragma: no cover - schema bug


def _check_range(value: float, meta: Any, bad: str) -> None:
    lo, hi, lo_open = meta.get("range", (None, None, False)) if meta else (None, None, False)
    if not math.isfinite(value):  # TOML has nan and inf; no key takes them
        raise UserError(bad + f"must be a finite number, got {value}",
                        hint=meta.get("hint") if meta else None)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        op = ">" if lo_open else ">="
        raise UserError(bad + f"must be {op} {lo}, got {value}")
    if hi is not None and value > hi:
        raise UserError(bad + f"must be <= {hi}, got {value}")


def _check_cross(p: Protocol, source: str) -> None:
    g = p.groups
    if len(g.names) < 2:
        raise UserError(f"{source}: 'groups.names' needs at least two groups")
    if len(set(g.names)) != len(g.names):
        raise UserError(f"{source}: 'groups.names' has a duplicate group")
    for n in g.names:
        if not n or not n.replace("_", "").isalnum():
            raise UserError(f"{source}: group name {n!r} must be letters, digits and _")
    if g.positive not in g.names:
        raise UserError(f"{source}: 'groups.positive' = {g.positive!r} is not in groups.names")
    extra = sorted(set(g.labels) - set(g.names))
    if extra:
        raise UserError(f"{source}: 'groups.labels' names unknown group {extra[0]!r}")
    lo, hi = p.faces.reader_face_area
    if not lo < hi:
        raise UserError(f"{source}: 'faces.reader_face_area' must be [low, high] with low < high")
    lo, hi = p.augmentation.crop_scale
    if not lo <= hi:
        raise UserError(f"{source}: 'augmentation.crop_scale' must be [low, high] with low <= high")
    if any(s <= 0 for s in p.augmentation.normalize_std):
        raise UserError(f"{source}: 'augmentation.normalize_std' values must be > 0")
    if len(p.reading.scale) < 2:
        raise UserError(f"{source}: 'reading.scale' needs at least two levels")
    if len(p.reading.scale) % 2 == 0:
        raise UserError(f"{source}: 'reading.scale' needs an odd number of levels "
                        "(the middle one is 'unsure')")
    r = p.reading
    if len(set(r.aid)) != len(r.aid):
        raise UserError(f"{source}: 'reading.aid' lists {_first_repeat(r.aid)!r} twice")
    if r.aid_model != "ensemble" and r.aid_model not in p.training.architectures:
        raise UserError(f"{source}: 'reading.aid_model' = {r.aid_model!r} is neither "
                        "\"ensemble\" nor one of training.architectures",
                        hint=f"choose one of: ensemble, {', '.join(p.training.architectures)}")
    if len(set(p.training.architectures)) != len(p.training.architectures):
        raise UserError(f"{source}: 'training.architectures' has a duplicate")
    edges = p.statistics.age_bands_months
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise UserError(f"{source}: 'statistics.age_bands_months' must be increasing "
                        f"(lower edges of the bands in months), got {list(edges)}",
                        hint="e.g. [0, 36, 72, 144]: the last band (144 months and over) "
                             "is open-ended, so no upper edge is listed")


def _first_repeat(items: tuple[str, ...]) -> str:
    return next(x for i, x in enumerate(items) if x in items[:i])
