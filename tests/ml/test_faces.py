"""Face pipeline on small real images: decoding, detection, both crops, review flags."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wbsdesk.core import face_geometry as geo
from wbsdesk.errors import UserError
from wbsdesk.ml import faces
from wbsdesk.ml.face_crops import NEUTRAL_GREY, Photo, to_rgb

skimage_data = pytest.importorskip("skimage.data")

# Pixel operation that stores an upright image so that applying the EXIF orientation shows
# it upright again (the inverse of the display transposition).
_STORE_FOR = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.fixture(scope="module")
def detector():
    """The process-wide MTCNN, created once."""
    return faces.get_detector()


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skimage_data.astronaut())


@pytest.fixture(scope="module")
def astronaut_result(astronaut, detector, tmp_path_factory):
    path = tmp_path_factory.mktemp("astro") / "astronaut.png"
    astronaut.save(path)
    return path, faces.align_photo(path, detector=detector)


def _save_oriented(upright: Image.Image, path: Path, orientation: int, **extra) -> Path:
    stored = upright if _STORE_FOR[orientation] is None else upright.transpose(
        _STORE_FOR[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, exif=exif.tobytes(), **extra)
    return path


def _mad(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, float) - np.asarray(b, float)).mean())


def test_astronaut_is_ok_with_both_crops(astronaut_result, detector):
    _, res = astronaut_result
    assert (res.status, res.reasons, res.n_faces, res.method) == ("ok", (), 1, "auto")
    assert res.image_size == (512, 512) and res.chosen.confidence > 0.99
    assert set(res.timings) == {"decode", "detect", "crops", "total"}
    # model crop: the detected landmarks land on the template, eyes level
    assert res.model_crop.size == (224, 224) and res.model_crop.mode == "RGB"
    warped = geo.apply_affine(res.model_matrix, res.chosen.landmarks)
    template = geo.canonical_landmarks(224)
    assert abs(geo.eye_roll_degrees(warped)) < 2.0
    assert np.abs(warped - template).max() < 6.0
    # ... and MTCNN finds them there again on the crop itself
    again = faces.detect_faces(res.model_crop, detector=detector)
    assert len(again) == 1
    assert abs(geo.eye_roll_degrees(again[0].landmarks)) < 2.0
    assert np.linalg.norm(again[0].landmarks[:2] - template[:2], axis=1).max() < 4.0
    # reader crop: square, centred on the face box, box covers 30-60 % of it
    assert res.reader_crop.size == (768, 768)
    x, y, side = res.reader_window
    bx, by, bw, bh = res.chosen.box
    assert 0.30 <= bw * bh / side**2 <= 0.60
    assert bw * bh / side**2 == pytest.approx(0.45)
    assert (x + side / 2, y + side / 2) == pytest.approx((bx + bw / 2, by + bh / 2))


def test_reader_crop_pads_with_grey_and_keeps_the_face_centred(astronaut):
    # a face box at the top-left corner: the window reaches past the photo
    crop, window = faces.reader_crop(astronaut, (0, 0, 100, 100), size=200, face_area=0.25)
    assert window == pytest.approx((-50.0, -50.0, 200.0))
    arr = np.asarray(crop)
    assert (arr[:45, :45] == NEUTRAL_GREY).all()  # outside the photo
    np.testing.assert_allclose(arr[60:140, 60:140], np.asarray(astronaut)[10:90, 10:90], atol=2)


def test_model_crop_matrix_matches_the_warped_pixels(astronaut):
    # put a known similarity on the photo and check a marked pixel ends where M says
    img = Image.new("RGB", (400, 300), (0, 0, 0))
    img.paste((0, 255, 0), (200, 100, 204, 104))
    lm = geo.canonical_landmarks(224) * 1.3 + np.array([40.0, 20.0])
    crop, m = faces.model_crop(img, lm, size=224)
    assert geo.similarity_parameters(m)[0] == pytest.approx(1 / 1.3)
    arr = np.asarray(crop, float)
    arr = arr[..., 1] - arr[..., 0]  # the green dot; black and grey fill give 0
    ys, xs = np.nonzero(arr > 20)
    weights = arr[ys, xs]
    centre = np.array([np.average(xs, weights=weights), np.average(ys, weights=weights)]) + 0.5
    np.testing.assert_allclose(centre, geo.apply_affine(m, [202.0, 102.0]), atol=0.3)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_all_eight_exif_orientations_give_the_same_crops(astronaut, detector, tmp_path, fmt):
    # a non-square photo with odd sides, detected at half size so that JPEG draft decoding
    # and the orientation have to compose
    upright = astronaut.crop((5, 3, 463, 392)).resize((916, 778), Image.Resampling.BICUBIC)
    paths, results = {}, {}
    for o in range(1, 9):
        paths[o] = _save_oriented(upright, tmp_path / f"o{o}.{fmt.lower()}", o, format=fmt,
                                  **({"quality": 95} if fmt == "JPEG" else {"compress_level": 1}))
        results[o] = faces.align_photo(paths[o], detect_max_side=512, detector=detector)
    ref = results[1]
    for o, res in results.items():
        assert (res.image_size, res.status) == ((916, 778), "ok"), o
        np.testing.assert_allclose(res.chosen.landmarks, ref.chosen.landmarks, atol=2.0)
        if fmt == "PNG":  # lossless: identical upright pixels, identical results
            assert _mad(res.model_crop, ref.model_crop) < 0.01, o
            assert _mad(res.reader_crop, ref.reader_crop) < 0.01, o
        else:
            # JPEG artefacts differ per stored orientation and MTCNN's landmarks jitter by
            # about a pixel, so compare crops made from the same landmarks and box
            photo = Photo(paths[o])
            model, _ = faces.model_crop(photo, ref.chosen.landmarks)
            reader, _ = faces.reader_crop(photo, ref.chosen.box)
            assert _mad(model, ref.model_crop) < 2.0, o
            assert _mad(reader, ref.reader_crop) < 2.0, o


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("reduce", [2, 4, 8])
def test_draft_decoding_maps_back_to_full_resolution(tmp_path, orientation, reduce):
    # a bright 16x16 square on an odd-sized photo; find it in the reduced upright decode
    # and map its centre back: it must land on the full-resolution centre
    upright = Image.new("RGB", (203, 150), (0, 0, 0))
    upright.paste((255, 255, 255), (112, 48, 128, 64))
    path = _save_oriented(upright, tmp_path / "dot.jpg", orientation, quality=98)
    photo = Photo(path)
    assert photo.size == (203, 150)
    img, to_full = photo.decode(reduce)
    assert max(img.size) <= math.ceil(203 / reduce) and img.mode == "RGB"
    arr = np.asarray(img, float).mean(axis=2)
    ys, xs = np.nonzero(arr > 40)
    w = arr[ys, xs]
    centre = [np.average(xs, weights=w) + 0.5, np.average(ys, weights=w) + 0.5]
    np.testing.assert_allclose(geo.apply_affine(to_full, centre), [120.0, 56.0],
                               atol=0.15 * reduce + 0.3)


def test_flat_and_noisy_images_have_no_face(detector, tmp_path):
    gradient = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    Image.fromarray(gradient).save(tmp_path / "gradient.png")
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(
        tmp_path / "noise.png")
    for name in ("gradient.png", "noise.png"):
        res = faces.align_photo(tmp_path / name, detector=detector)
        assert (res.status, res.reasons) == ("needs_review", ("no_face",)), name
        assert res.chosen is None and res.model_crop is None and res.reader_crop is None


def test_two_faces_of_the_same_size_are_flagged(astronaut, detector):
    pair = Image.new("RGB", (1024, 512))
    pair.paste(astronaut, (0, 0))
    pair.paste(astronaut, (512, 0))
    buffer = io.BytesIO()
    pair.save(buffer, "PNG")
    buffer.seek(0)
    res = faces.align_photo(buffer, detector=detector)
    assert res.status == "needs_review" and "multiple_faces" in res.reasons
    assert res.n_faces >= 2 and res.model_crop is not None


def test_small_face_is_flagged(astronaut, detector):
    small = astronaut.resize((128, 128), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    buffer.seek(0)
    res = faces.align_photo(buffer, min_face_px=64, detector=detector)
    assert res.reasons == ("face_too_small",)


def test_manual_crop_round_trip(astronaut_result):
    path, auto = astronaut_result
    same = faces.manual_align(path, box=auto.chosen.box, landmarks=auto.chosen.landmarks)
    assert (same.status, same.reasons, same.method, same.n_faces) == ("ok", (), "manual", 1)
    assert _mad(same.model_crop, auto.model_crop) < 0.01
    assert _mad(same.reader_crop, auto.reader_crop) < 0.01
    # box only: the typical landmark layout stands in, giving a similar crop
    boxed = faces.manual_align(path, box=auto.chosen.box)
    s_auto = geo.similarity_parameters(auto.model_matrix)[0]
    s_box, a_box = geo.similarity_parameters(boxed.model_matrix)
    assert s_box == pytest.approx(s_auto, rel=0.12) and abs(a_box) < 1e-9
    assert _mad(boxed.model_crop, auto.model_crop) < 30
    warped = geo.apply_affine(boxed.model_matrix, auto.chosen.landmarks)
    assert np.abs(warped - geo.canonical_landmarks(224)).max() < 12


def test_manual_crop_rejects_unusable_input(astronaut_result):
    path, _ = astronaut_result
    with pytest.raises(UserError, match="does not lie"):
        faces.manual_align(path, box=(600, 600, 50, 50))
    with pytest.raises(UserError, match="five"):
        faces.manual_align(path, box=(100, 100, 50, 50), landmarks=[[1, 2]])
    with pytest.raises(UserError, match="on top of each other"):
        faces.manual_align(path, box=(100, 100, 50, 50), landmarks=[[5, 5]] * 5)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_crops_carry_no_metadata(astronaut, detector, tmp_path, fmt):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2021:05:01 10:00:00"  # DateTime
    exif[0x0112] = 1
    path = tmp_path / "with_exif.jpg"
    astronaut.save(path, quality=90, exif=exif.tobytes(), icc_profile=b"\0" * 128)
    res = faces.align_photo(path, detector=detector)
    for crop in (res.model_crop, res.reader_crop):
        crop.info["exif"] = exif.tobytes()  # even when the image object carries some
        data = faces.encode_crop(crop, fmt)
        assert data == faces.encode_crop(crop, fmt)  # deterministic
        with Image.open(io.BytesIO(data)) as back:
            assert back.format == fmt and back.size == crop.size
            assert not back.getexif()
            assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment",
                        "dpi"} & set(back.info)
            if fmt == "PNG":
                assert back.text == {}
                assert _mad(back.convert("RGB"), crop) == 0.0
    assert b"PhoneMaker" not in faces.encode_crop(res.model_crop, "JPEG")
    with pytest.raises(ValueError):
        faces.encode_crop(res.model_crop, "GIF")


def test_tiny_truncated_missing_and_garbage_files_are_user_errors(astronaut, tmp_path):
    astronaut.resize((50, 80)).save(tmp_path / "tiny.png")
    with pytest.raises(UserError, match=r"tiny\.png.*too small"):
        faces.load_oriented(tmp_path / "tiny.png")
    buffer = io.BytesIO()
    astronaut.save(buffer, "JPEG", quality=90)
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(UserError, match=r"cut\.jpg.*truncated"):
        faces.load_oriented(tmp_path / "cut.jpg")
    with pytest.raises(UserError, match=r"cut\.jpg"):
        faces.align_photo(tmp_path / "cut.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"not an image at all" * 10)
    with pytest.raises(UserError, match=r"junk\.jpg.*not an image"):
        faces.load_oriented(tmp_path / "junk.jpg")
    with pytest.raises(UserError, match=r"missing\.jpg.*does not exist"):
        faces.load_oriented(tmp_path / "missing.jpg")


def _high_depth(mode: str) -> Image.Image:
    values = np.array([[0, 32768, 65535, 1000]] * 80, dtype=np.uint16).repeat(20, axis=1)
    image = Image.fromarray(values if mode == "I;16" else values.astype(np.int32))
    assert image.mode == mode
    return image


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "P+transparency", "I;16", "I", "CMYK",
                                  "1", "F"])
def test_image_modes_load_as_rgb(astronaut, tmp_path, mode):
    if mode in ("I;16", "I"):
        img = _high_depth(mode)
    elif mode == "F":
        img = Image.fromarray(np.asarray(astronaut.convert("L"), np.float32) / 255.0, mode="F")
    elif mode == "P+transparency":
        img = astronaut.convert("P")
        img.info["transparency"] = 0
    else:
        img = astronaut.convert(mode)
    fmt = {"CMYK": "JPEG", "F": "TIFF", "I": "TIFF"}.get(mode, "PNG")
    path = tmp_path / f"img.{fmt.lower()}"
    img.save(path, fmt)
    out = faces.load_oriented(path)
    assert out.mode == "RGB" and out.size == img.size
    arr = np.asarray(out)
    if mode in ("I;16", "I"):  # 16-bit values are scaled, not clipped
        assert arr[0, 0].tolist() == [0, 0, 0]
        assert arr[0, 20].tolist() == [128, 128, 128]
        assert arr[0, 40].tolist() == [255, 255, 255]
        assert arr[0, 60].tolist() == [4, 4, 4]
    if mode == "F":
        assert abs(int(arr[200, 200, 0]) - int(np.asarray(astronaut.convert("L"))[200, 200])) <= 1


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA", "RGBa"])
def test_transparency_is_composited_on_grey(mode):
    rgba = Image.new("RGBA", (80, 80), (255, 0, 0, 0))
    rgba.paste((255, 255, 255, 255), (0, 0, 40, 80))
    arr = np.asarray(to_rgb(rgba.convert(mode)))
    assert arr[10, 60].tolist() == list(NEUTRAL_GREY)
    assert arr[10, 10].tolist() == [255, 255, 255]


def test_detect_faces_maps_the_reduced_copy_back(astronaut, detector):
    direct = faces.detect_faces(astronaut, detector=detector)
    big = astronaut.resize((1024, 1024), Image.Resampling.BICUBIC)
    reduced = faces.detect_faces(big, max_side=512, detector=detector)
    assert len(direct) == len(reduced) == 1
    np.testing.assert_allclose(reduced[0].landmarks, direct[0].landmarks * 2, atol=2.0)
    np.testing.assert_allclose(reduced[0].box, np.array(direct[0].box) * 2, atol=4.0)
    assert faces.get_detector() is detector


def test_detect_faces_scales_exactly():
    class FakeDetector:
        def detect(self, image, *, min_face_size):
            self.seen = (image.size, min_face_size)
            return [faces.Detection((10, 20, 30, 40), np.arange(10.0).reshape(5, 2), 0.97)]

    fake = FakeDetector()
    found = faces.detect_faces(Image.new("L", (1000, 600)), max_side=250, detector=fake)
    assert fake.seen == ((250, 150), 20.0)
    assert found[0].box == pytest.approx((40, 80, 120, 160))
    np.testing.assert_allclose(found[0].landmarks, np.arange(10.0).reshape(5, 2) * 4)
    assert found[0].confidence == pytest.approx(0.97)
    assert not found[0].landmarks.flags.writeable


def test_load_oriented_can_return_a_reduced_image(astronaut, tmp_path):
    path = _save_oriented(astronaut.crop((0, 0, 500, 300)), tmp_path / "r.jpg", 6, quality=90)
    assert faces.load_oriented(path).size == (500, 300)
    small = faces.load_oriented(path, max_side=130)
    assert max(small.size) <= 130 and small.width > small.height
    with open(path, "rb") as fh:
        assert faces.load_oriented(fh).size == (500, 300)


def test_multi_picture_phone_jpegs_decode_reduced(astronaut, tmp_path):
    path = tmp_path / "two.mpo"
    astronaut.save(path, "MPO", save_all=True, append_images=[astronaut.rotate(90)])
    photo = Photo(path)
    assert (photo.format, photo.drafts) == ("MPO", True)
    image, to_full = photo.decode(4)
    assert image.size == (128, 128) and to_full[0, 0] == 4
    png = Photo(_save_oriented(astronaut, tmp_path / "o.png", 6))
    assert (png.drafts, png.orientation, png.decode(4)[0].size) == (False, 6, (512, 512))
