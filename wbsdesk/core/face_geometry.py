"""Face-crop geometry: the canonical 5-point template, similarity transforms, crop windows.

Pure numpy; no images and no I/O. Every coordinate here is *continuous*: the pixel with
index ``(i, j)`` covers ``[i, i + 1) x [j, j + 1)`` and has its centre at ``(i + 0.5, j + 0.5)``.
Pillow's affine warps use the same convention, so a matrix from this module can be handed to
``Image.transform`` after inversion. Points are ``(x, y)`` rows; an affine transform is a
``(2, 3)`` matrix ``M`` mapping a point ``p`` to ``M[:, :2] @ p + M[:, 2]``.

The five landmarks are in MTCNN order: image-left eye, image-right eye, nose tip,
image-left mouth corner, image-right mouth corner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Review reason codes, in the order they are reported.
REASON_CODES: tuple[str, ...] = ("no_face", "low_confidence", "multiple_faces", "face_too_small")

# Canonical landmark template as fractions of the crop side N (x to the right, y down).
#
# How the numbers were chosen. The *shape* is the symmetrised generalised-Procrustes mean of
# the MTCNN landmarks found on 878 public-domain frontal portraits (the 225x275 Congress set
# in shared/data/portraits), measured in units of the interocular distance d with the eye
# line level: nose tip 0.61 d below the eye line, mouth corners 1.00 d below it and 0.99 d
# apart. (The 112x112 ArcFace-style reference has a narrower, lower mouth: 0.83 d wide,
# 1.15 d below the eyes; with MTCNN landmarks it left about twice the fitting residual.)
# The *placement* keeps the whole face: d = 0.28 N (62.7 px at N = 224) and the eye line at
# 0.41 N. In that frame the mean MTCNN face box spans x in [0.20, 0.79] N and y in
# [0.08, 0.92] N, so the crop shows the forehead above the box and about 0.3 d of margin
# below the chin, and the face box fills about half of the crop, much like a 224-px MTCNN
# box crop with a margin. At N = 224 the points are (80.6, 91.8), (143.4, 91.8),
# (112.0, 130.1), (80.9, 154.8) and (143.1, 154.8). A similarity transform keeps each
# face's own proportions (which the gestalt models need), so aligned landmarks still miss
# these points by the face's shape difference: on the portraits a median 1.4-1.6 px for the
# eyes, 2.4 px for the mouth corners and 4.4 px for the nose tip.
_TEMPLATE_FRACTIONS = np.array(
    [
        [0.360, 0.410],  # image-left eye
        [0.640, 0.410],  # image-right eye
        [0.500, 0.581],  # nose tip
        [0.361, 0.691],  # image-left mouth corner
        [0.639, 0.691],  # image-right mouth corner
    ]
)

# Where the five landmarks sit inside a face box, as fractions of the box width and height
# (the symmetrised mean over the same 878 portraits of MTCNN landmarks relative to the MTCNN
# face box, which runs from mid-forehead to chin and from cheek to cheek). Used when a
# reviewer draws only a box.
_BOX_LANDMARK_FRACTIONS = np.array(
    [
        [0.273, 0.396],
        [0.727, 0.396],
        [0.500, 0.601],
        [0.275, 0.733],
        [0.725, 0.733],
    ]
)


def canonical_landmarks(size: int = 224) -> np.ndarray:
    """Return the canonical 5-point template for a ``size`` x ``size`` crop.

    Parameters
    ----------
    size : int, default 224
        Side of the square crop in pixels.

    Returns
    -------
    ndarray of shape (5, 2)
        Template points ``(x, y)`` in continuous crop coordinates, MTCNN order. The eyes are
        level and the template is mirror-symmetric about ``x = size / 2``.

    Examples
    --------
    >>> canonical_landmarks(224)[:2].round(2).tolist()
    [[80.64, 91.84], [143.36, 91.84]]
    """
    if size <= 0:
        raise ValueError(f"crop size must be positive, got {size}")
    return _TEMPLATE_FRACTIONS * float(size)


def landmarks_in_box(box: Sequence[float]) -> np.ndarray:
    """Return a typical 5-point landmark layout inside a face box.

    Parameters
    ----------
    box : sequence of 4 floats
        Face box ``(x, y, w, h)`` drawn like an MTCNN box (mid-forehead to chin, cheek to
        cheek).

    Returns
    -------
    ndarray of shape (5, 2)
        Landmarks in the box's coordinate frame, MTCNN order.
    """
    x, y, w, h = _check_box(box)
    return np.array([x, y]) + _BOX_LANDMARK_FRACTIONS * np.array([w, h])


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (Umeyama 1991) taking ``src`` points onto ``dst``.

    Rotation, uniform scale and translation; reflections are excluded.

    Parameters
    ----------
    src, dst : array_like of shape (n, 2)
        Corresponding points, ``n >= 2``.

    Returns
    -------
    ndarray of shape (2, 3)
        ``M`` minimising ``sum ||M[:, :2] @ src_i + M[:, 2] - dst_i||^2``.

    Raises
    ------
    ValueError
        If the shapes differ or the source points all coincide.

    Examples
    --------
    >>> src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> (estimate_similarity(src, 2 * src + 5).round(6) + 0.0).tolist()
    [[2.0, 0.0, 5.0], [0.0, 2.0, 5.0]]
    """
    src = np.asarray(src, dtype=float)
    dst = np.asarray(dst, dtype=float)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two (n, 2) arrays with n >= 2, got {src.shape} and {dst.shape}")
    mean_s, mean_d = src.mean(axis=0), dst.mean(axis=0)
    cs, cd = src - mean_s, dst - mean_d
    var_s = float((cs**2).sum(axis=1).mean())
    if not math.isfinite(var_s) or var_s <= 1e-12:
        raise ValueError("source points coincide; no similarity transform is defined")
    cov = cd.T @ cs / len(src)
    u, sing, vt = np.linalg.svd(cov)
    signs = np.array([1.0, 1.0 if np.linalg.det(u) * np.linalg.det(vt) >= 0 else -1.0])
    rot = u @ np.diag(signs) @ vt
    scale = float((sing * signs).sum()) / var_s
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mean_d - scale * rot @ mean_s
    return matrix


