"""A new photo against its study's photos: age, capture and detection-confidence warnings."""

from __future__ import annotations

import numpy as np
import pytest

from wbsdesk.core.capture import capture_values
from wbsdesk.core.screening_checks import age_check, screening_checks, study_reference

RNG = np.random.default_rng(0)
STUDY = {  # 200 photos, as stored by alignment
    "face_box_share": RNG.uniform(0.20, 0.40, 200),
    "megapixels": RNG.uniform(0.25, 0.35, 200),
    "brightness": RNG.uniform(0.40, 0.60, 200),
    "contrast": RNG.uniform(0.15, 0.25, 200),
    "padding_share": np.r_[np.zeros(190), RNG.uniform(0, 0.05, 10)],
}
TYPICAL = {"face_box_share": 0.3, "megapixels": 0.3, "brightness": 0.5, "contrast": 0.2,
           "padding_share": 0.0, "confidence": 0.9995}


@pytest.fixture
def ref():
    return study_reference("demo", STUDY, confidences=RNG.uniform(0.995, 1.0, 200),
                           ages=RNG.uniform(6, 150, 100), min_confidence=0.9)


def test_a_photo_like_the_studys_gets_no_warning_and_a_note_with_the_age_range(ref):
    checks = screening_checks(TYPICAL, ref, confidence=0.9995)
    assert checks.warnings == ()
    lo, hi = ref.age_range
    assert checks.notes == (f"the models were trained on children aged {lo:.1f}–{hi:.1f} "
                            "months; give the age to check it",)
    assert screening_checks(TYPICAL, ref, confidence=0.9995, age_months=60).notes == ()


def test_an_adult_and_an_age_outside_the_range_are_warned(ref):
    lo, hi = ref.age_range
    (adult,) = screening_checks(TYPICAL, ref, confidence=0.9995, age_months=360).warnings
    assert adult.startswith("an adult (360 months, 30 years)")
    assert f"trained on children aged {lo:.1f}–{hi:.1f} months" in adult
    (old,) = screening_checks(TYPICAL, ref, confidence=0.9995, age_months=200).warnings
    assert old.startswith("age 200 months is outside the study's range")
    assert age_check(2, ref)[0].startswith("age 2 months is outside")


def test_an_adult_is_warned_even_when_the_study_records_no_ages():
    ref = study_reference("s", STUDY, confidences=[0.999], ages=[np.nan], min_confidence=0.9)
    assert ref.age_range is None
    warning, note = age_check(300, ref)
    assert "adult" in warning and "records no ages" in warning and note is None
    assert age_check(None, ref) == (None, None)


def test_a_different_capture_names_the_statistic_the_value_and_the_range(ref):
    photo = {**TYPICAL, "face_box_share": 0.05, "megapixels": 12.0, "padding_share": 0.3}
    warnings = screening_checks(photo, ref, confidence=0.9995).warnings
    assert len(warnings) == 3 and all(w.startswith("different capture: ") for w in warnings)
    lo, hi = ref.ranges["face_box_share"]
    assert (f"face box / photo is 5.0%, the study's photos {lo:.1%}–{hi:.1%} "
            "(1st–99th percentile)") in warnings[0]
    assert "resolution is 12.00 MP" in warnings[1]
    assert "padding share is 30.0%" in warnings[2]
    # one photo size in the whole study: the range is that size
    same = study_reference("s", {"megapixels": [0.29] * 50}, confidences=[], ages=[],
                           min_confidence=0.9)
    (w,) = screening_checks({"megapixels": 0.26}, same, confidence=1.0).warnings
    assert w == ("different capture: resolution is 0.26 MP, the study's photos 0.29 MP "
                 "(1st–99th percentile)")
    # a hair of padding beyond the study's range is not a different capture
    assert screening_checks({**TYPICAL, "padding_share": ref.ranges["padding_share"][1] + 0.005},
                            ref, confidence=0.9995).warnings == ()


def test_detection_confidence_below_the_protocol_or_the_studys_5th_percentile(ref):
    (low,) = screening_checks(TYPICAL, ref, confidence=0.85).warnings
    assert low == "detection confidence 0.8500 is below the protocol's minimum (0.90)"
    (unusual,) = screening_checks(TYPICAL, ref, confidence=0.95).warnings
    assert unusual.startswith("detection confidence 0.9500 is below the 5th percentile of "
                              "the study's photos (0.99")
    manual = screening_checks(TYPICAL, ref, confidence=1.0, manual=True)
    assert manual.warnings == () and "drawn by hand" in manual.notes[0]
    # a study whose faces were all placed by hand has no detector confidences to compare
    by_hand = study_reference("s", STUDY, confidences=[], ages=[60], min_confidence=0.9)
    checks = screening_checks(TYPICAL, by_hand, confidence=0.95)
    assert checks.warnings == () and "against the protocol's minimum only" in checks.notes[0]


def test_capture_values_of_a_photo():
    pixels = np.full((10, 10, 3), 128, dtype=np.uint8)
    v = capture_values(matrix=[[1, 0, 0], [0, 1, 0]], image_size=(100, 50), crop_px=10,
                       bbox=(0, 0, 20, 25), confidence=0.99, pixels=pixels)
    assert v["padding_share"] == 0.0 and v["face_box_share"] == pytest.approx(0.1)
    assert v["megapixels"] == pytest.approx(0.005) and v["brightness"] == pytest.approx(128 / 255)
    assert v["contrast"] == pytest.approx(0.0, abs=1e-12)
    assert v["face_box_px"] == 20 and v["confidence"] == 0.99
    missing = capture_values(matrix=None, image_size=None, crop_px=10, bbox=None,
                             confidence=None, pixels=pixels)
    assert all(np.isnan(missing[k]) for k in ("padding_share", "face_box_share", "megapixels"))
    # JSON gets nulls, never NaN
    ref = study_reference("s", STUDY, confidences=[], ages=[], min_confidence=0.9)
    assert screening_checks(missing, ref, confidence=None).to_dict()["capture"]["megapixels"] \
        is None
