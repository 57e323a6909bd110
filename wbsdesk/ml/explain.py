"""Grad-CAM heatmaps for the registered architectures, and a hand-made colour overlay.

Grad-CAM (Selvaraju et al. 2017): the activations ``A`` of the last convolutional block
(registry ``cam_layer``) are weighted by the spatial mean of d(score)/dA per channel,
summed over channels, passed through ReLU, upsampled to the input size and scaled to 0..1.
The colours are :func:`wbsdesk.core.colormap.colorize` (re-exported here), the same ramp the
GUI draws as the colour scale. :func:`cam_grid` tells how coarse the read map is: ResNet-18
at 64 px input gives 2 x 2 cells, too few to localise anything on a face.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image
from torch import nn

from wbsdesk.core.colormap import colorize
from wbsdesk.ml.data import preprocess
from wbsdesk.ml.registry import ARCH_ATTR, arch_spec

__all__ = ["cam_grid", "cam_layer", "colorize", "explain_crop", "gradcam", "overlay"]


def cam_layer(model: nn.Module) -> nn.Module:
    """The module Grad-CAM reads: the registry's ``cam_layer`` for models from
    :func:`~wbsdesk.ml.registry.build_model`, else the last ``Conv2d``."""
    arch = getattr(model, ARCH_ATTR, None)
    if arch is not None:
        return model.get_submodule(arch_spec(arch).cam_layer)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("the model has no convolutional layer for Grad-CAM")
    return convs[-1]


@torch.no_grad()
def cam_grid(model: nn.Module, input_px: int, *, layer: nn.Module | None = None
             ) -> tuple[int, int]:
    """``(rows, cols)`` of the feature map Grad-CAM reads for a square ``input_px`` input.

    One forward pass of a zero image on the model's device (eval mode kept as found).
    """
    layer = layer if layer is not None else cam_layer(model)
    param = next(model.parameters())
    seen: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out))
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, 3, int(input_px), int(input_px), device=param.device,
                          dtype=param.dtype))
    finally:
        handle.remove()
        model.train(was_training)
    return int(seen[-1].shape[-2]), int(seen[-1].shape[-1])


def gradcam(model: nn.Module, x: torch.Tensor, *, target: int = 1,
            layer: nn.Module | None = None) -> np.ndarray:
    """Grad-CAM heatmap of class ``target`` for one normalised input.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier (put in eval mode here; its parameters' ``.grad`` are not touched).
    x : torch.Tensor of shape (3, H, W) or (1, 3, H, W)
        Normalised float input (e.g. from :func:`wbsdesk.ml.data.preprocess`).
    target : int, keyword-only
        Class whose logit is explained (1 = positive group).
    layer : torch.nn.Module, optional, keyword-only
        Module to read (default :func:`cam_layer`).

    Returns
    -------
    numpy.ndarray of shape (H, W), dtype float32
        Finite values in [0, 1]; all zeros when nothing supports the class.
    """
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image of shape (3, H, W), got {tuple(x.shape)}")
    layer = layer if layer is not None else cam_layer(model)
    dev = next(model.parameters()).device
    x = x.to(dev, torch.float32).requires_grad_(True)
    seen: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out))
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(x)
            acts = seen[-1]
            (grads,) = torch.autograd.grad(logits[0, target], acts)
    finally:
        handle.remove()
        model.train(was_training)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * acts).sum(dim=1, keepdim=True)).detach().float()
    cam = nnf.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    cam = cam[0, 0].clamp_min(0)
    top = float(cam.max())
    if not np.isfinite(top) or top <= 0:
        return np.zeros(tuple(x.shape[-2:]), dtype=np.float32)
    return (cam / top).clamp(0, 1).cpu().numpy().astype(np.float32)


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
