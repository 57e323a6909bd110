"""Capture statistics of a photo and its model crop, and trivial image features.

These are what a confound audit compares between groups (:mod:`wbsdesk.core.baseline`):
things about *how a photo was taken and aligned* rather than the face itself. On real photos
nobody here labelled, the healthy photos were framed tighter, so the alignment padded their
model crops with more grey, and the padding share alone separated the groups.

Statistics (:data:`CAPTURE_STATISTICS`), one value per case:

``padding_share``
    Share of the model crop's pixels whose centre maps outside the photo, computed from the
    stored alignment transform (photo -> crop similarity, ``crops.model_matrix``) and the
    stored photo size (:func:`padding_share`). Exact for the stored crop: no image is read.
``face_box_share``
    Face-box area over photo area.
``face_box_px``
    Face-box width in photo pixels (how many pixels the face had).
``confidence``
    Detector probability of the chosen face (1.0 for a manual crop).
``megapixels``
    Photo resolution, width x height / 10^6.
``brightness``, ``contrast``
    Mean and standard deviation of the model crop's luma (ITU-R BT.601 weights, 0..1), the
    padded pixels included: what the model saw.

Features for the trivial baseline (:func:`image_features`): an 8 x 8 greyscale thumbnail
(block means of the luma) and per-channel colour histograms (8 bins each, shares).

Everything here is pure numpy on arrays handed in; reading files is the caller's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core import face_geometry as geo
from wbsdesk.errors import UserError

__all__ = [
    "CAPTURE_STATISTICS",
    "HISTOGRAM_BINS",
    "THUMBNAIL_PX",
    "CaptureStatistic",
    "capture_values",
    "colour_histograms",
    "crop_luma",
    "image_feature_names",
    "image_features",
    "luma_statistics",
    "padding_share",
    "thumbnail",
]

#: Side of the greyscale thumbnail of the baseline's features.
THUMBNAIL_PX = 8
#: Bins per colour channel of the baseline's histograms.
HISTOGRAM_BINS = 8
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class CaptureStatistic:
    """What one capture statistic is: its key, display name, unit and how it is obtained."""

    key: str
    label: str
    unit: str
    source: str


#: The capture statistics, in display order.
CAPTURE_STATISTICS: tuple[CaptureStatistic, ...] = (
    CaptureStatistic("padding_share", "Padding share", "share of model-crop pixels",
                     "stored alignment transform and photo size"),
    CaptureStatistic("face_box_share", "Face box / photo", "share of photo area",
                     "stored face box and photo size"),
    CaptureStatistic("face_box_px", "Face-box width", "photo pixels", "stored face box"),
    CaptureStatistic("confidence", "Detection confidence", "probability",
                     "stored detector probability (manual crops: 1)"),
    CaptureStatistic("megapixels", "Resolution", "megapixels", "stored photo size"),
    CaptureStatistic("brightness", "Brightness", "mean luma, 0-1", "model crop pixels"),
    CaptureStatistic("contrast", "Contrast", "SD of luma, 0-1", "model crop pixels"),
)


def padding_share(matrix: Any, image_size: Sequence[int], crop_px: int) -> float:
    """Share of a model crop's pixels whose centre lies outside the photo.

    Parameters
    ----------
    matrix : array-like of shape (2, 3)
        Photo (full-resolution, upright) -> crop coordinates, as stored with the crop.
    image_size : (int, int)
        ``(width, height)`` of the upright photo.
    crop_px : int
        Side of the square model crop.

    Returns
    -------
    float
        In [0, 1]. The photo covers ``[0, width) x [0, height)``; crop pixel ``(u, v)`` has
        its centre at ``(u + 0.5, v + 0.5)``.

    Examples
    --------
    >>> padding_share([[1, 0, 0], [0, 1, 0]], (100, 100), 50)   # crop inside the photo
    0.0
    >>> padding_share([[1, 0, 25], [0, 1, 0]], (100, 100), 50)  # half the crop left of it
    0.5
    """
    m = np.asarray(matrix, dtype=float)
    if m.shape != (2, 3) or not np.all(np.isfinite(m)):
        raise UserError(f"an alignment transform must be a finite 2 x 3 matrix, got {m.shape}.")
    w, h = (float(v) for v in image_size)
    n = int(crop_px)
    if w <= 0 or h <= 0 or n <= 0:
        raise UserError(f"photo size {image_size} and crop size {crop_px} must be positive.")
    c = np.arange(n, dtype=float) + 0.5
    inv = geo.invert_affine(m)
    # photo coordinates of every crop pixel centre (u along a row, v down the rows), by
    # broadcasting one row and one column (a tenth of the time of an (n * n, 2) product)
    x = (c * inv[0, 0])[None, :] + (c * inv[0, 1] + inv[0, 2])[:, None]
    y = (c * inv[1, 0])[None, :] + (c * inv[1, 1] + inv[1, 2])[:, None]
    outside = (x < 0) | (x >= w) | (y < 0) | (y >= h)
    return float(outside.mean())


def _rgb(pixels: Any) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise UserError(f"a crop must be an RGB array of shape (height, width, 3), "
                        f"got {arr.shape}.")
    if arr.dtype != np.uint8:
        raise UserError(f"a crop must hold 8-bit values, got {arr.dtype}.")
    return arr


def crop_luma(pixels: Any) -> np.ndarray:
    """Luma (BT.601) of an 8-bit RGB crop of shape (h, w, 3), scaled to 0..1."""
    return (_rgb(pixels).astype(float) @ _LUMA) / 255.0


def luma_statistics(pixels: Any) -> tuple[float, float]:
    """``(brightness, contrast)``: mean and SD (ddof 0) of the crop's luma, 0..1.

    Examples
    --------
    >>> luma_statistics(np.full((4, 4, 3), 255, dtype=np.uint8))
    (1.0, 0.0)
    """
    y = crop_luma(pixels)
    return float(y.mean()), float(y.std())


def capture_values(*, matrix: Any | None, image_size: Sequence[int] | None, crop_px: int,
                   bbox: Sequence[float] | None, confidence: float | None,
                   pixels: Any) -> dict[str, float]:
    """Every capture statistic of one aligned photo (NaN where an input is missing).

    Parameters
    ----------
    matrix : array-like of shape (2, 3) or None, keyword-only
        Photo -> model-crop transform.
    image_size : (int, int) or None, keyword-only
        ``(width, height)`` of the upright photo.
    crop_px : int, keyword-only
        Side of the model crop.
    bbox : (x, y, w, h) or None, keyword-only
        The face box in photo pixels.
    confidence : float or None, keyword-only
        The detector's probability (1.0 for a manual crop).
    pixels : array-like of shape (h, w, 3), uint8, keyword-only
        The model crop.

    Returns
    -------
    dict of str to float
        Keyed and ordered as :data:`CAPTURE_STATISTICS`.
    """
    nan = float("nan")
    w, h = (float(v) for v in image_size) if image_size is not None else (0.0, 0.0)
    has_size = w > 0 and h > 0
    bright, contrast = luma_statistics(pixels)
    return {
        "padding_share": padding_share(matrix, (w, h), crop_px)
        if matrix is not None and has_size else nan,
        "face_box_share": float(bbox[2]) * float(bbox[3]) / (w * h)
        if bbox is not None and has_size else nan,
        "face_box_px": float(bbox[2]) if bbox is not None else nan,
        "confidence": float(confidence) if confidence is not None else nan,
        "megapixels": w * h / 1e6 if has_size else nan,
        "brightness": bright,
        "contrast": contrast,
    }


def thumbnail(pixels: Any, px: int = THUMBNAIL_PX) -> np.ndarray:
    """Greyscale ``px`` x ``px`` thumbnail: mean luma of each block (area average).

    Block edges are ``round(i * side / px)``, so any crop size works. Returns shape
    ``(px * px,)``, row-major.
    """
    y = crop_luma(pixels)
    if min(y.shape) < px:
        raise UserError(f"a crop of {y.shape[1]} x {y.shape[0]} px is smaller than the "
                        f"{px} x {px} thumbnail.")
    rows = np.round(np.arange(px) * y.shape[0] / px).astype(int)
    cols = np.round(np.arange(px) * y.shape[1] / px).astype(int)
    sums = np.add.reduceat(np.add.reduceat(y, rows, axis=0), cols, axis=1)
    counts = np.outer(np.diff(np.append(rows, y.shape[0])), np.diff(np.append(cols, y.shape[1])))
    return (sums / counts).ravel()


def colour_histograms(pixels: Any, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Per-channel histograms (R, then G, then B) of ``bins`` equal bins over 0..255, as shares.

    Returns shape ``(3 * bins,)``; each channel's shares sum to 1.
    """
    arr = _rgb(pixels)
    # the same bins straight from the 8-bit values when bins divides 256 (no 64-bit copy)
    idx = (arr // np.uint8(256 // bins) if 256 % bins == 0
           else (arr.astype(np.int64) * bins) // 256)
    n = idx.shape[0] * idx.shape[1]
    return np.concatenate([np.bincount(idx[..., ch].ravel(), minlength=bins) / n
                           for ch in range(3)])


def image_feature_names(px: int = THUMBNAIL_PX, bins: int = HISTOGRAM_BINS) -> tuple[str, ...]:
    """Names of :func:`image_features`' values, in order."""
    return (*(f"thumb_{r}_{c}" for r in range(px) for c in range(px)),
            *(f"hist_{ch}_{b}" for ch in "rgb" for b in range(bins)))


def image_features(pixels: Any, px: int = THUMBNAIL_PX, bins: int = HISTOGRAM_BINS
                   ) -> np.ndarray:
    """The baseline's pixel features of one crop: thumbnail then colour histograms.

    Returns shape ``(px * px + 3 * bins,)`` (88 by default).
    """
    return np.concatenate([thumbnail(pixels, px), colour_histograms(pixels, bins)])
