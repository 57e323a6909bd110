"""Batched training augmentation: one random draw per image, a few kernels per batch.

Per-image torchvision v2 transforms launch tens of small kernels and run Python dispatch
for every image; on a GPU with the paper's batches of 16 that, not the network, set the
pace (measured on an H200: about 35 ms of augmentation per 16-image step, for every
architecture alike). Here every image still gets its own random parameters, but each
operation runs once on the batch (or once on the images that drew it):

- **geometry**: RandomRotation, RandomResizedCrop and the horizontal flip are composed into
  one affine map per image and applied with a single bilinear ``grid_sample``;
- **AutoAugment** (ImageNet policy, torchvision's own policy table and magnitude bins):
  each image draws a sub-policy, then for each of its two slots whether it applies and the
  sign; each operation is then applied to the images that drew it, with per-image
  magnitudes. The colour operations follow torchvision's uint8 arithmetic (the tests
  compare them with ``torchvision.transforms.v2.functional`` image by image).

All random numbers come from the global torch RNG on the CPU, in a fixed order, so
``torch.manual_seed`` makes a batch reproducible on any device. They reach a GPU through
pinned memory without blocking (:func:`to_device`): a plain ``.to("cuda")`` of a CPU tensor
waits for the GPU to finish its queue, which would stall the pipeline several times a batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as nnf
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as tvf

from wbsdesk.ml.data import to_device

__all__ = ["AUTOAUGMENT_OPS", "BatchAutoAugment", "BatchGeometry"]

Op = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class BatchGeometry:
    """Per-image RandomRotation -> RandomResizedCrop -> horizontal flip, as one resampling.

    Parameters
    ----------
    size : int
        Output side.
    rotation_degrees : float
        Angle drawn uniformly from ``[-d, d]`` (counter-clockwise, about the centre).
    crop_scale : (float, float)
        Area of the crop as a fraction of the image, drawn uniformly.
    hflip : bool
        Mirror with probability 0.5.
    ratio : (float, float)
        Aspect ratio range of the crop (log-uniform), as RandomResizedCrop's default.

    Notes
    -----
    RandomResizedCrop retries until a box fits; here a box that would not fit is shrunk to
    the image on that side, which keeps the draw to one step. Points outside the rotated
    image are black (fill 0), as in RandomRotation.
    """

    def __init__(self, *, size: int, rotation_degrees: float, crop_scale: Sequence[float],
                 hflip: bool, ratio: Sequence[float] = (3 / 4, 4 / 3)) -> None:
        self.size = int(size)
        self.degrees = float(rotation_degrees)
        self.scale = (float(crop_scale[0]), float(crop_scale[1]))
        self.hflip = bool(hflip)
        self.log_ratio = (math.log(ratio[0]), math.log(ratio[1]))

    def draw(self, n: int, height: int, width: int) -> torch.Tensor:
        """Per-image maps from output to source, normalised coordinates: ``(n, 2, 3)``."""
        u = torch.rand(n, 6, dtype=torch.float64)
        angle = torch.deg2rad((2 * u[:, 0] - 1) * self.degrees)
        area = height * width * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 1])
        r = torch.exp(self.log_ratio[0] + (self.log_ratio[1] - self.log_ratio[0]) * u[:, 2])
        cw = torch.sqrt(area * r).clamp(max=width)
        ch = torch.sqrt(area / r).clamp(max=height)
        x0 = (width - cw) * u[:, 3]
        y0 = (height - ch) * u[:, 4]
        flip = (u[:, 5] < 0.5) if self.hflip else torch.zeros(n, dtype=torch.bool)

        s = self.size
        eye = torch.eye(3, dtype=torch.float64).expand(n, 3, 3)
        to_pixels = torch.tensor([[s / 2, 0, s / 2], [0, s / 2, s / 2], [0, 0, 1]],
                                 dtype=torch.float64).expand(n, 3, 3)
        mirror = torch.tensor([[-1, 0, s], [0, 1, 0], [0, 0, 1]], dtype=torch.float64)
        flip_m = torch.where(flip[:, None, None], mirror, eye)
        crop = eye.clone()
        crop[:, 0, 0], crop[:, 0, 2] = cw / s, x0
        crop[:, 1, 1], crop[:, 1, 2] = ch / s, y0
        cx, cy = width / 2, height / 2
        # The rotated image at point p shows the source at R(-angle) p (y axis down, so a
        # counter-clockwise turn on screen), about the centre.
        cos, sin = torch.cos(angle), torch.sin(angle)
        rot = eye.clone()
        rot[:, 0, 0], rot[:, 0, 1] = cos, -sin
        rot[:, 1, 0], rot[:, 1, 1] = sin, cos
        rot[:, 0, 2] = cx - cos * cx + sin * cy
        rot[:, 1, 2] = cy - sin * cx - cos * cy
        to_unit = torch.tensor([[2 / width, 0, -1], [0, 2 / height, -1], [0, 0, 1]],
                               dtype=torch.float64).expand(n, 3, 3)
        full = to_unit @ rot @ crop @ flip_m @ to_pixels
        return full[:, :2, :].to(torch.float32)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, C, H, W)`` -> uint8 ``(B, C, size, size)``."""
        n, c, h, w = batch.shape
        theta = to_device(self.draw(n, h, w), batch.device)
        grid = nnf.affine_grid(theta, [n, c, self.size, self.size], align_corners=False)
        out = nnf.grid_sample(batch.to(torch.float32), grid, mode="bilinear",
                              padding_mode="zeros", align_corners=False)
        return out.round_().clamp_(0, 255).to(torch.uint8)


