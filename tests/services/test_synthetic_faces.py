"""Synthetic demo faces: deterministic, well-formed, with group differences that overlap."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest

from wbsdesk.services.synthetic_faces import (
    FaceTraits,
    SyntheticFace,
    draw_subject,
    render_face,
    sample_traits,
)
from wbsdesk.services.synthetic_traits import (
    CLINIC_SPREAD,
    DYSMORPHIC_TRAITS,
    GROUP_SHIFTS,
    GROUPS,
    skin_rgb,
)

GROUP_SAMPLES = 200


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


@pytest.fixture(scope="module")
def traits_by_group() -> dict[str, list[FaceTraits]]:
    rng = np.random.default_rng(2021)
    return {g: [sample_traits(g, rng) for _ in range(GROUP_SAMPLES)] for g in GROUPS}


def _mean(traits: list[FaceTraits], name: str) -> float:
    return float(np.mean([getattr(t, name) for t in traits]))


# --- determinism -----------------------------------------------------------------------

def test_same_seed_gives_identical_subject_and_bytes():
    a_traits, a = draw_subject("wbs", np.random.default_rng(5), sex=None, age_months=None)
    b_traits, b = draw_subject("wbs", np.random.default_rng(5), sex=None, age_months=None)
    assert a_traits == b_traits
    assert a.image.tobytes() == b.image.tobytes()
    assert a.bbox == b.bbox
    np.testing.assert_array_equal(a.landmarks, b.landmarks)


def test_same_traits_render_byte_identical():
    traits = sample_traits("other_syndrome", np.random.default_rng(11))
    assert render_face(traits).image.tobytes() == render_face(traits).image.tobytes()


def test_different_seeds_give_different_faces():
    _, a = draw_subject("healthy", np.random.default_rng(1), sex="F", age_months=60)
    _, b = draw_subject("healthy", np.random.default_rng(2), sex="F", age_months=60)
    assert a.image.tobytes() != b.image.tobytes()


def test_group_does_not_change_the_nuisance_draws():
    """The same seed in another group gives the same person apart from the dysmorphology."""
    a = sample_traits("wbs", np.random.default_rng(3))
    b = sample_traits("healthy", np.random.default_rng(3))
    assert (a.skin_tone, a.hair_style, a.roll_deg, a.sex) == (b.skin_tone, b.hair_style,
                                                             b.roll_deg, b.sex)
    assert a.mouth_width != b.mouth_width


def test_fixed_sex_and_age_are_kept():
    traits, face = draw_subject("wbs", np.random.default_rng(0), sex="M", age_months=30)
    assert traits.sex == "M"
    assert traits.age_months == 30
    assert isinstance(face, SyntheticFace)


# --- image and geometry ----------------------------------------------------------------

def test_image_mode_and_size():
    traits = sample_traits("healthy", np.random.default_rng(4))
    face = render_face(traits)
    assert face.image.mode == "RGB"
    assert face.image.size == (480, 600)
    assert face.landmarks.shape == (5, 2)
    small = render_face(traits, size=(240, 320))
    assert small.image.size == (240, 320)


def _geometry_cases() -> list[FaceTraits]:
    rng = np.random.default_rng(99)
    cases = [sample_traits(GROUPS[i % 3], rng) for i in range(12)]
    extremes = [
        dict(roll_deg=10.0, yaw=1.0, offset_x=1.0, offset_y=1.0, face_scale=1.15),
        dict(roll_deg=-10.0, yaw=-1.0, offset_x=-1.0, offset_y=-1.0, face_scale=1.15),
        dict(roll_deg=10.0, yaw=-1.0, offset_x=-1.0, offset_y=1.0, face_scale=0.85),
        dict(roll_deg=-10.0, yaw=1.0, eye_spacing=3.0, mouth_width=3.0, eyelid_ptosis=3.0),
    ]
    cases += [dataclasses.replace(cases[i], **kw) for i, kw in enumerate(extremes)]
    return cases


@pytest.fixture(scope="module")
def rendered() -> list[tuple[FaceTraits, SyntheticFace]]:
    return [(t, render_face(t)) for t in _geometry_cases()]


def test_bbox_lies_within_the_image(rendered):
    for _, face in rendered:
        x, y, w, h = face.bbox
        width, height = face.image.size
        assert w > 0.2 * width and h > 0.2 * height
        assert x >= 0 and y >= 0 and x + w <= width and y + h <= height


def test_landmarks_inside_bbox_in_anatomical_order(rendered):
    for traits, face in rendered:
        (lex, ley), (rex, rey), (nx, ny), (lmx, lmy), (rmx, rmy) = face.landmarks
        x, y, w, h = face.bbox
        assert np.all(face.landmarks[:, 0] > x) and np.all(face.landmarks[:, 0] < x + w)
        assert np.all(face.landmarks[:, 1] > y) and np.all(face.landmarks[:, 1] < y + h)
        assert lex < rex and lmx < rmx, traits
        assert max(ley, rey) < ny < min(lmy, rmy), traits
        assert lex < nx < rex and lmx < nx < rmx, traits


def test_eye_line_follows_the_head_roll(rendered):
    for traits, face in rendered:
        (lex, ley), (rex, rey) = face.landmarks[:2]
        assert math.degrees(math.atan2(rey - ley, rex - lex)) == pytest.approx(
            traits.roll_deg, abs=0.01)


def test_eye_landmarks_sit_on_dark_pupils(rendered):
    for traits, face in rendered:
        luma = _luma(np.asarray(face.image, dtype=np.float64))
        for x, y in face.landmarks[:2]:
            assert luma[round(y), round(x)] < 70, traits


def test_landmarks_are_read_only():
    face = render_face(FaceTraits())
    with pytest.raises(ValueError):
        face.landmarks[0, 0] = 0.0


def test_traits_change_the_drawing():
    """Wider mouth and wider-set eyes show in the landmarks, relative to face size."""
    base = FaceTraits()

    def ratio(face: SyntheticFace, a: int, b: int) -> float:
        lm = face.landmarks
        return float(np.hypot(*(lm[b] - lm[a])) / face.bbox[3])

    narrow = render_face(dataclasses.replace(base, mouth_width=-2.0, eye_spacing=-2.0))
    wide = render_face(dataclasses.replace(base, mouth_width=2.0, eye_spacing=2.0))
    assert ratio(wide, 3, 4) > ratio(narrow, 3, 4) * 1.2
    assert ratio(wide, 0, 1) > ratio(narrow, 0, 1) * 1.2


#: The WBS traits drawn inside the face outline (see INTERNAL_TRAIT_GAIN).
INTERNAL = ("periorbital_fullness", "nasal_bridge_flatness", "nose_shortness", "nose_upturn",
            "mouth_width", "lip_fullness")


def test_internal_traits_show_at_the_model_input_and_leave_the_face_box():
    """A WBS-leaning face differs visibly from a healthy-leaning one at the demo's 64 px
    model input (lips, nostrils, eyes), while the face box, which the confound audit reads,
    does not move."""
    from PIL import Image

    from wbsdesk.ml.face_crops import model_crop

    def crop(z: float) -> tuple[np.ndarray, tuple]:
        face = render_face(FaceTraits(**dict.fromkeys(INTERNAL, z)))
        img, _ = model_crop(face.image, face.landmarks, size=224)
        grey = np.asarray(img.convert("L").resize((64, 64), Image.BILINEAR), float)
        return grey, face.bbox

    (lean, box_lean), (full, box_full) = crop(-1.0), crop(1.0)
    assert np.allclose(box_lean, box_full)
    lower_face = np.abs(full - lean)[38:56, 18:46]  # nose, mouth and chin at 64 px
    assert lower_face.mean() > 8  # grey levels: far beyond JPEG noise
    assert (lower_face > 25).sum() >= 40  # whole pixels change, not a faint shading


def test_clinic_spread_narrows_the_capture_and_keeps_everything_else():
    wide = [sample_traits("wbs", np.random.default_rng(i)) for i in range(300)]
    clinic = [sample_traits("wbs", np.random.default_rng(i), spread=CLINIC_SPREAD)
              for i in range(300)]
    for name in ("skin_tone", "background_hue", "light_azimuth_deg", "yaw"):
        full = np.ptp([getattr(t, name) for t in wide])
        assert np.ptp([getattr(t, name) for t in clinic]) <= CLINIC_SPREAD * full + 1e-9, name
    kept = (*DYSMORPHIC_TRAITS, "sex", "age_months", "roll_deg", "face_scale", "offset_x",
            "hair_style", "clothing_hue", "detail_seed")
    for a, b in zip(wide, clinic, strict=True):  # the same children, photographed alike
        assert [getattr(a, k) for k in kept] == [getattr(b, k) for k in kept]


# --- groups and variety ----------------------------------------------------------------

WBS_UP = ("forehead_breadth", "periorbital_fullness", "nasal_bridge_flatness",
          "nose_shortness", "nose_upturn", "mouth_width", "lip_fullness", "chin_pointedness")
OTHER_UP = ("eye_spacing", "eyelid_ptosis", "ear_lowness", "neck_breadth")


@pytest.mark.parametrize("name", WBS_UP)
def test_wbs_leans_toward_its_gestalt(traits_by_group, name):
    diff = _mean(traits_by_group["wbs"], name) - _mean(traits_by_group["healthy"], name)
    assert 0.5 < diff < 1.5


@pytest.mark.parametrize("name", OTHER_UP)
def test_other_syndrome_has_its_own_leanings(traits_by_group, name):
    other = _mean(traits_by_group["other_syndrome"], name)
    assert other - _mean(traits_by_group["healthy"], name) > 0.5
    assert other - _mean(traits_by_group["wbs"], name) > 0.5


def test_other_syndrome_overlaps_wbs_on_the_nasal_bridge_only_partly(traits_by_group):
    assert _mean(traits_by_group["other_syndrome"], "nasal_bridge_flatness") - _mean(
        traits_by_group["healthy"], "nasal_bridge_flatness") > 0.4
    for name in ("mouth_width", "lip_fullness", "periorbital_fullness"):
        assert _mean(traits_by_group["wbs"], name) - _mean(
            traits_by_group["other_syndrome"], name) > 0.5


def test_groups_overlap_rather_than_separate(traits_by_group):
    """A single trait must not tell the groups apart: each shift is about one SD."""
    for name, shift in GROUP_SHIFTS["wbs"].items():
        assert 0.7 <= shift <= 1.2
        healthy = np.array([getattr(t, name) for t in traits_by_group["healthy"]])
        wbs = np.array([getattr(t, name) for t in traits_by_group["wbs"]])
        assert 0.7 < np.std(wbs) < 1.3
        assert np.mean(wbs < np.median(healthy)) > 0.1, name


def test_nuisance_traits_do_not_depend_on_group(traits_by_group):
    tones = {g: _mean(traits_by_group[g], "skin_tone") for g in GROUPS}
    assert max(tones.values()) - min(tones.values()) < 0.1


def test_skin_tones_span_a_wide_range(traits_by_group):
    luma = np.array([_luma(skin_rgb(t)) for t in traits_by_group["healthy"]])
    assert luma.max() - luma.min() > 0.5


def test_rendered_skin_varies_from_light_to_dark():
    rng = np.random.default_rng(8)
    lumas = []
    for tone in (0.0, 0.5, 1.0):
        traits = dataclasses.replace(sample_traits("healthy", rng), skin_tone=tone,
                                     roll_deg=0.0, yaw=0.0)
        face = render_face(traits)
        lm = face.landmarks
        cheek = lm[0] + (lm[3] - lm[0]) * 0.45  # below the image-left eye
        patch = np.asarray(face.image, dtype=np.float64)[
            round(cheek[1]) - 3: round(cheek[1]) + 4, round(cheek[0]) - 3: round(cheek[0]) + 4]
        lumas.append(float(_luma(patch).mean()))
    assert lumas[0] > lumas[1] > lumas[2]
    assert lumas[0] - lumas[2] > 100


def test_faces_vary_in_layout_and_colour():
    rng = np.random.default_rng(12)
    faces = [draw_subject("healthy", rng, sex=None, age_months=None)[1] for _ in range(6)]
    boxes = np.array([f.bbox for f in faces])
    assert np.ptp(boxes[:, 0]) > 10 and np.ptp(boxes[:, 3]) > 10
    corners = np.array([np.asarray(f.image)[5, 5] for f in faces], dtype=np.float64)
    assert np.ptp(corners, axis=0).max() > 40  # backgrounds differ


# --- validation and layering -------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    dict(group="dogs"), dict(group="wbs", sex="X"), dict(group="wbs", age_months=3),
    dict(group="wbs", age_months=400), dict(group="wbs", spread=0.0),
    dict(group="wbs", spread=1.5),
])
def test_bad_sampling_arguments_raise(kwargs):
    group = kwargs.pop("group")
    with pytest.raises(ValueError):
        sample_traits(group, np.random.default_rng(0), **kwargs)


@pytest.mark.parametrize("kwargs", [dict(roll_deg=11.0), dict(sex="?"), dict(age_months=2.0),
                                    dict(yaw=1.5), dict(hair_style=9),
                                    dict(mouth_width=float("nan"))])
def test_bad_traits_raise(kwargs):
    with pytest.raises(ValueError):
        FaceTraits(**kwargs)


def test_too_small_size_raises():
    with pytest.raises(ValueError):
        render_face(FaceTraits(), size=(50, 50))


def test_generator_imports_neither_torch_nor_qt():
    code = ("import sys, wbsdesk.services.synthetic_faces; "
            "bad = [m for m in ('torch', 'PySide6', 'sqlite3') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
