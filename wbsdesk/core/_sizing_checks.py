"""Input checks of the sizing modules (private): each names the input and its range."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from wbsdesk.errors import UserError

Analysis = Literal["RRRC", "FRRC", "RRFC"]
#: What each analysis generalises to.
ANALYSES: dict[str, str] = {
    "RRRC": "random readers and random cases",
    "FRRC": "fixed readers, random cases",
    "RRFC": "random readers, fixed cases",
}


def check_alpha(alpha: Any) -> float:
    """Validate a significance level in (0, 1)."""
    a = _number(alpha, "The significance level alpha")
    if not 0.0 < a < 1.0:
        raise UserError(f"The significance level alpha must be between 0 and 1 (got {a:g}).",
                        hint="The usual value is 0.05.")
    return a


def check_power(power: Any) -> float:
    """Validate a desired power in (0, 1)."""
    p = _number(power, "The desired power")
    if not 0.0 < p < 1.0:
        raise UserError(f"The desired power must be between 0 and 1 (got {p:g}).",
                        hint="The usual value is 0.8.")
    return p


def check_effect(effect: Any) -> float:
    """Validate an AUC difference to detect: non-zero, below 1 in size."""
    d = _number(effect, "The effect size")
    if d == 0.0 or not abs(d) < 1.0:
        raise UserError(f"The effect size (difference of AUCs) must be non-zero and "
                        f"between -1 and 1 (got {d:g}).",
                        hint="e.g. 0.05 for a 5-point AUC difference.")
    return d


def check_readers(readers: Any, analysis: str) -> int:
    """Validate a number of readers: >= 2 when readers are random, else >= 1."""
    check_analysis(analysis)
    if isinstance(readers, bool) or not isinstance(readers, int | np.integer):
        raise UserError(f"The number of readers must be a whole number, got {readers!r}.")
    least = 1 if analysis == "FRRC" else 2
    if readers < least:
        raise UserError(f"{ANALYSES[analysis].capitalize()} needs at least {least} readers "
                        f"(got {int(readers)}).",
                        hint="Readers are a random sample here: their spread can only be "
                             "estimated from 2 or more.")
    return int(readers)


def check_cases(cases: Any) -> int:
    if isinstance(cases, bool) or not isinstance(cases, int | np.integer) or cases < 2:
        raise UserError(f"The number of cases must be a whole number >= 2, got {cases!r}.")
    return int(cases)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer
                                                 | np.floating):
        raise UserError(f"{what} must be a number, got {value!r}.")
    out = float(value)
    if not math.isfinite(out):
        raise UserError(f"{what} must be a finite number, got {value!r}.")
    return out


def check_analysis(analysis: str) -> str:
    if analysis not in ANALYSES:
        raise UserError(f"Unknown analysis {analysis!r}.",
                        hint=f"Choose one of {', '.join(ANALYSES)}.")
    return analysis
