"""The photo formats wbsdesk decodes, recognised by their first bytes (no I/O, no decoder).

One list, :data:`ALLOWED`, says which formats a user's photo may have: JPEG, PNG, TIFF, WebP
and BMP. Every place that decodes a photo or a crop first sniffs the file's magic bytes
with :func:`sniff` and hands the decoder only the one format found, so a file whose bytes
say PostScript, PDF, JPEG 2000 or anything else never reaches a decoder for it, whatever its
name. Why these five:

- **JPEG** (including MPO, the multi-picture JPEG of some phones) and **PNG** are what cameras,
  phones and clinical photo systems export.
- **TIFF** is what clinical photography archives and scanners keep, lossless and often
  16-bit.
- **WebP** is what browsers and messaging apps save photos as.
- **BMP** is what older Windows capture software writes; it is uncompressed (or RLE).

Refused on purpose: GIF (256 colours, too few for a face photo), JPEG 2000, HEIC/HEIF and
AVIF (convert them to JPEG), and formats that are programs or documents rather than pixels
(PostScript/EPS, PDF, SVG) or have no reliable signature (TGA, ICO, PPM).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALLOWED", "HEAD_BYTES", "ImageFormat", "allowed_names", "describe", "is_heif", "sniff",
]

#: How many leading bytes :func:`sniff` needs (DICOM's signature sits at byte 128).
HEAD_BYTES = 512


@dataclass(frozen=True)
class ImageFormat:
    """One format wbsdesk decodes.

    Attributes
    ----------
    name : str
        Pillow's format name (also what :func:`sniff` returns).
    label : str
        The name shown to users.
    extension : str
        File extension of a stored copy.
    qt_format : str
        Qt's image-reader format name.
    """

    name: str
    label: str
    extension: str
    qt_format: str


#: The formats a photo may have, in the order they are offered to users.
ALLOWED: dict[str, ImageFormat] = {f.name: f for f in (
    ImageFormat("JPEG", "JPEG", ".jpg", "jpeg"),
    ImageFormat("PNG", "PNG", ".png", "png"),
    ImageFormat("TIFF", "TIFF", ".tif", "tiff"),
    ImageFormat("WEBP", "WebP", ".webp", "webp"),
    ImageFormat("BMP", "BMP", ".bmp", "bmp"),
)}

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")
_BMP_HEADER_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)
# Refused formats that are recognised, for a message that says what the file really is.
_KNOWN_OTHERS: tuple[tuple[bytes, int, str], ...] = (
    (b"%!PS", 0, "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", 0, "PostScript/EPS"),
    (b"%PDF", 0, "PDF"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", 0, "JPEG 2000"),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
    (b"\x00\x00\x02\x00", 0, "TGA or CUR (cursor)"),
    (b"8BPS", 0, "Photoshop PSD"),
    (b"\xff\x0a", 0, "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", 0, "JPEG XL"),
    (b"DICM", 128, "DICOM"),
    (b"PK\x03\x04", 0, "ZIP archive"),
    (b"icns", 0, "ICNS"),
    (b"qoif", 0, "QOI"),
    (b"DDS ", 0, "DDS"),
    (b"\x76\x2f\x31\x01", 0, "OpenEXR"),
    (b"#?RADIANCE", 0, "Radiance HDR"),
    (b"SIMPLE  =", 0, "FITS"),
    (b"gimp xcf", 0, "GIMP XCF"),
    (b"/* XPM */", 0, "XPM"),
    (b"#define ", 0, "XBM"),
)


def sniff(head: bytes) -> str | None:
    """The allowed format that ``head`` (a file's first bytes) starts with, else ``None``.

    Parameters
    ----------
    head : bytes
        At least the first :data:`HEAD_BYTES` bytes of a file (fewer for a shorter file).

    Returns
    -------
    str or None
        A key of :data:`ALLOWED` (Pillow's format name), or ``None`` for anything else.

    Examples
    --------
    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24))
    'PNG'
    >>> sniff(b"%!PS-Adobe-3.0 EPSF-3.0\\n") is None
    True
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM" and len(head) >= 18 and \
            int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    return None


def describe(head: bytes) -> str:
    """What a file's first bytes say it is, in words (for a refusal message).

    Examples
    --------
    >>> describe(b"%!PS-Adobe-3.0 EPSF-3.0\\n")
    'PostScript/EPS'
    >>> describe(b"")
    'an empty file'
    """
    if not head:
        return "an empty file"
    found = sniff(head)
    if found is not None:
        return ALLOWED[found].label
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIC/HEIF"
        return "an MP4/QuickTime container"
    for magic, offset, label in _KNOWN_OTHERS:
        if head[offset:offset + len(magic)] == magic:
            return label
    if len(head) >= 3 and head[0:1] == b"P" and head[1:2] in b"1234567fF" and \
            head[2:3] in b" \t\r\n":
        return "Netpbm (PPM/PGM/PBM)"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"<":
        return "text (SVG, XML or HTML)"
    if _looks_like_text(head):
        return "text"
    return "an unrecognised format"


def is_heif(head: bytes) -> bool:
    """True for HEIC/HEIF and AVIF files (phones' formats, refused with a hint to convert)."""
    return head[4:8] == b"ftyp" and head[8:12] in (*_HEIF_BRANDS, *_AVIF_BRANDS)


def allowed_names() -> str:
    """The allowed formats for a message, e.g. ``"JPEG, PNG, TIFF, WebP or BMP"``."""
    labels = [f.label for f in ALLOWED.values()]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def _looks_like_text(head: bytes) -> bool:
    """Printable ASCII/UTF-8 without control bytes other than whitespace."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The last character may be cut off by the head's length.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(c.isprintable() or c in "\t\r\n" for c in text)