# -- AutoAugment operations on uint8 batches with per-image magnitudes ----------------------

def _per_image(m: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return to_device(m, like.device, torch.float32).view(-1, 1, 1, 1)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Floored ITU-R 601 luma, float ``(n, 1, H, W)``, as torchvision for uint8."""
    xf = x.to(torch.float32)
    g = xf[:, 0:1] * 0.2989 + xf[:, 1:2] * 0.587 + xf[:, 2:3] * 0.114
    return g.floor_()


def _blend(x: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    r = ratio.to(torch.float64)
    # 1 - ratio in double, then float32: the weights torchvision's scalar blend uses.
    out = x.to(torch.float32) * _per_image(r, x) + other * _per_image(1.0 - r, x)
    return out.clamp_(0, 255).to(torch.uint8)


def _color(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return _blend(x, _gray(x), 1.0 + m)


def _contrast(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return _blend(x, _gray(x).mean(dim=(-3, -2, -1), keepdim=True), 1.0 + m)


def _brightness(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x.to(torch.float32) * _per_image(1.0 + m, x)).clamp_(0, 255).to(torch.uint8)


def _sharpness(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    a, b = 1.0 / 13.0, 5.0 / 13.0
    kernel = to_device(torch.tensor([[a, a, a], [a, b, a], [a, a, a]]), x.device)
    out = x.to(torch.float32)
    blurred = nnf.conv2d(out, kernel.expand(c, 1, 3, 3), groups=c).round_()
    inner = out[..., 1:-1, 1:-1]
    inner.add_((blurred - inner) * (1.0 - _per_image(1.0 + m, x)))  # borders stay
    return out.clamp_(0, 255).to(torch.uint8)


def _posterize(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    bits = m.to(torch.int64)
    mask = to_device(((1 << bits) - 1) << (8 - bits), x.device, torch.uint8)
    return x & mask.view(-1, 1, 1, 1)


def _solarize(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    threshold = _per_image(255.0 * m, x)
    return torch.where(x.to(torch.float32) >= threshold, x.bitwise_not(), x)


def _affine_nearest(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample with per-image output->source maps in pixel units about the centre."""
    n, c, h, w = x.shape
    # Convert pixel-unit maps (about the image centre) to normalised coordinates.
    to_unit = torch.tensor([[2 / w, 0], [0, 2 / h]], dtype=theta.dtype)
    to_pix = torch.tensor([[w / 2, 0], [0, h / 2]], dtype=theta.dtype)
    lin = to_unit @ theta[:, :, :2] @ to_pix
    shift = (to_unit @ theta[:, :, 2:]).squeeze(-1)
    unit = to_device(torch.cat([lin, shift[:, :, None]], dim=2), x.device, torch.float32)
    grid = nnf.affine_grid(unit, [n, c, h, w], align_corners=False)
    out = nnf.grid_sample(x.to(torch.float32), grid, mode="nearest", padding_mode="zeros",
                          align_corners=False)
    return out.to(torch.uint8)


def _rotate(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    a = torch.deg2rad(m.to(torch.float64))
    cos, sin = torch.cos(a), torch.sin(a)
    zero = torch.zeros_like(a)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)],
                        1)
    return _affine_nearest(x, theta)


