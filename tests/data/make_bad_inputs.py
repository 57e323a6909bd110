"""A corpus of bad import inputs, generated (no binary blobs): photos and manifests.

Every case is one manifest (with a good row 2 and, for most cases, the bad row 3) and its
photo folder, written by :func:`make_case` into a folder the caller owns. The cases that
need a subject already in the study expect :data:`EXISTING` to be imported first (see
:func:`existing_manifest`). Each :class:`BadCase` says which words the refusal must contain
and which manifest row it must name.

Run it to write every case for a look by hand::

    python tests/data/make_bad_inputs.py OUT_DIR
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

GOOD_ROW = "G1,good.png,healthy"
HEADER = "subject_id,photo,group"
#: The subject every workspace of the corpus tests already holds (group wbs, one photo).
EXISTING = {"subject_id": "F1", "photo": "f.png", "group": "wbs"}
#: What an EPS's code would write if an interpreter ran it (it must never appear).
EPS_WITNESS = "ghostscript_ran.txt"


@dataclass(frozen=True)
class BadCase:
    """One bad input: how to write it, and what the refusal must say."""

    name: str
    write: Callable[[Path], str]   # writes the photo(s) into the folder; returns the CSV body
    words: str                     # words the problem's reason must contain
    row: int | None = 3            # manifest row the problem names (None: the whole file)
    names: str | None = "bad."     # text the message must contain besides the manifest name


def photo(seed: int = 0, size: tuple[int, int] = (160, 200)) -> Image.Image:
    """A small photo-like image: smooth gradients with mild noise (deterministic)."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(seed)
    base = np.stack([120 + 80 * np.sin(x / 23 + seed), 110 + 60 * np.cos(y / 31),
                     100 + 50 * np.sin((x + y) / 41)], axis=-1)
    noisy = base + rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def encoded(fmt: str, seed: int = 0, **kwargs: object) -> bytes:
    """:func:`photo` encoded in ``fmt`` by Pillow."""
    buffer = io.BytesIO()
    image = photo(seed)
    if fmt == "GIF":
        image = image.convert("P")
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def jpeg_with_flipped_scan_bytes() -> bytes:
    """A JPEG whose image data has 32 bytes inverted (0xFF ^ b) half-way through its scan.

    The marker structure stays intact and Pillow decodes it without an error into a damaged
    picture; libjpeg's "Corrupt JPEG data: extraneous bytes" warning is all there is, and
    Pillow hides it.
    """
    data = encoded("JPEG", seed=7, quality=90)
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")
    end = data.rindex(b"\xff\xd9")
    at = (start + end) // 2
    return data[:at] + bytes(b ^ 0xFF for b in data[at:at + 32]) + data[at + 32:]


