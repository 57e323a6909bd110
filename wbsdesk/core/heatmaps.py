"""How far a Grad-CAM heatmap can be read: which map it reads, heat on the face, flatness.

* :data:`MIN_CAM_SIDE`, :func:`cam_read_text`: which feature map a heatmap reads. The last
  convolutional block's map is the input divided by the network's stride (32 for ResNet and
  MobileNet, 16 for the VGG layer read there): 7 x 7 at 224 px, where Grad-CAM (Selvaraju et
  al. 2017) localises, but 2 x 2 for ResNet-18 at 64 px, where each cell covers a quarter of
  the crop and the upsampled heatmap is a blob that cannot tell eyes from mouth. A smaller
  input is therefore read at the deepest earlier stage whose map has at least
  :data:`MIN_CAM_SIDE` cells on a side, with LayerCAM's per-position weights (Jiang et al.
  2021, IEEE TIP 30:5875), which stay faithful at such layers where Grad-CAM's
  channel-averaged gradient does not.
* :func:`coarse_map_warning`: a map of at most :data:`COARSE_CELLS` cells on a side (even
  the finest one a model offers is that coarse) gets a warning.
* :func:`template_face_box` and :func:`face_mask`: where the face lies in an aligned crop
  (every model crop puts the five landmarks on the same template,
  :func:`wbsdesk.core.face_geometry.canonical_landmarks`), as a box or the ellipse inside it.
* :func:`heat_focus`: the share of the heat mass inside that region against its share of
  the area, and the map's spread (SD and normalised entropy). A flat wash (every pixel
  about as warm) has an entropy near 1, an SD near 0 and a mass share equal to the area
  share; :data:`FLAT_SD` separates it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wbsdesk.core import face_geometry as geo

__all__ = ["COARSE_CELLS", "FLAT_SD", "GRAD_CAM", "LAYER_CAM", "MIN_CAM_SIDE",
           "HeatFocus", "cam_read_text", "coarse_map_warning", "face_mask", "folds_text",
           "heat_focus", "template_face_box"]

#: A feature map with at most this many cells on a side cannot localise facial features.
COARSE_CELLS = 4
#: The heatmap reads the deepest candidate layer whose map has at least this many cells on
#: its shorter side (the last block's 7 x 7 at 224 px input).
MIN_CAM_SIDE = 7
#: Channel weights from the spatially averaged gradient, at the last convolutional block.
GRAD_CAM = "Grad-CAM"
#: Per-position weights from the positive gradient, at an earlier stage.
LAYER_CAM = "LayerCAM"
#: Below this SD of the max-scaled heatmap (0..1) it counts as a flat wash.
FLAT_SD = 0.05


def coarse_map_warning(grid: Sequence[int], input_px: int) -> str | None:
    """The warning for a feature map too coarse to localise, or ``None``.

    Parameters
    ----------
    grid : (int, int)
        ``(rows, cols)`` of the map Grad-CAM reads.
    input_px : int
        Side of the model's square input.

    Examples
    --------
    >>> coarse_map_warning((2, 2), 64)
    'the feature map read is only 2×2 at 64 px input: the heatmap cannot localise features'
    >>> coarse_map_warning((7, 7), 224) is None
    True
    """
    rows, cols = (int(v) for v in grid)
    if min(rows, cols) > COARSE_CELLS:
        return None
    return (f"the feature map read is only {rows}×{cols} at {int(input_px)} px input: "
            "the heatmap cannot localise features")


def cam_read_text(method: str, layer: str, grid: Sequence[int], input_px: int,
                  last_grid: Sequence[int] | None = None) -> str:
    """Which feature map a heatmap read, and how, for a caption.

    Parameters
    ----------
    method : str
        :data:`GRAD_CAM` or :data:`LAYER_CAM`.
    layer : str
        The module read (dotted path, e.g. ``"layer2"``).
    grid : (int, int)
        ``(rows, cols)`` of the map read.
    input_px : int
        Side of the model's square input.
    last_grid : (int, int), optional
        The last convolutional block's map when an earlier layer was read (``None``: the
        layer read is the last block).

    Examples
    --------
    >>> cam_read_text("Grad-CAM", "layer4", (7, 7), 224)
    'last feature map 7×7 (layer4) at 224 px input'
    >>> print(cam_read_text("LayerCAM", "layer2", (8, 8), 64, (2, 2)))
    feature map 8×8 (layer2) at 64 px input, weighted per position (LayerCAM), finer than the last block's 2×2
    """  # noqa: E501
    rows, cols = (int(v) for v in grid)
    where = f"{rows}×{cols} ({layer}) at {int(input_px)} px input"
    weights = "weighted per position" if method == LAYER_CAM else "channel weights"
    if last_grid is None:
        return f"last feature map {where}" + ("" if method == GRAD_CAM
                                               else f", {weights} ({method})")
    lr, lc = (int(v) for v in last_grid)
    return (f"feature map {where}, {weights} ({method}), finer than the last block's "
            f"{lr}×{lc}")


def folds_text(folds: Sequence[int]) -> str:
    """``"folds 1–5"``, ``"folds 1, 3, 4"``, ``"folds 1 and 2"`` or ``"fold 2"``.

    Examples
    --------
    >>> folds_text([1, 2, 3, 4, 5]), folds_text([1, 3, 4]), folds_text([2, 1]), folds_text([2])
    ('folds 1–5', 'folds 1, 3, 4', 'folds 1 and 2', 'fold 2')
    """
    f = sorted(int(v) for v in folds)
    if len(f) == 1:
        return f"fold {f[0]}"
    if len(f) == 2:
        return f"folds {f[0]} and {f[1]}"
    if len(f) > 2 and f == list(range(f[0], f[-1] + 1)):
        return f"folds {f[0]}–{f[-1]}"
    return "folds " + ", ".join(str(v) for v in f)


def template_face_box(size: int) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` of the face box in an aligned ``size`` x ``size`` crop.

    The box whose typical landmark layout (:func:`~wbsdesk.core.face_geometry.landmarks_in_box`)
    best fits the crop template (least squares per axis): mid-forehead to chin, cheek to
    cheek, about 0.62 x 0.83 of the crop.

    Examples
    --------
    >>> [round(v, 2) for v in template_face_box(100)]
    [19.14, 7.98, 61.73, 83.38]
    """
    unit = geo.landmarks_in_box((0.0, 0.0, 1.0, 1.0))
    target = geo.canonical_landmarks(size)
    out = []
    for axis in (0, 1):
        a = np.column_stack([np.ones(len(unit)), unit[:, axis]])
        (origin, scale), *_ = np.linalg.lstsq(a, target[:, axis], rcond=None)
        out.append((float(origin), float(scale)))
    (x, w), (y, h) = out
    return x, y, w, h


