"""Procedurally drawn synthetic child portraits, so that the demo study shows no real person.

:func:`render_face` turns a :class:`~wbsdesk.services.synthetic_traits.FaceTraits` vector
into a frontal head-and-shoulders portrait. Shapes are laid out in face coordinates (see
:class:`~wbsdesk.services.synthetic_traits.FaceGeometry`), turned by a small yaw, rolled
about the chin and drawn with PIL at twice the output size, then downsampled (LANCZOS).
Soft shading comes from a blurred height map lit like a surface (wrap-around Lambert plus
a specular term), an occlusion layer and a blush layer, all computed at half size; the
figure is composited over a textured, lit background with a soft cast shadow, and a little
sensor noise is added. Everything random is seeded by the traits, so the same traits give
a byte-identical image.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from wbsdesk.services.synthetic_raster import (
    ellipse,
    gaussian_blur,
    mix,
    resample,
    rgba,
    smooth_noise,
    soft_blur,
    spline,
    upsample2,
)
from wbsdesk.services.synthetic_traits import (
    GROUPS,
    HAIR_STYLES,
    INTERNAL_TRAIT_GAIN,
    FaceGeometry,
    FaceTraits,
    hair_rgb,
    hsv_rgb,
    iris_rgb,
    sample_traits,
    skin_rgb,
)

__all__ = ["GROUPS", "FaceTraits", "SyntheticFace", "draw_subject", "render_face",
           "sample_traits"]

log = logging.getLogger(__name__)

_SS = 2          # supersampling factor of the drawing canvas
_HALF = 0.5      # scale of the shading layers
_PIVOT_Y = 0.5   # the head rolls about the chin
_MAX_YAW = math.radians(12.0)


@dataclass(frozen=True, eq=False)
class SyntheticFace:
    """One rendered portrait and where its face is.

    Attributes
    ----------
    image : PIL.Image.Image
        RGB portrait.
    bbox : tuple of float
        ``(x, y, w, h)`` in pixels of the face region, forehead top to chin.
    landmarks : numpy.ndarray
        Shape (5, 2), read-only, pixel ``(x, y)`` in MTCNN order: image-left eye,
        image-right eye, nose tip, image-left mouth corner, image-right mouth corner.
    """

    image: Image.Image
    bbox: tuple[float, float, float, float]
    landmarks: np.ndarray


_FACE, _FLAT, _BODY = 0, 1, 2  # how a point moves: with the face, with the skull, not at all


class _Pose:
    """Face coordinates (plus depth) to pixels: yaw, roll about the chin, scale, shift."""

    def __init__(self, cx: float, cy: float, fh: float, roll_deg: float, yaw: float) -> None:
        self.cx, self.cy, self.fh = cx, cy, fh
        r = math.radians(roll_deg)
        self.rc, self.rs = math.cos(r), math.sin(r)
        y = yaw * _MAX_YAW
        self.yc, self.ys = math.cos(y), math.sin(y)

    def map(self, pts: np.ndarray, dz: np.ndarray | float, space: np.ndarray | int,
            scale: float = 1.0) -> np.ndarray:
        """Pixel positions of face points.

        Face points (``_FACE``) turn with the yaw by their depth (a sphere plus ``dz``),
        skull points (``_FLAT``: outline, hair, ears) barely move, body points (``_BODY``)
        neither turn nor roll.
        """
        x, y = pts[:, 0], pts[:, 1]
        depth = 0.3 * np.sqrt(np.clip(1.0 - (x * (1 / 0.45)) ** 2, 0.0, 1.0)) + dz
        z = np.where(np.equal(space, _FLAT), 0.04, depth)
        xh, yh = x * self.yc + z * self.ys, y - _PIVOT_Y
        body = np.equal(space, _BODY)
        out = np.empty_like(pts)
        out[:, 0] = np.where(body, x, xh * self.rc - yh * self.rs)
        out[:, 1] = np.where(body, y, xh * self.rs + yh * self.rc + _PIVOT_Y)
        out *= self.fh
        out += (self.cx, self.cy)
        out *= scale
        return out

    def head(self, pts, dz: float | np.ndarray = 0.0, flat: bool = False) -> np.ndarray:
        """Pixel positions of face (or, with ``flat``, skull) points."""
        return self.map(np.asarray(pts, dtype=np.float64), dz, _FLAT if flat else _FACE)


class _Layer:
    """Shapes in face coordinates, drawn in one batch onto an image at some scale."""

    def __init__(self) -> None:
        self.items: list[tuple[str, np.ndarray, float, object, object, float]] = []

    def poly(self, pts, fill, dz: float = 0.0, space: object = _FACE) -> None:
        self.items.append(("p", np.asarray(pts, dtype=np.float64), dz, space, fill, 0.0))

    def line(self, pts, fill, width: float, dz: float = 0.0, space: object = _FACE) -> None:
        """A polyline ``width`` face units wide."""
        self.items.append(("l", np.asarray(pts, dtype=np.float64), dz, space, fill, width))

    def draw(self, im: Image.Image, pose: _Pose, scale: float) -> Image.Image:
        if not self.items:
            return im
        sizes = [len(it[1]) for it in self.items]
        pts = np.vstack([it[1] for it in self.items])
        dz = np.repeat([it[2] for it in self.items], sizes)
        space = np.repeat(np.array([it[3] if isinstance(it[3], int) else -1
                                    for it in self.items], dtype=np.int8), sizes)
        start = 0
        for it, n in zip(self.items, sizes, strict=True):
            if not isinstance(it[3], int):
                space[start:start + n] = it[3]
            start += n
        flat = pose.map(pts, dz, space, scale).ravel().tolist()
        d = ImageDraw.Draw(im)
        px = pose.fh * scale
        start = 0
        for (kind, _, _, _, fill, width), n in zip(self.items, sizes, strict=True):
            xy = flat[2 * start: 2 * (start + n)]
            start += n
            if kind == "p":
                d.polygon(xy, fill=fill)
            else:
                wd = max(1, round(width * px))
                d.line(xy, fill=fill, width=wd, joint="curve" if wd > 3 else None)
        return im


def _hair_paths(geo: FaceGeometry, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Outer edge and hairline of the front hair (both left to right), and the back hair."""
    t, a = geo.traits, geo.age
    style = HAIR_STYLES[t.hair_style]
    base = {"short": 0.045, "long": 0.05, "bob": 0.06, "curly": 0.09, "tied": 0.03}[style]
    vol = base * (1 + 0.3 * t.hair_volume) * (0.3 + 0.7 * min(1.0, a * 4))
    side_y = {"short": geo.eye_y - 0.02, "long": geo.mouth_y + 0.02,
              "bob": geo.subnasale_y + 0.03, "curly": geo.eye_y + 0.04,
              "tied": geo.eye_y - 0.04}[style]
    if a < 0.06:
        side_y = geo.eye_y - 0.08
    widest = geo.widest_y
    ring = np.roll(geo.contour, -len(geo.contour) // 4, axis=0)  # chin, left, top, right
    outline = ring[ring[:, 1] <= side_y]
    center = np.array([0.0, widest])
    rel = outline - center
    dist = np.hypot(rel[:, 0], rel[:, 1])
    r = vol * (0.45 + 0.55 * np.clip(-rel[:, 1] / dist, 0, 1))
    if style == "curly":
        phase = np.arctan2(rel[:, 1], rel[:, 0])
        r = r + 0.025 * np.abs(np.sin(phase * 12 + rng.uniform(0, 3)))
    outer = center + rel * (1 + r / dist)[:, None]
    hl = geo.hairline_y + (0.2 if style == "bob" else 0.0) + 0.05 * (1 - a) ** 2
    hl = min(hl, geo.brow_y - 0.055)
    tx = geo.half_width(hl + 0.07) - 0.04
    inset = 0.035 if style in ("long", "bob") else 0.012
    left_y = np.linspace(side_y, hl + 0.07, 8)
    left = np.stack([[-(geo.half_width(y) - inset) for y in left_y], left_y], axis=1)
    left[-1, 0] = -tx
    xs = np.linspace(-tx, tx, 17)[1:-1]
    arc_y = hl + 0.05 * (np.abs(xs) / tx) ** 2 * (-1.0 if style == "tied" else 0.6)
    if style == "bob":
        arc_y = arc_y + 0.008 * np.sin(xs * 95 + rng.uniform(0, 6)) - 0.03 * (xs / tx) ** 4
    inner = spline(np.vstack([left, np.stack([xs, arc_y], axis=1),
                               left[::-1] * np.array([-1, 1])]), k=3)
    back = None
    if style in ("long", "bob"):
        end = 0.9 if style == "long" else geo.mouth_y + 0.08
        upper = outer[outer[:, 1] <= widest]
        rb = float(np.abs(upper[:, 0]).max())
        nk, gap_y = geo.neck_half_width, min(0.35, end - 0.05)
        bx = np.linspace(rb + 0.09, nk + 0.04, 6)
        right = np.stack([bx, end + 0.02 * rng.standard_normal(6)], axis=1)
        left = np.stack([-bx, end + 0.02 * rng.standard_normal(6)], axis=1)[::-1]
        back = np.vstack([upper, [[rb + 0.02, 0.3]], right,  # two curtains beside the neck
                          [[nk + 0.02, gap_y], [nk * 0.8, 0.25], [-nk * 0.8, 0.25],
                           [-(nk + 0.02), gap_y]], left, [[-(rb + 0.02), 0.3]]])
    return outer, inner, back


def _place(geo: FaceGeometry, w: int, h: int) -> _Pose:
    """Size and place the head, nudged so that head and hair stay inside the frame."""
    t = geo.traits
    fh = min(h * 0.4, w * 0.5) * t.face_scale
    cx = w / 2 + t.offset_x * 0.07 * w
    cy = h * 0.44 + t.offset_y * 0.04 * h
    pose = _Pose(cx, cy, fh, t.roll_deg, t.yaw)
    grown = (geo.contour - [0, geo.widest_y]) * 1.25 + [0, geo.widest_y]
    p = pose.head(grown, flat=True)
    m = 0.02 * min(w, h)
    dx = max(0.0, m - p[:, 0].min()) - max(0.0, p[:, 0].max() - (w - m))
    dy = max(0.0, m - p[:, 1].min())
    return _Pose(cx + dx, cy + dy, fh, t.roll_deg, t.yaw)


def _face_box(geo: FaceGeometry, pose: _Pose, w: int, h: int
              ) -> tuple[float, float, float, float]:
    p = pose.head(geo.contour[geo.contour[:, 1] >= geo.hairline_y], flat=True)
    x0, y0 = max(0.0, float(p[:, 0].min())), max(0.0, float(p[:, 1].min()))
    x1, y1 = min(float(w), float(p[:, 0].max())), min(float(h), float(p[:, 1].max()))
    return (x0, y0, x1 - x0, y1 - y0)


class _Painter:
    """Lays out the layers of one portrait: flat colours at twice the size, shading at half."""

    def __init__(self, geo: FaceGeometry, pose: _Pose, rng: np.random.Generator, w: int,
                 h: int) -> None:
        t = geo.traits
        self.geo, self.pose, self.rng, self.t, self.w, self.h = geo, pose, rng, t, w, h
        self.hw, self.hh = (w + 1) // 2, (h + 1) // 2
        self.px = 1.0 / (pose.fh * _SS)  # one canvas pixel in face units
        self.skin, self.hair, self.iris = skin_rgb(t), hair_rgb(t), iris_rgb(t)
        if geo.age < 0.06:  # sparse baby hair
            self.hair = self.hair * 0.6 + self.skin * 0.4
        self.cloth = hsv_rgb(t.clothing_hue, t.clothing_saturation, t.clothing_value)
        red = np.array([0.8, 0.36, 0.4]) * (0.45 + 0.55 * float(self.skin.mean()))
        self.lip = (self.skin * 0.5 + red * 0.5) * 0.93
        az = math.radians(t.light_azimuth_deg)
        el = math.radians(18 + 40 * t.light_strength)
        self.light = np.array([math.sin(az) * math.sin(el), -math.cos(az) * math.sin(el),
                               math.cos(el)])
        roll, (lx, ly) = math.radians(t.roll_deg), self.light[:2]
        self.light_face = (lx * math.cos(roll) + ly * math.sin(roll),
                           -lx * math.sin(roll) + ly * math.cos(roll))
        self.outer, self.inner, self.back = _hair_paths(geo, rng)
        self.hair_poly = np.vstack([self.outer, self.inner[::-1]])
        self._body_shapes()
        self._lip_shapes()

    def _body_shapes(self) -> None:
        geo, t = self.geo, self.t
        ny, nk, sw = 0.62 + 0.08 * geo.age, geo.neck_half_width, 0.68 + 0.32 * geo.age
        flare = nk + 0.02 + 0.03 * max(0.0, t.neck_breadth)
        curve = spline([[-nk - 0.04, ny], [-0.5 * sw, ny + 0.05], [-0.85 * sw, ny + 0.11],
                         [-sw, ny + 0.24], [-sw - 0.03, ny + 0.5]])
        self.torso = np.vstack([curve, [[-sw - 0.05, 2.2], [sw + 0.05, 2.2]],
                                curve[::-1] * (-1, 1)])
        u = np.linspace(-1, 1, 15)
        self.neckline = np.stack([u * (flare + 0.02), ny + 0.02 + 0.08 * (1 - u ** 2)], 1)
        self.neck = np.vstack([[[-nk, 0.1], [-nk * 0.97, 0.4], [-flare, ny - 0.05]],
                               self.neckline, [[flare, ny - 0.05], [nk * 0.97, 0.4], [nk, 0.1]]])
        self.neck_space = np.array([_FACE] * 2 + [_BODY] * (len(self.neck) - 4) + [_FACE] * 2)
        ye = (geo.brow_y + geo.subnasale_y) / 2 + 0.02 + 0.045 * t.ear_lowness
        ry, xw = 0.125 * (1.06 - 0.1 * geo.age), geo.half_width(ye)
        self.ears = [(ellipse(sd * (xw + 0.01), ye, 0.05, ry, 36, rot=sd * 0.12),
                      ellipse(sd * (xw + 0.02), ye + 0.012, 0.022, ry * 0.55, 24,
                               rot=sd * 0.12)) for sd in (-1, 1)]

    def _lip_shapes(self) -> None:
        geo, t = self.geo, self.t
        mw, my = geo.mouth_half_width, geo.mouth_y
        lf = INTERNAL_TRAIT_GAIN * float(np.clip(t.lip_fullness, -2.5, 3))
        ul = 0.021 * float(np.clip(1 + 0.22 * lf, 0.35, 3.0)) * (1.05 if t.sex == "F" else 1.0)
        ll = 0.03 * float(np.clip(1 + 0.25 * lf, 0.35, 3.0))
        top = spline([[-mw, my], [-0.62 * mw, my - 0.55 * ul], [-0.24 * mw, my - ul],
                       [0, my - 0.72 * ul], [0.24 * mw, my - ul], [0.62 * mw, my - 0.55 * ul],
                       [mw, my]])
        mid = spline([[-mw, my], [-0.5 * mw, my + 0.004], [0, my + 0.006],
                       [0.5 * mw, my + 0.004], [mw, my]])
        bottom = spline([[-mw, my], [-0.65 * mw, my + 0.62 * ll], [0, my + ll],
                          [0.65 * mw, my + 0.62 * ll], [mw, my]])
        self.upper_lip = np.vstack([top, mid[::-1]])
        self.lower_lip = np.vstack([mid, bottom[::-1]])
        self.stomion, self.lip_low = mid, float(bottom[:, 1].max())

    def top_row(self) -> int:
        """First output row that anything but the backdrop may reach (filter margin kept)."""
        tops = [self.outer, self.geo.contour] + ([self.back] if self.back is not None else [])
        top = float(self.pose.head(np.vstack(tops), flat=True)[:, 1].min())
        return math.floor(top - 0.04 * self.pose.fh) - 4

    def _half(self, fill: int, layer: _Layer) -> Image.Image:
        return layer.draw(Image.new("L", (self.hw, self.hh), fill), self.pose, _HALF)

    # --- the colour canvas: flat colours on a flat backdrop -------------------------------
    def canvas(self, background: np.ndarray) -> Image.Image:
        geo, skin, lay = self.geo, self.skin, _Layer()
        lay.poly(self.torso, rgba(self.cloth), space=_BODY)
        if self.back is not None:
            lay.poly(self.back, rgba(self.hair * 0.8), space=_FLAT)
            self._back_strands(lay)
        lay.poly(self.neck, rgba(skin * 0.97), space=self.neck_space)
        lay.line(self.neckline, rgba(self.cloth * 0.75), 0.035, space=_BODY)
        for ear, concha in self.ears:
            lay.poly(ear, rgba(skin * 0.98), space=_FLAT)
            lay.poly(concha, rgba(skin * (0.88, 0.84, 0.83)), space=_FLAT)
        lay.poly(geo.contour, rgba(skin), space=_FLAT)
        for side in (-1, 1):
            self._brow(lay, side)
            self._eye(lay, side)
        up = INTERNAL_TRAIT_GAIN * float(np.clip(self.t.nose_upturn, -1.5, 3))
        for side in (-1, 1):
            lay.poly(ellipse(side * 0.03, geo.subnasale_y - 0.012, 0.017,
                              float(np.clip(0.0078 * (1 + 0.35 * up), 0.004, 0.024)), 24,
                              rot=side * 0.35),
                     rgba(skin * (0.42, 0.3, 0.3)), 0.06)
        lay.poly(self.upper_lip, rgba(self.lip * 0.84), 0.02)
        lay.poly(self.lower_lip, rgba(self.lip * 1.04), 0.02)
        lay.poly(ellipse(0.0, geo.mouth_y + 0.45 * (self.lip_low - geo.mouth_y),
                          0.4 * geo.mouth_half_width, 0.22 * (self.lip_low - geo.mouth_y), 24),
                 rgba(mix(self.lip * 1.04, (1.0, 0.95, 0.95), 0.12)), 0.02)
        lay.line(self.stomion, rgba(self.lip * 0.4), 0.006, 0.02)
        lay.line(self.inner, rgba(mix(skin, self.hair, 0.5)), 0.008, space=_FLAT)
        lay.poly(self.hair_poly, rgba(self.hair), space=_FLAT)
        self._strands(lay)
        # RGBX: the fourth band is coverage, resampled like a colour (no premultiplying)
        im = Image.new("RGBX", (self.w * _SS, self.h * _SS), (*rgba(background)[:3], 0))
        return lay.draw(im, self.pose, _SS)

    def _brow(self, lay: _Layer, side: int) -> None:
        geo, t, rng = self.geo, self.t, self.rng
        v = np.linspace(0, 1, 16)
        x = side * (geo.eye_x - 0.075 + 0.17 * v)
        y = geo.brow_y - 0.02 * np.sin(np.pi * v * 0.85) + 0.012 * v
        th = ((0.021 if t.sex == "M" else 0.017) * (1 - 0.5 * v)
              * (0.5 + 0.5 * min(1.0, geo.age * 3)))
        col = np.minimum(self.hair * 0.55 + 0.03, self.skin * 0.45)  # brows darker than skin
        base = mix(self.skin, col, 0.5 + 0.35 * min(1.0, geo.age * 2))
        lay.poly(np.vstack([np.stack([x, y - th / 2], 1), np.stack([x, y + th / 2], 1)[::-1]]),
                 rgba(base), -0.005)
        j = rng.integers(0, 15, 18)
        p = np.stack([x[j], y[j] + rng.uniform(-0.45, 0.45, 18) * th[j]], 1)
        q = p + np.stack([np.full(18, side * 0.018), -0.006 - 0.004 * rng.random(18)], 1)
        fill = rgba(mix(base, col * 0.75, 0.6))
        for a, b in zip(p, q, strict=True):
            lay.line(np.vstack([a, b]), fill, 1.6 * self.px, -0.005)

    def _eye(self, lay: _Layer, side: int) -> None:
        geo, t, skin = self.geo, self.t, self.skin
        u = np.linspace(-1, 1, 31)
        x, yu, yl = geo.eye(side, u)
        pf = INTERNAL_TRAIT_GAIN * float(np.clip(t.periorbital_fullness, -2, 3))
        gap = (0.018 * (1 + 0.3 * float(np.clip(t.eyelid_ptosis, -1, 3)))
               * max(0.2, 1 - 0.1 * pf))
        ycr = yu - max(gap, 0.006) * (1 - u ** 2) ** 0.5 - 0.003
        lid_col = skin * (0.95, 0.9, 0.9)
        lay.poly(np.vstack([np.stack([x, ycr], 1), np.stack([x, yu], 1)[::-1]]),
                 rgba(lid_col), -0.01)
        opening = np.vstack([np.stack([x, yu], 1), np.stack([x, yl], 1)[-2:0:-1]])
        lay.poly(opening, rgba(np.array([0.95, 0.93, 0.9]) * 0.88 + skin * 0.12), -0.01)
        ix, iy, ir = side * geo.eye_x, geo.eye_y + 0.003, geo.iris_radius
        for r, col in ((ir, self.iris * 0.45), (ir * 0.86, self.iris),
                       (ir * 0.55, self.iris * 1.2), (ir * 0.4, (0.04, 0.03, 0.03))):
            lay.poly(geo.clip_to_eye(side, ellipse(ix, iy, r, r, 36)), rgba(col), -0.01)
        lx, ly = self.light_face
        glint = ellipse(ix + 0.4 * ir * lx, iy - 0.3 * ir + 0.2 * ir * min(ly, 0.0),
                         ir * 0.2, ir * 0.2, 16)
        lay.poly(geo.clip_to_eye(side, glint), (248, 248, 248, 255), -0.01)
        lash_w = 0.004 + 0.004 * (u + 1) / 2
        lay.poly(np.vstack([np.stack([x, yu - lash_w], 1),
                            np.stack([x, yu + 0.0015], 1)[::-1]]),
                 rgba(self.hair * 0.25 + 0.03), -0.01)
        alpha = float(np.clip(0.5 - 0.14 * pf, 0.08, 0.8))
        lay.line(np.stack([x[5:-4], ycr[5:-4] + 0.002], 1),
                 rgba(mix(lid_col, skin * 0.55, alpha)), 0.0035, -0.01)
        lay.line(np.stack([x[3:-1], yl[3:-1] + 0.002], 1), rgba(skin * 0.85), 0.003, -0.01)

    def _strands(self, lay: _Layer) -> None:
        rng, n = self.rng, 60
        outer, inner = resample(self.outer, n), resample(self.inner, n)
        count = 16 if self.geo.age < 0.06 else 110
        crown = rng.uniform(0.38, 0.62) * (n - 1)
        k = rng.uniform(0, n - 1, count)
        s = rng.uniform(0, 0.4, (count, 1)) + np.linspace(0, 1, 7) * rng.uniform(0.3, 0.6,
                                                                                  (count, 1))
        tt = crown + (k[:, None] - crown) * s ** 0.8
        uu = (0.96 * (1 - s))[..., None]
        i = np.clip(tt.astype(int), 0, n - 2)
        f = (tt - i)[..., None]
        o = outer[i] * (1 - f) + outer[i + 1] * f
        q = inner[i] * (1 - f) + inner[i + 1] * f
        paths = q * (1 - uu) + o * uu
        alpha = rng.uniform(0.25, 0.5, (count, 1))
        cols = self.hair * (1 - alpha) + self.hair * rng.uniform(0.65, 1.4, (count, 1)) * alpha
        cols = np.clip(cols * 255 + 0.5, 0, 255).astype(int).tolist()
        widths = rng.uniform(1.2, 2.6, count) * self.px
        for path, col, wd in zip(paths, cols, widths, strict=True):
            lay.line(path, (*col, 255), wd, space=_FLAT)
        if HAIR_STYLES[self.t.hair_style] == "curly":
            arc = np.linspace(0, 3.5, 6)
            for _ in range(50):
                j, u = int(rng.integers(0, n)), rng.uniform(0.15, 0.85)
                c = inner[j] * (1 - u) + outer[j] * u
                r, a0 = rng.uniform(0.01, 0.02), rng.uniform(0, 2 * np.pi)
                pts = c + r * np.stack([np.cos(arc + a0), np.sin(arc + a0)], 1)
                col = mix(self.hair, self.hair * rng.uniform(0.6, 1.4), 0.45)
                lay.line(pts, rgba(col), 2 * self.px, space=_FLAT)

    def _back_strands(self, lay: _Layer) -> None:
        geo, rng = self.geo, self.rng
        rb = geo.half_width(geo.widest_y) * 0.95
        end = float(self.back[:, 1].max()) - 0.06
        lo = max(0.55 * rb, geo.neck_half_width + 0.07)
        x0 = rng.uniform(lo, max(lo, rb), 36) * rng.choice([-1.0, 1.0], 36)
        ys = np.linspace(geo.widest_y + 0.05, end, 6)
        xs = x0[:, None] * (1 + 0.12 * (ys - geo.widest_y)) + 0.006 * rng.standard_normal(
            (36, 6))
        for xrow, tone in zip(xs, rng.uniform(0.5, 1.2, 36), strict=True):
            lay.line(np.stack([xrow, ys], 1), rgba(mix(self.hair * 0.8, self.hair * tone, 0.4)),
                     1.6 * self.px, space=_FLAT)

    # --- half-size shading layers ---------------------------------------------------------
    def masks(self) -> tuple[Image.Image, Image.Image, Image.Image]:
        """Head dome (with hair and ears), neck-and-torso dome and bare-skin mask."""
        head, body, skin = _Layer(), _Layer(), _Layer()
        if self.back is not None:
            head.poly(self.back, 255, space=_FLAT)
        body.poly(self.torso, 255, space=_BODY)
        body.poly(self.neck, 255, space=self.neck_space)
        skin.poly(self.neck, 255, space=self.neck_space)
        for ear, _ in self.ears:
            head.poly(ear, 255, space=_FLAT)
            skin.poly(ear, 255, space=_FLAT)
        head.poly(self.geo.contour, 255, space=_FLAT)
        body.poly(self.geo.contour, 0, space=_FLAT)
        skin.poly(self.geo.contour, 255, space=_FLAT)
        head.poly(self.hair_poly, 255, space=_FLAT)
        skin.poly(self.hair_poly, 0, space=_FLAT)
        return self._half(0, head), self._half(0, body), self._half(0, skin)

    def relief(self) -> Image.Image:
        """Facial relief around 128: bumps brighter, hollows darker."""
        geo, t, lay = self.geo, self.t, _Layer()
        gain = INTERNAL_TRAIT_GAIN
        pf = gain * float(np.clip(t.periorbital_fullness, -2, 3))
        flat = gain * float(np.clip(t.nasal_bridge_flatness, -2, 3))
        up = gain * float(np.clip(t.nose_upturn, -1.5, 3))
        ex, ey, ew, eh = geo.eye_x, geo.eye_y, geo.eye_half_width, geo.eye_half_height
        sn, tip = geo.subnasale_y, geo.nose_tip_y

        def ell(cx: float, cy: float, rx: float, ry: float, v: float, dz: float = 0.0) -> None:
            lay.poly(ellipse(cx, cy, rx, ry, 28), int(np.clip(v, 0, 255)), dz)

        for side in (-1, 1):
            ell(side * 0.21, (ey + sn) / 2 + 0.05, 0.15, 0.12, 150)
            ell(side * (ex - 0.005), geo.brow_y - 0.005, 0.11, 0.032, 150, -0.005)
            ell(side * ex, ey - 0.012, 1.3 * ew, 0.062, 98 + 9 * pf, -0.01)
            ell(side * ex, ey - eh - 0.014, 0.85 * ew, 0.017 + 0.003 * pf, 134 + 11 * pf, -0.01)
            ell(side * ex, ey, 0.92 * ew, 0.75 * eh, 142, -0.01)
            ell(side * (ex + 0.006), ey + 0.55 * eh + 0.021, 0.85 * ew,
                0.015 + 0.005 * max(pf, 0), 130 + 15 * pf, -0.01)
            ell(side * 0.052, sn - 0.018, 0.03, 0.026, 168, 0.06)
        ell(0, ey - 0.03, 0.032, 0.026, 124 - 12 * flat, 0.04)
        bw = max(0.008, 0.026 + 0.009 * flat)
        lay.poly([[-bw, ey - 0.03], [bw, ey - 0.03], [bw * 1.3, tip - 0.01],
                  [-bw * 1.3, tip - 0.01]], int(np.clip(175 - 20 * flat, 60, 250)), 0.07)
        ell(0, tip, 0.038 + 0.003 * up, 0.034, 200, 0.12)
        for side in (-1, 1):
            lay.poly(ellipse(side * 0.03, sn - 0.012, 0.016,
                              min(0.024, 0.008 * (1 + 0.3 * max(up, 0))), 20), 85, 0.06)
        ell(0, (sn + geo.mouth_y) / 2, 0.017, 0.028, 116, 0.05)
        lay.poly(self.upper_lip, 150, 0.02)
        lay.poly(self.lower_lip, 168, 0.02)
        lay.line(self.stomion, 100, 0.004, 0.02)
        ell(0, self.lip_low + 0.026, 0.06, 0.014, 112, 0.02)
        ell(0, 0.435, 0.085, 0.045 + 0.008 * max(t.chin_pointedness, 0), 150)
        return self._half(128, lay)

    def cast_shadows(self) -> Image.Image:
        """Broad shadows, 255 = none: chin on neck, hair on forehead."""
        geo, t, lay = self.geo, self.t, _Layer()
        lower = geo.contour[geo.contour[:, 1] > 0.05]
        lower = lower[np.argsort(lower[:, 0])]
        drop = 0.05 + 0.06 * t.light_strength
        lay.poly(lower * (0.97, 1.0) + (0.0, drop), int(175 - 70 * t.light_strength),
                 space=_FLAT)
        lay.poly(geo.contour, 255, space=_FLAT)
        lay.line(self.inner + np.array([0.0, 0.01]), 200, 0.03, space=_FLAT)
        return self._half(255, lay)

    def occlusion(self) -> Image.Image:
        """Small contact shadows, 255 = none."""
        geo, lay = self.geo, _Layer()
        u = np.linspace(-1, 1, 21)
        for side in (-1, 1):
            x, yu, _ = geo.eye(side, u)
            lay.poly(np.vstack([np.stack([x, yu], 1),
                                np.stack([x, yu + 0.35 * geo.eye_half_height], 1)[::-1]]),
                     150, -0.01)
            lay.poly(ellipse(side * (geo.eye_x - geo.eye_half_width), geo.eye_y, 0.012, 0.01,
                              12), 185, -0.01)
            a = np.linspace(0, 1, 9)
            lay.line(np.stack([side * (0.045 + 0.032 * np.sin(a * np.pi)),
                               geo.subnasale_y - 0.05 + 0.05 * a], axis=1), 170, 0.008, 0.05)
            lay.poly(ellipse(side * geo.mouth_half_width, geo.mouth_y, 0.012, 0.01, 12), 165,
                     0.02)
        lay.poly(ellipse(0, geo.subnasale_y + 0.004, 0.045, 0.011, 20), 195, 0.05)
        for side in (-1, 1):  # the sides of the nose
            lay.line([[side * 0.035, geo.eye_y], [side * 0.045, geo.nose_tip_y - 0.03]], 222,
                     0.016, 0.04)
        lay.poly(ellipse(0, self.lip_low + 0.012, 0.055, 0.01, 20), 212, 0.02)
        return self._half(255, lay)

    def blush(self) -> Image.Image:
        geo, lay = self.geo, _Layer()
        v = int(150 + 90 * (1 - self.t.skin_tone))
        for side in (-1, 1):
            lay.poly(ellipse(side * 0.19, (geo.eye_y + geo.subnasale_y) / 2 + 0.06, 0.085,
                              0.06, 24), v)
        lay.poly(ellipse(0, geo.nose_tip_y, 0.03, 0.025, 16), v // 2, 0.12)
        for ear, _ in self.ears:
            lay.poly(ear, v // 4, space=_FLAT)
        return self._half(0, lay)
def _downsample(canvas: Image.Image, top: int, w: int, h: int) -> np.ndarray:
    """LANCZOS to the output size; rows above ``top`` are plain backdrop and are copied."""
    top = min(max(0, top), h - 1)
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[:top] = canvas.getpixel((0, 0))
    out[top:] = np.asarray(canvas.resize((w, h - top), Image.Resampling.LANCZOS,
                                         box=(0, top * _SS, canvas.width, canvas.height)))
    return out


def _paint(geo: FaceGeometry, pose: _Pose, rng: np.random.Generator, w: int, h: int
           ) -> Image.Image:
    t = geo.traits
    p = _Painter(geo, pose, rng, w, h)
    bg_col = hsv_rgb(t.background_hue, t.background_saturation, t.background_value)
    drawn = _downsample(p.canvas(bg_col), p.top_row(), w, h)
    hw, hh, fhh = p.hw, p.hh, pose.fh * _HALF
    head, body, skin_m = p.masks()
    # a lit height map: skull and torso domes plus the facial relief
    dome = np.maximum(np.sqrt(np.clip(soft_blur(head, 0.2 * fhh) - 0.3, 0, 1)) * (0.5 * fhh),
                      np.sqrt(np.clip(soft_blur(body, 0.08 * fhh) - 0.3, 0, 1)) * (0.2 * fhh))
    height = dome + (gaussian_blur(p.relief(), 0.02 * fhh) - 128.0) * (2.2 * 0.02 * fhh / 127)
    gy, gx = np.gradient(height)
    nz = 1.0 / np.sqrt(1.0 + gx * gx + gy * gy)
    lx, ly, lz = p.light
    wrap, kd = 0.35, 0.45 + 0.45 * t.light_strength
    ndl = np.clip(((lz - gx * lx - gy * ly) * nz + wrap) / (1 + wrap), 0, 1)
    lit = (1 - kd + kd * ndl) / (1 - kd + kd * (lz + wrap) / (1 + wrap))
    half = p.light + np.array([0.0, 0.0, 1.0])
    half /= np.linalg.norm(half)
    ndh = np.clip((half[2] - gx * half[0] - gy * half[1]) * nz, 0, 1)
    skin_h = np.asarray(skin_m, dtype=np.float32) * (1 / 255)
    ndh8 = ndh * ndh
    ndh8 *= ndh8
    ndh8 *= ndh8
    spec = (0.05 + 0.1 * t.light_strength) * 255 * ndh8 * ndh8 * ndh8 * skin_h  # (n.h)^24
    lit *= 1 + 0.015 * smooth_noise(rng, (hh // 6 + 2, hw // 6 + 2), hw, hh) * skin_h
    lit *= gaussian_blur(p.occlusion(), 0.014 * fhh) * (1 / 255)
    lit *= gaussian_blur(p.cast_shadows(), 0.05 * fhh) * (1 / 255)
    blush = upsample2(gaussian_blur(p.blush(), 0.05 * fhh) * (1 / 255), w, h)
    gain = upsample2(_background(p, head, body, rng), w, h)
    lit_c = upsample2(lit, w, h) - gain
    lit_c *= drawn[..., 3]
    lit_c *= 1 / 255
    lit_c += gain  # lit figure, lit backdrop, blended by the drawn coverage
    grain = rng.random((h, w), dtype=np.float32)
    grain -= 0.5
    grain *= 8.0
    grain += upsample2(spec, w, h) * drawn[..., 3] * (1 / 255) + 0.5
    out = np.empty((h, w, 3), dtype=np.float32)
    for c, k in enumerate((0.0, 0.13 * 255, 0.1 * 255)):
        m = lit_c - blush * k * lit_c * (1 / 255) if k else lit_c
        np.multiply(drawn[..., c], m, out=out[..., c])
    out += grain[..., None]
    np.clip(out, 0, 255, out=out)
    return Image.fromarray(out.astype(np.uint8), mode="RGB")


def _background(p: _Painter, head: Image.Image, body: Image.Image,
                rng: np.random.Generator) -> np.ndarray:
    """Half-size brightness of the backdrop: light fall-off, mottling, cast shadow."""
    t, hw, hh = p.t, p.hw, p.hh
    xx = (np.arange(hw, dtype=np.float32) * (2 / hw) - 1)[None, :]
    yy = (np.arange(hh, dtype=np.float32) * (2 / hh) - 1)[:, None]
    lx, ly = p.light[0], p.light[1]
    norm = math.hypot(lx, ly) + 1e-6
    g = (1 + 0.16 * t.light_strength * (xx * lx + yy * ly) / norm) * (
        1 - 0.12 * (xx * xx + yy * yy))
    tex = (0.07 * smooth_noise(rng, (7, 6), hw, hh)
           + 0.025 * smooth_noise(rng, (30, 24), hw, hh))
    g *= 1 + t.background_texture * tex
    sil = ImageChops.lighter(head, body)
    shadow = Image.new("L", sil.size, 0)
    off = 0.08 * p.pose.fh * _HALF
    shadow.paste(sil, (round(-lx / norm * off), round(-ly / norm * off)))
    g *= 1 - 0.3 * t.light_strength * gaussian_blur(shadow, 0.07 * p.pose.fh * _HALF) / 255.0
    return g


def render_face(traits: FaceTraits, *, size: tuple[int, int] = (480, 600)) -> SyntheticFace:
    """Draw the portrait described by ``traits``.

    Parameters
    ----------
    traits : FaceTraits
        What to draw; the same traits always give a byte-identical image.
    size : tuple of int, optional
        Output ``(width, height)`` in pixels, each at least 96.

    Returns
    -------
    SyntheticFace
        The RGB image, the face bounding box and the five MTCNN-order landmarks, all in
        output pixels and consistent with the drawn head roll and yaw.

    Raises
    ------
    ValueError
        If ``size`` is too small.
    """
    w, h = int(size[0]), int(size[1])
    if w < 96 or h < 96:
        raise ValueError(f"size must be at least 96x96, got {size}")
    geo = FaceGeometry(traits)
    pose = _place(geo, w, h)
    image = _paint(geo, pose, np.random.default_rng(traits.detail_seed), w, h)
    pts, dz = geo.landmarks()
    landmarks = pose.head(pts, dz)
    landmarks.setflags(write=False)
    return SyntheticFace(image=image, bbox=_face_box(geo, pose, w, h), landmarks=landmarks)


def draw_subject(group: str, rng: np.random.Generator, *, sex: str | None,
                 age_months: float | None, size: tuple[int, int] = (480, 600),
                 spread: float = 1.0) -> tuple[FaceTraits, SyntheticFace]:
    """Sample one subject of ``group`` and render its portrait.

    Parameters
    ----------
    group : {"wbs", "other_syndrome", "healthy"}
        The subject's group.
    rng : numpy.random.Generator
        Source of randomness for the traits (the drawing itself is seeded by the traits).
    sex : {"F", "M"} or None
        Fixed sex, or ``None`` to draw it.
    age_months : float or None
        Fixed age in months (6..180), or ``None`` to draw it.
    size : tuple of int, optional
        Output ``(width, height)``.
    spread : float, optional
        How varied the capture is (see :func:`sample_traits`); 1 is every kind of photo.

    Returns
    -------
    tuple of (FaceTraits, SyntheticFace)
        The traits and their portrait.
    """
    traits = sample_traits(group, rng, sex=sex, age_months=age_months, spread=spread)
    face = render_face(traits, size=size)
    log.debug("drew a synthetic %s face (%s, %.0f months)", group, traits.sex,
              traits.age_months)
    return traits, face
