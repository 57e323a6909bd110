"""Face detection (MTCNN) and the two face crops of Liu et al. 2021.

For each photo the pipeline finds faces with facenet-pytorch's MTCNN on a reduced copy,
chooses one, and renders

- the **model crop**: the face warped by a similarity transform (rotation, uniform scale,
  translation) that takes its five landmarks onto the fixed template of
  :func:`wbsdesk.core.face_geometry.canonical_landmarks` (224 x 224 by default);
- the **reader crop**: the natural, unwarped photo (only turned upright) in a square window
  centred on the face box, sized so that the box covers the middle of the protocol's area
  range (45 % for 30-60 %), resized to ``reader_crop_px``.

All boxes, landmarks, matrices and windows are in continuous pixel coordinates of the
full-resolution upright photo (see :mod:`wbsdesk.core.face_geometry`). Detection runs on
JPEG draft decodes (1/8 and, only when needed, 1/4 of a 12 MP photo; see
``_detect_for_review``), and both crops are rendered from one decode, the coarsest that
still gives each crop at least one source pixel per output pixel, so a 12 MP photo is
decoded at full size only when a crop needs it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np
from PIL import Image

from wbsdesk.core import face_geometry as geo
from wbsdesk.errors import UserError
from wbsdesk.ml.face_crops import (
    NEUTRAL_GREY,
    PADDING_MODES,
    Photo,
    PhotoSource,
    encode_crop,
    load_oriented,
    model_crop,
    reader_crop,
    to_rgb,
)

__all__ = [
    "NEUTRAL_GREY",
    "PADDING_MODES",
    "AlignResult",
    "Detection",
    "FaceDetector",
    "Photo",
    "align_photo",
    "detect_faces",
    "encode_crop",
    "get_detector",
    "load_oriented",
    "manual_align",
    "model_crop",
    "reader_crop",
]

log = logging.getLogger(__name__)

# facenet-pytorch's MTCNN reports points in MATLAB-style 1-based pixel-centre coordinates.
# Measured here by detecting 59 portraits and their 2x and 3x upscales: continuous
# coordinate = MTCNN coordinate - 0.55 .. 0.67, so half a pixel is subtracted.
_MTCNN_OFFSET = -0.5
# MTCNN's own default smallest face (pixels of the image it runs on).
_MTCNN_MIN_FACE = 20.0
_MULTIPLE_AREA_RATIO = 0.25


@dataclass(frozen=True, eq=False)
class Detection:
    """One detected face, in full-resolution upright pixel coordinates.

    Attributes
    ----------
    box : tuple of 4 floats
        ``(x, y, w, h)``.
    landmarks : ndarray of shape (5, 2)
        Image-left eye, image-right eye, nose, image-left and image-right mouth corner
        (read-only).
    confidence : float
        MTCNN's face probability (1.0 for a face placed by hand).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    confidence: float

    def __post_init__(self) -> None:
        pts = np.array(self.landmarks, dtype=float).reshape(5, 2)
        pts.setflags(write=False)
        object.__setattr__(self, "landmarks", pts)
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        object.__setattr__(self, "confidence", float(self.confidence))

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return self.box[2] * self.box[3]

    def mapped(self, matrix: np.ndarray) -> Detection:
        """The same face under an axis-aligned affine map (e.g. reduced -> full resolution)."""
        x, y, w, h = self.box
        corners = geo.apply_affine(matrix, [[x, y], [x + w, y + h]])
        (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
        return Detection(
            (x0, y0, x1 - x0, y1 - y0), geo.apply_affine(matrix, self.landmarks), self.confidence
        )


class FaceDetector:
    """facenet-pytorch MTCNN set up once (all faces, with landmarks).

    Parameters
    ----------
    device : str, default "cpu"
        Torch device for the three networks.
    threads : int or None, default 1
        Torch intra-op threads while detecting (restored afterwards); ``None`` keeps the
        process setting. One thread is the default because MTCNN's small convolutions gain
        little from more, while on a busy 2-core machine two OpenMP threads made a
        detection up to ten times slower (2.5 s instead of 0.25 s, measured here).

    Notes
    -----
    Calls are serialised with a lock, so one detector can serve several threads.
    """

    def __init__(self, *, device: str = "cpu", threads: int | None = 1) -> None:
        from facenet_pytorch import MTCNN

        self.device = device
        self.threads = threads
        self._mtcnn = MTCNN(keep_all=True, select_largest=True, device=device)
        self._mtcnn.eval()
        self._lock = threading.Lock()

    def detect(
        self, image: Image.Image, *, min_face_size: float = _MTCNN_MIN_FACE
    ) -> list[Detection]:
        """Detect faces in ``image`` (RGB), in its own pixel coordinates, largest first.

        Parameters
        ----------
        image : PIL.Image.Image
            Upright image (converted to RGB if needed); use :func:`detect_faces` for large
            photos.
        min_face_size : float, default 20
            Smallest face side searched for, in pixels of ``image`` (at least 12).

        Returns
        -------
        list of Detection
        """
        import torch

        with self._lock:
            self._mtcnn.min_face_size = max(12.0, float(min_face_size))
            before = torch.get_num_threads()
            if self.threads is not None and self.threads != before:
                torch.set_num_threads(self.threads)
            try:
                boxes, probs, points = self._mtcnn.detect(to_rgb(image), landmarks=True)
            finally:
                if torch.get_num_threads() != before:
                    torch.set_num_threads(before)
        if boxes is None:
            return []
        found = [
            Detection(
                (b[0] + _MTCNN_OFFSET, b[1] + _MTCNN_OFFSET, b[2] - b[0], b[3] - b[1]),
                np.asarray(p, dtype=float) + _MTCNN_OFFSET,
                float(c),
            )
            for b, c, p in zip(boxes, probs, points, strict=True)
        ]
        return sorted(found, key=lambda d: d.area, reverse=True)


@cache
def get_detector(device: str = "cpu") -> FaceDetector:
    """Return the process-wide :class:`FaceDetector` for ``device`` (created on first use)."""
    return FaceDetector(device=device)


def detect_faces(
    image: Image.Image,
    *,
    max_side: int = 1024,
    min_face_size: float = _MTCNN_MIN_FACE,
    detector: FaceDetector | None = None,
) -> list[Detection]:
    """Detect faces with MTCNN on a copy of ``image`` reduced to fit ``max_side``.

    Parameters
    ----------
    image : PIL.Image.Image
        Upright photo (any mode; converted to RGB).
    max_side : int, default 1024
        Long side of the copy MTCNN runs on.
    min_face_size : float, default 20
        Smallest face side searched for, in pixels of that reduced copy.
    detector : FaceDetector, optional
        Defaults to :func:`get_detector`.

    Returns
    -------
    list of Detection
        Boxes and landmarks mapped back to ``image``'s full-resolution coordinates, largest
        box first.
    """
    detector = detector or get_detector()
    rgb = to_rgb(image)
    to_image = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    if max(rgb.size) > max_side:
        ratio = max_side / max(rgb.size)
        size = (max(1, round(rgb.width * ratio)), max(1, round(rgb.height * ratio)))
        to_image = np.array([[rgb.width / size[0], 0, 0], [0, rgb.height / size[1], 0]])
        rgb = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    found = detector.detect(rgb, min_face_size=min_face_size)
    return [d.mapped(to_image) for d in found]


@dataclass(frozen=True, eq=False)
class AlignResult:
    """Outcome of aligning one photo.

    Attributes
    ----------
    status : {"ok", "needs_review"}
    reasons : tuple of str
        Review reason codes: ``no_face``, ``low_confidence``, ``multiple_faces``,
        ``face_too_small`` (empty when ok).
    chosen : Detection or None
        The face the crops show.
    detections : tuple of Detection
        Every face found, largest first (``n_faces`` counts them).
    model_crop, reader_crop : PIL.Image.Image or None
        The two crops (``None`` when no face was found).
    model_matrix : ndarray of shape (2, 3) or None
        Full-resolution photo coordinates -> model-crop coordinates.
    reader_window : tuple of 3 floats or None
        ``(x, y, side)`` of the reader crop in full-resolution coordinates.
    image_size : tuple of 2 ints
        ``(width, height)`` of the upright photo at full resolution.
    timings : mapping of str to float
        Seconds spent: ``decode``, ``detect``, ``crops`` (excluding decoding), ``total``.
    method : {"auto", "manual"}
    """

    status: str
    reasons: tuple[str, ...]
    chosen: Detection | None
    detections: tuple[Detection, ...]
    model_crop: Image.Image | None
    reader_crop: Image.Image | None
    model_matrix: np.ndarray | None
    reader_window: tuple[float, float, float] | None
    image_size: tuple[int, int]
    timings: Mapping[str, float] = field(default_factory=dict)
    method: str = "auto"

    @property
    def n_faces(self) -> int:
        """Number of faces detected (1 for a manual crop)."""
        return len(self.detections)


def align_photo(
    path: PhotoSource,
    *,
    model_crop_px: int = 224,
    reader_crop_px: int = 768,
    reader_face_area: tuple[float, float] = (0.30, 0.60),
    min_confidence: float = 0.90,
    min_face_px: int = 64,
    detect_max_side: int = 1024,
    min_side_px: int = 64,
    detector: FaceDetector | None = None,
    padding: str = "grey",
) -> AlignResult:
    """Detect, choose and crop the face of one photo.

    Parameters
    ----------
    path : str, path-like or binary file object
        The photo (JPEG, PNG, TIFF, ...; EXIF orientation is applied).
    model_crop_px : int, default 224
        Side of the aligned model crop.
    reader_crop_px : int, default 768
        Side of the natural reader crop.
    reader_face_area : (float, float), default (0.30, 0.60)
        Range for the face box's share of the reader crop; its middle is used.
    min_confidence : float, default 0.90
        Faces below this MTCNN probability do not count as confident.
    min_face_px : int, default 64
        Chosen faces whose box is narrower or lower than this (full-resolution pixels) are
        flagged ``face_too_small``.
    detect_max_side : int, default 1024
        Long side of the reduced copy MTCNN runs on.
    min_side_px : int, default 64
        Smaller photos are refused.
    detector : FaceDetector, optional
        Defaults to :func:`get_detector`.
    padding : {"grey", "edge", "reflect"}, default "grey"
        How the model crop fills pixels outside the photo (the protocol's
        ``[faces] padding``; see :func:`wbsdesk.ml.face_crops.render_model_crop`).

    Returns
    -------
    AlignResult
        The face is chosen by :func:`wbsdesk.core.face_geometry.choose_face` (largest
        confident face; another confident face with at least a quarter of its area is
        ``multiple_faces``). Crops are made whenever some face was found, also when the
        photo needs review.

    Raises
    ------
    UserError
        If the photo is missing, unreadable, truncated or too small.
    """
    start = time.perf_counter()
    photo = Photo(path, min_side_px=min_side_px)
    detections, detect_s = _detect_for_review(
        photo, detector or get_detector(), max_side=detect_max_side,
        min_confidence=min_confidence,
    )
    choice = geo.choose_face(
        np.array([d.box for d in detections]).reshape(-1, 4),
        np.array([d.confidence for d in detections]),
        min_confidence=min_confidence,
        min_face_px=min_face_px,
        multiple_area_ratio=_MULTIPLE_AREA_RATIO,
    )
    chosen = None if choice.index is None else detections[choice.index]
    result = _crop_result(
        photo, chosen, detections, status=choice.status, reasons=choice.reasons,
        model_crop_px=model_crop_px, reader_crop_px=reader_crop_px,
        reader_face_area=reader_face_area, start=start, detect_s=detect_s, method="auto",
        padding=padding,
    )
    log.debug("aligned %s: %s %s %s", photo.name, result.status, result.reasons, result.timings)
    return result


def manual_align(
    path: PhotoSource,
    *,
    box: Sequence[float],
    landmarks: np.ndarray | Sequence[Sequence[float]] | None = None,
    model_crop_px: int = 224,
    reader_crop_px: int = 768,
    reader_face_area: tuple[float, float] = (0.30, 0.60),
    min_side_px: int = 64,
    padding: str = "grey",
) -> AlignResult:
    """Crop a photo from a face box (and optionally landmarks) placed by a person.

    Parameters
    ----------
    path : str, path-like or binary file object
        The photo.
    box : sequence of 4 floats
        Face box ``(x, y, w, h)`` in full-resolution upright coordinates, drawn like an
        MTCNN box (mid-forehead to chin, cheek to cheek).
    landmarks : array_like of shape (5, 2), optional
        The five landmarks in MTCNN order. Without them the typical layout of MTCNN
        landmarks inside an MTCNN box
        (:func:`wbsdesk.core.face_geometry.landmarks_in_box`) stands in, and the crop goes
        through the same similarity transform as an automatic one: the box then sets the
        position and scale and the face is assumed upright.
    model_crop_px, reader_crop_px, reader_face_area, min_side_px, padding
        As for :func:`align_photo`.

    Returns
    -------
    AlignResult
        Status ``"ok"``, ``method="manual"``, confidence 1.0.

    Raises
    ------
    UserError
        If the photo cannot be read, or the box or landmarks are unusable.
    """
    start = time.perf_counter()
    photo = Photo(path, min_side_px=min_side_px)
    chosen = _manual_detection(photo, box, landmarks)
    return _crop_result(
        photo, chosen, (chosen,), status="ok", reasons=(), model_crop_px=model_crop_px,
        reader_crop_px=reader_crop_px, reader_face_area=reader_face_area, start=start,
        detect_s=0.0, method="manual", padding=padding,
    )


def _detect_for_review(
    photo: Photo, detector: FaceDetector, *, max_side: int, min_confidence: float
) -> tuple[tuple[Detection, ...], float]:
    """Detect faces for the review rules, cheaply when that is enough; (faces, seconds).

    A fast pass runs MTCNN on the photo reduced to a long side of at most ``max_side / 2``
    (a 1/8 JPEG draft decode of a 12 MP photo), finding faces down to 20 px there (160 px
    at full size). A full pass on the ``max_side`` copy follows only when that copy is finer
    and the fast pass found no confident face, or when a face with a quarter of the chosen
    face's area (half its side; enough for ``multiple_faces``) could lie below 1.5x the
    fast pass's smallest face and so have been missed. MTCNN's pyramid resampling of the
    whole image dominates its run time, so the smaller image roughly halves detection.
    """
    sides = [max(1, max_side // 2)]
    if photo.detection_scale(max_side) < photo.detection_scale(sides[0]):
        sides.append(max_side)
    spent = 0.0
    for side in sides:
        image, to_full = photo.detection_image(side)
        start = time.perf_counter()
        found = tuple(d.mapped(to_full) for d in detector.detect(image))
        spent += time.perf_counter() - start
        confident = [d for d in found if d.confidence >= min_confidence]
        smallest_found = _MTCNN_MIN_FACE * geo.similarity_parameters(to_full)[0]
        if confident and math.sqrt(_MULTIPLE_AREA_RATIO * confident[0].area) >= (
            1.5 * smallest_found
        ):
            break
        if side != sides[-1]:
            log.debug("%s: full-sensitivity detection pass (fast pass: %d faces)",
                      photo.name, len(found))
    return found, spent


def _crop_result(
    photo: Photo,
    chosen: Detection | None,
    detections: tuple[Detection, ...],
    *,
    status: str,
    reasons: tuple[str, ...],
    model_crop_px: int,
    reader_crop_px: int,
    reader_face_area: tuple[float, float],
    start: float,
    detect_s: float,
    method: str,
    padding: str = "grey",
) -> AlignResult:
    """Render both crops for the chosen face (if any) and package the result."""
    decode_before = photo.decode_seconds
    t_crops = time.perf_counter()
    model = reader = matrix = window = None
    if chosen is not None:
        # decode once, at the finer of the two crops' needs; the other crop reuses it
        matrix = geo.estimate_similarity(chosen.landmarks, geo.canonical_landmarks(model_crop_px))
        window = geo.reader_window(chosen.box, face_area=reader_face_area)
        photo.image_for(min(1.0 / geo.similarity_parameters(matrix)[0],
                            window[2] / reader_crop_px))
        model, matrix = model_crop(photo, chosen.landmarks, size=model_crop_px,
                                   padding=padding)
        reader, window = reader_crop(
            photo, chosen.box, size=reader_crop_px, face_area=reader_face_area
        )
    end = time.perf_counter()
    timings: dict[str, Any] = {
        "decode": photo.decode_seconds,
        "detect": detect_s,
        "crops": (end - t_crops) - (photo.decode_seconds - decode_before),
        "total": end - start,
    }
    return AlignResult(
        status=status,
        reasons=tuple(reasons),
        chosen=chosen,
        detections=detections,
        model_crop=model,
        reader_crop=reader,
        model_matrix=matrix,
        reader_window=window,
        image_size=photo.size,
        timings=MappingProxyType(timings),
        method=method,
    )


def _manual_detection(
    photo: Photo, box: Sequence[float], landmarks: Any
) -> Detection:
    """Validate a hand-placed box and landmarks (UserError when unusable)."""
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{photo.name}: a face box is four numbers (x, y, width, height).") from exc
    width, height = photo.size
    finite = all(math.isfinite(v) for v in (x, y, w, h))
    if not finite or w < 2 or h < 2 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise UserError(
            f"{photo.name}: the face box ({x:g}, {y:g}, {w:g}, {h:g}) does not lie on the "
            f"{width}x{height} photo.",
            hint="Draw the box around the face again.",
        )
    if landmarks is None:
        points = geo.landmarks_in_box((x, y, w, h))
    else:
        points = np.asarray(landmarks, dtype=float)
        if points.shape != (5, 2) or not np.all(np.isfinite(points)):
            raise UserError(f"{photo.name}: five (x, y) landmarks are needed.")
        if np.ptp(points, axis=0).max() < 2:
            raise UserError(f"{photo.name}: the five landmarks lie on top of each other.")
    return Detection((x, y, w, h), points, 1.0)
