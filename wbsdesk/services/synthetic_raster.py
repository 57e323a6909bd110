"""Geometry and raster helpers for the synthetic portraits: outlines, curves, blurs, noise.

Pure numpy and PIL, seeded only through the generators passed in, so that
:mod:`wbsdesk.services.synthetic_faces` stays byte-for-byte reproducible.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFilter

__all__ = ["box_blur3", "ellipse", "gaussian_blur", "mix", "resample", "rgba", "smooth_noise",
           "soft_blur", "spline", "upsample2"]

_UNIT_CIRCLES: dict[int, np.ndarray] = {}


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 32,
            rot: float = 0.0) -> np.ndarray:
    """``n`` points on an ellipse centred at ``(cx, cy)``, turned by ``rot`` radians."""
    unit = _UNIT_CIRCLES.get(n)
    if unit is None:
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        unit = _UNIT_CIRCLES.setdefault(n, np.stack([np.cos(t), np.sin(t)], axis=1))
    e = unit * (rx, ry)
    if rot:
        c, s = math.cos(rot), math.sin(rot)
        e = np.stack([e[:, 0] * c - e[:, 1] * s, e[:, 0] * s + e[:, 1] * c], axis=1)
    e[:, 0] += cx
    e[:, 1] += cy
    return e


def spline(pts, k: int = 6) -> np.ndarray:
    """Open Catmull-Rom curve through ``pts`` with ``k`` samples per segment."""
    p = np.asarray(pts, dtype=np.float64)
    p = np.vstack([p[0], p, p[-1]])
    t = np.linspace(0, 1, k, endpoint=False)[None, :, None]
    p0, p1, p2, p3 = p[:-3, None], p[1:-2, None], p[2:-1, None], p[3:, None]
    seg = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                 + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3)
    return np.vstack([seg.reshape(-1, 2), p[-2][None, :]])


def resample(path: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length along an open polyline."""
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    u = np.linspace(0, s[-1], n)
    return np.stack([np.interp(u, s, path[:, 0]), np.interp(u, s, path[:, 1])], axis=1)


def rgba(c) -> tuple[int, int, int, int]:
    """An opaque 8-bit RGBA colour from RGB floats in 0..1."""
    r, g, b = (min(255, max(0, int(float(v) * 255 + 0.5))) for v in c)
    return (r, g, b, 255)


def mix(under, over, alpha: float) -> np.ndarray:
    """``over`` laid on ``under`` with opacity ``alpha`` (PIL draws without blending)."""
    return np.asarray(under) * (1 - alpha) + np.asarray(over) * alpha


def box_blur3(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Three passes of a (2r+1)-wide box filter along ``axis`` (about a Gaussian)."""
    if r < 1:
        return a
    n = 2 * r + 1
    for _ in range(3):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r + 1, r)
        c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis, dtype=np.float32)
        hi = c.take(np.arange(n, c.shape[axis]), axis=axis)
        lo = c.take(np.arange(0, c.shape[axis] - n), axis=axis)
        a = (hi - lo) * (1.0 / n)
    return a


def soft_blur(im: Image.Image, sigma: float) -> np.ndarray:
    """Smooth float blur (0..1) of a half-size mask, computed at an eighth of the size.

    Unlike an 8-bit blur, its gradient has no quantisation steps, which a lit surface
    would show as contour lines.
    """
    q = np.asarray(im.reduce(4), dtype=np.float32) * (1 / 255)
    s = sigma / 4
    r = max(1, round((math.sqrt(4 * s * s + 1) - 1) / 2))
    q = box_blur3(box_blur3(q, r, 0), r, 1)
    up = Image.fromarray(np.ascontiguousarray(q), mode="F").resize(im.size,
                                                                  Image.Resampling.BICUBIC)
    return np.asarray(up, dtype=np.float32)


def gaussian_blur(im: Image.Image, radius: float) -> np.ndarray:
    """PIL's Gaussian blur (radius at least 0.5) as a float array."""
    return np.asarray(im.filter(ImageFilter.GaussianBlur(max(0.5, radius))), dtype=np.float32)


def upsample2(a: np.ndarray, w: int, h: int) -> np.ndarray:
    """Upsample a half-size float map to the output size (bilinear, 2x)."""
    a = np.asarray(a, dtype=np.float32)
    p = np.concatenate([a[:1], a, a[-1:]], axis=0)
    rows = np.empty((2 * a.shape[0], a.shape[1]), dtype=np.float32)
    rows[0::2] = p[1:-1] * 0.75 + p[:-2] * 0.25
    rows[1::2] = p[1:-1] * 0.75 + p[2:] * 0.25
    q = np.concatenate([rows[:, :1], rows, rows[:, -1:]], axis=1)
    out = np.empty((rows.shape[0], 2 * a.shape[1]), dtype=np.float32)
    out[:, 0::2] = q[:, 1:-1] * 0.75 + q[:, :-2] * 0.25
    out[:, 1::2] = q[:, 1:-1] * 0.75 + q[:, 2:] * 0.25
    return out[:h, :w]


def smooth_noise(rng: np.random.Generator, cells: tuple[int, int], w: int, h: int
                 ) -> np.ndarray:
    """Gaussian noise on a ``cells`` grid, bicubically enlarged to ``w`` x ``h``."""
    im = Image.fromarray(rng.standard_normal(cells).astype(np.float32), mode="F")
    return np.asarray(im.resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
