"""Is a new photo like the photos a study's models were trained on? Pure comparisons.

A run's probabilities mean something only for photos like the study's own: children in the
study's age range, taken and framed the way the study's photos were, with a face the
detector found as surely. :func:`study_reference` summarises the study's analysed photos;
:func:`screening_checks` compares one new photo with that summary and returns warnings
(shown as text, saved with the result) and notes:

* **detection confidence** below the protocol's ``min_confidence``, or below the 5th
  percentile of the study's automatically detected faces;
* **capture** (:data:`CHECKED_STATISTICS`, from :func:`wbsdesk.core.capture.capture_values`):
  a value outside the 1st-99th percentile range of the study's photos ("different capture:
  ..." naming the statistic, the value and the range);
* **age**: given in months, outside the study's age range, or an adult (over
  :data:`ADULT_MONTHS`) when the study has no adults; without an age, the study's range
  is a note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wbsdesk.core.capture import CAPTURE_STATISTICS

__all__ = ["ADULT_MONTHS", "CHECKED_STATISTICS", "CONFIDENCE_PERCENTILE", "RANGE_PERCENTILES",
           "ScreeningChecks", "StudyReference", "age_check", "screening_checks",
           "study_reference"]

#: 18 years: older people are adults.
ADULT_MONTHS = 216.0
#: Capture statistics compared with the study's range (detection confidence has its own rule).
CHECKED_STATISTICS = ("face_box_share", "megapixels", "brightness", "contrast",
                      "padding_share")
#: The range of the study's photos a new photo should fall in, as percentiles.
RANGE_PERCENTILES = (1.0, 99.0)
#: A detection confidence below this percentile of the study's is unusual.
CONFIDENCE_PERCENTILE = 5.0
# Differences too small to matter: a hair of padding is not a different capture.
_SLACK = {"padding_share": 0.01, "face_box_share": 0.002, "brightness": 0.005,
          "contrast": 0.005, "megapixels": 0.0}
_LABEL = {s.key: s.label for s in CAPTURE_STATISTICS}


def _fmt(key: str, value: float) -> str:
    if key in ("padding_share", "face_box_share"):
        return f"{value:.1%}"
    if key == "megapixels":
        return f"{value:.2f} MP"
    return f"{value:.3f}"


@dataclass(frozen=True)
class StudyReference:
    """What a study's analysed photos look like (see :func:`study_reference`).

    Attributes
    ----------
    study : str
    n_photos : int
        Photos summarised.
    ranges : dict of str to (float, float)
        Statistic -> its 1st-99th percentile range over the study's photos (statistics
        without any known value are left out).
    confidence_floor : float or None
        5th percentile of the detector's confidence over automatically aligned faces.
    min_confidence : float
        The protocol's ``[faces] min_confidence``.
    age_range : (float, float) or None
        Youngest and oldest subject, months (None: the study records no ages).
    n_ages : int
        Subjects with an age.
    """

    study: str
    n_photos: int
    ranges: dict[str, tuple[float, float]]
    confidence_floor: float | None
    min_confidence: float
    age_range: tuple[float, float] | None
    n_ages: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON)."""
        return {"study": self.study, "n_photos": self.n_photos,
                "ranges": {k: list(v) for k, v in self.ranges.items()},
                "range_percentiles": list(RANGE_PERCENTILES),
                "confidence_floor": self.confidence_floor,
                "confidence_percentile": CONFIDENCE_PERCENTILE,
                "min_confidence": self.min_confidence,
                "age_range_months": list(self.age_range) if self.age_range else None,
                "n_ages": self.n_ages}


def _finite(values: Any) -> np.ndarray:
    a = np.asarray(values if values is not None else [], dtype=float).ravel()
    return a[np.isfinite(a)]


def study_reference(study: str, values: Mapping[str, Any], *, confidences: Any,
                    ages: Any, min_confidence: float) -> StudyReference:
    """Summarise a study's photos for :func:`screening_checks`.

    Parameters
    ----------
    study : str
    values : mapping of str to array-like of shape (n,)
        Capture statistic -> each photo's value (NaN where unknown).
    confidences : array-like, keyword-only
        Detector confidence of each automatically aligned photo (manual crops left out).
    ages : array-like, keyword-only
        Each subject's age in months (NaN where unknown).
    min_confidence : float, keyword-only

    Returns
    -------
    StudyReference

    Examples
    --------
    >>> ref = study_reference("s", {"brightness": [0.4, 0.5, 0.6]}, confidences=[0.99],
    ...                       ages=[12, 48], min_confidence=0.9)
    >>> ref.ranges["brightness"], ref.age_range
    ((0.402, 0.598), (12.0, 48.0))
    """
    lo_p, hi_p = RANGE_PERCENTILES
    ranges = {}
    n = 0
    for key in CHECKED_STATISTICS:
        v = _finite(values.get(key))
        n = max(n, int(np.asarray(values.get(key, []), dtype=float).size))
        if v.size:
            ranges[key] = (round(float(np.percentile(v, lo_p)), 6),
                           round(float(np.percentile(v, hi_p)), 6))
    conf = _finite(confidences)
    age = _finite(ages)
    return StudyReference(
        study=study, n_photos=n, ranges=ranges,
        confidence_floor=float(np.percentile(conf, CONFIDENCE_PERCENTILE)) if conf.size
        else None,
        min_confidence=float(min_confidence),
        age_range=(float(age.min()), float(age.max())) if age.size else None,
        n_ages=int(age.size))


