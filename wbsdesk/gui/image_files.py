"""Reading photos and crops into Qt images, only in an allow-listed format.

Qt picks an image plugin from a file's name and content, and its plugins include PDF and
SVG. Every photo or crop the GUI shows is read through :func:`image_reader` instead: the
file's magic bytes are sniffed first (:func:`wbsdesk.ml.image_io.sniff_file`, the same
allow-list as the import), and the reader is pinned to that one format with
auto-detection off, so a file that is not a JPEG, PNG, TIFF, WebP or BMP never reaches a
Qt decoder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage, QImageReader, QPixmap

from wbsdesk.core.image_formats import ALLOWED
from wbsdesk.ml.image_io import ImageRefusedError, sniff_file

__all__ = ["image_reader", "read_image", "read_pixmap"]


def image_reader(path: Path) -> QImageReader:
    """A reader for ``path`` pinned to its sniffed, allowed format.

    Raises
    ------
    OSError
        Naming the file and what its bytes say it is, when the format is not allowed or the
        file cannot be read.
    """
    try:
        fmt = sniff_file(path)
    except ImageRefusedError as exc:
        raise OSError(exc.message) from None
    reader = QImageReader(str(path), ALLOWED[fmt].qt_format.encode())
    reader.setAutoDetectImageFormat(False)
    reader.setDecideFormatFromContent(False)
    return reader


def read_image(path: Path) -> QImage:
    """Decode ``path`` (allowed formats only, EXIF orientation applied).

    Raises
    ------
    OSError
        When the file is refused or cannot be decoded.
    """
    reader = image_reader(path)
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        raise OSError(f"cannot read {path}: {reader.errorString()}")
    return image


def read_pixmap(path: Path | str | None) -> QPixmap:
    """``path`` as a pixmap (allowed formats only); an empty pixmap when it cannot be read."""
    if path is None:
        return QPixmap()
    try:
        return QPixmap.fromImage(read_image(Path(path)))
    except OSError:
        return QPixmap()
