"""One formatting module for every renderer, and the table model that uses it."""

from __future__ import annotations

import doctest
import math

import pytest

from wbsdesk.core import formatting, result_table
from wbsdesk.core.formatting import (
    fmt_ci,
    fmt_duration,
    fmt_mean_sd,
    fmt_number,
    fmt_p,
    fmt_rough_duration,
    fmt_signed,
)
from wbsdesk.core.result_table import Column, Estimate, Interval, MeanSd, ResultTable

NAN = float("nan")


@pytest.mark.parametrize("module", [formatting, result_table])
def test_doctests(module):
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


@pytest.mark.parametrize("value", [-0.0, -0.0001, -0.0004999, -1e-12])
def test_no_negative_zero(value):
    # the PDF used to print a CI bound as '-0.000'
    assert fmt_number(value) == "0.000"
    assert fmt_signed(value) == "0.000"
    assert fmt_ci(value, 0.25) == "0.000 to 0.250"
    assert Column("ci", "95% CI", kind="interval").text(Interval(value, 0.25)) == \
        "0.000 to 0.250"
    assert Column("d", "Difference", kind="signed", percent=True).text(value / 100) == "0.0"


def test_signs_p_values_and_undefined_values():
    assert (fmt_signed(0.0123), fmt_signed(-0.0345)) == ("+0.012", "-0.035")
    assert (fmt_p(0.0009), fmt_p(0.001), fmt_p(NAN), fmt_p(None)) == (
        "<0.001", "0.001", "n/a", "")
    assert fmt_mean_sd(0.5, NAN, percent=True, n=1, of=5) == "50.0 ± n/a (1/5)"
    assert fmt_mean_sd(NAN, NAN, n=0, of=5) == "n/a"


def test_one_duration_format_each_for_exact_and_rough_times():
    assert [fmt_duration(s) for s in (5, 65, 3605)] == ["5 s", "1 min 05 s", "1 h 00 min"]
    assert fmt_rough_duration(7200) == "about 2 h 00 min"


def test_a_column_writes_sorts_and_exports_its_values():
    acc = Column("accuracy", "Accuracy %", "%", "mean_sd", percent=True)
    v = MeanSd(0.8235, 0.0412, 4, 5)
    assert acc.text(v) == "82.3 ± 4.1 (4/5)"
    assert acc.export(v) == [pytest.approx(82.35), pytest.approx(4.12), 4]
    assert acc.export_headers() == ["Accuracy % mean", "Accuracy % SD", "Accuracy % n"]
    assert acc.sort_key(v) == 0.8235 and acc.sort_key(MeanSd(NAN, NAN)) == -math.inf
    est = Column("recall", "Sensitivity %", "%", "estimate", percent=True)
    assert est.text(Estimate(0.5, 0.3, 0.7)) == "50.0 (30.0 to 70.0)"
    assert est.text(Estimate(0.5)) == "50.0"
    assert est.export(Estimate(0.5)) == [50.0, None, None]
    with pytest.raises(ValueError, match="unknown kind"):
        Column("x", "X", kind="percentage")


def test_a_table_gives_every_renderer_the_same_texts_and_footnotes():
    t = ResultTable.build(
        "t", "T", [Column("name", "Name", kind="text"),
                   Column("d", "Difference", kind="signed", note="model − reader."),
                   Column("ci", "95% CI", kind="interval")],
        [("a", 0.1, Interval(-0.05, 0.25)), ("b", NAN, Interval(NAN, NAN))],
        ["A note."], sign_convention="model − reader")
    assert t.texts() == [["a", "+0.100", "-0.050 to 0.250"], ["b", "n/a", "n/a"]]
    assert t.footnotes() == ["Differences are model − reader.", "A note.",
                             "Difference: model − reader."]
    assert t.export_header() == ["Name", "Difference", "95% CI low", "95% CI high"]
    assert t.records()[1] == {"name": "b", "d": None, "ci": {"low": None, "high": None}}
    assert t.to_dict()["columns"][2]["parts"] == ["low", "high"]
