"""Sub-analyses from a multi-group truth: the positive group against chosen controls.

Liu et al. (2021) have three groups (WBS, other genetic syndromes, healthy children). A
sub-analysis keeps the positive group and some control groups, e.g. WBS vs. healthy only:

>>> groups = np.array(["wbs", "healthy", "other_syndrome", "wbs"])
>>> mask = subset_mask(groups, positive="wbs", controls=("healthy",))
>>> binary_truth(groups[mask], "wbs").tolist()
[True, False, True]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from wbsdesk.core._checks import warn
from wbsdesk.errors import UserError

__all__ = ["binary_truth", "subset_mask"]


def binary_truth(groups: Any, positive: str) -> np.ndarray:
    """0/1 truth from group labels: True where the group is ``positive``.

    Parameters
    ----------
    groups : array-like of str, shape (n_cases,)
        Group of every case, e.g. ``"wbs"``, ``"other_syndrome"``, ``"healthy"``.
    positive : str
        The target group.

    Returns
    -------
    ndarray of bool, shape (n_cases,)

    Examples
    --------
    >>> binary_truth(["wbs", "healthy", "wbs"], "wbs").tolist()
    [True, False, True]
    """
    g = _as_groups(groups)
    _require_groups(g, [positive])
    return g == positive


def subset_mask(groups: Any, *, positive: str = "wbs",
                controls: Iterable[str] = ("healthy",)) -> np.ndarray:
    """Cases of a sub-analysis: the positive group against some control groups only.

    Parameters
    ----------
    groups : array-like of str, shape (n_cases,)
        Group of every case.
    positive : str, default "wbs"
        The target group.
    controls : iterable of str, default ("healthy",)
        Control groups kept; cases of any other group are left out.

    Returns
    -------
    ndarray of bool, shape (n_cases,)
        Use as ``y = binary_truth(groups[mask], positive)`` and ``scores[..., mask]``.

    Raises
    ------
    UserError
        The positive group, or every control group, has no case.

    Warns
    -----
    WbsdeskWarning
        A control group without any case (e.g. all its subjects excluded, or a study
        without that group), naming it; the others are the controls.

    Examples
    --------
    >>> g = ["wbs", "healthy", "other_syndrome", "wbs"]
    >>> subset_mask(g, positive="wbs", controls=("healthy",)).tolist()
    [True, True, False, True]
    """
    g = _as_groups(groups)
    ctrl = [str(c) for c in ([controls] if isinstance(controls, str) else controls)]
    if not ctrl:
        raise UserError("A sub-analysis needs at least one control group.")
    if positive in ctrl:
        raise UserError(f"Group {positive!r} cannot be both the positive and a control group.")
    _require_groups(g, [positive])
    present = set(np.unique(g).tolist())
    empty = [c for c in ctrl if c not in present]
    if len(empty) == len(ctrl):
        _require_groups(g, ctrl)
    for c in empty:
        warn(f"Control group {c!r} has no case (no included subject of that group): the "
             f"controls are {', '.join(repr(x) for x in ctrl if x in present)} only.")
    return np.isin(g, [positive, *ctrl])


def _as_groups(groups: Any) -> np.ndarray:
    g = np.asarray(groups)
    if g.ndim != 1:
        raise UserError(f"groups must be one-dimensional, got shape {g.shape}.")
    return g.astype(str)


def _require_groups(g: np.ndarray, wanted: list[str]) -> None:
    present = set(np.unique(g).tolist())
    missing = [w for w in wanted if w not in present]
    if missing:
        raise UserError(
            f"Group(s) {missing} do not occur in the data; groups present: {sorted(present)}.",
            hint="every subject of these groups is excluded or none was imported: include or "
                 "import some, or compare with another group (a group name must be one of "
                 "the protocol's)",
        )
