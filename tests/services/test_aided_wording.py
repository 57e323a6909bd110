"""The slope chart's layout and the reading of a CI as benefit, harm or no clear change."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from wbsdesk.core.slope_chart import (
    BENEFITED,
    HARMED,
    UNCLEAR,
    effect_of,
    elide_middle,
    slope_chart,
)
from wbsdesk.services.analysis_aided import ModalityTest
from wbsdesk.services.result_tables_aided import effect_sentence

NAN = float("nan")


@pytest.mark.parametrize(("lo", "hi", "effect"), [
    (-0.2, -0.001, HARMED), (0.001, 0.2, BENEFITED), (-0.2, 0.0, UNCLEAR),
    (0.0, 0.2, UNCLEAR), (-0.1, 0.1, UNCLEAR), (NAN, NAN, UNCLEAR), (NAN, -0.1, HARMED)])
def test_only_a_ci_wholly_on_one_side_of_zero_is_benefit_or_harm(lo, hi, effect):
    assert effect_of(lo, hi) == effect


def _test(diff, lo, hi, p):
    return ModalityTest("AUC", 0.8, (0.7, 0.9), 0.8 + diff, (0.7, 0.9), diff, lo, hi, 2.0, 1,
                        10.0, p)


def test_the_sentence_never_calls_a_ci_that_includes_zero_benefit_or_harm():
    unclear = effect_sentence(_test(-0.09, -0.2, 0.02, 0.08), "95% CI")
    assert "no clear change" in unclear and "lower" not in unclear and "harm from" in unclear
    assert "lower with the aid" in effect_sentence(_test(-0.09, -0.2, -0.01, 0.03), "95% CI")
    assert "higher with the aid" in effect_sentence(_test(0.09, 0.01, 0.2, 0.03), "95% CI")
    assert "no conclusion" in effect_sentence(_test(NAN, NAN, NAN, NAN), "95% CI")


def test_labels_are_apart_inside_the_axis_and_keep_both_ends_of_a_long_name():
    readers = [(f"Simulated pediatric cardiologist {i}", 0.7, 0.80 + 0.001 * i, -0.1, 0.1)
               for i in range(5)] + [("Dr low", 0.45, 0.42, -0.1, -0.01)]
    chart = slope_chart(readers, label_gap=0.05, max_label=30)
    assert chart.low == 0.4 and chart.high == 1.0 and chart.ticks[0] == 0.4
    ys = sorted(line.label_y for line in chart.lines)
    gap = 0.05 * (chart.high - chart.low)
    assert all(b - a >= gap - 1e-9 for a, b in pairwise(ys))
    assert all(chart.low <= y <= chart.high for y in ys)
    labels = [line.label for line in chart.lines]
    assert len(set(labels)) == len(labels)  # the ends that tell the readers apart stay
    assert labels[0].endswith("cardiologist 0") and len(labels[0]) == 30
    assert chart.lines[-1].effect == HARMED and chart.lines[-1].label == "Dr low"
    assert elide_middle("abcdef", 3) == "a…f"
    crowded = slope_chart([(str(i), 0.9, 0.9, -1, 1) for i in range(40)], label_gap=0.05)
    ys = [line.label_y for line in crowded.lines]
    assert min(ys) >= crowded.low and max(ys) <= crowded.high + 1e-9
    assert not math.isnan(sum(ys))
