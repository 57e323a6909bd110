"""The photo allow-list (magic bytes) and the JPEG structure check, on Pillow-made files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.data.make_bad_inputs import encoded, jpeg_with_flipped_scan_bytes, photo
from wbsdesk.core.image_formats import ALLOWED, describe, sniff
from wbsdesk.core.jpeg_structure import inspect_jpeg, jpeg_problem


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "JPEG"), ("PNG", "PNG"), ("TIFF", "TIFF"),
                                           ("WEBP", "WEBP"), ("BMP", "BMP"), ("MPO", "JPEG")])
def test_allowed_formats_are_recognised_by_content(fmt, name):
    assert sniff(encoded(fmt)[:512]) == name
    assert name in ALLOWED


@pytest.mark.parametrize(("fmt", "label"), [
    ("PPM", "Netpbm"), ("TGA", "TGA"), ("ICO", "ICO"), ("GIF", "GIF"), ("PDF", "PDF"),
    ("JPEG2000", "JPEG 2000"), ("EPS", "PostScript/EPS"),
])
def test_other_formats_are_refused_and_named(fmt, label):
    if fmt == "EPS":
        head = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    else:
        head = encoded(fmt)[:512]
    assert sniff(head) is None
    assert label in describe(head)


def test_describe_says_what_else_a_file_is():
    assert describe(b"") == "an empty file"
    assert describe(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == "HEIC/HEIF"
    assert describe(b"  <?xml version='1.0'?><svg/>") == "text (SVG, XML or HTML)"
    assert describe(b"subject_id,photo\n") == "text"
    assert describe(bytes(range(200, 256)) * 4) == "an unrecognised format"
    assert describe(bytes(128) + b"DICM") == "DICOM"
    assert sniff(b"BM" + bytes(30)) is None  # "BM" alone is not a BMP header


def _jpeg(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("kwargs", [
    {}, {"progressive": True}, {"subsampling": 0}, {"restart_marker_blocks": 3},
    {"restart_marker_rows": 2}, {"progressive": True, "restart_marker_blocks": 5},
    {"mode": "L"}, {"mode": "CMYK", "restart_marker_blocks": 4}, {"size": (333, 97)},
])
def test_intact_jpegs_pass_the_structure_check(kwargs):
    kwargs = dict(kwargs)
    image = photo(1, kwargs.pop("size", (160, 200))).convert(kwargs.pop("mode", "RGB"))
    data = _jpeg(image, **kwargs)
    layout = inspect_jpeg(data)
    assert layout.problem is None
    assert len(layout.scan_ends) == (1 if not kwargs.get("progressive") else
                                     len(layout.scan_ends)) >= 1
    assert data[layout.scan_ends[-1]:] == b"\xff\xd9"


def test_multi_picture_jpeg_and_trailing_data_pass():
    buffer = io.BytesIO()
    photo(2).save(buffer, "MPO", save_all=True, append_images=[photo(3)])
    assert jpeg_problem(buffer.getvalue()) is None
    assert jpeg_problem(encoded("JPEG") + b"phone trailer data") is None


def test_damaged_jpegs_fail_the_structure_check():
    data = encoded("JPEG", quality=90)
    assert "truncated" in jpeg_problem(data[:len(data) // 2])
    assert "truncated" in jpeg_problem(data[:-2])
    # A stray marker inside the image data (what inverted or overwritten bytes produce).
    end = inspect_jpeg(data).scan_ends[0]
    stray = data[:end - 40] + b"\xff\x3a" + data[end - 38:]
    assert "stray byte pair 0xFF3A" in jpeg_problem(stray)
    # A restart marker removed from a file that declares a restart interval.
    rst = _jpeg(photo(4), restart_marker_blocks=2)
    at = rst.index(b"\xff\xd3")
    assert "restart marker" in jpeg_problem(rst[:at] + rst[at + 2:])
    assert jpeg_problem(b"\xff\xd8\xff\xd9") == "the JPEG has no image data"
    assert "does not start" in jpeg_problem(b"GIF89a")


def test_the_corpus_jpeg_with_flipped_scan_bytes_hides_its_damage():
    # Only a decoder-level check finds it (tests/ml/test_image_io.py): its structure is
    # intact and Pillow decodes it without an error.
    data = jpeg_with_flipped_scan_bytes()
    assert jpeg_problem(data) is None
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert np.asarray(im).shape == (200, 160, 3)


@pytest.mark.parametrize("module", ["image_formats", "jpeg_structure", "photo_metadata"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"wbsdesk.core.{module}"))
    assert result.failed == 0 and result.attempted > 0
