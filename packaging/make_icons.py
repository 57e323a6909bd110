"""Draw the wbsdesk application icon and write it as PNG, ICO and ICNS into ``resources/``.

Run it once after changing the drawing; the small icon files it writes are committed::

    .venv/bin/python packaging/make_icons.py

The icon is a plain flat drawing (a face outline on a rounded blue square), made with Pillow
so that no image editor or downloaded artwork is needed.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from PIL import Image, ImageDraw

log = logging.getLogger("make_icons")

#: Drawing size; every icon file is scaled down from it.
CANVAS = 1024
BACKGROUND = (38, 92, 160, 255)
FACE = (250, 236, 220, 255)
INK = (30, 40, 60, 255)
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def draw_icon(size: int = CANVAS) -> Image.Image:
    """Draw the icon on a transparent square canvas.

    Parameters
    ----------
    size : int
        Width and height in pixels.

    Returns
    -------
    PIL.Image.Image
        An RGBA image.
    """
    s = size / CANVAS
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((40 * s, 40 * s, 984 * s, 984 * s), radius=200 * s, fill=BACKGROUND)
    d.ellipse((262 * s, 170 * s, 762 * s, 830 * s), fill=FACE)  # face
    for cx in (410, 614):  # eyes
        d.ellipse(((cx - 38) * s, 400 * s, (cx + 38) * s, 476 * s), fill=INK)
    d.line((512 * s, 470 * s, 490 * s, 590 * s, 540 * s, 600 * s), fill=INK,
           width=round(22 * s), joint="curve")  # nose
    d.arc((392 * s, 560 * s, 632 * s, 720 * s), start=20, end=160, fill=INK,
          width=round(26 * s))  # smile
    # a small bar chart in the corner: the reader-study comparison
    for i, h in enumerate((120, 200, 160)):
        x = (700 + i * 70) * s
        d.rectangle((x, (900 - h) * s, x + 50 * s, 900 * s), fill=(255, 196, 64, 255))
    return im


def write_icons(out_dir: Path) -> list[Path]:
    """Write ``wbsdesk.png`` (256 px), ``wbsdesk.ico`` and, if Pillow can, ``wbsdesk.icns``.

    Parameters
    ----------
    out_dir : pathlib.Path
        Target folder (created if needed).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    big = draw_icon()
    written = []
    png = out_dir / "wbsdesk.png"
    big.resize((256, 256), Image.LANCZOS).save(png, optimize=True)
    written.append(png)
    ico = out_dir / "wbsdesk.ico"
    big.save(ico, sizes=ICO_SIZES)
    written.append(ico)
    Image.init()
    if "ICNS" in Image.SAVE:
        icns = out_dir / "wbsdesk.icns"
        big.resize((512, 512), Image.LANCZOS).save(icns)
        written.append(icns)
    else:
        log.warning("this Pillow cannot write .icns; the macOS build will use the PNG")
    for p in written:
        log.info("wrote %s (%d bytes)", p, p.stat().st_size)
    return written


def main() -> None:
    """Command-line entry: ``make_icons.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "resources")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_icons(args.out)


if __name__ == "__main__":
    main()
