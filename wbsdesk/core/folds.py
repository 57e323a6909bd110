"""Cross-validation folds: stratified by group, grouped by subject, reproducible from a seed."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np


def assign_folds(subjects: Sequence[Hashable], groups: Sequence[str], *, k: int,
                 seed: int) -> dict[Hashable, int]:
    """Assign each subject to one of ``k`` folds, stratified by group.

    Within each group the subjects are sorted (so the input order does not matter),
    shuffled with a generator seeded by ``seed`` and the group name, and dealt round-robin
    into folds 1..k. Each group's counts therefore differ by at most one between folds, and
    the larger folds come first: 104 / 91 / 145 subjects give exactly the paper's Table 3
    (21, 21, 21, 21, 20 / 19, 18, 18, 18, 18 / 29 x 5). A subject is one unit, so all its
    photos share its fold.

    Parameters
    ----------
    subjects : sequence of hashable, shape (n_subjects,)
        Unique subject identifiers.
    groups : sequence of str, shape (n_subjects,)
        The group of each subject.
    k : int, keyword-only
        Number of folds (>= 2).
    seed : int, keyword-only
        The same seed and subjects always give the same folds.

    Returns
    -------
    dict
        Subject -> fold number in ``1..k``.

    Examples
    --------
    >>> f = assign_folds(["a", "b", "c", "d"], ["x", "x", "y", "y"], k=2, seed=0)
    >>> sorted(f.values())
    [1, 1, 2, 2]
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    if len(subjects) != len(groups):
        raise ValueError("subjects and groups must have the same length")
    if len(set(subjects)) != len(subjects):
        raise ValueError("subjects must be unique (one entry per subject)")
    by_group: dict[str, list[Hashable]] = {}
    for s, g in zip(subjects, groups, strict=True):
        by_group.setdefault(g, []).append(s)
    out: dict[Hashable, int] = {}
    for g in sorted(by_group):
        members = sorted(by_group[g], key=str)
        rng = np.random.default_rng([seed, *g.encode()])
        order = rng.permutation(len(members))
        for pos, idx in enumerate(order):
            out[members[idx]] = pos % k + 1
    return out


def fold_table(folds: Mapping[Hashable, int], groups: Mapping[Hashable, str], *,
               group_order: Sequence[str], k: int) -> dict[str, list[int]]:
    """Counts per fold per group (the paper's Table 3).

    Parameters
    ----------
    folds : mapping
        Subject -> fold (1..k).
    groups : mapping
        Subject -> group.
    group_order : sequence of str, keyword-only
        Groups to report, in order.
    k : int, keyword-only
        Number of folds.

    Returns
    -------
    dict
        Group -> list of ``k`` counts (fold 1 first).
    """
    table = {g: [0] * k for g in group_order}
    for subject, fold in folds.items():
        g = groups[subject]
        if g in table:
            table[g][fold - 1] += 1
    return table
