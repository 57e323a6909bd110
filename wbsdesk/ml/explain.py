"""Class-activation heatmaps (Grad-CAM, LayerCAM) for the registered architectures, and a
hand-made colour overlay.

:func:`cam_map` reads one of the architecture's candidate layers (registry ``cam_layers``,
deepest first): the deepest whose map has at least
:data:`~wbsdesk.core.heatmaps.MIN_CAM_SIDE` cells on a side at the input's size, else the
finest. At the last convolutional block it is Grad-CAM (Selvaraju et al. 2017): the
activations ``A`` weighted by the spatial mean of d(score)/dA per channel, summed over
channels, through ReLU. At an earlier stage it is LayerCAM (Jiang et al. 2021): each
position's activations weighted by the positive part of their own gradient, because the
channel-averaged gradient is not faithful there. ResNet-18 at the demo's 64 px input has a
2 x 2 last block, which only ever showed a quadrant; its 8 x 8 ``layer2`` puts the heat on
the nose and eyes (``benchmarks/gradcam_focus.py``). At 224 px (the paper's input) every
architecture is read at its last block. The map is upsampled to the input and scaled to 0..1.
The colours are :func:`wbsdesk.core.colormap.colorize` (re-exported here), the same ramp
the GUI draws as the colour scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image
from torch import nn

from wbsdesk.core.colormap import colorize
from wbsdesk.core.heatmaps import GRAD_CAM, LAYER_CAM, MIN_CAM_SIDE
from wbsdesk.ml.data import preprocess
from wbsdesk.ml.registry import ARCH_ATTR, arch_spec

__all__ = ["CamChoice", "cam_map", "colorize", "explain_crop", "gradcam", "overlay"]


@dataclass(frozen=True)
class CamChoice:
    """Which feature map a heatmap read, and how.

    Attributes
    ----------
    layer : str
        Dotted path of the module read.
    grid : (int, int)
        ``(rows, cols)`` of its map.
    method : str
        :data:`~wbsdesk.core.heatmaps.GRAD_CAM` (the last block) or
        :data:`~wbsdesk.core.heatmaps.LAYER_CAM` (an earlier stage).
    last_layer : str
        The last convolutional block.
    last_grid : (int, int)
        Its map at the same input.
    """

    layer: str
    grid: tuple[int, int]
    method: str
    last_layer: str
    last_grid: tuple[int, int]

    @property
    def is_last(self) -> bool:
        """The layer read is the last convolutional block."""
        return self.layer == self.last_layer


def _candidates(model: nn.Module) -> list[str]:
    """The layers a heatmap may read, deepest first (registry, else the last ``Conv2d``)."""
    arch = getattr(model, ARCH_ATTR, None)
    if arch is not None:
        return list(arch_spec(arch).cam_layers)
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("the model has no convolutional layer for Grad-CAM")
    return [convs[-1]]


def _choose(names: list[str], grids: list[tuple[int, int]], layer: str | None,
            method: str | None) -> CamChoice:
    if layer is not None:
        if layer not in names:
            raise ValueError(f"{layer!r} is not one of the model's cam layers {names}")
        i = names.index(layer)
    else:
        i = next((k for k, g in enumerate(grids) if min(g) >= MIN_CAM_SIDE), len(names) - 1)
    how = method or (GRAD_CAM if i == 0 else LAYER_CAM)
    if how not in (GRAD_CAM, LAYER_CAM):
        raise ValueError(f"unknown heatmap method {how!r}")
    return CamChoice(layer=names[i], grid=grids[i], method=how, last_layer=names[0],
                     last_grid=grids[0])


def _forward(model: nn.Module, x: torch.Tensor, names: list[str]
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One forward pass in eval mode (mode restored), keeping every candidate's output."""
    seen: dict[str, torch.Tensor] = {}
    handles = [model.get_submodule(n).register_forward_hook(
        lambda _m, _i, out, n=n: seen.__setitem__(n, out)) for n in names]
    was_training = model.training
    model.eval()
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return logits, [seen[n] for n in names]