def png_header_only(w: int, h: int) -> bytes:
    """A valid PNG header claiming ``w`` x ``h`` pixels, with almost no data (a bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b""))


def jpeg2000_corrupt() -> bytes:
    """A JPEG 2000 file with the second half of its codestream overwritten."""
    data = bytearray(encoded("JPEG2000"))
    half = len(data) // 2
    data[half:] = bytes((b * 7 + 3) & 0xFF for b in data[half:])
    return bytes(data)


def _file_case(file_name: str, content: Callable[[Path], bytes]) -> Callable[[Path], str]:
    """A case whose bad row 3 points at one generated file."""
    def write(folder: Path) -> str:
        (folder / file_name).write_bytes(content(folder))
        return f"{HEADER}\n{GOOD_ROW}\nB1,{file_name},wbs\n"
    return write


def _eps(folder: Path) -> bytes:
    witness = (folder / EPS_WITNESS).as_posix()
    return (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 120 160\n"
            + f"({witness}) (w) file dup (ran) writestring closefile\n".encode()
            + b"newpath 0 0 moveto 120 160 lineto stroke showpage\n%%EOF\n")


def _rows(body: str) -> Callable[[Path], str]:
    return lambda folder: body


def _symlink_loop(folder: Path) -> str:
    (folder / "loop").symlink_to(folder / "loop")
    return f"{HEADER}\n{GOOD_ROW}\nB1,loop/bad.png,wbs\n"


def _outside(folder: Path) -> str:
    photo(3).save(folder.parent / "outside.png")
    return f"{HEADER}\n{GOOD_ROW}\nB1,../outside.png,wbs\n"


def _second_photo(folder: Path) -> str:
    photo(11).save(folder / "bad.png")
    return f"{HEADER}\n{GOOD_ROW}\nF1,bad.png,wbs\n"


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "bad.jpg")  # opening it to read would wait for a writer for ever
    return f"{HEADER}\n{GOOD_ROW}\nB1,bad.jpg,wbs\n"


def _conflict(folder: Path) -> str:
    photo(12).save(folder / "bad.png")
    return f"{HEADER},primary\nG1,good.png,healthy,1\nG1,bad.png,wbs,0\n"


CASES: dict[str, BadCase] = {c.name: c for c in (
    BadCase("eps_named_jpg", _file_case("bad.jpg", _eps), "PostScript/EPS"),
    BadCase("pdf_named_jpg", _file_case("bad.jpg", lambda f: encoded("PDF")), "PDF"),
    BadCase("ppm_named_jpg", _file_case("bad.jpg", lambda f: encoded("PPM")), "Netpbm"),
    BadCase("tga_named_png", _file_case("bad.png", lambda f: encoded("TGA")), "TGA"),
    BadCase("ico_named_png", _file_case("bad.png", lambda f: encoded("ICO")), "ICO"),
    BadCase("gif_named_jpg", _file_case("bad.jpg", lambda f: encoded("GIF")), "GIF"),
    BadCase("svg_named_png", _file_case("bad.png", lambda f: b'<svg xmlns="http://www.w3.org'
                                        b'/2000/svg" width="9" height="9"/>\n'), "SVG"),
    BadCase("jpeg_flipped_scan_bytes",
            _file_case("bad.jpg", lambda f: jpeg_with_flipped_scan_bytes()), "damaged"),
    BadCase("jpeg_truncated", _file_case("bad.jpg", lambda f: encoded("JPEG")[:3000]),
            "truncated"),
    BadCase("png_truncated", _file_case("bad.png", lambda f: encoded("PNG")[:20000]),
            "truncated"),
    BadCase("zero_bytes", _file_case("bad.jpg", lambda f: b""), "empty (0 bytes)"),
    BadCase("jpeg2000_corrupt", _file_case("bad.jp2", lambda f: jpeg2000_corrupt()),
            "JPEG 2000"),
    BadCase("heic_stub", _file_case("bad.heic", lambda f: b"\x00\x00\x00\x18ftypheic\x00\x00"
                                    b"\x00\x00mif1heic" + bytes(range(256)) * 2),
            "convert it to JPEG"),
    BadCase("bomb_header_only", _file_case("bad.png", lambda f: png_header_only(60000, 60000)),
            "decompression bomb"),
    BadCase("text_named_jpg", _file_case("bad.jpg", lambda f: b"notes, not a photo\n" * 30),
            "not an image format"),
    BadCase("unterminated_quote",
            _rows(f'{HEADER},diagnosis\nG1,good.png,healthy,none\nB1,bad.png,wbs,"Williams\n'
                  'B2,b2.png,healthy,none\n'), "unterminated quote", names=None),
    BadCase("nul_in_subject_id", _rows(f"{HEADER}\n{GOOD_ROW}\nB\x001,good.png,wbs\n"),
            "NUL", names=None),
    BadCase("nul_in_photo_path", _rows(f"{HEADER}\n{GOOD_ROW}\nB1,bad\x00.png,wbs\n"),
            "NUL", names=None),
    BadCase("commas_only", _rows(",,,\n,,,\n,,,\n"), "no column names", row=1,
            names=None),
    BadCase("symlink_loop", _symlink_loop, "symbolic link", names="loop/bad.png"),
    BadCase("overlong_path", _rows(f"{HEADER}\n{GOOD_ROW}\nB1,{'d' * 300}/{'n' * 5000}.png,"
                                   "wbs\n"), "too long", names=None),
    BadCase("path_escaping_folder", _outside, "outside the photos folder",
            names="../outside.png"),
    BadCase("unknown_group", _rows(f"{HEADER}\n{GOOD_ROW}\nB1,good.png,noonan\n"),
            "unknown group 'noonan'", names=None),
    BadCase("duplicate_subject_conflict", _conflict, "disagrees with row 2", names=None),
    BadCase("second_photo_without_primary", _second_photo, "already has a photo", row=3),
    *([BadCase("fifo_named_jpg", _fifo, "not a regular file (a named pipe")]
      if hasattr(os, "mkfifo") else []),
)}


def existing_manifest(folder: Path) -> Path:
    """Write the manifest and photo of :data:`EXISTING` into ``folder``; returns the CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    photo(500).save(folder / EXISTING["photo"])
    manifest = folder / "existing.csv"
    manifest.write_text(f"{HEADER}\n{EXISTING['subject_id']},{EXISTING['photo']},"
                        f"{EXISTING['group']}\n", encoding="utf-8")
    return manifest


def make_case(name: str, folder: Path) -> Path:
    """Write case ``name`` into ``folder`` (its photos next to its manifest); the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    photo(501).save(folder / "good.png")
    body = CASES[name].write(folder)
    manifest = folder / "manifest.csv"
    manifest.write_bytes(body.encode("utf-8"))
    return manifest


def main(argv: list[str]) -> int:
    """Write every case under ``argv[0]`` (one folder per case)."""
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    for name in CASES:
        make_case(name, out / name)
    existing_manifest(out / "_existing")
    print(f"wrote {len(CASES)} cases under {os.fspath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