def minimax_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, float]:
    """The similarity transform with the smallest worst-case point error, and that error.

    Where :func:`estimate_similarity` minimises the *sum* of squared distances, this one
    minimises the *largest* distance ``max_i ||M src_i - dst_i||``. It answers "could any
    similarity transform put every point within ``e`` of its target?": exactly when the
    returned error is at most ``e``. The alignment benchmark uses it to bound what a
    shape-preserving alignment can reach at all.

    Parameters
    ----------
    src, dst : array_like of shape (n, 2)
        Corresponding points, ``n >= 2``.

    Returns
    -------
    matrix : ndarray of shape (2, 3)
        Rotation, uniform scale and translation (no reflection).
    max_error : float
        The smallest achievable largest distance.

    Notes
    -----
    With ``M = [[a, -b, tx], [b, a, ty]]`` each residual is linear in ``(a, b, tx, ty)``,
    so the problem is a small second-order cone programme: minimise ``t`` subject to
    ``||r_i|| <= t``. It is convex, and SLSQP solves it from the least-squares start.

    Examples
    --------
    >>> src = np.array([[0.0, 0.0], [2.0, 0.0]])
    >>> round(minimax_similarity(src, src * 3 + 1)[1], 9)
    0.0
    """
    from scipy.optimize import minimize

    src_in = np.asarray(src, dtype=float)
    dst_in = np.asarray(dst, dtype=float)
    start = estimate_similarity(src_in, dst_in)
    # solve on centred points in units of the target's spread, so all four parameters are
    # of order one (SLSQP stalls when the translation is a hundred times the rotation)
    shift_s, shift_d = src_in.mean(axis=0), dst_in.mean(axis=0)
    unit = float(np.sqrt(((dst_in - shift_d) ** 2).sum(axis=1).mean())) or 1.0
    src, dst = (src_in - shift_s) / unit, (dst_in - shift_d) / unit
    x, y = src[:, 0], src[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    # residual_i = design_i @ (a, b, tx, ty) - dst_i, stacked as x-rows then y-rows
    design = np.concatenate([np.stack([x, -y, one, zero], axis=1),
                             np.stack([y, x, zero, one], axis=1)])
    target = np.concatenate([dst[:, 0], dst[:, 1]])
    n = len(src)

    def squared(params: np.ndarray) -> np.ndarray:
        r = design @ params[:4] - target
        return r[:n] ** 2 + r[n:] ** 2

    def squared_grad(params: np.ndarray) -> np.ndarray:
        r = design @ params[:4] - target
        return 2 * (r[:n, None] * design[:n] + r[n:, None] * design[n:])

    p0 = np.array([start[0, 0], start[1, 0], 0.0, 0.0])
    t0 = float(np.sqrt(squared(np.append(p0, 0.0)).max()))
    constraints = {
        "type": "ineq",
        "fun": lambda v: v[4] ** 2 - squared(v),
        "jac": lambda v: np.hstack([-squared_grad(v), 2 * v[4] * np.ones((n, 1))]),
    }
    best = minimize(lambda v: v[4], np.append(p0, t0), jac=lambda v: np.eye(5)[4],
                    constraints=[constraints], bounds=[(None, None)] * 4 + [(0, None)],
                    method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
    a, b, tx, ty = best.x[:4] if best.success else p0
    linear = np.array([[a, -b], [b, a]])
    matrix = np.column_stack([linear, unit * np.array([tx, ty]) + shift_d - linear @ shift_s])
    error = float(np.linalg.norm(apply_affine(matrix, src_in) - dst_in, axis=1).max())
    ls_error = float(np.linalg.norm(apply_affine(start, src_in) - dst_in, axis=1).max())
    if ls_error < error:  # never worse than the start
        return start, ls_error
    return matrix, error


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine matrix to points of shape ``(n, 2)`` (or one point ``(2,)``)."""
    matrix = np.asarray(matrix, dtype=float)
    pts = np.asarray(points, dtype=float)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Return the inverse of a ``(2, 3)`` affine matrix."""
    full = np.vstack([np.asarray(matrix, dtype=float), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Return the ``(2, 3)`` matrix of ``outer`` applied after ``inner``."""
    a = np.vstack([np.asarray(outer, dtype=float), [0.0, 0.0, 1.0]])
    b = np.vstack([np.asarray(inner, dtype=float), [0.0, 0.0, 1.0]])
    return (a @ b)[:2]


def similarity_parameters(matrix: np.ndarray) -> tuple[float, float]:
    """Return ``(scale, angle_degrees)`` of a similarity matrix (angle counter-clockwise in x-y)."""
    m = np.asarray(matrix, dtype=float)
    scale = math.sqrt(abs(float(np.linalg.det(m[:, :2]))))
    return scale, math.degrees(math.atan2(m[1, 0], m[0, 0]))


def eye_roll_degrees(landmarks: np.ndarray) -> float:
    """Angle of the line from the image-left to the image-right eye, in degrees (0 = level)."""
    pts = np.asarray(landmarks, dtype=float)
    dx, dy = pts[1] - pts[0]
    return math.degrees(math.atan2(dy, dx))


def reader_window(
    box: Sequence[float], *, face_area: float | Sequence[float] = (0.30, 0.60)
) -> tuple[float, float, float]:
    """Square window centred on a face box so that the box covers a set share of it.

    Parameters
    ----------
    box : sequence of 4 floats
        Face box ``(x, y, w, h)``.
    face_area : float or (low, high), default (0.30, 0.60)
        Share of the window's area the box should cover; for a range, its middle is used
        (0.45 for the default), which keeps the share inside the range.

    Returns
    -------
    tuple of 3 floats
        ``(x, y, side)``: the window's top-left corner and side, in the box's frame. The
        window may reach past the photo's edges; it is never shifted off the face centre.

    Examples
    --------
    >>> reader_window((10, 20, 30, 30), face_area=0.25)
    (-5.0, 5.0, 60.0)
    """
    x, y, w, h = _check_box(box)
    share = float(np.mean(face_area))
    if not 0.0 < share <= 1.0:
        raise ValueError(f"face_area must be in (0, 1], got {face_area}")
    side = math.sqrt(w * h / share)
    cx, cy = x + w / 2.0, y + h / 2.0
    return cx - side / 2.0, cy - side / 2.0, side


def orientation_affine(orientation: int, width: int, height: int) -> tuple[np.ndarray, tuple]:
    """Map stored-pixel coordinates to display coordinates for an EXIF orientation.

    Parameters
    ----------
    orientation : int
        EXIF Orientation tag value 1..8 (anything else is treated as 1).
    width, height : int
        Size of the image as stored.

    Returns
    -------
    matrix : ndarray of shape (2, 3)
        Affine map from stored to displayed (upright) continuous coordinates.
    size : tuple of 2 ints
        ``(width, height)`` of the displayed image.

    Examples
    --------
    >>> m, size = orientation_affine(6, 4, 3)  # stored landscape, shown rotated clockwise
    >>> size, apply_affine(m, [0.0, 0.0]).tolist()
    ((3, 4), [3.0, 0.0])
    """
    w, h = float(width), float(height)
    table = {
        1: ([[1, 0, 0], [0, 1, 0]], False),
        2: ([[-1, 0, w], [0, 1, 0]], False),
        3: ([[-1, 0, w], [0, -1, h]], False),
        4: ([[1, 0, 0], [0, -1, h]], False),
        5: ([[0, 1, 0], [1, 0, 0]], True),
        6: ([[0, -1, h], [1, 0, 0]], True),
        7: ([[0, -1, h], [-1, 0, w]], True),
        8: ([[0, 1, 0], [-1, 0, w]], True),
    }
    rows, swaps = table.get(int(orientation), table[1])
    size = (int(height), int(width)) if swaps else (int(width), int(height))
    return np.array(rows, dtype=float), size


@dataclass(frozen=True)
class FaceChoice:
    """Which face was chosen and why the photo may need a human look.

    Attributes
    ----------
    index : int or None
        Index of the chosen face, ``None`` when there is none.
    reasons : tuple of str
        Review reason codes (subset of :data:`REASON_CODES`, in that order); empty = ok.
    """

    index: int | None
    reasons: tuple[str, ...]

    @property
    def status(self) -> str:
        """``"ok"`` or ``"needs_review"``."""
        return "needs_review" if self.reasons else "ok"


def choose_face(
    boxes: np.ndarray,
    confidences: np.ndarray,
    *,
    min_confidence: float = 0.90,
    min_face_px: float = 64,
    multiple_area_ratio: float = 0.25,
) -> FaceChoice:
    """Choose the face to crop and list the review reasons.

    Rule: the chosen face is the largest box (by area) among faces with confidence
    ``>= min_confidence``; when none is that confident, the largest face of all is chosen
    and ``low_confidence`` is reported. ``multiple_faces`` is reported when another
    confident face has at least ``multiple_area_ratio`` of the chosen box's area (0.25: a
    face at least half as wide, which a reader would notice, while small faces in the
    background are ignored). ``face_too_small`` is reported when the chosen box's shorter
    side is below ``min_face_px``. No box at all gives ``no_face``.

    Parameters
    ----------
    boxes : array_like of shape (n, 4)
        Face boxes ``(x, y, w, h)`` in full-resolution pixels.
    confidences : array_like of shape (n,)
        Detector confidences in [0, 1].
    min_confidence : float, default 0.90
    min_face_px : float, default 64
    multiple_area_ratio : float, default 0.25

    Returns
    -------
    FaceChoice

    Examples
    --------
    >>> choose_face(np.array([[0, 0, 100, 120], [200, 0, 60, 70]]), np.array([0.99, 0.98]))
    FaceChoice(index=0, reasons=('multiple_faces',))
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    conf = np.asarray(confidences, dtype=float).reshape(-1)
    if len(boxes) != len(conf):
        raise ValueError("boxes and confidences differ in length")
    if len(boxes) == 0:
        return FaceChoice(None, ("no_face",))
    areas = boxes[:, 2] * boxes[:, 3]
    confident = conf >= min_confidence
    reasons = []
    pool = np.flatnonzero(confident)
    if len(pool) == 0:
        reasons.append("low_confidence")
        pool = np.arange(len(boxes))
    index = int(pool[np.argmax(areas[pool])])
    others = confident.copy()
    others[index] = False
    if np.any(areas[others] >= multiple_area_ratio * areas[index]):
        reasons.append("multiple_faces")
    if min(boxes[index, 2], boxes[index, 3]) < min_face_px:
        reasons.append("face_too_small")
    return FaceChoice(index, tuple(reasons))


def _check_box(box: Sequence[float]) -> tuple[float, float, float, float]:
    """Validate a box ``(x, y, w, h)`` with finite values and positive size."""
    values = tuple(float(v) for v in box)
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"a box is (x, y, w, h) with finite values, got {box!r}")
    if values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"a box needs a positive width and height, got {box!r}")
    return values  # type: ignore[return-value]
