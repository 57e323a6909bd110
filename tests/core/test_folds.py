"""Folds: the paper's Table 3 exactly, and the properties that keep CV honest."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from wbsdesk.core.folds import assign_folds, fold_table


def _study(counts: dict[str, int]) -> tuple[list[str], list[str]]:
    subjects, groups = [], []
    for g, n in counts.items():
        for i in range(n):
            subjects.append(f"{g}-{i}")
            groups.append(g)
    return subjects, groups


def test_paper_table3_exactly():
    subjects, groups = _study({"wbs": 104, "other_syndrome": 91, "healthy": 145})
    for seed in (0, 1, 2021):
        folds = assign_folds(subjects, groups, k=5, seed=seed)
        table = fold_table(folds, dict(zip(subjects, groups, strict=True)),
                           group_order=["wbs", "other_syndrome", "healthy"], k=5)
        assert table == {"wbs": [21, 21, 21, 21, 20],
                         "other_syndrome": [19, 18, 18, 18, 18],
                         "healthy": [29, 29, 29, 29, 29]}


def test_input_order_does_not_matter():
    subjects, groups = _study({"a": 13, "b": 7})
    f1 = assign_folds(subjects, groups, k=3, seed=5)
    f2 = assign_folds(subjects[::-1], groups[::-1], k=3, seed=5)
    assert f1 == f2


def test_different_seeds_shuffle():
    subjects, groups = _study({"a": 40})
    assert assign_folds(subjects, groups, k=5, seed=1) != assign_folds(subjects, groups, k=5,
                                                                       seed=2)


group_sizes = st.dictionaries(st.sampled_from(["wbs", "other", "healthy", "x"]),
                              st.integers(0, 40), min_size=1)


@settings(max_examples=60, deadline=None)
@given(sizes=group_sizes, k=st.integers(2, 7), seed=st.integers(0, 2**32 - 1))
def test_fold_properties(sizes, k, seed):
    subjects, groups = _study(sizes)
    folds = assign_folds(subjects, groups, k=k, seed=seed)
    # every subject in exactly one fold, folds in 1..k
    assert set(folds) == set(subjects)
    assert all(1 <= f <= k for f in folds.values())
    # group counts balanced within 1, larger folds first
    for g, n in sizes.items():
        c = Counter(folds[s] for s, gg in zip(subjects, groups, strict=True) if gg == g)
        counts = [c.get(i, 0) for i in range(1, k + 1)]
        assert max(counts) - min(counts) <= 1
        assert counts == sorted(counts, reverse=True)
        assert sum(counts) == n
    # same seed, same folds
    assert assign_folds(subjects, groups, k=k, seed=seed) == folds
