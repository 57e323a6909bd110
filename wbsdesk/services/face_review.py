"""Reviewing a study's faces: every primary photo with its crop status, and crop previews.

:func:`face_overview` lists each primary photo (also those of excluded subjects) with what
a reviewer checks: status, reasons, the crops, the face box and landmarks.
:func:`preview_manual_crop` renders the two crops a hand-placed box (and landmarks) would
give, exactly as :func:`wbsdesk.services.faces.set_manual_crop` would store them, without
storing anything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbsdesk.errors import UserError
from wbsdesk.services.faces import REASON_TEXT, face_settings, find_photo
from wbsdesk.services.studies import load_study
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

#: The five landmarks in the order :func:`~wbsdesk.services.faces.set_manual_crop` expects
#: (MTCNN order; left and right as seen in the image, not the child's own left and right).
LANDMARK_NAMES = ("eye on the image's left", "eye on the image's right", "tip of the nose",
                  "mouth corner on the image's left", "mouth corner on the image's right")

#: Review filters: key -> label, in the order a reviewer meets them.
FILTERS = {"all": "All photos", "needs_review": "Needs review", "no_face": "No face found",
           "ok": "OK", "manual": "Cropped by hand", "excluded": "Excluded"}


@dataclass(frozen=True)
class FaceEntry:
    """One primary photo as the review shows it.

    Attributes
    ----------
    photo_id : int
    subject : str
        The subject ID.
    photo : str
        The file name in the manifest.
    photo_path : Path
        The stored original.
    status : {"ok", "needs_review", "not_aligned"}
    reasons : tuple of str
        Review reason codes (``no_face``, ``low_confidence``, ...).
    why : str
        The reasons in words.
    method : {"mtcnn", "manual"} or None
        How the crop was made (``None`` before alignment).
    excluded : bool
    exclusion_reason : str or None
    reader_crop, model_crop : Path or None
        The stored crops.
    bbox : tuple of 4 floats or None
        Face box ``(x, y, w, h)`` in the upright photo's pixels.
    landmarks : tuple of 5 (x, y) or None
    confidence : float or None
    """

    photo_id: int
    subject: str
    photo: str
    photo_path: Path
    status: str
    reasons: tuple[str, ...]
    why: str
    method: str | None
    excluded: bool
    exclusion_reason: str | None
    reader_crop: Path | None
    model_crop: Path | None
    bbox: tuple[float, float, float, float] | None
    landmarks: tuple[tuple[float, float], ...] | None
    confidence: float | None

    @property
    def needs_attention(self) -> bool:
        """True while this photo keeps training and reading from starting."""
        return not self.excluded and self.status != "ok"

    def matches(self, key: str) -> bool:
        """Whether the photo belongs under review filter ``key`` (see :data:`FILTERS`)."""
        if key == "all":
            return True
        if key == "excluded":
            return self.excluded
        if self.excluded:
            return False
        return {"ok": self.status == "ok", "needs_review": self.status != "ok",
                "no_face": "no_face" in self.reasons, "manual": self.method == "manual"}[key]


def face_overview(ws: Workspace, name: str) -> list[FaceEntry]:
    """Every primary photo of a study with its face-crop status, by subject ID.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study.

    Returns
    -------
    list of FaceEntry
        Included and excluded subjects alike (see :attr:`FaceEntry.excluded`).
    """
    study = load_study(ws, name)
    subjects = {s.id: s for s in ws.store.subjects(study.id)}
    crops = ws.store.crops(study.id)
    out = []
    for p in ws.store.photos(study.id):
        if not p.is_primary:
            continue
        s = subjects[p.subject_id]
        c = crops.get(p.id)
        reasons = ("not_aligned",) if c is None else tuple(c.reasons)
        out.append(FaceEntry(
            photo_id=p.id, subject=s.key, photo=p.original_name,
            photo_path=ws.root / p.stored_path,
            status="not_aligned" if c is None else c.status, reasons=reasons,
            why="; ".join(REASON_TEXT.get(r, r) for r in reasons) if reasons else "",
            method=None if c is None else c.method, excluded=s.excluded,
            exclusion_reason=s.exclusion_reason,
            reader_crop=ws.root / c.reader_crop_path if c and c.reader_crop_path else None,
            model_crop=ws.root / c.model_crop_path if c and c.model_crop_path else None,
            bbox=tuple(c.bbox) if c and c.bbox else None,
            landmarks=tuple(tuple(pt) for pt in c.landmarks) if c and c.landmarks else None,
            confidence=None if c is None else c.confidence))
    out.sort(key=lambda e: (e.subject, e.photo_id))
    return out


def filter_counts(entries: Sequence[FaceEntry]) -> dict[str, int]:
    """How many photos each review filter shows."""
    return {k: sum(e.matches(k) for e in entries) for k in FILTERS}


@dataclass(frozen=True, eq=False)
class CropPreview:
    """The crops a hand-placed face box would give (nothing stored).

    Attributes
    ----------
    photo_id : int
    reader_crop : PIL.Image.Image
        The natural square crop readers see (the protocol's reader size).
    model_crop : PIL.Image.Image
        The aligned crop the models see (the protocol's model size, e.g. 224 x 224).
    box : tuple of 4 floats
    landmarks : tuple of 5 (x, y)
        The landmarks used: the placed ones, or the typical layout inside the box.
    reader_window : tuple of 3 floats
        ``(x, y, side)`` of the reader crop in the photo.
    """

    photo_id: int
    reader_crop: Any
    model_crop: Any
    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    reader_window: tuple[float, float, float]


def preview_manual_crop(ws: Workspace, name: str, ref: str | int, *, box: Sequence[float],
                        landmarks: Sequence[float] | None = None) -> CropPreview:
    """Render the reader and model crops of a hand-placed face box without storing them.

    Parameters
    ----------
    ws : Workspace
    name : str
        The study (its protocol gives the crop sizes).
    ref : str or int
        Photo id, subject ID or file name (an ``int`` is a photo id), as for
        ``set_manual_crop``.
    box : sequence of 4 floats, keyword-only
        ``x, y, w, h`` in the upright photo's pixels.
    landmarks : sequence of 10 floats, optional, keyword-only
        ``x1, y1, ..., x5, y5`` in the order of :data:`LANDMARK_NAMES`.

    Returns
    -------
    CropPreview

    Raises
    ------
    UserError
        If the photo cannot be found or read, or the box or landmarks are unusable.
    """
    from wbsdesk.ml.faces import manual_align

    study = load_study(ws, name)
    _, photo = find_photo(ws, study, ref)
    b = [float(v) for v in box]
    if len(b) != 4 or b[2] <= 0 or b[3] <= 0:
        raise UserError(f"a face box needs x, y and a positive width and height, got {b}")
    lm = None
    if landmarks is not None:
        flat = [float(v) for v in landmarks]
        if len(flat) != 10:
            raise UserError("five landmarks (10 numbers) are needed")
        lm = [flat[i:i + 2] for i in range(0, 10, 2)]
    settings = face_settings(study)
    res = manual_align(ws.root / photo.stored_path, box=b, landmarks=lm,
                       model_crop_px=settings["model_crop_px"],
                       reader_crop_px=settings["reader_crop_px"],
                       reader_face_area=tuple(settings["reader_face_area"]),
                       min_side_px=settings["min_side_px"], padding=settings["padding"])
    chosen = res.chosen
    assert chosen is not None and res.reader_window is not None  # manual: always a face
    return CropPreview(photo_id=photo.id, reader_crop=res.reader_crop,
                       model_crop=res.model_crop,
                       box=tuple(float(v) for v in chosen.box),
                       landmarks=tuple((float(x), float(y)) for x, y in chosen.landmarks),
                       reader_window=tuple(float(v) for v in res.reader_window))
