"""Photo decoding, the two face crops and crop encoding, with Pillow (no torch here).

A :class:`Photo` reads a file once and decodes it lazily, upright (EXIF orientation applied)
and in 8-bit RGB, at the coarsest JPEG draft scale (1/1, 1/2, 1/4, 1/8) that a task needs.
Every decoded image comes with a ``(2, 3)`` matrix mapping its pixel coordinates to the
*full-resolution upright frame*, which is the one frame all boxes, landmarks and crop
windows are given in. Decoding at a reduced scale happens in the stored (not yet rotated)
frame, so that matrix is ``orient_full @ scale @ orient_reduced^-1`` rather than a plain
ratio of sizes.

:func:`model_crop` and :func:`reader_crop` render the two crops from a :class:`Photo` (or
any upright PIL image); :mod:`wbsdesk.ml.faces` finds the face they are centred on.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np
from PIL import Image

from wbsdesk.core import face_geometry as geo
from wbsdesk.errors import UserError
from wbsdesk.ml.image_io import DEFAULT_MAX_PIXELS, exif_orientation, open_image, read_source

log = logging.getLogger(__name__)

#: Fill colour for crop areas outside the photo and for transparent pixels.
NEUTRAL_GREY = (128, 128, 128)
#: How a model crop may fill pixels outside the photo (the protocol's ``[faces] padding``).
PADDING_MODES = ("grey", "edge", "reflect")
_DRAFT_SCALES = (8, 4, 2, 1)
# Formats Pillow can decode at 1/2, 1/4 or 1/8 scale (MPO: multi-picture phone JPEGs).
_DRAFT_FORMATS = frozenset({"JPEG", "MPO"})
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# A warp that shrinks by more than this first reduces the region with an antialiasing
# resize, because Image.transform samples the source without a low-pass filter.
_MAX_WARP_SHRINK = 1.5

PhotoSource = str | os.PathLike | BinaryIO


class Photo:
    """A photo file, decoded on demand at reduced scales, upright and in RGB.

    Parameters
    ----------
    source : str, path-like or binary file object
        The photo. Its bytes are read once; a file object is read from its current position.
    min_side_px : int, default 64
        Smallest accepted width or height in pixels.

    Attributes
    ----------
    name : str
        The file name used in error messages.
    size : tuple of 2 ints
        ``(width, height)`` at full resolution after EXIF orientation.
    orientation : int
        EXIF orientation 1..8 (1 when absent or invalid).
    format : str
        Pillow's name for the file format.
    drafts : bool
        Whether reduced decoding is possible (JPEG and MPO); other formats are decoded at
        full size once, when the Photo is created.
    decode_seconds : float
        Time spent decoding so far.

    Raises
    ------
    UserError
        If the file cannot be read or is not an image, or a side is below ``min_side_px``.
    """

    def __init__(self, source: PhotoSource, *, min_side_px: int = 64,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self._data, self.name = read_source(source)
        self._max_pixels = max_pixels
        self.decode_seconds = 0.0
        self._cache: list[tuple[float, Image.Image, np.ndarray]] = []
        with open_image(self._data, name=self.name, max_pixels=max_pixels,
                        decode=False) as im:
            self.format = im.format
            self._stored_size = im.size
            # A JPEG's EXIF sits in its header; other formats may keep it after the
            # pixels (PNG eXIf), so they are decoded right away (they have no draft
            # mode, so the full decode is needed anyway) and read from there.
            self.drafts = im.format in _DRAFT_FORMATS
            self.orientation = exif_orientation(im, self.name) if self.drafts else 1
        if min(self._stored_size) < min_side_px:
            w, h = self._stored_size
            raise UserError(
                f"{self.name}: the image is too small ({w}x{h} px; at least "
                f"{min_side_px} px on each side is needed).",
                hint="Use the original photo rather than a thumbnail.",
            )
        if not self.drafts:
            self.decode(1)
        _, self.size = geo.orientation_affine(self.orientation, *self._stored_size)

    def decode(self, reduce: int = 1) -> tuple[Image.Image, np.ndarray]:
        """Decode the upright RGB image at ``1 / reduce`` scale (JPEG draft mode).

        Parameters
        ----------
        reduce : {1, 2, 4, 8}
            Wanted reduction; files other than JPEG are always decoded at full size.

        Returns
        -------
        image : PIL.Image.Image
            Upright RGB image.
        to_full : ndarray of shape (2, 3)
            Maps the image's pixel coordinates to the full-resolution upright frame.
        """
        for factor, image, to_full in self._cache:
            if factor == reduce or (factor == 1 and not self.drafts):
                return image, to_full
        start = time.perf_counter()
        w, h = self._stored_size
        draft = (max(1, w // reduce), max(1, h // reduce)) if reduce > 1 and self.drafts \
            else None
        with open_image(self._data, name=self.name, max_pixels=self._max_pixels,
                        draft=draft) as im:
            if not self.drafts:
                self.orientation = exif_orientation(im, self.name)
            stored = to_rgb(im)
        scale = _draft_scale((w, h), stored.size)
        upright = stored
        if self.orientation in _TRANSPOSE:
            upright = stored.transpose(_TRANSPOSE[self.orientation])
        orient_reduced, _ = geo.orientation_affine(self.orientation, *stored.size)
        orient_full, _ = geo.orientation_affine(self.orientation, w, h)
        stored_to_full = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
        to_full = geo.compose_affine(
            orient_full, geo.compose_affine(stored_to_full, geo.invert_affine(orient_reduced))
        )
        self._cache.append((float(scale), upright, to_full))
        self.decode_seconds += time.perf_counter() - start
        return upright, to_full

    def detection_scale(self, max_side: int) -> float:
        """Full-resolution pixels per pixel of :meth:`detection_image` (without decoding)."""
        long_side = max(self.size)
        reduce = self._detection_reduce(max_side)
        return max(float(reduce), long_side / max_side)

    def detection_image(self, max_side: int) -> tuple[Image.Image, np.ndarray]:
        """Upright RGB image whose long side is at most ``max_side``, and its ``to_full`` matrix.

        JPEGs are decoded at the smallest draft reduction that fits; anything still too
        large (or not a JPEG) is resized with an antialiasing filter.
        """
        image, to_full = self.decode(self._detection_reduce(max_side))
        if max(image.size) <= max_side:
            return image, to_full
        start = time.perf_counter()
        ratio = max_side / max(image.size)
        size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
        small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
        to_image = np.array([[image.width / size[0], 0, 0], [0, image.height / size[1], 0]])
        small_to_full = geo.compose_affine(to_full, to_image)
        self._cache.append((_linear_scale(small_to_full), small, small_to_full))
        self.decode_seconds += time.perf_counter() - start
        return small, small_to_full

    def image_for(self, full_px_per_output_px: float) -> tuple[Image.Image, np.ndarray]:
        """Coarsest image that still gives a crop at least one source pixel per output pixel.

        An image already decoded is reused when it is fine enough (a crop then shrinks it);
        otherwise the coarsest sufficient JPEG draft scale is decoded.
        """
        need = full_px_per_output_px * (1 + 1e-6)
        usable = [entry for entry in self._cache if entry[0] <= need]
        if usable:
            _, image, to_full = max(usable, key=lambda entry: entry[0])
            return image, to_full
        reduce = next((s for s in _DRAFT_SCALES if s <= need), 1)
        return self.decode(reduce)

    def _detection_reduce(self, max_side: int) -> int:
        """JPEG draft reduction for a detection copy (1 for other formats)."""
        if not self.drafts:
            return 1
        long_side = max(self.size)
        return next((s for s in reversed(_DRAFT_SCALES) if -(-long_side // s) <= max_side), 8)


def load_oriented(
    path_or_file: PhotoSource, *, max_side: int | None = None, min_side_px: int = 64
) -> Image.Image:
    """Read a photo upright (EXIF orientation applied) as 8-bit RGB.

    Parameters
    ----------
    path_or_file : str, path-like or binary file object
        The photo.
    max_side : int, optional
        When given, return a reduced image whose long side is at most ``max_side`` (decoded
        with JPEG draft mode, fast for 12 MP photos); its coordinates times
        ``full_size / image.size`` are full-resolution coordinates. Default: full size.
    min_side_px : int, default 64
        Smallest accepted width or height.

    Returns
    -------
    PIL.Image.Image
        Mode ``"RGB"``. Grey, palette and 16-bit images are converted (16-bit values are
        scaled to 8 bits, not clipped); transparency is composited on neutral grey.

    Raises
    ------
    UserError
        Naming the file, when it is missing, unreadable, truncated or too small.
    """
    photo = Photo(path_or_file, min_side_px=min_side_px)
    image, _ = photo.decode(1) if max_side is None else photo.detection_image(max_side)
    return image


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow image mode to 8-bit RGB (alpha composited on neutral grey).

    16-bit ``I;16*`` data is scaled by 255/65535. ``I`` and ``F`` data is scaled by its
    range: values within 0..255 are kept, within 0..65535 treated as 16-bit, floats within
    0..1 multiplied by 255, and anything else stretched from its minimum to its maximum.
    """
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I") or im.mode == "F":
        return Image.fromarray(_high_depth_to_uint8(im), mode="L").convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("PA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        background = Image.new("RGB", im.size, NEUTRAL_GREY)
        background.paste(im.convert("RGB"), mask=im.getchannel("A"))
        return background
    return im.convert("RGB")


def model_crop(
    source: Photo | Image.Image, landmarks: np.ndarray, *, size: int = 224,
    padding: str = "grey",
) -> tuple[Image.Image, np.ndarray]:
    """Align a face onto the canonical template: a ``size`` x ``size`` RGB crop.

    Parameters
    ----------
    source : Photo or PIL.Image.Image
        The upright photo (a :class:`Photo` decodes only at the scale the crop needs).
    landmarks : array_like of shape (5, 2)
        The face's landmarks in full-resolution coordinates, MTCNN order.
    size : int, default 224
    padding : {"grey", "edge", "reflect"}, default "grey"
        How parts of the crop outside the photo are filled (see :func:`render_model_crop`).

    Returns
    -------
    crop : PIL.Image.Image
        Bicubic warp; parts outside the photo are filled as ``padding`` says.
    matrix : ndarray of shape (2, 3)
        Least-squares similarity transform from full-resolution photo coordinates to crop
        coordinates.
    """
    matrix = geo.estimate_similarity(np.asarray(landmarks, float), geo.canonical_landmarks(size))
    scale, _ = geo.similarity_parameters(matrix)
    image, to_full = _as_photo(source).image_for(1.0 / scale)
    crop = render_model_crop(image, geo.compose_affine(matrix, to_full), size, padding=padding)
    return crop, matrix


def reader_crop(
    source: Photo | Image.Image,
    box: Sequence[float],
    *,
    size: int = 768,
    face_area: float | tuple[float, float] = (0.30, 0.60),
) -> tuple[Image.Image, tuple[float, float, float]]:
    """Natural square crop centred on a face box, for human readers.

    Parameters
    ----------
    source : Photo or PIL.Image.Image
        The upright photo; not warped, only resized.
    box : sequence of 4 floats
        Face box ``(x, y, w, h)`` in full-resolution coordinates.
    size : int, default 768
        Side of the output crop.
    face_area : float or (float, float), default (0.30, 0.60)
        Share of the window the box should cover (the middle of a range is used).

    Returns
    -------
    crop : PIL.Image.Image
        ``size`` x ``size`` RGB; parts of the window outside the photo are neutral grey.
    window : tuple of 3 floats
        ``(x, y, side)`` of the square window in full-resolution coordinates.
    """
    window = geo.reader_window(box, face_area=face_area)
    image, to_full = _as_photo(source).image_for(window[2] / size)
    return render_window(image, to_full, window, size), window


def render_model_crop(
    image: Image.Image, image_to_crop: np.ndarray, size: int, *, padding: str = "grey"
) -> Image.Image:
    """Warp ``image`` into a ``size`` x ``size`` crop by an affine map (image -> crop coords).

    Bicubic inverse mapping; a region that must shrink by more than 1.5x is first reduced
    with an antialiasing resize so the crop does not alias. Where the crop reaches outside
    the image, ``padding`` fills it: ``"grey"`` with :data:`NEUTRAL_GREY`, ``"edge"`` with
    the nearest border pixel, ``"reflect"`` with the image mirrored about its border pixels
    (``numpy.pad(mode="reflect")``, OpenCV's ``BORDER_REFLECT_101``). Edge and reflect pad
    the image's footprint before the warp, so the bicubic kernel never sees grey.
    """
    if padding not in PADDING_MODES:
        raise ValueError(f"unknown padding {padding!r}; use one of {', '.join(PADDING_MODES)}")
    crop_to_image = geo.invert_affine(image_to_crop)
    if padding != "grey":
        image, crop_to_image = _pad_footprint(image, crop_to_image, size, padding)
    ratio = _linear_scale(crop_to_image)
    if ratio > _MAX_WARP_SHRINK:
        corners = geo.apply_affine(crop_to_image, [[0, 0], [size, 0], [0, size], [size, size]])
        pad = 3 * ratio
        x0 = max(0, math.floor(corners[:, 0].min() - pad))
        y0 = max(0, math.floor(corners[:, 1].min() - pad))
        x1 = min(image.width, math.ceil(corners[:, 0].max() + pad))
        y1 = min(image.height, math.ceil(corners[:, 1].max() + pad))
        if x1 <= x0 or y1 <= y0:
            return Image.new("RGB", (size, size), NEUTRAL_GREY)
        small_size = (max(1, math.ceil((x1 - x0) / ratio)), max(1, math.ceil((y1 - y0) / ratio)))
        image = image.resize(small_size, Image.Resampling.BICUBIC, box=(x0, y0, x1, y1))
        small_to_image = np.array(
            [[(x1 - x0) / small_size[0], 0, x0], [0, (y1 - y0) / small_size[1], y0]]
        )
        crop_to_image = geo.compose_affine(geo.invert_affine(small_to_image), crop_to_image)
    return image.transform(
        (size, size),
        Image.Transform.AFFINE,
        tuple(crop_to_image.ravel()),
        resample=Image.Resampling.BICUBIC,
        fillcolor=NEUTRAL_GREY,
    )


def _border_index(index: np.ndarray, n: int, padding: str) -> np.ndarray:
    """Source index for each (possibly out-of-range) pixel index along an axis of length n."""
    if padding == "edge" or n == 1:
        return np.clip(index, 0, n - 1)
    period = 2 * (n - 1)  # reflect about the first and last pixel, which are not repeated
    m = np.mod(index, period)
    return np.where(m >= n, period - m, m)


def _pad_footprint(
    image: Image.Image, crop_to_image: np.ndarray, size: int, padding: str
) -> tuple[Image.Image, np.ndarray]:
    """The part of ``image`` a crop reads, padded by ``padding`` where it leaves the image.

    Returns the region and the crop -> region map; the image itself (unchanged map) when
    the crop, with the resampling margin, lies inside it.
    """
    corners = geo.apply_affine(crop_to_image, [[0, 0], [size, 0], [0, size], [size, size]])
    margin = 3 * max(_linear_scale(crop_to_image), 1.0) + 2
    x0, y0 = (math.floor(v - margin) for v in corners.min(axis=0))
    x1, y1 = (math.ceil(v + margin) for v in corners.max(axis=0))
    if x0 >= 0 and y0 >= 0 and x1 <= image.width and y1 <= image.height:
        return image, crop_to_image
    cols = _border_index(np.arange(x0, x1), image.width, padding)
    rows = _border_index(np.arange(y0, y1), image.height, padding)
    region = Image.fromarray(np.asarray(image)[np.ix_(rows, cols)], mode="RGB")
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
    return region, geo.compose_affine(shift, crop_to_image)


def render_window(
    image: Image.Image, to_full: np.ndarray, window: Sequence[float], size: int
) -> Image.Image:
    """Resize the square ``window`` ``(x, y, side)`` (full-res frame) of ``image`` to a crop.

    ``to_full`` maps image pixels to the full-resolution frame and must be axis-aligned (it is
    for every image a :class:`Photo` returns). Parts outside the photo stay neutral grey; the
    window is not shifted, so the face stays centred.
    """
    x, y, side = (float(v) for v in window)
    corners = geo.apply_affine(geo.invert_affine(to_full), [[x, y], [x + side, y + side]])
    (wx0, wy0), (wx1, wy1) = corners.min(axis=0), corners.max(axis=0)
    per_out_x, per_out_y = (wx1 - wx0) / size, (wy1 - wy0) / size
    canvas = Image.new("RGB", (size, size), NEUTRAL_GREY)
    # The part of the output covered by the photo, rounded to whole output pixels.
    ox0 = min(size, max(0, round((0 - wx0) / per_out_x)))
    oy0 = min(size, max(0, round((0 - wy0) / per_out_y)))
    ox1 = min(size, max(0, round((image.width - wx0) / per_out_x)))
    oy1 = min(size, max(0, round((image.height - wy0) / per_out_y)))
    if ox1 <= ox0 or oy1 <= oy0:
        return canvas
    box = (
        max(0.0, wx0 + ox0 * per_out_x),
        max(0.0, wy0 + oy0 * per_out_y),
        min(float(image.width), wx0 + ox1 * per_out_x),
        min(float(image.height), wy0 + oy1 * per_out_y),
    )
    part = image.resize((ox1 - ox0, oy1 - oy0), Image.Resampling.BICUBIC, box=box)
    canvas.paste(part, (ox0, oy0))
    return canvas


def encode_crop(img: Image.Image, fmt: str = "PNG", *, quality: int = 95) -> bytes:
    """Encode a crop as PNG or JPEG bytes without any metadata.

    The pixels are copied into a fresh image, so no EXIF, ICC profile, XMP, text chunk,
    comment or DPI travels along (crops are plain 8-bit RGB, to be read as sRGB). A JPEG
    still starts with the bare JFIF header (format version and a unitless 1:1 pixel
    density), which is part of the container and says nothing about the photo. The output
    is deterministic: the same pixels give the same bytes.

    Parameters
    ----------
    img : PIL.Image.Image
        The crop (converted to RGB if needed).
    fmt : {"PNG", "JPEG"}, default "PNG"
    quality : int, default 95
        JPEG quality.

    Returns
    -------
    bytes
    """
    kind = fmt.upper()
    if kind not in ("PNG", "JPEG", "JPG"):
        raise ValueError(f"unsupported crop format {fmt!r}; use 'PNG' or 'JPEG'")
    clean = Image.frombytes("RGB", img.size, to_rgb(img).tobytes())
    buffer = io.BytesIO()
    if kind == "PNG":
        clean.save(buffer, format="PNG", optimize=False, compress_level=6)
    else:
        clean.save(buffer, format="JPEG", quality=quality, subsampling=0, optimize=False)
    return buffer.getvalue()


class _FixedImage:
    """A PIL image already upright at full resolution, offered like a :class:`Photo`."""

    def __init__(self, image: Image.Image) -> None:
        self._image = to_rgb(image)
        self._to_full = np.array([[1.0, 0, 0], [0, 1.0, 0]])

    def image_for(self, full_px_per_output_px: float) -> tuple[Image.Image, np.ndarray]:
        """The image itself, at any requested resolution."""
        return self._image, self._to_full


def _as_photo(source: Photo | Image.Image) -> Photo | _FixedImage:
    """Wrap a PIL image so both kinds of source offer ``image_for``."""
    return source if isinstance(source, Photo) else _FixedImage(source)


def _high_depth_to_uint8(im: Image.Image) -> np.ndarray:
    """Scale an ``I;16*``, ``I`` or ``F`` image to uint8 (see :func:`to_rgb`)."""
    arr = np.asarray(im).astype(np.float32)
    arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if im.mode.startswith("I;16") or (lo >= 0 and 255 < hi <= 65535):
        arr = arr * (255.0 / 65535.0)
    elif im.mode == "F" and lo >= 0 and hi <= 1.0:
        arr = arr * 255.0
    elif lo < 0 or hi > 255:
        arr = (arr - lo) * (255.0 / max(hi - lo, 1e-12))
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def _linear_scale(matrix: np.ndarray) -> float:
    """Full-resolution pixels per pixel of an affine map's source (sqrt of its area factor)."""
    return geo.similarity_parameters(matrix)[0]


def _draft_scale(stored: tuple[int, int], decoded: tuple[int, int]) -> int:
    """The JPEG draft reduction that turned ``stored`` into ``decoded`` (ceil division)."""
    for s in (1, 2, 4, 8):
        if (-(-stored[0] // s), -(-stored[1] // s)) == decoded:
            return s
    raise ValueError(f"unexpected decoded size {decoded} for {stored}")
