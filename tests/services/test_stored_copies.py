"""Stored photos carry no metadata but their orientation, and decode to the same pixels."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from tests.conftest import write_manifest
from tests.data.make_bad_inputs import photo
from wbsdesk.core.photo_metadata import strip_jpeg, strip_png
from wbsdesk.services.importer import import_manifest

#: EXIF/TIFF tags that hold people, places and devices.
PERSONAL_TAGS = {0x010E, 0x013B, 0x8298, 0xA430, 0xA431, 0x8825, 0x8769, 0x013C, 0x9286}
NAME = "Jane Q. Doe"  # a child's name, as photo tools write it into metadata
XMP = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       f'22-rdf-syntax-ns#"><rdf:Description dc:creator="{NAME}" xmlns:dc="http://purl.org/'
       'dc/elements/1.1/"/></rdf:RDF></x:xmpmeta>')


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010E] = f"{NAME}, 3 years"          # ImageDescription
    exif[0x013B] = NAME                         # Artist
    exif[0xA430] = NAME                         # CameraOwnerName
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 36.0)}  # GPS
    return exif


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def _with_png_chunks(data: bytes, chunks: bytes) -> bytes:
    at = data.index(b"IDAT") - 4
    return data[:at] + chunks + data[at:]


def _make(fmt: str, orientation: int) -> bytes:
    """A photo in ``fmt`` full of personal metadata."""
    img = photo(21, (120, 150))
    buffer = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = _exif(orientation).tobytes()
    if fmt == "JPEG":
        img.save(buffer, "JPEG", quality=92, exif=exif, comment=NAME.encode(), icc_profile=icc,
                 xmp=XMP.encode())
        data = buffer.getvalue()
        iptc = b"Photoshop 3.0\x00" + b"8BIM\x04\x04" + NAME.encode()
        app13 = b"\xff\xed" + struct.pack(">H", len(iptc) + 2) + iptc
        return data[:2] + app13 + data[2:] + b"TRAILER " + NAME.encode()
    if fmt == "MPO":
        img.save(buffer, "MPO", save_all=True, append_images=[photo(22, (120, 150))],
                 exif=exif)
        return buffer.getvalue()
    if fmt == "PNG":
        img.save(buffer, "PNG", exif=exif, icc_profile=icc)
        text = (_png_chunk(b"tEXt", b"Author\x00" + NAME.encode())
                + _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP.encode())
                + _png_chunk(b"tIME", bytes([7, 232, 5, 17, 10, 0, 0]))
                + _png_chunk(b"prVt", NAME.encode()))
        return _with_png_chunks(buffer.getvalue(), text)
    if fmt == "TIFF16":
        arr = (np.asarray(img.convert("L"), np.uint16) * 257).astype(np.uint16)
        Image.fromarray(arr).save(buffer, "TIFF", exif=exif, description=NAME)
        return buffer.getvalue()
    extra = {"xmp": XMP.encode()} if fmt == "WEBP" else {}
    if fmt == "TIFF":  # a TIFF's first directory is its EXIF
        extra = {"tiffinfo": {0x0112: orientation, 0x010E: NAME, 0x013B: NAME}}
    else:
        extra["exif"] = exif
    img.save(buffer, fmt, icc_profile=icc, **extra)
    return buffer.getvalue()


def _decoded(data: bytes) -> tuple[str, np.ndarray, int]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.mode, np.asarray(im), im.getexif().get(0x0112, 1)


@pytest.mark.parametrize(("fmt", "orientation"), [
    ("JPEG", 6), ("JPEG", 1), ("MPO", 3), ("PNG", 8), ("PNG", 1), ("TIFF", 5), ("TIFF16", 1),
    ("WEBP", 7), ("BMP", 1),
])
def test_imported_copy_has_no_metadata_and_the_same_pixels(ws, study, tmp_path, fmt,
                                                            orientation):
    original = _make(fmt, orientation)
    if fmt != "BMP":
        assert NAME.encode() in original or fmt in ("MPO", "TIFF16", "WEBP")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "child.img").write_bytes(original)
    manifest = write_manifest(folder / "m.csv", [{"subject_id": "S1", "photo": "child.img",
                                                  "group": "wbs"}])
    import_manifest(ws, "s", manifest)
    (row,) = ws.store.photos(study.id)
    stored = (ws.root / row.stored_path).read_bytes()
    # The identity is still the original file's SHA-256 (re-imports and duplicates use it).
    assert row.sha256 == hashlib.sha256(original).hexdigest() and row.sha256 in row.stored_path
    for secret in (NAME.encode(), b"GPS", b"TRAILER", b"xmpmeta", b"8BIM", b"Exif\x00\x00M"
                   if orientation == 1 else b"no such bytes"):
        assert secret not in stored, (fmt, secret)
    mode, pixels, kept = _decoded(stored)
    mode0, pixels0, orientation0 = _decoded(original)
    assert (mode, kept) == (mode0, orientation0)
    # Pillow turns a TIFF upright as it decodes it: the copy is stored upright then.
    assert orientation0 == (1 if fmt in ("BMP", "TIFF") else orientation)
    assert np.array_equal(pixels, pixels0)
    with Image.open(io.BytesIO(stored)) as im:
        exif = im.getexif()
        assert not set(exif) & PERSONAL_TAGS and not exif.get_ifd(0x8825)
        assert fmt.startswith("TIFF") or set(exif) <= {0x0112}
        assert not any(k in im.info for k in ("comment", "xmp", "Author", "XML:com.adobe.xmp",
                                              "description"))
    assert import_manifest(ws, "s", manifest).no_op


def test_strip_jpeg_keeps_colour_segments_and_drops_the_rest():
    data = _make("JPEG", 6)
    out = strip_jpeg(data, 6)
    with Image.open(io.BytesIO(out)) as im:
        assert im.info.get("icc_profile") and im.getexif()[0x0112] == 6
    cmyk = io.BytesIO()
    photo(3).convert("CMYK").save(cmyk, "JPEG")
    assert b"Adobe" in strip_jpeg(cmyk.getvalue())
    assert np.array_equal(_decoded(strip_jpeg(cmyk.getvalue()))[1], _decoded(cmyk.getvalue())[1])
    assert strip_jpeg(strip_jpeg(data, 6), 6) == strip_jpeg(data, 6)
    with pytest.raises(ValueError, match="truncated"):
        strip_jpeg(data[:200])


def test_strip_png_keeps_transparency_and_palette():
    buffer = io.BytesIO()
    photo(4).convert("P").save(buffer, "PNG", transparency=3)
    data = _with_png_chunks(buffer.getvalue(), _png_chunk(b"tEXt", b"Title\x00" + NAME.encode()))
    out = strip_png(data)
    assert NAME.encode() not in out and b"tRNS" in out and b"PLTE" in out
    assert np.array_equal(_decoded(out)[1], _decoded(data)[1])
    with pytest.raises(ValueError, match="IEND"):
        strip_png(data[:-12])
