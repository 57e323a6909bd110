"""The repeat-read keys of [reading]: defaults, round trip and strict refusals."""

from __future__ import annotations

import re

import pytest

from wbsdesk.core.protocol import parse_protocol, protocol_from_dict
from wbsdesk.errors import UserError

MINIMAL = 'name = "x"\ntitle = "X"\n[groups]\nnames = ["a", "b"]\npositive = "a"\n'


def _reading(lines: str):
    return parse_protocol(MINIMAL + "[reading]\n" + lines + "\n", source="study.toml").reading


def test_no_repeats_by_default_and_the_keys_survive_the_stored_json():
    r = parse_protocol(MINIMAL).reading
    assert (r.repeat_fraction, r.repeat_min_gap) == (0.0, 20)
    p = parse_protocol(MINIMAL + "[reading]\nrepeat_fraction = 0.1\nrepeat_min_gap = 15\n")
    assert (p.reading.repeat_fraction, p.reading.repeat_min_gap) == (0.1, 15)
    assert protocol_from_dict(p.to_dict()) == p
    assert _reading("repeat_fraction = 0.5").repeat_fraction == 0.5
    assert _reading("repeat_fraction = 0").repeat_fraction == 0.0


@pytest.mark.parametrize(("line", "words"), [
    ("repeat_fraction = 0.6", "study.toml: 'reading.repeat_fraction' must be <= 0.5, got 0.6"),
    ("repeat_fraction = -0.1", "'reading.repeat_fraction' must be >= 0, got -0.1"),
    ('repeat_fraction = "10%"', "'reading.repeat_fraction' must be a number, got '10%'"),
    ("repeat_fraction = true", "'reading.repeat_fraction' must be a number, got True"),
    ("repeat_fraction = nan", "'reading.repeat_fraction' must be a finite number"),
    ("repeat_min_gap = 0", "'reading.repeat_min_gap' must be >= 1, got 0"),
    ("repeat_min_gap = 2.5", "'reading.repeat_min_gap' must be an integer, got 2.5"),
    ("repeat_fractions = 0.1", "unknown key 'reading.repeat_fractions' in [reading]"),
])
def test_wrong_values_name_the_file_and_the_key(line, words):
    with pytest.raises(UserError) as exc:
        _reading(line)
    assert words in exc.value.message
    assert exc.value.message.startswith("study.toml: ")


def test_repeats_in_an_aided_design_are_refused():
    with pytest.raises(UserError, match=re.escape(
            "'reading.repeat_fraction' needs design = \"blind\" (got 'sequential_aided')")):
        _reading('design = "sequential_aided"\nrepeat_fraction = 0.1')
    assert _reading('design = "crossover_aided"\nrepeat_fraction = 0').repeat_fraction == 0
