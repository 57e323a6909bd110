"""How many damaged JPEGs the import refuses, measured against libjpeg's own warnings.

Pillow discards libjpeg's "Corrupt JPEG data" warnings; Qt's JPEG reader prints them, so
this script (outside the package, free to use Qt) takes them as the ground truth. It damages
the scan data of baseline portrait JPEGs in six ways (a run of 64, 4 or 1 bytes inverted,
one bit flipped, 32 byte pairs swapped, 16 bytes overwritten at random), five copies each,
and prints one JSON line per kind: how many copies libjpeg warns about, how many
:func:`wbsdesk.ml.image_io.open_image` (``strict=True``) refuses, and the disagreements.
It also counts intact files that are refused (false alarms, goal 0).

Usage: ``python benchmarks/jpeg_damage.py [--portraits DIR] [--limit N]``
Exits 2 with a message when the portraits are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QBuffer, QByteArray, qInstallMessageHandler  # noqa: E402
from PySide6.QtGui import QImageReader  # noqa: E402

from wbsdesk.core.jpeg_structure import inspect_jpeg  # noqa: E402
from wbsdesk.errors import UserError  # noqa: E402
from wbsdesk.ml.image_io import open_image  # noqa: E402

_MESSAGES: list[str] = []
# Qt's own colour-profile messages (about the files' ICC profiles, not their image data).
_QT_ICC = ("fromIccProfile", "Invalid curv", "QColorSpace", "QIcc")


def libjpeg_warns(data: bytes) -> bool:
    """Whether libjpeg (through Qt) warns about or fails on ``data``."""
    _MESSAGES.clear()
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QBuffer.OpenModeFlag.ReadOnly)
    image = QImageReader(buffer, b"jpeg").read()
    return image.isNull() or any(not m.startswith(_QT_ICC) for m in _MESSAGES)


def refused(data: bytes) -> bool:
    """Whether the import's decode refuses ``data``."""
    try:
        open_image(data, strict=True).close()
    except UserError:
        return True
    return False


def _invert(data: bytes, at: int, n: int) -> bytes:
    return data[:at] + bytes(b ^ 0xFF for b in data[at:at + n]) + data[at + n:]


def _swap(data: bytes, at: int, n: int) -> bytes:
    body = b"".join(data[i + 1:i + 2] + data[i:i + 1] for i in range(at, at + n, 2))
    return data[:at] + body + data[at + n:]


KINDS = {
    "invert_64_bytes": lambda d, at, rng: _invert(d, at, 64),
    "invert_4_bytes": lambda d, at, rng: _invert(d, at, 4),
    "invert_1_byte": lambda d, at, rng: _invert(d, at, 1),
    "flip_1_bit": lambda d, at, rng: d[:at] + bytes([d[at] ^ (1 << rng.randrange(8))])
    + d[at + 1:],
    "swap_32_pairs": lambda d, at, rng: _swap(d, at, 64),
    "overwrite_16_bytes": lambda d, at, rng: d[:at] + rng.randbytes(16) + d[at + 16:],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--portraits", type=Path, default=REPO.parent / "shared" / "data"
                    / "portraits" / "photos")
    ap.add_argument("--limit", type=int, default=60, help="photos to damage (default 60)")
    args = ap.parse_args()
    files = sorted(args.portraits.glob("*.jpg"))
    if not files:
        print(f"no portraits in {args.portraits}", file=sys.stderr)
        return 2
    qInstallMessageHandler(lambda mode, ctx, msg: _MESSAGES.append(msg))
    baseline = []
    for f in files:
        data = f.read_bytes()
        if len(inspect_jpeg(data).scan_ends) == 1:
            baseline.append(data)
    false_alarms = sum(refused(d) for d in baseline)
    print(json.dumps({"intact_baseline_files": len(baseline), "refused": false_alarms}))
    rng = random.Random(3)
    for kind, damage in KINDS.items():
        n = warned = caught = missed = extra = 0
        for data in baseline[:args.limit]:
            start = data.find(b"\xff\xda")
            start += 2 + int.from_bytes(data[start + 2:start + 4], "big")
            end = inspect_jpeg(data).scan_ends[0]
            for _ in range(5):
                bad = damage(data, rng.randrange(start, end - 64), rng)
                if bad == data:
                    continue
                w, r = libjpeg_warns(bad), refused(bad)
                n, warned, caught = n + 1, warned + w, caught + r
                missed += w and not r
                extra += r and not w
        print(json.dumps({"damage": kind, "copies": n, "libjpeg_warns": warned,
                          "refused": caught, "warned_not_refused": missed,
                          "refused_not_warned": extra}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
