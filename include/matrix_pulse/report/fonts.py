"""Explicit CJK font discovery for charts (matplotlib) and the PDF (weasyprint/fontconfig).

Without a CJK font matplotlib draws empty boxes and weasyprint silently falls back to a
font without Chinese glyphs, so a pack would go out unreadable. We fail loudly instead.
"""

from __future__ import annotations

import functools
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
# WeasyPrint subsets fonts keeping glyph ids, so with the 65,000-glyph Noto CJK every PDF
# spends ~30 s walking glyphs it does not use. We cut, once per machine, a GB2312 subset
# (6,763 hanzi + ASCII + punctuation: every character of a Chinese business report) of
# the SC face and cache it; the CSS lists the full system family after it, so a rare
# character outside GB2312 still renders (pango falls back per glyph), only slower.
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
            / f"{src.stem}-{font.family.replace(' ', '')}-gb2312v3-{stat.st_size}-{int(stat.st_mtime)}.otf"
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
            tmp = out.with_suffix(".tmp")
            subset.save_font(loaded, str(tmp), options)
            tmp.replace(out)  # atomic: parallel tasks never read a half-written font
        faces.append((PDF_SUBSET_FAMILY, weight, out))
    return faces
