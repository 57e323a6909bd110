"""How numbers are written for people: the one formatting module of every table and message.

The dashboard's tables, the HTML and PDF report, the command line and the Reader screen all
write numbers with these functions, so a value reads the same everywhere:

* :func:`fmt_number` -- fixed decimals, never ``-0.000`` (a value that rounds to zero has
  no sign);
* :func:`fmt_signed` -- a difference with its sign (``+0.012``, ``-0.034``, ``0.000``);
* :func:`fmt_percent` -- a fraction as a percentage (``0.8235`` -> ``82.4``);
* :func:`fmt_ci` -- an interval, ``lo to hi`` (no brackets, so a negative bound stays
  readable);
* :func:`fmt_estimate` -- a value with its interval, ``82.4 (77.6 to 85.9)``;
* :func:`fmt_mean_sd` -- ``mean ± SD``, with ``(k/K)`` when only k of K values are defined;
* :func:`fmt_p` -- a p-value, ``<0.001`` below 0.001;
* :func:`fmt_count`, :func:`fmt_flag` (``YES`` or empty);
* :func:`fmt_duration` (exact: ``12 min 05 s``) and :func:`fmt_rough_duration` (an
  estimate: ``about 12 min``).

An undefined value (NaN) is :data:`NA` (``"n/a"``); a value that does not apply (``None``)
is empty. Pure functions; no I/O.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["NA", "fmt_ci", "fmt_count", "fmt_duration", "fmt_estimate", "fmt_flag",
           "fmt_mean_sd", "fmt_number", "fmt_p", "fmt_percent", "fmt_rough_duration",
           "fmt_signed", "is_missing"]

#: How an undefined value (NaN) is written.
NA = "n/a"
#: p-values below this are written ``<0.001``.
P_FLOOR = 0.001


def is_missing(x: Any) -> bool:
    """Whether ``x`` is ``None`` or a float that is not finite (NaN, inf).

    Examples
    --------
    >>> is_missing(None), is_missing(float("nan")), is_missing(0.0), is_missing(3)
    (True, True, False, False)
    """
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _blank(x: Any) -> str | None:
    """``""`` for None (does not apply), :data:`NA` for NaN, else None (format it)."""
    if x is None:
        return ""
    return NA if is_missing(x) else None


def fmt_number(x: float | None, decimals: int = 3) -> str:
    """A number with ``decimals`` decimals; a value that rounds to zero has no sign.

    Examples
    --------
    >>> fmt_number(0.12345), fmt_number(-0.0001), fmt_number(2.5, 1), fmt_number(float("nan"))
    ('0.123', '0.000', '2.5', 'n/a')
    >>> fmt_number(None)
    ''
    """
    blank = _blank(x)
    if blank is not None:
        return blank
    text = f"{float(x):.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt_signed(x: float | None, decimals: int = 3) -> str:
    """A difference with an explicit sign; zero (after rounding) has none.

    Examples
    --------
    >>> fmt_signed(0.0123), fmt_signed(-0.0345), fmt_signed(-0.0001)
    ('+0.012', '-0.035', '0.000')
    """
    text = fmt_number(x, decimals)
    if text in ("", NA) or float(text) == 0:
        return text
    return text if text.startswith("-") else "+" + text


def fmt_percent(x: float | None, decimals: int = 1) -> str:
    """A fraction written as a percentage (without the ``%`` sign, which the header carries).

    Examples
    --------
    >>> fmt_percent(0.82352), fmt_percent(1.0), fmt_percent(float("nan"))
    ('82.4', '100.0', 'n/a')
    """
    blank = _blank(x)
    return blank if blank is not None else fmt_number(100.0 * float(x), decimals)


def _scaled(x: float | None, decimals: int, percent: bool) -> str:
    return fmt_percent(x, decimals) if percent else fmt_number(x, decimals)


def fmt_ci(low: float | None, high: float | None, decimals: int = 3, *,
           percent: bool = False) -> str:
    """A confidence interval ``low to high``; :data:`NA` if either end is undefined.

    Examples
    --------
    >>> fmt_ci(-0.0004, 0.1234), fmt_ci(0.776, 0.859, 1, percent=True)
    ('0.000 to 0.123', '77.6 to 85.9')
    >>> fmt_ci(float("nan"), 0.2)
    'n/a'
    """
    if low is None and high is None:
        return ""
    if is_missing(low) or is_missing(high):
        return NA
    return f"{_scaled(low, decimals, percent)} to {_scaled(high, decimals, percent)}"


def fmt_estimate(value: float | None, low: float | None, high: float | None,
                 decimals: int = 3, *, percent: bool = False) -> str:
    """A value and its interval, ``value (low to high)``; the value alone without one.

    Examples
    --------
    >>> fmt_estimate(0.8235, 0.776, 0.859, 1, percent=True)
    '82.3 (77.6 to 85.9)'
    >>> fmt_estimate(0.5, None, None), fmt_estimate(float("nan"), float("nan"), float("nan"))
    ('0.500', 'n/a')
    """
    text = _scaled(value, decimals, percent)
    if text in ("", NA) or is_missing(low) or is_missing(high):
        return text
    return f"{text} ({fmt_ci(low, high, decimals, percent=percent)})"


def fmt_mean_sd(mean: float | None, sd: float | None, decimals: int = 1, *,
                percent: bool = False, n: int | None = None, of: int | None = None) -> str:
    """``mean ± SD``; ``(n/of)`` follows when only ``n`` of ``of`` values were defined.

    Examples
    --------
    >>> fmt_mean_sd(0.863, 0.049, percent=True)
    '86.3 ± 4.9'
    >>> fmt_mean_sd(0.72, float("nan"), percent=True, n=1, of=5)
    '72.0 ± n/a (1/5)'
    >>> fmt_mean_sd(float("nan"), float("nan"), n=0, of=5)
    'n/a'
    """
    if mean is None:
        return ""
    if is_missing(mean):
        return NA
    text = f"{_scaled(mean, decimals, percent)} ± {_scaled(sd, decimals, percent) or NA}"
    if n is not None and of is not None and n < of:
        text += f" ({n}/{of})"
    return text


def fmt_p(p: float | None) -> str:
    """A p-value with three decimals, ``<0.001`` below 0.001.

    Examples
    --------
    >>> fmt_p(0.04321), fmt_p(0.0002), fmt_p(1.0), fmt_p(float("nan"))
    ('0.043', '<0.001', '1.000', 'n/a')
    """
    blank = _blank(p)
    if blank is not None:
        return blank
    return f"<{P_FLOOR:g}" if float(p) < P_FLOOR else f"{float(p):.3f}"


def fmt_count(n: Any) -> str:
    """A whole count (a float count without its ``.0``).

    Examples
    --------
    >>> fmt_count(12), fmt_count(3.0), fmt_count(float("nan")), fmt_count(None)
    ('12', '3', 'n/a', '')
    """
    blank = _blank(n)
    if blank is not None:
        return blank
    return str(int(n)) if float(n) == int(n) else f"{float(n):g}"


def fmt_flag(flag: Any) -> str:
    """A raised flag is ``YES``; a lowered one (or None) is empty, so raised ones stand out.

    Examples
    --------
    >>> fmt_flag(True), fmt_flag(False), fmt_flag(None)
    ('YES', '', '')
    """
    return "YES" if flag else ""


def fmt_duration(seconds: float | None) -> str:
    """An exact duration: ``1 h 02 min``, ``12 min 05 s`` or ``42 s``.

    Examples
    --------
    >>> fmt_duration(42.4), fmt_duration(725), fmt_duration(3720)
    ('42 s', '12 min 05 s', '1 h 02 min')
    """
    blank = _blank(seconds)
    if blank is not None:
        return blank
    s = round(float(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def fmt_rough_duration(seconds: float) -> str:
    """A rough duration for an estimate (``about 12 min``).

    Examples
    --------
    >>> fmt_rough_duration(40), fmt_rough_duration(725), fmt_rough_duration(3 * 3600 + 1500)
    ('under a minute', 'about 12 min', 'about 3 h 25 min')
    """
    if not math.isfinite(seconds):
        return "unknown"
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    if minutes < 48 * 60:
        return f"about {minutes // 60} h {minutes % 60:02d} min"
    return f"about {round(minutes / 1440)} days"
