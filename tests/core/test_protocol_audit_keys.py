"""Protocol keys of the audits: ``[statistics] age_bands_months`` and ``[faces] padding``."""

from __future__ import annotations

import pytest

from tests.conftest import PROTOCOLS
from wbsdesk.core.protocol import parse_protocol, protocol_from_dict
from wbsdesk.errors import UserError

MINIMAL = 'name = "x"\ntitle = "X"\n[groups]\nnames = ["a", "b"]\npositive = "a"\n'


def test_defaults_are_the_issue_bands_and_grey_padding():
    p = parse_protocol(MINIMAL)
    assert p.statistics.age_bands_months == (0.0, 36.0, 72.0, 144.0)
    assert p.faces.padding == "grey"
    for name in ("liu2021_wbs.toml", "demo.toml"):
        q = parse_protocol((PROTOCOLS / name).read_text(), source=name)
        assert q.faces.padding == "grey" and q.statistics.age_bands_months[0] == 0.0


def test_age_bands_and_padding_are_read_and_round_trip():
    p = parse_protocol(MINIMAL + '[statistics]\nage_bands_months = [0, 12, 24.5]\n'
                       '[faces]\npadding = "reflect"\n')
    assert p.statistics.age_bands_months == (0.0, 12.0, 24.5)
    assert p.faces.padding == "reflect"
    assert protocol_from_dict(p.to_dict()) == p


@pytest.mark.parametrize(("value", "message"), [
    ("[0, 36, 36]", "must be increasing"),
    ("[72, 36]", "must be increasing"),
    ("[-1, 36]", r"age_bands_months\[0\]' must be >= 0"),
    ("[0, 36, inf]", "must be a finite number"),
    ("[0, nan]", "must be a finite number"),
    ("[]", "must not be empty"),
    ('"0, 36"', "must be a list"),
    ('[0, "36"]', "must be a number"),
    ("[0, 2000]", "must be <= 1500"),
])
def test_bad_age_bands_are_refused_naming_the_key(value, message):
    with pytest.raises(UserError, match=message) as err:
        parse_protocol(MINIMAL + f"[statistics]\nage_bands_months = {value}\n", source="p.toml")
    assert "p.toml" in str(err.value) and "age_bands_months" in str(err.value)


def test_an_explicit_open_end_is_refused_with_a_hint():
    with pytest.raises(UserError) as err:
        parse_protocol(MINIMAL + "[statistics]\nage_bands_months = [0, 36, 72, 144, inf]\n")
    assert "open-ended" in (err.value.hint or "")


def test_nan_is_refused_for_any_number_key():
    # TOML accepts nan; a NaN threshold used to pass the range check
    with pytest.raises(UserError, match=r"'statistics\.threshold' must be a finite number"):
        parse_protocol(MINIMAL + "[statistics]\nthreshold = nan\n")


def test_unknown_padding_is_refused():
    with pytest.raises(UserError, match=r"'faces\.padding' must be one of 'grey', 'edge', "
                                        r"'reflect'"):
        parse_protocol(MINIMAL + '[faces]\npadding = "zero"\n')
