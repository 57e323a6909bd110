"""A study plan: cases needed per number of readers, powers, and a power-vs-cases grid.

:func:`make_plan` puts :mod:`wbsdesk.core.sizing` together for the CLI (``wbsdesk plan``)
and the 'Plan a study' dialog: for each number of readers J, the smallest K reaching the
desired power (and the power with unlimited cases), the power at the case counts asked
for, and a readers x cases power grid to draw. A K is split into positive and control cases
at the pilot's proportion, which the components assume (AUC variances depend on it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wbsdesk.core.sizing import (
    ANALYSES,
    MAX_CASES,
    Analysis,
    cases_needed,
    check_alpha,
    check_effect,
    check_power,
    check_readers,
    power_table,
)
from wbsdesk.core.sizing_pilot import DESIGNS, Pilot
from wbsdesk.errors import UserError

__all__ = ["DEFAULT_READERS", "PlanRow", "StudyPlan", "make_plan", "parse_counts"]

#: Reader counts planned for when none are given (the pilot's own count is added).
DEFAULT_READERS: tuple[int, ...] = (4, 5, 6, 8, 10, 12, 15, 20)
_GRID_POINTS = 80


@dataclass(frozen=True)
class PlanRow:
    """One number of readers: cases needed, their split, and powers.

    ``cases_needed`` is None when no K up to the plan's ``max_cases`` is enough;
    ``power_at`` maps each case count asked for to its power.
    """

    readers: int
    cases_needed: int | None
    power: float
    limit_power: float
    positives: int | None
    controls: int | None
    power_at: dict[int, float]


@dataclass(frozen=True)
class StudyPlan:
    """The plan: inputs echoed, one :class:`PlanRow` per J, and a power grid to draw.

    ``grid_power[a, b]`` is the power with ``rows[a].readers`` readers and
    ``grid_cases[b]`` cases.
    """

    pilot: Pilot
    analysis: str
    alpha: float
    target_power: float
    effect: float
    effect_observed: bool
    cases: tuple[int, ...]
    max_cases: int
    rows: tuple[PlanRow, ...]
    grid_cases: np.ndarray
    grid_power: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN becomes None)."""
        return _plain({
            "design": self.pilot.design, "design_label": DESIGNS[self.pilot.design],
            "analysis": self.analysis, "analysis_label": ANALYSES[self.analysis],
            "alpha": self.alpha, "power": self.target_power, "effect": self.effect,
            "effect_is_observed": self.effect_observed, "max_cases": self.max_cases,
            "pilot": self.pilot.to_dict(),
            "readers": [{"readers": r.readers, "cases_needed": r.cases_needed,
                         "power_at_cases_needed": r.power, "power_unlimited_cases":
                         r.limit_power, "positives": r.positives, "controls": r.controls,
                         "power_at_cases": {str(k): v for k, v in r.power_at.items()}}
                        for r in self.rows],
            "power_table": {"readers": [r.readers for r in self.rows],
                            "cases": [int(k) for k in self.grid_cases],
                            "power": self.grid_power.tolist()},
        })


def parse_counts(values: Iterable[str], *, what: str = "--readers") -> list[int] | None:
    """Whole numbers from text such as ``"4-6"``, ``"10, 12"``; None when there are none.

    >>> parse_counts(["4-6", "10, 12"])
    [4, 5, 6, 10, 12]

    Raises
    ------
    UserError
        A part that is not a whole number or a range, a backward range, or one longer than
        500 (``what`` names the input in the message).
    """
    out: list[int] = []
    for value in values:
        for part in value.replace(" ", "").split(","):
            if not part:
                continue
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if not m:
                raise UserError(f"{what} {value!r}: {part!r} is not a whole number or a "
                                "range like 4-12")
            lo, hi = int(m[1]), int(m[2] or m[1])
            if hi < lo:
                raise UserError(f"{what} {value!r}: the range {part} runs backwards")
            if hi - lo > 500:
                raise UserError(f"{what} {value!r}: the range {part} is too long "
                                "(at most 500 numbers)")
            out.extend(range(lo, hi + 1))
    return out or None


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _split(k: int | None, pilot: Pilot) -> tuple[int | None, int | None]:
    if k is None or not pilot.positives or not pilot.controls:
        return None, None
    pos = round(k * pilot.positives / (pilot.positives + pilot.controls))
    pos = min(max(pos, 1), k - 1)
    return pos, k - pos


