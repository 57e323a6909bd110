"""A JPEG's marker structure, checked without decoding it (pure bytes, no I/O).

libjpeg repairs damaged image data silently: a scan with flipped or missing bytes decodes to
a picture with grey or smeared blocks, and the only sign is a "Corrupt JPEG data" warning
that Pillow discards. :func:`jpeg_problem` catches the damage that shows in the file's
structure, before any decoder runs:

- every segment between the start and the end-of-image marker has a valid marker and a
  length that stays inside the file (a truncated file ends early);
- inside the entropy-coded image data, an ``0xFF`` byte is followed only by a stuffed
  ``0x00``, fill bytes or a restart marker; anything else there is a stray marker, which is
  what flipped, inverted or overwritten scan bytes produce (libjpeg's "premature end of
  data segment");
- restart markers come in their cyclic order ``RST0..RST7`` and, when the file declares a
  restart interval, there are exactly as many as the scan's MCU count requires.

Data after the end-of-image marker (phones append previews, depth maps or a second picture
there) is not examined. Damage that keeps the structure intact (a bit error that still
forms valid Huffman codes) can only be found by decoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["JpegLayout", "inspect_jpeg", "jpeg_problem"]

_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_LOSSLESS = frozenset({0xC3, 0xC7, 0xCB, 0xCF})
_SOS, _DRI, _EOI = 0xDA, 0xDD, 0xD9
# An 0xFF in entropy-coded data that is not a stuffed 0xFF00.
_NOT_STUFFED = re.compile(rb"\xff(?!\x00)")
_TRUNCATED = "the file ends before the JPEG end-of-image marker (truncated file)"


@dataclass(frozen=True)
class JpegLayout:
    """What :func:`inspect_jpeg` found.

    Attributes
    ----------
    problem : str or None
        Why the structure is damaged; ``None`` when it is intact.
    scan_ends : tuple of int
        Offset of the marker that ends each scan's entropy-coded data (one entry for a
        baseline JPEG, several for a progressive one).
    segments : tuple of (marker, start, end)
        Every marker segment from the start-of-image to the end-of-image marker, as byte
        ranges (fill bytes left out); a scan's segment includes its entropy-coded data.
        Complete only when ``problem`` is ``None``.
    """

    problem: str | None
    scan_ends: tuple[int, ...] = ()
    segments: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    sampling: dict[int, tuple[int, int]]
    lossless: bool

    @property
    def hmax(self) -> int:
        return max(h for h, _ in self.sampling.values())

    @property
    def vmax(self) -> int:
        return max(v for _, v in self.sampling.values())


def jpeg_problem(data: bytes) -> str | None:
    """Why a JPEG file's structure is damaged, or ``None`` when it is intact.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    str or None
        A reason a user can read (with the byte offset of the damage), or ``None``.

    Examples
    --------
    >>> jpeg_problem(b"\\xff\\xd8\\xff\\xd9")
    'the JPEG has no image data'
    >>> jpeg_problem(b"\\xff\\xd8\\xff\\xe0\\x00\\x04ab")
    'the file ends before the JPEG end-of-image marker (truncated file)'
    """
    return inspect_jpeg(data).problem


def inspect_jpeg(data: bytes) -> JpegLayout:
    """Walk a JPEG's markers and scans: the damage found, and where each scan ends.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    JpegLayout
    """
    ends: list[int] = []
    segments: list[tuple[int, int, int]] = []
    problem = _walk(data, ends, segments)
    return JpegLayout(problem, tuple(ends), tuple(segments))


def _walk(data: bytes, ends: list[int], segments: list[tuple[int, int, int]]) -> str | None:
    """The marker walk behind :func:`inspect_jpeg`, filling ``ends`` and ``segments``."""
    n = len(data)
    if data[:2] != b"\xff\xd8":
        return "the file does not start with a JPEG start-of-image marker"
    segments.append((0xD8, 0, 2))
    pos, frame, restart = 2, None, 0
    while True:
        if pos >= n:
            return _TRUNCATED
        if data[pos] != 0xFF:
            return f"unexpected bytes at offset {pos} where a JPEG marker belongs (corrupt file)"
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            return _TRUNCATED
        marker, at = data[pos], pos - 1
        pos += 1
        if marker == _EOI:
            segments.append((marker, at, pos))
            return None if frame is not None and ends else "the JPEG has no image data"
        if marker < 0xC0 or marker == 0xD8 or 0xD0 <= marker <= 0xD7:
            return f"misplaced JPEG marker 0xFF{marker:02X} at offset {at} (corrupt file)"
        if pos + 2 > n:
            return _TRUNCATED
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > n:
            return (f"the JPEG segment at offset {at} runs past the end of the file "
                    "(truncated or corrupt file)")
        segment = data[pos + 2:pos + length]
        pos += length
        if marker in _SOF:
            if frame is not None:
                return f"a second JPEG frame header at offset {at} (corrupt file)"
            frame = _parse_frame(marker, segment)
            if isinstance(frame, str):
                return f"{frame} at offset {at} (corrupt file)"
        elif marker == _DRI:
            if len(segment) < 2:
                return f"a broken restart-interval segment at offset {at} (corrupt file)"
            restart = int.from_bytes(segment[:2], "big")
        elif marker == _SOS:
            if frame is None:
                return f"JPEG image data at offset {at} comes before its frame header"
            mcus = _scan_mcus(frame, segment)
            if isinstance(mcus, str):
                return f"{mcus} at offset {at} (corrupt file)"
            pos, problem = _entropy_data(data, pos, restart, mcus)
            if problem:
                return problem
            ends.append(pos)
        segments.append((marker, at, pos))


def _parse_frame(marker: int, seg: bytes) -> _Frame | str:
    """The frame header's size and sampling factors, or why it is broken."""
    if len(seg) < 6 or len(seg) < 6 + 3 * seg[5] or seg[5] == 0:
        return "a broken JPEG frame header"
    height = int.from_bytes(seg[1:3], "big")
    width = int.from_bytes(seg[3:5], "big")
    sampling = {}
    for i in range(seg[5]):
        cid, hv = seg[6 + 3 * i], seg[7 + 3 * i]
        h, v = hv >> 4, hv & 0x0F
        if not (1 <= h <= 4 and 1 <= v <= 4):
            return "impossible JPEG sampling factors"
        sampling[cid] = (h, v)
    if width == 0:
        return "a JPEG frame of width 0"
    return _Frame(width, height, sampling, marker in _LOSSLESS)