def _months(v: float) -> str:
    return f"{v:g}" if float(v).is_integer() else f"{v:.1f}"


def age_check(age_months: float | None, ref: StudyReference) -> tuple[str | None, str | None]:
    """``(warning, note)`` about the subject's age against the study's age range.

    Examples
    --------
    >>> ref = study_reference("s", {}, confidences=[], ages=[6, 120], min_confidence=0.9)
    >>> age_check(300, ref)[0]
    'an adult (300 months, 25 years): the models were trained on children aged 6–120 months'
    >>> age_check(None, ref)[1]
    'the models were trained on children aged 6–120 months; give the age to check it'
    >>> age_check(60, ref)
    (None, None)
    """
    if ref.age_range is None:
        trained = None
    else:
        lo, hi = ref.age_range
        who = "children" if hi <= ADULT_MONTHS else "people"
        trained = f"the models were trained on {who} aged {_months(lo)}–{_months(hi)} months"
    if age_months is None or not math.isfinite(float(age_months)):
        return None, (f"{trained}; give the age to check it" if trained else None)
    age = float(age_months)
    adult = age > ADULT_MONTHS and (ref.age_range is None or ref.age_range[1] <= ADULT_MONTHS)
    if adult:
        head = f"an adult ({_months(age)} months, {age / 12:.0f} years)"
        return (f"{head}: {trained}" if trained else
                f"{head}: the study records no ages, and its models may not apply"), None
    if ref.age_range is not None and not (ref.age_range[0] <= age <= ref.age_range[1]):
        return f"age {_months(age)} months is outside the study's range: {trained}", None
    return None, None


@dataclass(frozen=True)
class ScreeningChecks:
    """Warnings (the photo differs from the study's) and notes, in display order."""

    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    values: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON); unknown values are null."""
        return {"warnings": list(self.warnings), "notes": list(self.notes),
                "capture": {k: (v if math.isfinite(v) else None)
                            for k, v in self.values.items()}}


def screening_checks(values: Mapping[str, float], ref: StudyReference, *,
                     confidence: float | None, manual: bool = False,
                     age_months: float | None = None,
                     skip: Sequence[str] = ()) -> ScreeningChecks:
    """Compare one new photo with its study's photos.

    Parameters
    ----------
    values : mapping of str to float
        The photo's capture statistics (:func:`wbsdesk.core.capture.capture_values`).
    ref : StudyReference
    confidence : float or None, keyword-only
        The detector's probability for the chosen face.
    manual : bool, keyword-only
        The face box was drawn by hand (no detection confidence to compare).
    age_months : float, optional, keyword-only
    skip : sequence of str, keyword-only
        Statistics not to compare.

    Returns
    -------
    ScreeningChecks

    Examples
    --------
    >>> ref = study_reference("s", {"brightness": [0.4, 0.5, 0.6]}, confidences=[0.99, 1.0],
    ...                       ages=[], min_confidence=0.9)
    >>> screening_checks({"brightness": 0.9}, ref, confidence=0.95).warnings[0]
    "detection confidence 0.9500 is below the 5th percentile of the study's photos (0.9905)"
    >>> screening_checks({"brightness": 0.9}, ref, confidence=1.0).warnings[0]
    "different capture: brightness is 0.900, the study's photos 0.402–0.598 (1st–99th percentile)"
    """
    warnings: list[str] = []
    notes: list[str] = []
    if manual:
        notes.append("the face box was drawn by hand, so there is no detection confidence "
                     "to compare")
    elif confidence is not None and math.isfinite(confidence):
        if confidence < ref.min_confidence:
            warnings.append(f"detection confidence {confidence:.4f} is below the protocol's "
                            f"minimum ({ref.min_confidence:.2f})")
        elif ref.confidence_floor is not None and confidence < ref.confidence_floor:
            warnings.append(f"detection confidence {confidence:.4f} is below the "
                            f"{CONFIDENCE_PERCENTILE:g}th percentile of the study's photos "
                            f"({ref.confidence_floor:.4f})")
        if ref.confidence_floor is None:
            notes.append("the detector found none of the study's faces (all were placed by "
                         "hand or given), so the detection confidence is checked against the "
                         "protocol's minimum only")
    for key in CHECKED_STATISTICS:
        v = values.get(key)
        if key in skip or key not in ref.ranges or v is None or not math.isfinite(v):
            continue
        lo, hi = ref.ranges[key]
        slack = _SLACK.get(key, 0.0)
        if v < lo - slack or v > hi + slack:
            span = _fmt(key, lo) if _fmt(key, lo) == _fmt(key, hi) else \
                f"{_fmt(key, lo)}–{_fmt(key, hi)}"
            warnings.append(
                f"different capture: {_LABEL[key].lower()} is {_fmt(key, v)}, the study's "
                f"photos {span} ({RANGE_PERCENTILES[0]:g}st–{RANGE_PERCENTILES[1]:g}th "
                "percentile)")
    age_warning, age_note = age_check(age_months, ref)
    warnings.extend([age_warning] if age_warning else [])
    notes.extend([age_note] if age_note else [])
    if ref.n_photos == 0:
        notes.append("the study has no aligned photos to compare the capture with")
    return ScreeningChecks(tuple(warnings), tuple(notes),
                           {k: float(v) for k, v in values.items()})
