"""Registered CNN architectures: torchvision models with an N-output last layer.

Every architecture is registered with :func:`register_arch`, which records its torchvision
ImageNet weights (so the expected weight file name is known without a download), the
layers a class-activation map may read, and the constructor. :func:`build_model` builds
the 1000-class ImageNet model with ``weights=None``, optionally loads an ImageNet state
dict from a local file, and then replaces the classifier's last linear layer, as Liu et
al. (2021) did. How an architecture is shown (display name, plot colour) is defined once,
torch-free, in :mod:`wbsdesk.core.architectures`; :attr:`ArchSpec.label` and
:attr:`ArchSpec.color` read it.

More architectures are one decorated function away::

    @register_arch("resnet50", weights=models.ResNet50_Weights.IMAGENET1K_V1,
                   cam_layers=("layer4", "layer3", "layer2", "layer1"))
    def _resnet50() -> nn.Module:
        return models.resnet50(weights=None)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision import models
from torchvision.models import WeightsEnum

from wbsdesk.core.architectures import arch_color, arch_label
from wbsdesk.errors import UserError
from wbsdesk.ml.checkpoints import load_state_checked, safe_torch_load

__all__ = ["ArchSpec", "arch_spec", "build_model", "list_archs", "register_arch",
           "state_signature"]

ARCH_ATTR = "wbsdesk_arch"
"""Attribute :func:`build_model` sets on every model it returns (the architecture name)."""


@dataclass(frozen=True)
class ArchSpec:
    """One registered architecture.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"resnet18"``.
    builder : callable
        Returns the 1000-class ImageNet model, randomly initialised (``weights=None``).
    weights : torchvision.models.WeightsEnum
        The torchvision ImageNet weights this architecture is initialised from.
    cam_layers : tuple of str
        Dotted paths of the modules a class-activation map may read, deepest first: the last
        convolutional block (after its activation), then the ends of earlier stages. Which
        one is read depends on the input size (:func:`wbsdesk.ml.explain.cam_map`).
    """

    name: str
    builder: Callable[[], nn.Module]
    weights: WeightsEnum
    cam_layers: tuple[str, ...]

    @property
    def cam_layer(self) -> str:
        """The last convolutional block (classic Grad-CAM's layer)."""
        return self.cam_layers[0]

    @property
    def label(self) -> str:
        """Display name (``"ResNet-18"``), from :mod:`wbsdesk.core.architectures`."""
        return arch_label(self.name)

    @property
    def color(self) -> str:
        """Plot colour, from :mod:`wbsdesk.core.architectures`."""
        return arch_color(self.name)

    @property
    def weights_file(self) -> str:
        """File name torchvision caches the ImageNet weights under (from the weights URL)."""
        return os.path.basename(self.weights.url)

    @property
    def weights_url(self) -> str:
        """Where torchvision downloads the ImageNet weights from (on a connected machine)."""
        return self.weights.url


_REGISTRY: dict[str, ArchSpec] = {}


def register_arch(name: str, *, weights: WeightsEnum, cam_layers: tuple[str, ...]
                  ) -> Callable[[Callable[[], nn.Module]], Callable[[], nn.Module]]:
    """Register a model constructor under ``name`` (decorator).

    Parameters
    ----------
    name : str
        Registry key; must be new.
    weights : torchvision.models.WeightsEnum, keyword-only
        The ImageNet weights the architecture is initialised from.
    cam_layers : tuple of str, keyword-only
        Dotted module paths a class-activation map may read, deepest first, e.g.
        ``("layer4", "layer3", "layer2", "layer1")``.

    Returns
    -------
    callable
        The decorator; it returns the constructor unchanged.
    """

    if not cam_layers:
        raise ValueError(f"architecture {name!r} needs at least one cam layer")

    def deco(fn: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"architecture {name!r} is already registered")
        _REGISTRY[name] = ArchSpec(name=name, builder=fn, weights=weights,
                                   cam_layers=tuple(cam_layers))
        return fn

    return deco


def list_archs() -> list[str]:
    """Names of all registered architectures, in registration order.

    Examples
    --------
    >>> "resnet18" in list_archs()
    True
    """
    return list(_REGISTRY)


def arch_spec(name: str) -> ArchSpec:
    """The registry entry of ``name``; an unknown name raises :class:`UserError`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(f"unknown architecture {name!r}",
                        hint=f"known architectures: {', '.join(_REGISTRY)}") from None


def build_model(name: str, *, num_outputs: int = 2,
                weights_path: str | os.PathLike[str] | None = None) -> nn.Module:
    """Build a registered architecture with an ``num_outputs``-output last layer.

    The 1000-class ImageNet model is constructed with ``weights=None``; when
    ``weights_path`` is given its state dict is loaded from that local file (never
    downloaded) with ``torch.load(..., weights_only=True)``; then the classifier's last
    linear layer is replaced by a freshly initialised ``Linear(in_features, num_outputs)``.
    The new layer's initial weights come from the global torch RNG (seed it first for a
    reproducible model).

    Parameters
    ----------
    name : str
        A name from :func:`list_archs`.
    num_outputs : int, keyword-only
        Outputs of the new last layer (2 for a binary task).
    weights_path : path, optional, keyword-only
        A 1000-class ImageNet state dict for this architecture (see
        :mod:`wbsdesk.ml.weights`).

    Returns
    -------
    torch.nn.Module
        The model, in training mode, on the CPU, with attribute ``wbsdesk_arch`` = ``name``.

    Raises
    ------
    UserError
        A weight file that is damaged, carries code (it is never run) or does not fit.

    Examples
    --------
    >>> m = build_model("resnet18")
    >>> m.fc.out_features
    2
    """
    spec = arch_spec(name)
    if weights_path is None:
        model = spec.builder()
    else:
        path = Path(weights_path)
        hint = f"import the file again with 'wbsdesk weights import FILE' ({spec.weights_url})"
        state = safe_torch_load(path, path=path, shown=str(path), kind="weight file",
                                hint_code=hint, hint_damaged=hint)
        if not isinstance(state, Mapping):
            raise UserError(f"{path}: not a model state dict (found {type(state).__name__})",
                            hint=hint)
        with torch.device("meta"):  # no time spent initialising weights about to be replaced
            model = spec.builder()
        load_state_checked(model, state, shown=str(path), assign=True)
        left = [k for k, v in model.state_dict().items() if v.is_meta]
        if left:
            raise ValueError(f"{weights_path}: no values for {', '.join(left[:3])}")
    parent, attr, last = _last_linear(model)
    new = nn.Linear(last.in_features, num_outputs, bias=last.bias is not None)
    setattr(parent, attr, new)
    setattr(model, ARCH_ATTR, name)
    return model


def _last_linear(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    """The parent module, attribute name and module of the last ``nn.Linear``."""
    found = None
    for path, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            found = (path, mod)
    if found is None:
        raise ValueError(f"{type(model).__name__} has no linear layer to replace")
    path, mod = found
    parent_path, _, attr = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    return parent, attr, mod


@functools.cache
def state_signature(name: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of the 1000-class ImageNet state dict of ``name``.

    Built on the ``meta`` device, so no memory is allocated and no weights are initialised.
    BatchNorm ``num_batches_tracked`` counters are left out (older weight files lack them
    and ``load_state_dict`` accepts that).
    """
    spec = arch_spec(name)
    with torch.device("meta"):
        model = spec.builder()
    return {k: tuple(v.shape) for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


# ---------------------------------------------------------------------------------------------
# The five architectures of Liu et al. (2021)


@register_arch("vgg16", weights=models.VGG16_Weights.IMAGENET1K_V1,
               cam_layers=("features.29", "features.22", "features.15", "features.8"))
def _vgg16() -> nn.Module:
    return models.vgg16(weights=None)


@register_arch("vgg19", weights=models.VGG19_Weights.IMAGENET1K_V1,
               cam_layers=("features.35", "features.26", "features.17", "features.8"))
def _vgg19() -> nn.Module:
    return models.vgg19(weights=None)


@register_arch("resnet18", weights=models.ResNet18_Weights.IMAGENET1K_V1,
               cam_layers=("layer4", "layer3", "layer2", "layer1"))
def _resnet18() -> nn.Module:
    return models.resnet18(weights=None)


@register_arch("resnet34", weights=models.ResNet34_Weights.IMAGENET1K_V1,
               cam_layers=("layer4", "layer3", "layer2", "layer1"))
def _resnet34() -> nn.Module:
    return models.resnet34(weights=None)


@register_arch("mobilenet_v2", weights=models.MobileNet_V2_Weights.IMAGENET1K_V1,
               cam_layers=("features.18", "features.13", "features.6", "features.3"))
def _mobilenet_v2() -> nn.Module:
    return models.mobilenet_v2(weights=None)