def cam_map(model: nn.Module, x: torch.Tensor, *, target: int = 1, layer: str | None = None,
            method: str | None = None) -> tuple[np.ndarray, CamChoice]:
    """Class-activation heatmap of class ``target`` for one normalised input.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier (put in eval mode here and restored; its parameters' ``.grad`` are not
        touched).
    x : torch.Tensor of shape (3, H, W) or (1, 3, H, W)
        Normalised float input (e.g. from :func:`wbsdesk.ml.data.preprocess`).
    target : int, keyword-only
        Class whose logit is explained (1 = positive group).
    layer : str, optional, keyword-only
        Read this candidate layer (default: chosen by the input's size, see the module).
    method : str, optional, keyword-only
        ``"Grad-CAM"`` or ``"LayerCAM"`` (default: Grad-CAM at the last block, LayerCAM at an
        earlier stage).

    Returns
    -------
    heat : numpy.ndarray of shape (H, W), dtype float32
        Finite values in [0, 1]; all zeros when nothing supports the class.
    choice : CamChoice
        The layer read, its map size and the method.
    """
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image of shape (3, H, W), got {tuple(x.shape)}")
    names = _candidates(model)
    dev = next(model.parameters()).device
    x = x.to(dev, torch.float32).requires_grad_(True)
    with torch.enable_grad():
        logits, acts = _forward(model, x, names)
        choice = _choose(names, [(int(a.shape[-2]), int(a.shape[-1])) for a in acts],
                         layer, method)
        act = acts[names.index(choice.layer)]
        (grads,) = torch.autograd.grad(logits[0, target], act)
    act = act.detach()
    if choice.method == GRAD_CAM:
        cam = (grads.mean(dim=(2, 3), keepdim=True) * act).sum(dim=1, keepdim=True)
    else:
        cam = (torch.relu(grads) * act).sum(dim=1, keepdim=True)
    cam = torch.relu(cam).float()
    cam = nnf.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    cam = cam[0, 0].clamp_min(0)
    top = float(cam.max())
    if not np.isfinite(top) or top <= 0:
        return np.zeros(tuple(x.shape[-2:]), dtype=np.float32), choice
    return (cam / top).clamp(0, 1).cpu().numpy().astype(np.float32), choice


def gradcam(model: nn.Module, x: torch.Tensor, *, target: int = 1) -> np.ndarray:
    """The heatmap of :func:`cam_map` alone (the layer and method chosen by input size)."""
    return cam_map(model, x, target=target)[0]


def overlay(crop: Image.Image, heatmap: np.ndarray, *, alpha: float = 0.45) -> Image.Image:
    """Blend the coloured heatmap over a crop (the heatmap is resized to the crop).

    Parameters
    ----------
    crop : PIL.Image.Image
        Any mode; converted to RGB.
    heatmap : numpy.ndarray of shape (h, w)
        Values in 0..1 (e.g. from :func:`gradcam`).
    alpha : float, keyword-only
        Weight of the heatmap where it is 1; it fades out towards 0, so cold regions show
        the crop almost unchanged.

    Returns
    -------
    PIL.Image.Image
        RGB, the size of ``crop``.
    """
    base = np.asarray(crop.convert("RGB"), dtype=np.float32)
    h, w = base.shape[:2]
    hm = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    if hm.shape != (h, w):
        hm = np.asarray(Image.fromarray(hm).resize((w, h), Image.Resampling.BILINEAR))
        hm = np.clip(hm, 0.0, 1.0)
    colour = colorize(hm).astype(np.float32)
    a = (alpha * (0.35 + 0.65 * hm))[..., None]
    out = base * (1.0 - a) + colour * a
    return Image.fromarray(np.clip(np.round(out), 0, 255).astype(np.uint8))


def explain_crop(model: nn.Module, crop: Image.Image, *, size: int, mean: Sequence[float],
                 std: Sequence[float], target: int = 1,
                 alpha: float = 0.45) -> tuple[np.ndarray, Image.Image]:
    """Grad-CAM of one crop as the model sees it, and its overlay on the crop.

    Returns the ``(size, size)`` heatmap and the overlay at the crop's own size.
    """
    x = preprocess(crop, size=size, mean=mean, std=std)
    heat = gradcam(model, x, target=target)
    return heat, overlay(crop, heat, alpha=alpha)
