"""The inputs of the generated Methods (:mod:`wbsdesk.services.methods_text`), typed.

:class:`MethodsInput` holds what the Methods state: the protocol, the run's training
settings (:class:`RunSettings`, from the run's stored spec), the included readers
(:class:`ReaderInfo`) and which analyses ran (:class:`Analyses`). :func:`methods_input`
builds it from a computed :class:`~wbsdesk.services.analysis_results.Comparison`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wbsdesk.core.architectures import ENSEMBLE
from wbsdesk.core.protocol import Protocol, Training

if TYPE_CHECKING:
    from wbsdesk.services.analysis_results import Comparison

__all__ = ["Analyses", "MethodsInput", "ReaderInfo", "RunSettings", "methods_input"]


@dataclass(frozen=True)
class ReaderInfo:
    """One included reader: ``kind`` is ``physician``, ``simulated`` or ``dry run``."""

    kind: str
    role: str = ""
    years: int | None = None


@dataclass(frozen=True)
class RunSettings:
    """How the run's models were trained (from the run's stored spec).

    ``init`` is ``"imagenet"`` (ImageNet-pretrained weights) or ``"none"`` (random
    initialisation); ``copies`` augmented views of every training photo per epoch.
    """

    name: str
    status: str
    archs: tuple[str, ...]
    init: str
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    lr_schedule: str
    input_px: int
    copies: int
    rotation_degrees: float
    crop_scale: tuple[float, float]
    hflip: bool
    autoaugment: str
    seed: int

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], training: Training, *, name: str,
                  status: str, archs: Sequence[str], seed: int,
                  augmentation: Any = None) -> RunSettings:
        """Settings from a run's stored spec; what the spec lacks comes from the protocol.

        ``augmentation`` is the protocol's :class:`~wbsdesk.core.protocol.Augmentation`
        (optional: its defaults otherwise).
        """
        from wbsdesk.core.protocol import Augmentation

        aug = augmentation or Augmentation()
        if "weights_dir" in spec:
            init = "imagenet" if spec["weights_dir"] else "none"
        else:
            init = training.init

        def get(key: str, default: Any) -> Any:
            return spec.get(key, default)

        return cls(name=name, status=status, archs=tuple(archs), init=init,
                   epochs=int(get("epochs", training.epochs)),
                   batch_size=int(get("batch_size", training.batch_size)),
                   lr=float(get("lr", training.lr)),
                   momentum=float(get("momentum", training.momentum)),
                   weight_decay=float(get("weight_decay", training.weight_decay)),
                   lr_schedule=str(get("lr_schedule", training.lr_schedule)),
                   input_px=int(get("input_px", training.input_px)),
                   copies=int(get("copies", aug.copies)),
                   rotation_degrees=float(get("rotation_degrees", aug.rotation_degrees)),
                   crop_scale=tuple(get("crop_scale", aug.crop_scale)),  # type: ignore[arg-type]
                   hflip=bool(get("hflip", aug.hflip)),
                   autoaugment=str(get("autoaugment", aug.autoaugment)), seed=int(seed))


@dataclass(frozen=True)
class Analyses:
    """Which analyses the comparison ran (and on how many cases)."""

    model_vs_model: bool
    model_vs_reader: bool
    mrmc: bool
    mrmc_cov: str = "jackknife"


@dataclass(frozen=True)
class MethodsInput:
    """Everything the Methods paragraph states.

    Attributes
    ----------
    protocol : Protocol
        The study's resolved protocol (groups, folds, faces, reading rules, statistics).
    run : RunSettings
    control_groups : tuple of str
        The control groups compared with the positive group.
    per_group : mapping of str to int
        Analysed cases per group.
    readers : tuple of ReaderInfo
        The included readers.
    readers_left_out : mapping of str to int
        Why (``simulated``, ``dry run``, ``unfinished``) -> how many readers were left out.
    paired_cases : int
        Photos every included reader rated.
    fold_seed, k : int
        The stored fold assignment's seed and number of folds.
    analyses : Analyses
    synthetic : bool
        The photos are generated.
    software : str
        E.g. ``"wbsdesk 0.2.0"``.
    """

    protocol: Protocol
    run: RunSettings
    control_groups: tuple[str, ...]
    per_group: Mapping[str, int]
    readers: tuple[ReaderInfo, ...]
    readers_left_out: Mapping[str, int]
    paired_cases: int
    fold_seed: int
    k: int
    analyses: Analyses
    synthetic: bool = False
    software: str = ""
    #: Every run's settings when several runs are compared (``run`` then lists every
    #: architecture of them); empty for one run.
    runs: tuple[RunSettings, ...] = ()


def methods_input(c: Comparison, run: RunSettings | None = None, *,
                  years: Mapping[str, int | None] | None = None,
                  software: str = "") -> MethodsInput:
    """The inputs of :func:`methods_section` for a computed comparison.

    Parameters
    ----------
    c : Comparison
    run : RunSettings, optional
        The run's training settings (default: the comparison's run spec, else the
        protocol's training settings with the comparison's architectures).
    years : mapping of str to int, optional, keyword-only
        Reader name -> years of experience, where known.
    software : str, keyword-only
        E.g. ``"wbsdesk 0.2.0"`` (default: the comparison's wbsdesk version).
    """
    archs = tuple(m.name for m in c.models if m.name != ENSEMBLE)
    runs: tuple[RunSettings, ...] = ()
    if len(c.runs) >= 2:
        runs = tuple(RunSettings.from_spec(r.spec, c.protocol.training, name=r.name,
                                           status=r.status, archs=r.archs, seed=r.seed,
                                           augmentation=c.protocol.augmentation)
                     for r in c.runs)
        every = tuple(dict.fromkeys(a for r in runs for a in r.archs))
        run = run or dataclasses.replace(runs[0], name=c.run, archs=every)
    if run is None:
        run = RunSettings.from_spec(c.run_spec, c.protocol.training, name=c.run,
                                    status=c.run_status, archs=archs,
                                    seed=int(c.seeds.get("training", 0)),
                                    augmentation=c.protocol.augmentation)
    years = years or {}
    readers = tuple(ReaderInfo(kind=r.kind, role=r.role, years=years.get(r.name))
                    for r in c.readers)
    left = {why: len(names) for why, names in c.counts.get("readers_left_out", {}).items()}
    seed = c.seeds.get("folds", c.protocol.folds.seed)
    software = software or (f"wbsdesk {c.versions['wbsdesk']}" if "wbsdesk" in c.versions
                            else "")
    return MethodsInput(
        protocol=c.protocol, run=run, control_groups=tuple(c.control_groups),
        per_group=dict(c.counts["per_group"]), readers=readers, readers_left_out=left,
        paired_cases=int(c.paired.size), fold_seed=int(seed), k=int(c.k or c.protocol.folds.k),
        analyses=Analyses(model_vs_model=bool(c.delong_model_model),
                          model_vs_reader=bool(c.delong_model_reader),
                          mrmc=c.mrmc is not None,
                          mrmc_cov=c.mrmc.cov_method if c.mrmc is not None else "jackknife"),
        synthetic=c.synthetic, software=software, runs=runs)
