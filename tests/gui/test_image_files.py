"""The GUI reads photos and crops only in an allow-listed format, whatever their names."""

from __future__ import annotations

import pytest

from tests.data.make_bad_inputs import CASES, EPS_WITNESS, encoded
from wbsdesk.gui.crop_canvas import load_upright
from wbsdesk.gui.face_review import load_thumbnail
from wbsdesk.gui.image_files import read_image, read_pixmap
from wbsdesk.gui.photo_canvas import load_image


@pytest.mark.parametrize(("fmt", "label"), [("PDF", "PDF"), ("GIF", "GIF"), ("TGA", "TGA"),
                                            ("ICO", "ICO"), ("PPM", "Netpbm")])
def test_every_gui_loader_refuses_other_formats(qapp, tmp_path, fmt, label):
    path = tmp_path / "photo.png"
    path.write_bytes(encoded(fmt))
    for load in (read_image, lambda p: load_upright(p), lambda p: load_image(p, 100)):
        with pytest.raises(OSError, match=label) as info:
            load(path)
        assert str(path) in str(info.value)
    assert load_thumbnail(path).isNull() and read_pixmap(path).isNull()


def test_eps_is_never_decoded(qapp, tmp_path):
    CASES["eps_named_jpg"].write(tmp_path)
    with pytest.raises(OSError, match="PostScript/EPS"):
        load_upright(tmp_path / "bad.jpg")
    assert not (tmp_path / EPS_WITNESS).exists()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "BMP"])
def test_allowed_formats_load_whatever_their_name(qapp, tmp_path, fmt):
    path = tmp_path / "photo.gif"
    path.write_bytes(encoded(fmt))
    image, full = load_upright(path)
    assert (image.width(), image.height()) == full == (160, 200)
    assert not load_thumbnail(path, 50).isNull() and not read_pixmap(path).isNull()
    assert load_image(path, 100).width() == 80