def _shear_x(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    # torchvision shears about the top-left corner (center=[0, 0]): x_src = x + m * y.
    h = x.shape[-2]
    m = m.to(torch.float64)
    one, zero = torch.ones_like(m), torch.zeros_like(m)
    theta = torch.stack([torch.stack([one, m, m * h / 2], 1),
                         torch.stack([zero, one, zero], 1)], 1)
    return _affine_nearest(x, theta)


def _plain(fn: Callable[[torch.Tensor], torch.Tensor]) -> Op:
    return lambda x, m: fn(x)


#: AutoAugment operations this module applies batched, by torchvision's names.
AUTOAUGMENT_OPS: dict[str, Op] = {
    "Rotate": _rotate,
    "ShearX": _shear_x,
    "Color": _color,
    "Contrast": _contrast,
    "Brightness": _brightness,
    "Sharpness": _sharpness,
    "Posterize": _posterize,
    "Solarize": _solarize,
    "AutoContrast": _plain(tvf.autocontrast),
    "Equalize": _plain(tvf.equalize),
    "Invert": _plain(tvf.invert),
}


class BatchAutoAugment:
    """AutoAugment with torchvision's policy table, one draw per image, batched operations.

    Parameters
    ----------
    policy : torchvision.transforms.v2.AutoAugmentPolicy
    """

    def __init__(self, policy: v2.AutoAugmentPolicy = v2.AutoAugmentPolicy.IMAGENET) -> None:
        reference = v2.AutoAugment(policy)
        # torchvision's policy table and magnitude bins (the same ones v2.AutoAugment uses).
        self.policies = reference._policies
        self.space = reference._AUGMENTATION_SPACE
        names = sorted({op for sub in self.policies for op, _, _ in sub})
        missing = [n for n in names if n not in AUTOAUGMENT_OPS]
        if missing:
            raise ValueError(f"no batched version of AutoAugment op(s) {missing}")
        self.names = names
        self._op_id = torch.tensor([[names.index(op) for op, _, _ in sub]
                                    for sub in self.policies])
        self._prob = torch.tensor([[p for _, p, _ in sub] for sub in self.policies])
        self._bins = [[b for _, _, b in sub] for sub in self.policies]
        self._signed = torch.tensor([bool(self.space[n][1]) for n in names])

    def _magnitudes(self, height: int, width: int) -> torch.Tensor:
        """``(n_policies, 2)`` magnitudes for this image size (0 for parameterless ops)."""
        out = torch.zeros(len(self.policies), 2, dtype=torch.float64)
        for i, sub in enumerate(self.policies):
            for j, (op, _, b) in enumerate(sub):
                values = self.space[op][0](10, height, width)
                if values is not None and b is not None:
                    out[i, j] = float(values[b])
        return out

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, 3, H, W)`` -> uint8, each image through its own sub-policy."""
        n, _, h, w = batch.shape
        pick = torch.randint(len(self.policies), (n,))
        applies = torch.rand(n, 2) <= self._prob[pick]
        negate = torch.rand(n, 2) <= 0.5
        op = self._op_id[pick]
        mag = self._magnitudes(h, w)[pick]
        mag = torch.where(negate & self._signed[op], -mag, mag)
        out = batch.clone()
        for slot in range(2):
            for k, name in enumerate(self.names):
                chosen = torch.nonzero(applies[:, slot] & (op[:, slot] == k)).flatten()
                if len(chosen) == 0:
                    continue
                idx = to_device(chosen, batch.device)
                out[idx] = AUTOAUGMENT_OPS[name](out[idx], mag[chosen, slot])
        return out
