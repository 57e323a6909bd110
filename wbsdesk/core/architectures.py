"""How architectures are shown: one display name and one colour each, everywhere.

The registry keys (``"resnet18"``) are what protocols, the command line and the database
use; people see :func:`arch_label` (``"ResNet-18"``) in the app, the reports and the
command's tables, and every plot draws an architecture in :func:`arch_color`, so ResNet-18
is the same blue in the Dashboard's ROC plot, the Training view's loss curves and the
report's figure. This module holds no torch: the GUI and the reports use it without
loading the training stack (``wbsdesk.ml.registry`` checks that every architecture it
registers is listed here).

Colours are Okabe & Ito's colour-blind-safe palette; the ensemble is black.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ARCHITECTURES", "ENSEMBLE", "ENSEMBLE_COLOR", "RUN_MARK", "ArchStyle", "arch_color",
           "arch_label", "arch_labels", "model_color", "run_model", "split_run_model"]

#: The name of the mean-of-architectures model in comparisons and AUC tables.
ENSEMBLE = "ensemble"
ENSEMBLE_COLOR = "#000000"


@dataclass(frozen=True)
class ArchStyle:
    """How one architecture is shown: registry key, display name and plot colour."""

    name: str
    label: str
    color: str


#: The five architectures of Liu et al. (2021), in the protocol's order.
ARCHITECTURES: dict[str, ArchStyle] = {s.name: s for s in (
    ArchStyle("vgg16", "VGG-16", "#009E73"),          # bluish green
    ArchStyle("vgg19", "VGG-19", "#D55E00"),          # vermillion
    ArchStyle("resnet18", "ResNet-18", "#0072B2"),    # blue
    ArchStyle("resnet34", "ResNet-34", "#CC79A7"),    # reddish purple
    ArchStyle("mobilenet_v2", "MobileNet-V2", "#E69F00"),  # orange
)}

#: Colours for architectures registered later without an entry above (picked by name).
SPARE_COLORS = ("#56B4E9", "#8C564B", "#7F7F7F", "#BCBD22")


def arch_label(name: str) -> str:
    """Display name of an architecture (or ``"Ensemble"``); unknown names are kept.

    Examples
    --------
    >>> arch_label("resnet18"), arch_label("mobilenet_v2"), arch_label("ensemble")
    ('ResNet-18', 'MobileNet-V2', 'Ensemble')
    >>> arch_label("my_net")
    'my_net'
    """
    if name == ENSEMBLE:
        return "Ensemble"
    model, run = split_run_model(name)
    if run is not None:
        return f"{arch_label(model)} · {run}"
    style = ARCHITECTURES.get(name)
    return style.label if style is not None else name


def arch_labels(names: Iterable[str]) -> str:
    """Display names joined with commas (``"ResNet-18, MobileNet-V2"``)."""
    return ", ".join(arch_label(n) for n in names)


def arch_color(name: str) -> str:
    """The colour (``"#RRGGBB"``) an architecture is drawn in, the same in every plot.

    An architecture without an entry in :data:`ARCHITECTURES` gets a spare colour chosen
    by a checksum of its name (stable across runs and processes).

    Examples
    --------
    >>> arch_color("resnet18"), arch_color("ensemble")
    ('#0072B2', '#000000')
    """
    if name == ENSEMBLE:
        return ENSEMBLE_COLOR
    model, run = split_run_model(name)
    if run is not None:
        return "#666666" if model == ENSEMBLE else arch_color(model)
    style = ARCHITECTURES.get(name)
    if style is not None:
        return style.color
    return SPARE_COLORS[zlib.crc32(name.encode()) % len(SPARE_COLORS)]


#: Joins a model and its run in the model names of a comparison of several runs.
RUN_MARK = "@"
#: How much each further run's curves are darkened (-) or lightened (+), in run order.
_RUN_SHADES = (0.0, -0.45, 0.5, -0.7, 0.75)


def run_model(model: str, run: str) -> str:
    """The name of ``model`` (an architecture or ``"ensemble"``) of ``run`` in a comparison
    of several runs.

    Examples
    --------
    >>> run_model("resnet18", "r64"), arch_label(run_model("resnet18", "r64"))
    ('resnet18@r64', 'ResNet-18 · r64')
    """
    return f"{model}{RUN_MARK}{run}"


def split_run_model(name: str) -> tuple[str, str | None]:
    """``(model, run)`` of a run-qualified model name; ``(name, None)`` for a plain one.

    Examples
    --------
    >>> split_run_model("ensemble@a@b"), split_run_model("vgg16")
    (('ensemble', 'a@b'), ('vgg16', None))
    """
    model, mark, run = name.partition(RUN_MARK)
    return (model, run) if mark and model and run else (name, None)


def _shade(color: str, amount: float) -> str:
    """``color`` darkened (``amount`` < 0, towards black) or lightened (> 0, towards white)."""
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    to = 0 if amount < 0 else 255
    return "#" + "".join(f"{round(c + (to - c) * abs(amount)):02X}" for c in rgb)


def model_color(name: str, runs: Iterable[str] = ()) -> str:
    """The colour a model's curve is drawn in; in a comparison of several ``runs`` the
    first run's models have their architecture's colour, later runs' a darker or lighter
    shade of it (so one architecture stays one hue, and the runs stay apart).

    Examples
    --------
    >>> model_color("resnet18@a", ["a", "b"]), model_color("resnet18@b", ["a", "b"])
    ('#0072B2', '#003F62')
    """
    color = arch_color(name)
    _, run = split_run_model(name)
    order = list(runs)
    if run is None or run not in order:
        return color
    return _shade(color, _RUN_SHADES[order.index(run) % len(_RUN_SHADES)])
