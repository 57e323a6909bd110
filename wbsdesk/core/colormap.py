"""The one colour map of Grad-CAM heatmaps: overlays and the colour-scale bar use it alike.

A jet-like ramp (dark blue, blue, cyan, yellow, red, dark red) in pure numpy, so the GUI
can draw the colour scale beside a heatmap without loading torch, and the overlay that
:mod:`wbsdesk.ml.explain` blends uses exactly the same colours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["colorize", "colour_ramp"]


def colorize(heatmap: Any) -> np.ndarray:
    """0..1 map -> RGB with the jet-like blue-cyan-yellow-red ramp.

    Parameters
    ----------
    heatmap : array-like of shape (...)
        Values in 0..1; values outside are clipped and NaN counts as 0.

    Returns
    -------
    numpy.ndarray of shape (..., 3), dtype uint8

    Examples
    --------
    >>> colorize([0.0, 0.5, 1.0]).tolist()
    [[0, 0, 128], [128, 255, 128], [128, 0, 0]]
    """
    t = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    r = np.clip(1.5 - np.abs(4.0 * t - 3.0), 0.0, 1.0)
    g = np.clip(1.5 - np.abs(4.0 * t - 2.0), 0.0, 1.0)
    b = np.clip(1.5 - np.abs(4.0 * t - 1.0), 0.0, 1.0)
    return np.round(np.stack([r, g, b], axis=-1) * 255.0).astype(np.uint8)


def colour_ramp(steps: int = 256) -> np.ndarray:
    """The colour scale from low (first row) to high (last row).

    Parameters
    ----------
    steps : int, default 256
        Number of colours (at least 2), evenly spaced over 0..1.

    Returns
    -------
    numpy.ndarray of shape (steps, 3), dtype uint8

    Examples
    --------
    >>> colour_ramp(3).tolist() == colorize([0.0, 0.5, 1.0]).tolist()
    True
    """
    if steps < 2:
        raise ValueError(f"a colour ramp needs at least 2 steps, got {steps}")
    return colorize(np.linspace(0.0, 1.0, steps))
