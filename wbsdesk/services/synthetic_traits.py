"""Trait vectors for procedurally drawn synthetic faces: sampling, layout and colours.

The demo study must never show a real person, so its portraits are drawn from a
:class:`FaceTraits` vector; :class:`FaceGeometry` places the features and the colour
helpers pick skin, hair and iris colours (see :mod:`wbsdesk.services.synthetic_faces` for
the drawing).
Dysmorphic traits are z-scores: 0 is the mean of healthy children, 1 is one standard
deviation. Groups differ by overlapping shifts of about 0.7–1.2 SD on a few traits, loosely
following the gestalt described by Liu et al. (2021) for Williams-Beuren syndrome (WBS) and
a Noonan-like gestalt for "other syndromes"; everything else (skin tone, hair, background,
lighting, pose, framing) is nuisance variation shared by all groups.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, fields

import numpy as np

GROUPS: tuple[str, ...] = ("wbs", "other_syndrome", "healthy")
"""Group names accepted by :func:`sample_traits`."""

DYSMORPHIC_TRAITS: tuple[str, ...] = (
    "forehead_breadth", "periorbital_fullness", "nasal_bridge_flatness", "nose_shortness",
    "nose_upturn", "mouth_width", "lip_fullness", "chin_pointedness", "eye_spacing",
    "face_aspect", "eyelid_ptosis", "ear_lowness", "neck_breadth",
)
"""Names of the z-scored :class:`FaceTraits` fields that carry the group signal."""

HAIR_STYLES: tuple[str, ...] = ("short", "long", "bob", "curly", "tied")
"""Hair styles, indexed by :attr:`FaceTraits.hair_style`."""

GROUP_SHIFTS: dict[str, dict[str, float]] = {
    "healthy": {},
    # Liu et al. 2021: broad forehead, periorbital fullness, flat nasal bridge, short
    # upturned nose (anteverted nares), wide mouth, full lips, pointed chin.
    "wbs": {
        "forehead_breadth": 0.9, "periorbital_fullness": 1.2, "nasal_bridge_flatness": 1.0,
        "nose_shortness": 0.9, "nose_upturn": 1.0, "mouth_width": 1.0, "lip_fullness": 1.1,
        "chin_pointedness": 0.8,
    },
    # Noonan-like: hypertelorism, ptosis, low-set ears, broad neck; overlaps WBS on a flat
    # nasal bridge and (a little) a broad forehead.
    "other_syndrome": {
        "eye_spacing": 1.1, "eyelid_ptosis": 1.1, "ear_lowness": 1.0, "neck_breadth": 1.0,
        "nasal_bridge_flatness": 0.8, "forehead_breadth": 0.5,
    },
}
"""Mean shift (in SD) of each dysmorphic trait, per group; unlisted traits have mean 0."""

INTERNAL_TRAIT_GAIN = 5.0
"""How strongly the drawing shows the WBS traits inside the face outline.

