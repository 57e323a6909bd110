"""Stored copies of JPEG and PNG photos without metadata, pixels untouched (pure bytes).

A phone photo carries EXIF (GPS position, time, camera serial numbers, owner names), XMP,
IPTC, comments and maker notes, and phones append previews or whole second pictures after
the image. None of that belongs in a study's photo store. These functions rebuild the file
from the parts that decide how it decodes, copied byte for byte, so the stored photo
decodes to exactly the same pixels:

- **JPEG**: the JFIF header (its thumbnail dropped), the ICC colour profile, Adobe's colour
  transform segment, quantisation and Huffman tables, restart interval, frame and scans;
  everything else (APP1 EXIF/XMP, APP13 IPTC, other APPn, comments, data after the end of
  the image) is dropped.
- **PNG**: the chunks that affect pixels or colour (IHDR, PLTE, tRNS, gAMA, cHRM, sRGB,
  iCCP, sBIT, cICP, mDCV, cLLI, IDAT, IEND); text, time, EXIF and private chunks are
  dropped.

The EXIF orientation is the one tag that changes how a photo is shown, so a photo that
is not stored upright keeps a new, minimal EXIF block holding only that tag.
"""

from __future__ import annotations

import struct
import zlib

from wbsdesk.core.jpeg_structure import inspect_jpeg

__all__ = ["orientation_exif", "strip_jpeg", "strip_png"]

_APP0, _APP1, _APP2, _APP14, _COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
# Tables, frame, scans, restart interval, DNL, arithmetic conditioning, end of image.
_JPEG_KEEP = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB,
                        0xCC, 0xCD, 0xCE, 0xCF, 0xDA, 0xDB, 0xDC, 0xDD, 0xD9})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = frozenset({b"IHDR", b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
                       b"cICP", b"mDCV", b"cLLI", b"IDAT", b"IEND"})


def orientation_exif(orientation: int) -> bytes:
    """A TIFF-structured EXIF block holding only the orientation tag (0x0112).

    Examples
    --------
    >>> orientation_exif(6).hex()
    '4d4d002a00000008000101120003000000010006000000000000'
    """
    if not 1 <= orientation <= 8:
        raise ValueError(f"EXIF orientation must be 1..8, not {orientation}")
    ifd = struct.pack(">HHHIHH", 1, 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    return b"MM\x00\x2a" + struct.pack(">I", 8) + ifd


def strip_jpeg(data: bytes, orientation: int = 1) -> bytes:
    """The JPEG without metadata (see the module doc); the image data is copied unchanged.

    Parameters
    ----------
    data : bytes
        An intact JPEG (:func:`wbsdesk.core.jpeg_structure.jpeg_problem` is ``None``).
    orientation : int, default 1
        EXIF orientation to keep (1..8); 1 writes no EXIF at all.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        When the JPEG's structure is damaged.
    """
    layout = inspect_jpeg(data)
    if layout.problem:
        raise ValueError(layout.problem)
    out = [b"\xff\xd8"]
    jfif = next((data[a:b] for m, a, b in layout.segments
                 if m == _APP0 and data[a + 4:a + 9] == b"JFIF\x00"), None)
    if jfif is not None and len(jfif) >= 18:
        # Version, density units and densities; no thumbnail.
        out.append(b"\xff\xe0" + struct.pack(">H", 16) + jfif[4:16] + b"\x00\x00")
    if orientation != 1:
        exif = b"Exif\x00\x00" + orientation_exif(orientation)
        out.append(b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif)
    for marker, a, b in layout.segments[1:]:
        body = data[a + 4:a + 16]
        if marker in _JPEG_KEEP or (marker == _APP2 and body.startswith(b"ICC_PROFILE\x00")) \
                or (marker == _APP14 and body.startswith(b"Adobe")):
            out.append(data[a:b])
    return b"".join(out)


def strip_png(data: bytes, orientation: int = 1) -> bytes:
    """The PNG without metadata (see the module doc); the image data is copied unchanged.

    Parameters
    ----------
    data : bytes
        A PNG file.
    orientation : int, default 1
        EXIF orientation to keep (1..8) in an ``eXIf`` chunk; 1 writes none.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        When the file is not a complete PNG.
    """
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise ValueError("the PNG ends before its IEND chunk")
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"the PNG chunk {kind!r} runs past the end of the file")
        if kind in _PNG_KEEP:
            out.append(data[pos:end])
        if kind == b"IHDR" and orientation != 1:
            out.append(_png_chunk(b"eXIf", orientation_exif(orientation)))
        pos = end
        if kind == b"IEND":
            return b"".join(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its length and CRC."""
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