def _effect(effect: float | None, pilot: Pilot) -> tuple[float, bool]:
    if effect is not None:
        return check_effect(effect), False
    if pilot.effect is None:
        raise UserError("Typed variance components come without an observed difference: "
                        "give the effect size to detect.",
                        hint="e.g. an AUC difference of 0.05 (--effect 0.05).")
    if abs(pilot.effect) < 1e-6:
        raise UserError(f"The pilot's observed difference is {pilot.effect:.4f}, so it "
                        "cannot serve as the effect size.",
                        hint="Give the smallest AUC difference worth detecting "
                             "(--effect, e.g. 0.05).")
    return check_effect(pilot.effect), True


def _grid(rows: list[PlanRow], cases: Sequence[int], max_cases: int) -> np.ndarray:
    finite = [r.cases_needed for r in rows if r.cases_needed is not None]
    top = max([*finite, *cases]) * 1.5 if finite or cases else 1000
    top = int(min(max(top, 100), max_cases))
    return np.unique(np.round(np.linspace(10, top, _GRID_POINTS)).astype(int))


def make_plan(pilot: Pilot, *, readers: Sequence[int] | None = None,
              cases: Sequence[int] = (), effect: float | None = None, alpha: float = 0.05,
              power: float = 0.8, analysis: Analysis = "RRRC",
              max_cases: int = MAX_CASES) -> StudyPlan:
    """Plan a pivotal study from a pilot's variance components.

    Parameters
    ----------
    pilot : Pilot
    readers : sequence of int, optional
        Numbers of readers to plan for (default :data:`DEFAULT_READERS` and the pilot's).
    cases : sequence of int, default ()
        Case counts whose power is wanted for every J.
    effect : float, optional
        AUC difference to detect (default: the pilot's observed difference).
    alpha : float, default 0.05
    power : float, default 0.8
        Desired power.
    analysis : {"RRRC", "FRRC", "RRFC"}, default "RRRC"
    max_cases : int, default MAX_CASES

    Returns
    -------
    StudyPlan

    Raises
    ------
    UserError
        Any input out of range (J < 2 for random readers, power or alpha outside (0, 1),
        a zero effect, ...) -- checked before anything is computed.
    """
    if analysis not in ANALYSES:
        raise UserError(f"Unknown analysis {analysis!r}.",
                        hint=f"Choose one of {', '.join(ANALYSES)}.")
    a = check_alpha(alpha)
    target = check_power(power)
    d, observed = _effect(effect, pilot)
    if readers is None:
        js = sorted({*DEFAULT_READERS, *([pilot.readers] if pilot.readers else [])})
        js = [j for j in js if j >= (1 if analysis == "FRRC" else 2)]
    else:
        js = sorted({check_readers(j, analysis) for j in readers})
        if not js:
            raise UserError("Give at least one number of readers to plan for.")
    ks = tuple(sorted({int(k) for k in cases}))
    if any(k < 2 for k in ks):
        raise UserError(f"Numbers of cases must be >= 2, got {min(ks)}.")
    at = power_table(pilot.components, readers=js, cases=ks, effect=d, alpha=a,
                     analysis=analysis) if ks else np.zeros((len(js), 0))
    rows = []
    for n, j in enumerate(js):
        need = cases_needed(pilot.components, readers=j, effect=d, power=target, alpha=a,
                            analysis=analysis, max_cases=max_cases)
        pos, neg = _split(need.cases, pilot)
        rows.append(PlanRow(readers=j, cases_needed=need.cases, power=need.power,
                            limit_power=need.limit_power, positives=pos, controls=neg,
                            power_at={k: float(at[n, b]) for b, k in enumerate(ks)}))
    grid = _grid(rows, ks, max_cases)
    grid_power = power_table(pilot.components, readers=js, cases=grid.tolist(), effect=d,
                             alpha=a, analysis=analysis)
    return StudyPlan(pilot=pilot, analysis=analysis, alpha=a, target_power=target, effect=d,
                     effect_observed=observed, cases=ks, max_cases=max_cases,
                     rows=tuple(rows), grid_cases=grid, grid_power=grid_power)