Periorbital fullness, a flat nasal bridge, a short upturned nose and full lips are drawn at
this many times the size the anatomy alone would give (a wide mouth at
:data:`MOUTH_WIDTH_GAIN`). At 1 a trait's standard deviation moved a feature by a fraction
of a pixel of the demo's 64 px model input, and a CNN trained from scratch on the demo's 120
photos learned nothing from it. The gain scales each child's drawn trait, not the groups:
the shift between groups and the spread within them grow together, so the groups overlap
exactly as :data:`GROUP_SHIFTS` says. Traits that change the face outline (forehead, chin,
face width) are left at 1, so the face box carries the group no more than before (the
confound audit's capture statistics stay near 0.60 AUC on the demo).
"""
MOUTH_WIDTH_GAIN = 2.0
"""Gain for ``mouth_width``: its corners are landmarks, so alignment sees it too."""

CLINIC_SPREAD = 0.2
"""Nuisance spread of a standardised clinical photo set of one population (the demo's).

:func:`sample_traits` keeps skin tone and warmth, hair and eye colour, the backdrop, the
light and the head's turn to this share of their full range (centred), as one clinic's
photographer with a plain backdrop and frontal flash would; pose, framing, hair style and
clothing keep their full variety.
"""

_Z_LIMIT = 3.0
#: Indices of the uniform draws in :func:`sample_traits` that ``spread`` narrows: skin tone,
#: warmth, hair colour and redness, eye colour, the backdrop (hue, saturation, value,
#: texture), the light (azimuth, strength) and the yaw.
_CAPTURE_DRAWS = (0, 2, 3, 4, 6, 7, 8, 9, 10, 14, 15, 17)
_STYLE_WEIGHTS = {"F": (0.12, 0.34, 0.22, 0.14, 0.18), "M": (0.66, 0.03, 0.08, 0.20, 0.03)}

_SKIN_STOPS = np.array([  # light to dark, sRGB 0..255
    (250, 224, 206), (238, 201, 173), (223, 179, 146), (199, 149, 113), (172, 120, 86),
    (134, 89, 60), (99, 64, 43), (72, 46, 32)], dtype=np.float64)
_HAIR_STOPS = np.array([  # black to platinum blonde
    (24, 20, 19), (52, 36, 27), (92, 62, 40), (138, 101, 64), (184, 146, 95),
    (226, 198, 146)], dtype=np.float64)
_IRIS_STOPS = np.array([  # dark brown, brown, hazel, green, grey-blue, blue
    (62, 38, 22), (112, 72, 38), (128, 108, 58), (92, 118, 80), (104, 128, 146),
    (66, 116, 172)], dtype=np.float64)


@dataclass(frozen=True)
class FaceTraits:
    """Everything that decides how one synthetic portrait looks.

    Dysmorphic fields are z-scores (0 = healthy mean, 1 = one SD; positive = more of the
    named feature). Nuisance fields are in the units given. The default is an average
    healthy 6-year-old girl, lit from the upper left, looking straight at the camera.

    Attributes
    ----------
    forehead_breadth, periorbital_fullness, nasal_bridge_flatness, nose_shortness, \
nose_upturn, mouth_width, lip_fullness, chin_pointedness, eye_spacing : float
        WBS-relevant traits (``nose_upturn`` means anteverted nares).
    face_aspect : float
        Face width/height ratio (positive = wider, rounder face).
    eyelid_ptosis, ear_lowness, neck_breadth : float
        Noonan-like traits: droopy upper eyelids, low-set ears, broad neck.
    sex : {"F", "M"}
        Shifts jaw, brows, lips and hair-style odds a little.
    age_months : float
        6 to 180; younger faces are rounder with larger eyes and a shorter lower face.
    skin_tone : float
        0 (very fair) to 1 (very dark).
    skin_warmth : float
        z-score, positive = more red/yellow.
    hair_color, hair_redness : float
        0 (black) to 1 (platinum blonde); 0 to 1 blend toward auburn.
    hair_style : int
        Index into :data:`HAIR_STYLES`.
    hair_volume : float
        z-score of how far the hair stands off the head.
    eye_color : float
        0 (dark brown) to 1 (blue).
    background_hue, background_saturation, background_value, background_texture : float
        Background colour in HSV (each 0..1) and mottling strength (0..1).
    clothing_hue, clothing_saturation, clothing_value : float
        Shirt colour in HSV (each 0..1).
    light_azimuth_deg : float
        Where the key light comes from, clockwise from the top of the image.
    light_strength : float
        0 (flat, frontal) to 1 (strong, oblique).
    roll_deg : float
        Head roll, −10..10 degrees, positive = clockwise in the image.
    yaw : float
        −1..1, a small head turn (±12°) drawn as a sideways shift of the features.
    face_scale : float
        Relative face size in the frame, about 0.85..1.15.
    offset_x, offset_y : float
        −1..1, where the head sits in the frame.
    detail_seed : int
        Seed for hair strands, textures and sensor noise.
    """

    forehead_breadth: float = 0.0
    periorbital_fullness: float = 0.0
    nasal_bridge_flatness: float = 0.0
    nose_shortness: float = 0.0
    nose_upturn: float = 0.0
    mouth_width: float = 0.0
    lip_fullness: float = 0.0
    chin_pointedness: float = 0.0
    eye_spacing: float = 0.0
    face_aspect: float = 0.0
    eyelid_ptosis: float = 0.0
    ear_lowness: float = 0.0
    neck_breadth: float = 0.0
    sex: str = "F"
    age_months: float = 72.0
    skin_tone: float = 0.3
    skin_warmth: float = 0.0
    hair_color: float = 0.3
    hair_redness: float = 0.0
    hair_style: int = 1
    hair_volume: float = 0.0
    eye_color: float = 0.3
    background_hue: float = 0.58
    background_saturation: float = 0.15
    background_value: float = 0.75
    background_texture: float = 0.3
    clothing_hue: float = 0.6
    clothing_saturation: float = 0.4
    clothing_value: float = 0.5
    light_azimuth_deg: float = -40.0
    light_strength: float = 0.5
    roll_deg: float = 0.0
    yaw: float = 0.0
    face_scale: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0
    detail_seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"FaceTraits.{f.name} must be finite, got {v!r}")
        if self.sex not in ("F", "M"):
            raise ValueError(f"FaceTraits.sex must be 'F' or 'M', got {self.sex!r}")
        if not 6 <= self.age_months <= 180:
            raise ValueError(f"FaceTraits.age_months must be 6..180, got {self.age_months}")
        if not -10 <= self.roll_deg <= 10:
            raise ValueError(f"FaceTraits.roll_deg must be -10..10, got {self.roll_deg}")
        if not -1 <= self.yaw <= 1:
            raise ValueError(f"FaceTraits.yaw must be -1..1, got {self.yaw}")
        if not 0 <= self.hair_style < len(HAIR_STYLES):
            raise ValueError(f"FaceTraits.hair_style must index HAIR_STYLES, got {self.hair_style}")

    @property
    def age_fraction(self) -> float:
        """float: Age mapped to 0 (6 months) .. 1 (15 years)."""
        return (float(self.age_months) - 6.0) / 174.0


def sample_traits(group: str, rng: np.random.Generator, *, sex: str | None = None,
                  age_months: float | None = None, spread: float = 1.0) -> FaceTraits:
    """Draw the traits of one synthetic child of ``group``.

    Parameters
    ----------
    group : {"wbs", "other_syndrome", "healthy"}
        Which group's trait distribution to sample (see :data:`GROUP_SHIFTS`).
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same traits. The generator is always
        advanced by the same amount, whatever the group, ``sex`` or ``age_months``.
    sex : {"F", "M"}, optional
        Fixed sex; drawn 50/50 when omitted.
    age_months : float, optional
        Fixed age in months (6..180); drawn uniformly when omitted.
    spread : float, optional
        0 < spread <= 1: the share of their full range (centred) that skin, hair and eye
        colour, the backdrop, the light and the head's turn keep; 1 (the default) is every
        kind of photo, :data:`CLINIC_SPREAD` one clinic's standardised photos. The
        generator is advanced by the same amount whatever the spread.

    Returns
    -------
    FaceTraits
        Dysmorphic traits are ``N(shift, 1)`` clipped to ±3 SD; nuisance traits are drawn
        independently of the group.

    Raises
    ------
    ValueError
        If ``group``, ``sex`` or ``age_months`` is not valid.
    """
    if group not in GROUP_SHIFTS:
        raise ValueError(f"unknown group {group!r}; expected one of {GROUPS}")
    if sex is not None and sex not in ("F", "M"):
        raise ValueError(f"sex must be 'F' or 'M', got {sex!r}")
    if age_months is not None and not 6 <= age_months <= 180:
        raise ValueError(f"age_months must be 6..180, got {age_months}")
    if not 0 < spread <= 1:
        raise ValueError(f"spread must be in (0, 1], got {spread}")
    shifts = GROUP_SHIFTS[group]
    z = rng.standard_normal(len(DYSMORPHIC_TRAITS))
    dys = {name: float(np.clip(shifts.get(name, 0.0) + z[i], -_Z_LIMIT, _Z_LIMIT))
           for i, name in enumerate(DYSMORPHIC_TRAITS)}
    drawn_sex = "F" if rng.random() < 0.5 else "M"
    drawn_age = float(rng.integers(6, 181))
    sex = sex or drawn_sex
    age = float(age_months) if age_months is not None else drawn_age
    u = rng.random(22)
    narrow = list(_CAPTURE_DRAWS)
    u[narrow] = 0.5 + spread * (u[narrow] - 0.5)
    tone = float(u[0])
    style = int(np.searchsorted(np.cumsum(_STYLE_WEIGHTS[sex]), u[1] * 0.999999, side="right"))
    if age < 15:
        style = 0  # infants: a little short hair whatever the sex
    return FaceTraits(
        **dys, sex=sex, age_months=age,
        skin_tone=tone, skin_warmth=float(np.clip(2 * u[2] - 1, -1, 1) * 1.5),
        hair_color=float(u[3] ** (1.0 + 2.5 * tone)), hair_redness=float(u[4] ** 4),
        hair_style=style, hair_volume=float(np.clip((u[5] - 0.5) * 3.4, -1.7, 1.7)),
        eye_color=float(u[6] ** (1.0 + 4.0 * tone)),
        background_hue=float(u[7]), background_saturation=float(0.02 + 0.33 * u[8] ** 1.5),
        background_value=float(0.35 + 0.6 * u[9]), background_texture=float(u[10]),
        clothing_hue=float(u[11]), clothing_saturation=float(0.05 + 0.65 * u[12]),
        clothing_value=float(0.2 + 0.7 * u[13]),
        light_azimuth_deg=float(-120 + 240 * u[14]), light_strength=float(0.1 + 0.9 * u[15]),
        roll_deg=float(np.clip(math.tan((u[16] - 0.5) * 2.6) * 3.0, -10, 10)),
        yaw=float(np.clip(math.tan((u[17] - 0.5) * 2.4) * 0.3, -1, 1)),
        face_scale=float(0.86 + 0.28 * u[18]), offset_x=float(2 * u[19] - 1),
        offset_y=float(2 * u[20] - 1), detail_seed=int(u[21] * 2**31),
    )


class FaceGeometry:
    """Where each feature of ``traits`` sits, in face coordinates.

    Face coordinates have x to the image right and y down; the unit is the face height,
    from the forehead top (y = -0.5) to the chin (y = 0.5). Age and sex shift the
    proportions: younger faces are rounder, with larger eyes set lower and a shorter
    lower face.

    Parameters
    ----------
    traits : FaceTraits
        The face to lay out.

    Attributes
    ----------
    eye_y, brow_y, hairline_y, subnasale_y, nose_tip_y, mouth_y : float
        Heights of the pupils, brows, hairline, nose base, nose tip and mouth line.
    eye_x, eye_half_width, eye_half_height, iris_radius : float
        Pupil distance from the midline and the size of the eye opening and iris.
    mouth_half_width, neck_half_width : float
        Half widths of the mouth (corner to midline) and the neck.
    rx, top_y, widest_y : float
        Half width, top and widest height of the head outline.
    contour : numpy.ndarray
        Closed head outline, shape (200, 2), forehead and cranium included.
    """

    def __init__(self, traits: FaceTraits) -> None:
        t, a = traits, traits.age_fraction
        male = t.sex == "M"
        self.traits, self.age = t, a
        self.eye_y = -0.045 + 0.035 * (1 - a)
        self.brow_y = self.eye_y - 0.095 - 0.01 * a
        self.hairline_y = -0.45 - 0.012 * t.forehead_breadth
        g = INTERNAL_TRAIT_GAIN
        base_nose = 0.185 + 0.045 * a
        # a short nose leaves the mouth where it was: the philtrum grows (as in WBS)
        nose_len = base_nose * float(np.clip(1 - 0.075 * g * t.nose_shortness, 0.55, 1.45))
        self.subnasale_y = self.eye_y + nose_len
        self.nose_tip_y = self.subnasale_y - 0.028 - float(
            np.clip(0.009 * g * t.nose_upturn, -0.018, 0.03))
        self.mouth_y = self.eye_y + base_nose + 0.08 + 0.025 * a
        self.mouth_half_width = ((0.118 + 0.018 * a)
                                 * (1 + 0.085 * MOUTH_WIDTH_GAIN * t.mouth_width)
                                 * (1.02 if male else 1.0))
        self.eye_x = 0.168 + 0.019 * t.eye_spacing
        self.eye_half_width = 0.076 - 0.002 * t.periorbital_fullness
        self.eye_half_height = 0.034 * (1.08 - 0.12 * a)
        self.iris_radius = 0.035 * (1.08 - 0.1 * a)
        self.rx = 0.435 * (1 + 0.045 * t.face_aspect) * (1.04 - 0.08 * a)
        self.top_y, self.widest_y = -0.64, -0.08
        self.neck_half_width = ((0.2 + 0.045 * a) * (1 + 0.09 * t.neck_breadth)
                                * (1.05 if male else 1.0))
        self.contour = self._contour(male)

    def _contour(self, male: bool) -> np.ndarray:
        t = self.traits
        th = np.linspace(0, 2 * np.pi, 200, endpoint=False)
        c, s = np.cos(th), np.sin(th)
        up = s < 0
        c = np.where(up, np.sign(c) * np.abs(c) ** 0.8, c)
        s = np.where(up, np.sign(s) * np.abs(s) ** 0.8, s)
        x = self.rx * c
        y = self.widest_y + np.where(up, self.widest_y - self.top_y, 0.5 - self.widest_y) * s
        rise = np.clip((self.eye_y - y) / (self.eye_y - self.top_y), 0, 1)
        x = x * (1 + 0.05 * t.forehead_breadth * np.sin(rise * np.pi) ** 1.5)
        y0 = 0.0
        low = np.clip((y - y0) / (0.5 - y0), 0, 1)
        taper = 0.16 + 0.05 * t.chin_pointedness - (0.04 if male else 0.0) + 0.04 * self.age
        x = x * (1 - float(np.clip(taper, 0.02, 0.36)) * low ** 1.5)
        near = np.clip(1 - np.abs(x) / 0.14, 0, 1) * (y > 0.3)
        y = y + 0.022 * t.chin_pointedness * near ** 2 - 0.01 * near
        return np.stack([x, y], axis=1)

    def half_width(self, y: float) -> float:
        """Half the face width at a height.

        Parameters
        ----------
        y : float
            Height in face coordinates.

        Returns
        -------
        float
            Distance from the midline to the image-right outline at ``y``.
        """
        right = self.contour[self.contour[:, 0] > 0]
        order = np.argsort(right[:, 1])
        return float(np.interp(y, right[order, 1], right[order, 0]))

    def eye(self, side: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lid curves of one eye.

        Parameters
        ----------
        side : {-1, 1}
            The image-left (-1) or image-right (1) eye.
        u : numpy.ndarray
            Positions from -1 (inner corner) to 1 (outer corner).

        Returns
        -------
        tuple of numpy.ndarray
            x, upper-lid y and lower-lid y at ``u``.
        """
        t = self.traits
        x = side * (self.eye_x + u * self.eye_half_width)
        yc = self.eye_y - 0.005 * u
        w = np.clip(1 - u ** 2, 0, 1)
        up = self.eye_half_height * float(np.clip(1 - 0.17 * t.eyelid_ptosis, 0.45, 1.25))
        y_up = yc - up * w ** 0.7 * (1 - 0.12 * u)
        y_lo = yc + 0.55 * self.eye_half_height * w ** 0.8 * (1 + 0.15 * u)
        return x, y_up, y_lo

    def clip_to_eye(self, side: int, pts: np.ndarray) -> np.ndarray:
        """Clamp a convex shape (iris, pupil) to the eye opening.

        Parameters
        ----------
        side : {-1, 1}
            The image-left (-1) or image-right (1) eye.
        pts : numpy.ndarray
            Outline of the shape, shape (n, 2), in face coordinates.

        Returns
        -------
        numpy.ndarray
            The outline with each point's y clamped between the lids (which are graphs of
            x), i.e. the part of the shape that the lids leave visible.
        """
        u = np.clip((pts[:, 0] * side - self.eye_x) / self.eye_half_width, -1, 1)
        _, y_up, y_lo = self.eye(side, u)
        return np.stack([pts[:, 0], np.clip(pts[:, 1], y_up, y_lo)], axis=1)

    def landmarks(self) -> tuple[np.ndarray, np.ndarray]:
        """The five MTCNN-order landmarks in face coordinates.

        Returns
        -------
        tuple of numpy.ndarray
            Points, shape (5, 2): image-left eye, image-right eye, nose tip, image-left
            and image-right mouth corner; and their depths in front of the face surface,
            shape (5,), which decide how far they move with the yaw.
        """
        iy = self.eye_y + 0.003
        pts = np.array([[-self.eye_x, iy], [self.eye_x, iy], [0.0, self.nose_tip_y],
                        [-self.mouth_half_width, self.mouth_y],
                        [self.mouth_half_width, self.mouth_y]])
        return pts, np.array([-0.01, -0.01, 0.12, 0.02, 0.02])


def _ramp(stops: np.ndarray, t: float) -> np.ndarray:
    pos = float(np.clip(t, 0.0, 1.0)) * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    return (stops[i] + (stops[i + 1] - stops[i]) * (pos - i)) / 255.0


def skin_rgb(traits: FaceTraits) -> np.ndarray:
    """Base skin colour.

    Parameters
    ----------
    traits : FaceTraits
        Uses ``skin_tone`` and ``skin_warmth``.

    Returns
    -------
    numpy.ndarray
        RGB floats in 0..1.
    """
    c = _ramp(_SKIN_STOPS, traits.skin_tone)
    w = 0.025 * float(np.clip(traits.skin_warmth, -2, 2))
    return np.clip(c * np.array([1 + w, 1.0, 1 - 1.6 * w]), 0, 1)


def hair_rgb(traits: FaceTraits) -> np.ndarray:
    """Hair colour.

    Parameters
    ----------
    traits : FaceTraits
        Uses ``hair_color`` and ``hair_redness`` (a blend toward auburn).

    Returns
    -------
    numpy.ndarray
        RGB floats in 0..1.
    """
    c = _ramp(_HAIR_STOPS, traits.hair_color)
    lum = float(c.mean())
    auburn = np.array([0.62, 0.27, 0.12]) * (0.45 + 0.9 * lum)
    return np.clip(c + (auburn - c) * 0.7 * traits.hair_redness, 0, 1)


def iris_rgb(traits: FaceTraits) -> np.ndarray:
    """Iris colour.

    Parameters
    ----------
    traits : FaceTraits
        Uses ``eye_color``.

    Returns
    -------
    numpy.ndarray
        RGB floats in 0..1.
    """
    return _ramp(_IRIS_STOPS, traits.eye_color)


def hsv_rgb(h: float, s: float, v: float) -> np.ndarray:
    """Convert a colour from HSV to RGB.

    Parameters
    ----------
    h, s, v : float
        Hue (wraps around), saturation and value, each 0..1.

    Returns
    -------
    numpy.ndarray
        RGB floats in 0..1.
    """
    return np.array(colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)),
                                        float(np.clip(v, 0, 1))))
