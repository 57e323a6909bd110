"""The slope chart of an aided reader study, laid out once for every renderer (no I/O).

Each reader is a line from their AUC without the aid (left axis) to their AUC with it
(right axis), coloured by what the reader's paired CI of the difference says:
:data:`HARMED` when the aided AUC is lower by more than the CI (the whole CI below 0),
:data:`BENEFITED` when it is higher by more than the CI, :data:`UNCLEAR` otherwise.
:func:`slope_chart` fixes the AUC range, the ticks and where each reader's label goes
beside the right axis, moved apart so that no two labels overlap and none leaves the
chart; the dashboard (pyqtgraph) and the report (SVG, PDF) draw exactly this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BENEFITED", "COLOURS", "EFFECT_SHORT", "EFFECT_TEXT", "HARMED", "UNCLEAR", "SlopeChart",
           "SlopeLine", "effect_of", "elide_middle", "slope_chart"]

HARMED, BENEFITED, UNCLEAR = "harmed", "benefited", "unclear"
#: Line colour of each effect (the same in the dashboard and the report).
COLOURS = {HARMED: "#c62828", BENEFITED: "#2e7d32", UNCLEAR: "#1f4e99"}
#: How each effect is written in tables and legends.
EFFECT_TEXT = {HARMED: "harmed (lower with the aid)",
               BENEFITED: "benefited (higher with the aid)",
               UNCLEAR: "no clear change (CI includes 0)"}
#: The same, in a table's Effect column (its footnote says what each means).
EFFECT_SHORT = {HARMED: "lower", BENEFITED: "higher", UNCLEAR: "unclear"}


def effect_of(ci_low: float, ci_high: float) -> str:
    """What a CI of (aided − unaided) shows: harmed, benefited or unclear.

    Examples
    --------
    >>> effect_of(-0.2, -0.01), effect_of(0.01, 0.2), effect_of(-0.1, 0.1)
    ('harmed', 'benefited', 'unclear')
    >>> effect_of(float("nan"), 0.1)
    'unclear'
    """
    if math.isfinite(ci_high) and ci_high < 0:
        return HARMED
    if math.isfinite(ci_low) and ci_low > 0:
        return BENEFITED
    return UNCLEAR


@dataclass(frozen=True)
class SlopeLine:
    """One reader's line: AUC unaided -> aided, its effect and where its label sits."""

    label: str
    unaided: float
    aided: float
    effect: str
    label_y: float

    @property
    def colour(self) -> str:
        """The line's colour (:data:`COLOURS`)."""
        return COLOURS[self.effect]


@dataclass(frozen=True)
class SlopeChart:
    """The chart: AUC axis from ``low`` to ``high`` with ``ticks``, and the readers' lines."""

    low: float
    high: float
    ticks: tuple[float, ...]
    lines: tuple[SlopeLine, ...]


def _spread(ys: list[float], gap: float, low: float, high: float) -> list[float]:
    """Positions at least ``gap`` apart, each as near its wish as the range allows."""
    n = len(ys)
    if n == 0:
        return []
    if gap * (n - 1) >= high - low:  # no room: spread evenly
        step = (high - low) / max(n - 1, 1)
        return [low + i * step for i in range(n)] if n > 1 else [(low + high) / 2]
    out = [min(max(y, low), high) for y in ys]
    for i in range(1, n):  # upwards, keeping the order
        out[i] = max(out[i], out[i - 1] + gap)
    out[-1] = min(out[-1], high)
    for i in range(n - 2, -1, -1):  # back down from the top
        out[i] = min(out[i], out[i + 1] - gap)
    if out[0] < low:  # pushed below the axis: move everything up
        shift = low - out[0]
        out = [y + shift for y in out]
    return out


def elide_middle(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters in its middle, so that both ends stay readable
    ("Simulated pediatric cardiologist 1" and "... 2" stay apart).

    Examples
    --------
    >>> elide_middle("Simulated pediatric cardiologist 1", 24)
    'Simulated pe…diologist 1'
    >>> elide_middle("Dr A", 24)
    'Dr A'
    """
    if len(text) <= limit:
        return text
    head = limit // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def slope_chart(readers: Sequence[tuple[str, float, float, float, float]], *,
                label_gap: float = 0.06, max_label: int = 40) -> SlopeChart:
    """Lay out the slope chart of readers' AUCs unaided -> aided.

    Parameters
    ----------
    readers : sequence of (label, auc_unaided, auc_aided, ci_low, ci_high)
        ``ci_low``/``ci_high``: the CI of aided − unaided. A reader with an undefined AUC
        is left out.
    label_gap : float, keyword-only
        Least distance between two labels, as a fraction of the AUC axis.
    max_label : int, keyword-only
        Labels longer than this are cut in the middle (:func:`elide_middle`).

    Returns
    -------
    SlopeChart
        Lines in the readers' order; the axis runs from 0.5 (or lower, in steps of 0.1, to
        hold every value) to 1.0.

    Examples
    --------
    >>> c = slope_chart([("A", 0.80, 0.81, -0.1, 0.1), ("B", 0.80, 0.80, -0.2, -0.01)])
    >>> (c.low, c.high, [x.effect for x in c.lines])
    (0.5, 1.0, ['unclear', 'harmed'])
    >>> abs(c.lines[0].label_y - c.lines[1].label_y) >= 0.06 * 0.5 - 1e-9
    True
    """
    kept = [r for r in readers if math.isfinite(r[1]) and math.isfinite(r[2])]
    values = [v for r in kept for v in (r[1], r[2])]
    low = min([0.5, *[math.floor(v * 10 + 1e-9) / 10 for v in values]])
    high = 1.0
    ticks = tuple(round(low + 0.1 * i, 1) for i in range(round((high - low) * 10) + 1))
    order = sorted(range(len(kept)), key=lambda i: (kept[i][2], i))
    placed = _spread([kept[i][2] for i in order], label_gap * (high - low), low, high)
    label_y = dict(zip(order, placed, strict=True))
    lines = []
    for i, (label, a, b, lo, hi) in enumerate(kept):
        text = elide_middle(label, max_label)
        lines.append(SlopeLine(label=text, unaided=float(a), aided=float(b),
                               effect=effect_of(lo, hi), label_y=label_y[i]))
    return SlopeChart(low=low, high=high, ticks=ticks, lines=tuple(lines))