def face_mask(shape: Sequence[int], *, ellipse: bool = True) -> np.ndarray:
    """Boolean mask of the face region of an aligned crop, at a heatmap's ``shape``.

    Parameters
    ----------
    shape : (int, int)
        ``(rows, cols)`` of the heatmap (the model input, or the crop: the template scales
        with the crop).
    ellipse : bool, default True, keyword-only
        The ellipse inscribed in :func:`template_face_box` (else the box itself).

    Returns
    -------
    numpy.ndarray of bool, shape ``shape``
    """
    rows, cols = (int(v) for v in shape)
    fx, fy, fw, fh = template_face_box(1)
    v, u = np.mgrid[0:rows, 0:cols]
    x = (u + 0.5) / cols
    y = (v + 0.5) / rows
    if not ellipse:
        return (x >= fx) & (x < fx + fw) & (y >= fy) & (y < fy + fh)
    cx, cy, ax, ay = fx + fw / 2, fy + fh / 2, fw / 2, fh / 2
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0


@dataclass(frozen=True)
class HeatFocus:
    """Where a heatmap's heat lies and how peaked it is.

    Attributes
    ----------
    mass_share : float
        Share of the heat (sum of the map) inside the region; NaN for an all-zero map.
    area_share : float
        Share of the pixels inside the region.
    lift : float
        ``mass_share / area_share``: 1 when the heat ignores the region, above 1 when it
        gathers there.
    sd : float
        SD of the map scaled to a maximum of 1 (0 for a constant map).
    entropy : float
        Entropy of the heat as a distribution over pixels, over its maximum ``log(n)``:
        1 for a flat wash, lower the more peaked.
    flat : bool
        ``sd < FLAT_SD`` (or no heat at all): the map shows no place.
    """

    mass_share: float
    area_share: float
    lift: float
    sd: float
    entropy: float
    flat: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in asdict(self).items()}

    def text(self) -> str:
        """One line for a caption or the command line."""
        if not np.isfinite(self.mass_share):
            return ("the heatmap is empty: no part of the crop raised the score, so it shows "
                    "nothing about where the model looked")
        if self.flat:
            return ("the heatmap is flat (no place weighs more than another): it shows "
                    "nothing about where the model looked")
        return (f"{self.mass_share:.0%} of the heat lies on the face, which covers "
                f"{self.area_share:.0%} of the crop (spread: SD {self.sd:.2f}, "
                f"entropy {self.entropy:.2f})")


def heat_focus(heat: Any, mask: Any | None = None) -> HeatFocus:
    """Heat inside a region against its area, and the map's spread.

    Parameters
    ----------
    heat : array-like of shape (h, w)
        A non-negative heatmap (any scale; NaN counts as 0).
    mask : array-like of bool, shape (h, w), optional
        The region (default :func:`face_mask` of the map's shape).

    Returns
    -------
    HeatFocus

    Examples
    --------
    >>> f = heat_focus(np.ones((8, 8)))
    >>> f.flat, f.sd, round(f.entropy, 3), round(f.lift, 3)
    (True, 0.0, 1.0, 1.0)
    """
    h = np.clip(np.nan_to_num(np.asarray(heat, dtype=float)), 0.0, None)
    if h.ndim != 2 or h.size == 0:
        raise ValueError(f"a heatmap is a 2-D array, got shape {h.shape}")
    m = face_mask(h.shape) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != h.shape:
        raise ValueError(f"mask shape {m.shape} differs from the heatmap's {h.shape}")
    area = float(m.mean())
    total = float(h.sum())
    if total <= 0:
        return HeatFocus(float("nan"), area, float("nan"), 0.0, float("nan"), True)
    mass = float(h[m].sum() / total)
    sd = float((h / h.max()).std())
    p = h.ravel() / total
    nz = p[p > 0]
    entropy = float(-(nz * np.log(nz)).sum() / np.log(h.size)) if h.size > 1 else 1.0
    lift = mass / area if area > 0 else float("nan")
    return HeatFocus(mass, area, lift, sd, entropy, sd < FLAT_SD)
