"""The aided-reading keys of [reading]: defaults, round trip and strict refusals."""

from __future__ import annotations

import pytest

from wbsdesk.core.protocol import parse_protocol, protocol_from_dict
from wbsdesk.errors import UserError

MINIMAL = 'name = "x"\ntitle = "X"\n[groups]\nnames = ["a", "b"]\npositive = "a"\n'


def _reading(lines: str):
    return parse_protocol(MINIMAL + "[reading]\n" + lines + "\n", source="study.toml")


def test_todays_behaviour_is_the_default():
    r = parse_protocol(MINIMAL).reading
    assert r.design == "blind" and not r.aided
    assert r.aid == ("probability", "heatmap") and r.aid_model == "ensemble"
    assert r.aided_seconds is None and r.aided_display_seconds == r.seconds_per_photo == 10.0


def test_aided_keys_are_read_and_survive_the_stored_json():
    p = parse_protocol(MINIMAL + '[training]\narchitectures = ["resnet18", "vgg16"]\n'
                       '[reading]\ndesign = "crossover_aided"\naid = ["heatmap"]\n'
                       'aid_model = "vgg16"\naided_seconds = 15\nwashout_days = 14\n'
                       "seconds_per_photo = 8\n")
    r = p.reading
    assert (r.design, r.aid, r.aid_model, r.aided_seconds, r.washout_days) == (
        "crossover_aided", ("heatmap",), "vgg16", 15.0, 14.0)
    assert r.aided and r.aided_display_seconds == 15.0
    assert protocol_from_dict(p.to_dict()) == p
    unset = parse_protocol(MINIMAL + '[reading]\ndesign = "sequential_aided"\n')
    assert protocol_from_dict(unset.to_dict()).reading.aided_seconds is None


@pytest.mark.parametrize(("line", "words"), [
    ('design = "aided"', "'reading.design' must be one of 'blind', 'sequential_aided'"),
    ("aid = []", "'reading.aid' must not be empty"),
    ('aid = ["probabilities"]', "'reading.aid[0]' must be one of 'probability', 'heatmap'"),
    ('aid = "heatmap"', "'reading.aid' must be a list"),
    ('aid = ["heatmap", "heatmap"]', "'reading.aid' lists 'heatmap' twice"),
    ('aid_model = "resnet99"', "'reading.aid_model' = 'resnet99' is neither"),
    ("aided_seconds = 0", "'reading.aided_seconds' must be >= 0.05, got 0.0"),
    ('aided_seconds = "10"', "'reading.aided_seconds' must be a number"),
    ("aided_seconds = nan", "'reading.aided_seconds' must be a finite number"),
    ("washout_days = -1", "'reading.washout_days' must be >= 0"),
    ("washout_days = true", "'reading.washout_days' must be a number"),
    ("washout = 28", "unknown key 'reading.washout' in [reading]"),
])
def test_a_wrong_aided_key_names_the_file_and_the_key(line, words):
    with pytest.raises(UserError) as err:
        _reading(line)
    assert err.value.message.startswith("study.toml: ")
    assert words in err.value.message
