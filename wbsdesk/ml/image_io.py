"""The one way wbsdesk opens a photo or crop with Pillow: sniffed, format-pinned, fully checked.

:func:`open_image` reads the file's bytes once, recognises the format by its magic bytes
(:mod:`wbsdesk.core.image_formats`), refuses anything outside the allow-list before any
decoder runs, and only then lets Pillow open the bytes with that single format (Pillow
would otherwise try every plugin it has, including EPS, which runs Ghostscript). It checks
the pixel count before decoding (decompression bombs), decodes fully with truncated data
refused and decoder warnings turned into errors, and for JPEGs checks the marker
structure (:mod:`wbsdesk.core.jpeg_structure`).

With ``strict=True`` (the import) a single-scan JPEG is also checked for damaged image
data that libjpeg would repair without a word. Pillow hides libjpeg's "Corrupt JPEG data"
warnings, so the check asks the decoder itself, from two extra decodes at 1/8 scale (which
still read every Huffman code): the image must *not* decode completely from its data with
the last byte of the scan cut off (else the decoder stopped early: "extraneous bytes"), and
it *must* decode completely from the scan followed by 16 zero bytes and no marker (else it
needed more data than the scan holds: "premature end"). Measured against libjpeg's own
warnings (which Qt prints) by ``benchmarks/jpeg_damage.py`` on 1,800 damaged copies of 60
portrait JPEGs (inverted, swapped, overwritten and bit-flipped scan bytes): libjpeg warns
about 897 of them and this refuses 895 of those and no other; of the 879 intact portraits
it refuses none. The 2 it misses decode to the right number of blocks with one bad Huffman
code inside. Progressive JPEGs get the structure check only.

No torch here: services and the GUI import this module directly.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageFile, UnidentifiedImageError

from wbsdesk.core.image_formats import (
    ALLOWED,
    HEAD_BYTES,
    allowed_names,
    describe,
    is_heif,
    sniff,
)
from wbsdesk.core.jpeg_structure import inspect_jpeg
from wbsdesk.errors import UserError

__all__ = [
    "DEFAULT_MAX_PIXELS", "ImageRefusedError", "exif_orientation", "open_image", "read_source",
    "sniff_file",
]

log = logging.getLogger(__name__)

#: Pixel cap when the caller has no protocol at hand (the protocols' default).
DEFAULT_MAX_PIXELS = 120_000_000
_EXIF_ORIENTATION = 0x0112
#: Zero bytes after a JPEG scan that an intact decode needs as look-ahead (7 measured).
_JPEG_LOOKAHEAD = 16
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
                  KeyError, MemoryError, Image.DecompressionBombError, Warning)
# warnings.catch_warnings changes process-wide state; one decode at a time holds it.
_WARNINGS_LOCK = threading.Lock()

Source = str | os.PathLike | bytes | BinaryIO


class ImageRefusedError(UserError):
    """A file that is not a photo wbsdesk decodes; ``reason`` says why without the name."""

    def __init__(self, name: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{name}: {reason}", hint=hint)
        self.name = name
        self.reason = reason


def read_source(source: Source, name: str | None = None) -> tuple[bytes, str]:
    """All bytes of a path, bytes object or binary file, and a name for messages.

    Raises
    ------
    ImageRefusedError
        When the file is missing or cannot be read.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), name or "<photo data>"
    if isinstance(source, str | os.PathLike):
        name = name or os.fspath(source)
        try:
            return Path(source).read_bytes(), name
        except FileNotFoundError:
            raise ImageRefusedError(name, "the file does not exist") from None
        except OSError as exc:
            raise ImageRefusedError(name, f"the file cannot be read ({exc.strerror or exc})") \
                from None
    name = name or str(getattr(source, "name", "<photo stream>"))
    try:
        data = source.read()
    except OSError as exc:
        raise ImageRefusedError(name, f"the file cannot be read ({exc.strerror or exc})") from None
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("a photo file object must be opened in binary mode")
    return bytes(data), name


