"""open_image: only allow-listed formats reach Pillow, and damaged data is refused."""

from __future__ import annotations

import io

import pytest
from PIL import EpsImagePlugin, Image

from tests.data.make_bad_inputs import (
    CASES,
    EPS_WITNESS,
    encoded,
    jpeg_with_flipped_scan_bytes,
    photo,
)
from wbsdesk.errors import UserError
from wbsdesk.ml import face_crops
from wbsdesk.ml.image_io import ImageRefusedError, open_image


@pytest.fixture
def ghostscript_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript",
                        lambda *a, **k: calls.append(a) or pytest.fail("Ghostscript ran"))
    return calls


@pytest.fixture
def eps_named_jpg(tmp_path):
    CASES["eps_named_jpg"].write(tmp_path)
    return tmp_path / "bad.jpg"


def test_eps_named_jpg_never_reaches_ghostscript(eps_named_jpg, ghostscript_calls, tmp_path):
    with pytest.raises(ImageRefusedError) as info:
        open_image(eps_named_jpg)
    assert str(eps_named_jpg) in str(info.value) and "PostScript/EPS" in info.value.reason
    # The align path (face_crops.Photo) uses the same function.
    with pytest.raises(UserError, match=r"bad\.jpg.*PostScript/EPS"):
        face_crops.load_oriented(eps_named_jpg)
    assert not ghostscript_calls and not (tmp_path / EPS_WITNESS).exists()


@pytest.mark.parametrize(("fmt", "label"), [("PPM", "Netpbm"), ("TGA", "TGA"), ("ICO", "ICO"),
                                            ("GIF", "GIF"), ("PDF", "PDF"),
                                            ("JPEG2000", "JPEG 2000")])
def test_formats_outside_the_allow_list_are_refused_by_content(tmp_path, fmt, label):
    path = tmp_path / "photo.jpg"
    path.write_bytes(encoded(fmt))
    with pytest.raises(ImageRefusedError) as info:
        open_image(path)
    assert info.value.message.startswith(f"{path}: not an image format")
    assert label in info.value.reason and "JPEG, PNG, TIFF, WebP or BMP" in info.value.reason


@pytest.mark.parametrize(("fmt", "pillow"), [("JPEG", "JPEG"), ("PNG", "PNG"), ("TIFF", "TIFF"),
                                             ("WEBP", "WEBP"), ("BMP", "BMP"), ("MPO", "MPO")])
def test_allowed_formats_open_with_exactly_one_pillow_format(tmp_path, monkeypatch, fmt,
                                                             pillow):
    path = tmp_path / "named_wrongly.gif"  # the name does not matter, the bytes do
    if fmt == "MPO":
        buffer = io.BytesIO()
        photo(1).save(buffer, "MPO", save_all=True, append_images=[photo(2)])
        path.write_bytes(buffer.getvalue())
    else:
        path.write_bytes(encoded(fmt))
    asked = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda fp, mode="r", formats=None:
                        asked.append(formats) or real_open(fp, mode, formats))
    with open_image(path, strict=True) as im:
        assert im.format == pillow and im.size == (160, 200)
    assert asked and all(f == ["JPEG" if fmt == "MPO" else fmt] for f in asked), asked


def test_flipped_scan_bytes_are_refused_at_import_strength(tmp_path):
    path = tmp_path / "flipped.jpg"
    path.write_bytes(jpeg_with_flipped_scan_bytes())
    with pytest.raises(ImageRefusedError) as info:
        open_image(path, strict=True)
    assert "JPEG image data is damaged" in info.value.reason and str(path) in str(info.value)


@pytest.mark.parametrize("kwargs", [{}, {"progressive": True}, {"restart_marker_blocks": 3},
                                    {"subsampling": 0}, {"mode": "L"}, {"mode": "CMYK"},
                                    {"size": (333, 97)}, {"quality": 30}])
def test_intact_jpegs_pass_the_strict_check(kwargs):
    kwargs = dict(kwargs)
    image = photo(5, kwargs.pop("size", (160, 200))).convert(kwargs.pop("mode", "RGB"))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **kwargs)
    with open_image(buffer.getvalue(), strict=True) as im:
        assert im.size == image.size


def test_truncated_empty_and_oversized_files(tmp_path):
    with pytest.raises(ImageRefusedError, match="truncated"):
        open_image(encoded("PNG")[:5000], strict=True)
    with pytest.raises(ImageRefusedError, match="truncated"):
        open_image(encoded("JPEG")[:1000])
    with pytest.raises(ImageRefusedError, match=r"empty \(0 bytes\)"):
        open_image(b"")
    with pytest.raises(ImageRefusedError, match="over the cap of 1,000"):
        open_image(encoded("PNG"), max_pixels=1000)
    with pytest.raises(ImageRefusedError, match="does not exist"):
        open_image(tmp_path / "missing.png")


def test_png_with_a_bad_checksum_is_refused_strictly():
    data = bytearray(encoded("PNG"))
    idat = data.index(b"IDAT")
    at = idat + 4 + int.from_bytes(data[idat - 4:idat], "big")  # the first IDAT's CRC
    data[at] ^= 0xFF
    with pytest.raises(ImageRefusedError, match="corrupt"):
        open_image(bytes(data), strict=True)


def test_crops_are_read_through_the_allow_list_too(tmp_path):
    from wbsdesk.ml.data import load_crop

    (tmp_path / "crop.png").write_bytes(encoded("GIF"))
    with pytest.raises(UserError, match=r"crop\.png: cannot read the crop \(not an image"):
        load_crop(tmp_path / "crop.png", size=32)


def test_a_file_in_another_format_is_refused_before_it_is_read_whole(tmp_path, monkeypatch):
    from pathlib import Path

    from wbsdesk.services.photos import PhotoProblem, probe_photo

    video = tmp_path / "holiday.jpg"
    video.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(100_000))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read whole"))
    with pytest.raises(ImageRefusedError, match="MP4/QuickTime"):
        open_image(video)
    with pytest.raises(PhotoProblem, match="MP4/QuickTime"):
        probe_photo(video, max_pixels=10**8, min_side_px=64)
