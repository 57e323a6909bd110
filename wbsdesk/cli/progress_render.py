"""Progress on the terminal and in log files, from typed reports (no text is parsed).

On a terminal a report replaces the line before it. When stderr is a file (``wbsdesk train
NAME 2> train.log``, a scheduler's log) a carriage-return bar is unreadable, so reports
become whole lines instead: for training one line per epoch per unit plus one per unit
that finishes or fails (:class:`TrainProgress`); for counted work such as alignment a line
every few seconds and at the end (:class:`CountProgress`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

import click

from wbsdesk.core.jobs import Progress

__all__ = ["CountProgress", "TrainProgress"]


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Printer:
    def __init__(self, stream: IO[str] | None, tty: bool | None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _is_tty(self.stream) if tty is None else tty
        self._live = 0

    def live(self, text: str) -> None:
        """A line that the next one replaces (terminal only)."""
        width = max(self._live, len(text))
        click.echo("\r" + text.ljust(width), file=self.stream, nl=False)
        self._live = len(text)

    def line(self, text: str) -> None:
        """A line that stays."""
        if self.tty and self._live:
            click.echo("\r" + " " * self._live + "\r", file=self.stream, nl=False)
            self._live = 0
        click.echo(text, file=self.stream)

    def close(self) -> None:
        if self.tty and self._live:
            click.echo("", file=self.stream)
            self._live = 0


class TrainProgress(_Printer):
    """Renders training reports (their :class:`~wbsdesk.core.train_events.TrainEvent`).

    Parameters
    ----------
    stream : file, optional
        Default stderr.
    tty : bool, optional
        Whether to draw a live line (default: whether ``stream`` is a terminal).
    """

    def __init__(self, stream: IO[str] | None = None, *, tty: bool | None = None) -> None:
        super().__init__(stream, tty)
        self._stage = ""

    def __call__(self, p: Progress) -> None:
        ev = p.event
        if ev is None:
            if p.message:
                self.line(p.message)
            return
        pct = f"{100 * p.fraction:5.1f} %"
        if ev.arch is None:
            if ev.stage != self._stage:
                self._stage = ev.stage
                if ev.stage != "done":
                    self.line(f"[{pct}] {ev.where()}")
            return
        if ev.unit_changed or ev.epoch_ended:
            where = ev.where() + (f" · loss {ev.loss:.4f}" if ev.loss is not None else "")
            if ev.state == "failed":
                where += f": {ev.detail}"
            if ev.unit_changed:
                where += f" ({ev.units_done} of {ev.units_total} units done)"
            if ev.worker:
                where += f" [{ev.worker}]"
            if self.tty and ev.epoch_ended and not ev.unit_changed:
                self.live(f"[{pct}] {where} · {ev.eta_text()}")
            else:
                self.line(f"[{pct}] {where} · {ev.eta_text()}")
        elif self.tty:
            self.live(f"[{pct}] {ev.where()} · batch {ev.step} of {ev.steps} · "
                      f"{ev.eta_text()}")


class CountProgress(_Printer):
    """Renders counted work (``done`` of ``total``) as ``label: 40 of 120 (33 %)``: live on
    a terminal; in a file at most every ``every_s`` seconds, and the last report."""

    def __init__(self, label: str, stream: IO[str] | None = None, *, tty: bool | None = None,
                 every_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(stream, tty)
        self.label = label
        self._every = every_s
        self._clock = clock
        self._last = float("-inf")
        self._t0 = clock()
        self._done: Any = None

    def __call__(self, p: Progress) -> None:
        if (p.done, p.total) == self._done:
            return
        self._done = (p.done, p.total)
        pct = f" ({100 * p.fraction:.0f} %)" if p.total else ""
        text = f"{self.label}: {p.done} of {p.total}{pct} · {self._clock() - self._t0:.0f} s"
        if self.tty:
            self.live(text)
            return
        now = self._clock()
        if (p.total and p.done >= p.total) or now - self._last >= self._every:
            self._last = now
            self.line(text)

    def __enter__(self) -> CountProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
