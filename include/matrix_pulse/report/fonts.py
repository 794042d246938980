"""Explicit CJK font discovery for charts (matplotlib) and the PDF (headless Chromium).

Without a CJK font matplotlib draws empty boxes and the browser silently falls back to a
font without Chinese glyphs, so a pack would go out unreadable. We fail loudly instead.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

# Simplified-Chinese face first: the .ttc holds JP/KR/SC/TC faces and the JP forms of
# some characters look wrong to a mainland reader.
PREFERRED_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Noto Sans CJK JP", "Source Han Sans SC")
INSTALL_HINT = (
    "No CJK font found (looked for Noto Sans CJK via matplotlib's font manager / fontconfig). "
    "Install it with: apt-get install -y fonts-noto-cjk  (scripts/setup.sh does this when run as root)"
)


class CJKFontMissing(RuntimeError):
    """Raised when no font able to draw Chinese is installed."""


@dataclass(frozen=True)
class CJKFont:
    family: str
    path: Path


@functools.cache
def find_cjk_font() -> CJKFont:
    """The installed CJK sans family and its file; raise CJKFontMissing with the fix if none."""
    from matplotlib import font_manager

    def regular_faces() -> dict[str, Path]:
        # The regular weight: the family's bold file is derived from it for the PDF.
        faces: dict[str, Path] = {}
        for entry in font_manager.fontManager.ttflist:
            if entry.weight in (400, "normal", "regular", "book"):
                faces.setdefault(entry.name, Path(entry.fname))
        return faces

    by_family = regular_faces()
    if not any(name in by_family for name in PREFERRED_FAMILIES):
        # The cache may predate the font install: rebuild once before giving up.
        font_manager._load_fontmanager(try_read_cache=False)
        by_family = regular_faces()
    for name in PREFERRED_FAMILIES:
        if name in by_family:
            return CJKFont(family=name, path=by_family[name])
    raise CJKFontMissing(INSTALL_HINT)


def configure_matplotlib() -> CJKFont:
    """Point matplotlib at the CJK family (and keep minus signs drawable in that font)."""
    import matplotlib

    font = find_cjk_font()
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [font.family, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return font


# --- PDF fonts ---------------------------------------------------------------------------
# The PDF's @font-face files, cut once per machine and cached: a GB2312 subset (6,763 hanzi +
# ASCII + punctuation: every character of a Chinese business report) of the SC face, so the
# browser loads and sanitises ~2 MB per face instead of the 20 MB collection for every pack.
# The CSS lists the full system family after it, so a rare character outside GB2312 still
# renders (per-glyph fallback). The subset's CFF outlines are converted to TrueType (quadratic)
# ones: Chromium's PDF backend writes CFF-outline web fonts as Type 3 fonts (a path per glyph,
# ~60 font objects a pack, a larger file, thin text in poppler), TrueType ones as an embedded,
# subsetted CID font.
PDF_SUBSET_FAMILY = "MP Noto Sans SC"
_EXTRA_CHARS = "▲▼·¥—–…“”‘’、。，：；！？（）【】《》％＋－～→←↑↓●○■□★☆✓✗°×÷±≥≤≠≈·•"


def _gb2312_chars() -> str:
    chars = [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xA0, 0x100)]
    for b1 in range(0xA1, 0xF8):
        for b2 in range(0xA1, 0xFF):
            try:
                chars.append(bytes([b1, b2]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars) + _EXTRA_CHARS


def font_cache_dir() -> Path:
    from matrix_pulse.settings import get_settings

    return get_settings().font_cache_dir


def _face_index(path: Path, family: str) -> int:
    from fontTools.ttLib import TTCollection

    if path.suffix.lower() != ".ttc":
        return 0
    coll = TTCollection(str(path), lazy=True)
    for i, face in enumerate(coll.fonts):
        if face["name"].getDebugName(1) == family:
            return i
    return 0


def _to_truetype_outlines(font) -> None:
    """Replace the CFF outlines of a fontTools TTFont by TrueType (quadratic) ones, in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        # max_err 1 unit of 1000/em: invisible at print size. CFF winds the other way round.
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    # The subsetter loads without bounds recalculation; new outlines need their boxes (glyf,
    # head) and maxp's point counts computed.
    font.recalcBBoxes = True
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    maxp = font["maxp"] = newTable("maxp")  # version 1.0 (TrueType); counts recomputed on save
    maxp.tableVersion = 0x00010000
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):  # fmt: skip
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["post"].formatType = 3.0  # no glyph names: the PDF needs none
    font.sfntVersion = "\0\1\0\0"


def pdf_font_faces() -> list[tuple[str, str, Path]]:
    """(family, css weight, file) for the PDF: cached GB2312 subsets of the regular and bold faces."""
    from fontTools import subset

    font = find_cjk_font()
    faces: list[tuple[str, str, Path]] = []
    for weight, style in (("normal", "Regular"), ("bold", "Bold")):
        src = font.path.with_name(font.path.name.replace("Regular", style))
        if not src.exists():
            continue
        stat = src.stat()
        out = (
            font_cache_dir()
            / f"{src.stem}-{font.family.replace(' ', '')}-gb2312v4-{stat.st_size}-{int(stat.st_mtime)}.ttf"
        )
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            options = subset.Options()
            options.font_number = _face_index(src, font.family)
            # No GSUB/GPOS features: horizontal Chinese needs none (the SC face's cmap
            # already maps to SC forms), and each feature drags in alternate glyphs
            # (JP/TC forms, vertical forms) that every PDF would then walk.
            options.layout_features = []
            options.notdef_outline = True
            options.hinting = False
            loaded = subset.load_font(str(src), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(text=_gb2312_chars())
            subsetter.subset(loaded)
            _to_truetype_outlines(loaded)
            tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
            subset.save_font(loaded, str(tmp), options)
            tmp.replace(out)  # atomic: parallel tasks never read a half-written font
        faces.append((PDF_SUBSET_FAMILY, weight, out))
    return faces
