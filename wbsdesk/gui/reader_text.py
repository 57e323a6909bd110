"""What the reading screen says: the rules on the start page, the answer cue, the countdown.

Plain functions of the protocol's reading rules and the session's counts, so every sentence a
reader sees is tested against the rules the session really follows (no Qt here).
"""

from __future__ import annotations

import math

from wbsdesk.core.formatting import fmt_duration
from wbsdesk.core.protocol import Reading

#: How long "No answer recorded" stays on the grey screen before the next photo (ms).
NO_ANSWER_NOTICE_MS = 1500


def no_answer_notice_ms(reading: Reading) -> int:
    """How long the "no answer" notice stays: 1.5 s, never longer than a photo's display."""
    return min(NO_ANSWER_NOTICE_MS, round(1000 * reading.seconds_per_photo))


def _seconds(value: float) -> str:
    return f"{value:g} second" + ("" if value == 1 else "s")


def _photos(n: int) -> str:
    return f"{n} photo" + ("" if n == 1 else "s")


def instructions(reading: Reading, *, scored_left: int, practice_left: int,
                 resumed: bool) -> list[str]:
    """The start page's paragraphs: the rules this session follows, in the reader's words.

    Parameters
    ----------
    reading : Reading
        The protocol's reading rules.
    scored_left, practice_left : int, keyword-only
        Photos still to read that count, and practice photos still to read.
    resumed : bool, keyword-only
        The session continues after an interruption.

    Returns
    -------
    list of str
        One paragraph per rule.

    Examples
    --------
    >>> from wbsdesk.core.protocol import Reading
    >>> instructions(Reading(), scored_left=3, practice_left=0, resumed=False)[1]
    'Each photo is shown for exactly 10 seconds, whatever you do.'
    """
    n_keys = len(reading.scale)
    shown = reading.seconds_per_photo
    window = reading.response_window_seconds
    total = scored_left + practice_left
    least = total * shown
    count = f"{_photos(scored_left)} to read"
    if practice_left:
        count = (f"{_photos(practice_left)} for practice first (they do not count), "
                 f"then {count}")
    first = f"Still to do: {count}" if resumed else count[0].upper() + count[1:]
    lines = [f"{first}. This takes at least {fmt_duration(least)}, plus the time you take to "
             "answer after a photo has turned grey.",
             f"Each photo is shown for exactly {_seconds(shown)}, whatever you do."]
    if window > 0:
        lines.append(f"Then the photo turns grey and you have {_seconds(window)} more to "
                     "answer. With no answer by then, none is recorded for that photo and "
                     "the next photo follows.")
    else:
        lines.append("Then the photo turns grey. Answer while it is shown: an answer after "
                     "that is not recorded.")
    lines += [f"Answer with the keys 1–{n_keys} or a click, during the photo or once it is "
              "grey. Your first answer is recorded the moment you give it and cannot be "
              "changed. There is no feedback on whether it was right.",
              "An answer given during the photo does not shorten it: the next photo comes "
              "when the display time is over. An answer on the grey screen brings the next "
              "photo at once.",
              "P pauses after the current photo. Esc stops; you can resume later."]
    if resumed:
        lines.insert(0, "The session continues where it stopped.")
    return lines


def answer_cue(reading: Reading, rating: int) -> str:
    """The visible confirmation after an answer, e.g. ``Answer recorded: 4 · Probably``."""
    return f"Answer recorded:  {rating} · {reading.scale[rating - 1]}"


def countdown(seconds_left: float) -> str:
    """What the grey screen says while it waits for an answer: ``Answer now · 17 s left``."""
    return f"Answer now  ·  {max(0, math.ceil(seconds_left - 1e-6))} s left"


NO_ANSWER = "No answer recorded for that photo"


# ---------------------------------------------------------------------------------------------
# Aided reading (sequential and crossover designs)

#: The part label of a sequential session's two views.
BLIND_PART = "First look: on your own"
AIDED_PART = "Second look: with the model"


def aided_instructions(reading: Reading, *, mode: str, shows: tuple[str, ...],
                       positive_label: str) -> list[str]:
    """The start page's extra paragraphs of an aided session.

    Parameters
    ----------
    reading : Reading
    mode : {"sequential", "aided", "unaided"}
    shows : tuple of str
        The protocol's ``aid`` (``probability``, ``heatmap``).
    positive_label : str
        The positive group's display name.

    Examples
    --------
    >>> from wbsdesk.core.protocol import Reading
    >>> aided_instructions(Reading(design="sequential_aided"), mode="sequential",
    ...                    shows=("probability",), positive_label="WBS")[0][:47]
    'Each photo is read twice. First on your own, as'
    """
    what = []
    if "probability" in shows:
        what.append(f"the model's estimate of how likely {positive_label} is (a number from "
                    "0 to 1 and a bar)")
    if "heatmap" in shows:
        what.append("its heatmap of where it looked (H shows and hides it)")
    aid = " and ".join(what)
    secs = _seconds(reading.aided_display_seconds)
    if mode == "sequential":
        return [f"Each photo is read twice. First on your own, as described above. Your "
                f"answer is then recorded and locked: it cannot be changed. Then the same "
                f"photo comes back for {secs} with {aid}, your first answer beside it, and "
                "you answer again on the same scale, with the same answer time.",
                "The model can be wrong. Give your own judgement in both answers."]
    if mode == "aided":
        return [f"In this session each photo is shown for {secs} with {aid}.",
                "The model can be wrong. Give your own judgement."]
    return ["In this session the photos are shown on their own, without the model."]


def locked_answer(reading: Reading, rating: int | None) -> str:
    """The aided view's reminder of the locked first answer."""
    if rating is None:
        return "Your first answer (locked):  none recorded"
    return f"Your first answer (locked):  {rating} · {reading.scale[rating - 1]}"


def model_estimate(score: float, positive_label: str) -> str:
    """The probability as a number: ``Model: 0.91 for Williams-Beuren syndrome``."""
    return f"Model:  {score:.2f}  for {positive_label}"


def heatmap_hint(on: bool) -> str:
    """What the aided view says about the heatmap key."""
    return "H: hide the heatmap" if on else "H: show the heatmap"