def sniff_file(path: str | os.PathLike, name: str | None = None) -> str:
    """The allowed format of a file, from its first bytes (for readers other than Pillow).

    Returns
    -------
    str
        A key of :data:`wbsdesk.core.image_formats.ALLOWED`.

    Raises
    ------
    ImageRefusedError
        Naming the file and what its bytes say it is, when the format is not allowed.
    """
    name = name or os.fspath(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except FileNotFoundError:
        raise ImageRefusedError(name, "the file does not exist") from None
    except OSError as exc:
        raise ImageRefusedError(name, f"the file cannot be read ({exc.strerror or exc})") from None
    return _allowed_format(head, name)


def open_image(source: Source, *, name: str | None = None,
               max_pixels: int = DEFAULT_MAX_PIXELS, decode: bool = True,
               draft: tuple[int, int] | None = None, strict: bool = False) -> Image.Image:
    """Open a photo or crop safely: allow-listed format only, size-capped, fully decoded.

    Parameters
    ----------
    source : path, bytes or binary file object
        The image. Its bytes are read once; Pillow never sees the path.
    name : str, optional
        The file name used in messages (default: the path).
    max_pixels : int, keyword-only
        Refuse images with more pixels than this, before decoding.
    decode : bool, default True, keyword-only
        ``False`` parses the header only (format, size, EXIF) and returns an unloaded
        image; the caller may then call ``draft`` and must decode it through this function.
    draft : (int, int), optional, keyword-only
        Requested size for JPEG reduced decoding (``Image.draft``) before the full decode.
    strict : bool, default False, keyword-only
        Also check a JPEG's image data for damage libjpeg repairs silently (the import's
        check; two extra fast decodes).

    Returns
    -------
    PIL.Image.Image
        Decoded (unless ``decode=False``); ``format`` is Pillow's name (``MPO`` for a
        multi-picture JPEG).

    Raises
    ------
    ImageRefusedError
        A :class:`~wbsdesk.errors.UserError` naming the file and the reason: not an allowed
        format (with what the bytes say it is), empty, too many pixels, truncated or corrupt.
    """
    if isinstance(source, str | os.PathLike):
        sniff_file(source, name)  # refuse a 4 GB video named .jpg before reading it all
    data, name = read_source(source, name)
    fmt = _allowed_format(data[:HEAD_BYTES], name)
    if fmt == "JPEG":
        layout = inspect_jpeg(data)
        if layout.problem:
            raise ImageRefusedError(name, layout.problem, hint=_REEXPORT)
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise ImageRefusedError(name, f"the image is too large to open safely (possible "
                                 f"decompression bomb: {exc})") from None
    except UnidentifiedImageError:
        raise ImageRefusedError(name, f"the file starts like {ALLOWED[fmt].label} but is not a "
                                 "readable image (corrupt header)", hint=_REEXPORT) from None
    except _DECODE_ERRORS as exc:
        raise ImageRefusedError(name, f"the image header is corrupt ({exc})",
                                hint=_REEXPORT) from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ImageRefusedError(name, f"the image is {w}x{h} = {w * h:,} pixels, over the cap of "
                                 f"{max_pixels:,} (possible decompression bomb)",
                           hint="Reduce the photo's size before importing it.")
    if not decode:
        return im
    if draft is not None:
        im.draft(None, draft)
    _load(im, name)
    if strict:
        _strict_checks(data, fmt, name, im)
    return im


def exif_orientation(im: Image.Image, name: str = "") -> int:
    """EXIF orientation 1..8 of an opened image (1 when missing or unreadable)."""
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception as exc:  # a damaged EXIF block must not block the photo itself
        log.warning("%s: ignoring unreadable EXIF data (%r)", name, exc)
        return 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


_REEXPORT = "Check that the file is a complete photo; re-export or copy it again."


def _allowed_format(head: bytes, name: str) -> str:
    """The allowed format ``head`` starts with; ImageRefusedError otherwise."""
    fmt = sniff(head)
    if fmt is not None:
        return fmt
    if not head:
        raise ImageRefusedError(name, "the file is empty (0 bytes)")
    if is_heif(head):
        raise ImageRefusedError(name, "HEIC/HEIF photos cannot be read; convert it to JPEG first "
                                 "(e.g. export as JPEG from the phone or photo app)")
    raise ImageRefusedError(name, f"not an image format wbsdesk reads: the file's bytes say it "
                             f"is {describe(head)}; use {allowed_names()}",
                       hint=f"Save the photo as {allowed_names()} (JPEG or PNG preferred).")


def _load(im: Image.Image, name: str) -> None:
    """Decode fully: truncated data and decoder warnings are errors."""
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except MemoryError:
        raise ImageRefusedError(name, "the image is too large to decode in the available "
                                 "memory") from None
    except _DECODE_ERRORS as exc:
        log.info("cannot decode %s: %r", name, exc)
        raise ImageRefusedError(name, f"the image is truncated or corrupt ({exc})",
                           hint=_REEXPORT) from None


def _strict_checks(data: bytes, fmt: str, name: str, im: Image.Image) -> None:
    """The import's extra checks: JPEG scan data (see module doc), PNG chunk checksums."""
    if fmt == "PNG":
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as again:
                again.verify()
        except _DECODE_ERRORS as exc:
            raise ImageRefusedError(name, f"the image is corrupt ({exc})", hint=_REEXPORT) from None
        return
    if fmt != "JPEG":
        return
    layout = inspect_jpeg(data)
    if len(layout.scan_ends) != 1:
        return  # progressive: each scan ends at a marker, where libjpeg never suspends
    end = layout.scan_ends[0]
    size = (max(1, im.width // 8), max(1, im.height // 8))
    if _decodes_whole(data[:end - 1], size):
        raise ImageRefusedError(name, "the JPEG image data is damaged: the decoder finished "
                                 "before the end of the data (corrupt scan data)",
                           hint=_REEXPORT)
    if not _decodes_whole(data[:end] + bytes(_JPEG_LOOKAHEAD), size):
        raise ImageRefusedError(name, "the JPEG image data is damaged: the decoder needed more "
                                 "data than the image holds (corrupt scan data)",
                           hint=_REEXPORT)


def _decodes_whole(data: bytes, size: tuple[int, int]) -> bool:
    """Whether libjpeg decodes every block of ``data`` without asking for more bytes."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
            im.draft(None, size)
            im.load()
    except _DECODE_ERRORS:
        return False
    return True