def _scan_mcus(frame: _Frame, seg: bytes) -> int | str | None:
    """MCUs in a scan (None when unknown: lossless or height set later by DNL)."""
    if not seg or len(seg) < 1 + 2 * seg[0] or seg[0] == 0:
        return "a broken JPEG scan header"
    ids = [seg[1 + 2 * i] for i in range(seg[0])]
    if any(c not in frame.sampling for c in ids):
        return "a JPEG scan of a component the frame does not have"
    if frame.lossless or frame.height == 0:
        return None
    if len(ids) == 1:
        h, v = frame.sampling[ids[0]]
        cols = -(-frame.width * h // frame.hmax)
        rows = -(-frame.height * v // frame.vmax)
        return -(-cols // 8) * -(-rows // 8)
    return -(-frame.width // (8 * frame.hmax)) * -(-frame.height // (8 * frame.vmax))


def _entropy_data(data: bytes, pos: int, restart: int,
                  mcus: int | None) -> tuple[int, str | None]:
    """Walk one scan's entropy-coded data: (offset of the marker that ends it, problem)."""
    n = len(data)
    seen = 0
    while True:
        found = _NOT_STUFFED.search(data, pos)
        if found is None:
            return n, "the file ends inside the JPEG image data (truncated file)"
        at = found.start()
        j = at
        while j < n and data[j] == 0xFF:
            j += 1
        if j >= n:
            return n, "the file ends inside the JPEG image data (truncated file)"
        code = data[j]
        if code == 0x00:  # fill bytes before a stuffed 0xFF00
            pos = j + 1
            continue
        if 0xD0 <= code <= 0xD7:
            if not restart or code - 0xD0 != seen % 8:
                return at, (f"the JPEG image data is damaged at offset {at} (restart marker "
                            f"RST{code - 0xD0} out of place)")
            seen += 1
            pos = j + 1
            continue
        if code < 0xC0 or code == 0xD8:
            return at, (f"the JPEG image data is damaged at offset {at} (stray byte pair "
                        f"0xFF{code:02X}: corrupt scan data)")
        if restart and mcus is not None:
            expected = -(-mcus // restart) - 1
            if seen != expected:
                return at, (f"the JPEG image data is damaged: {seen} restart markers where "
                            f"{expected} belong (corrupt scan data)")
        return at, None
