"""Number formats used everywhere in the pack, so a figure reads the same in mail, PDF and chart.

万 / 亿 for large counts, one decimal for percentages, changes as ▲/▼ with a colour that
says whether the change is good (green) or bad (red) for that metric: colour alone
is ambiguous in China (red means "up" on a stock screen), so the arrow always says the
direction and the colour the verdict.
"""

from __future__ import annotations

import math
from typing import Any

GOOD = "#1a7f37"
BAD = "#c62828"
NEUTRAL = "#6b7280"
DASH = "—"


def is_missing(x: Any) -> bool:
    """None, NaN, pandas NaT and pd.NA: a value nobody knows, shown as a dash, never as 0."""
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN and NaT are the only values unequal to themselves
    except TypeError:  # pd.NA refuses to be a bool
        return True


def _scaled(v: float) -> str:
    """A large figure in 万 / 亿 with three significant digits (1.12万, 11.2万, 113万), but
    never fewer than the integer digits (1222万, not 1220万) and no trailing zeros, so an
    axis tick reads 5000万, not 5000.0万. Below 1万: the whole number with separators."""
    if abs(v) < 9999.5:
        return f"{v:,.0f}"
    units = [("万", 1e4), ("亿", 1e8)] if abs(v) < 1e8 else [("亿", 1e8)]
    for unit, size in units:
        scaled = v / size
        text = f"{scaled:.{max(0, 2 - math.floor(math.log10(abs(scaled))))}f}"
        if unit == "万" and abs(float(text)) >= 10_000:
            continue  # 9,999.99万 rounds to 10000万: write 1亿
        break
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + unit


def count(x: Any) -> str:
    """11,165 -> 1.12万; 1,131,000 -> 113万; 123,456,789 -> 1.23亿; below 10,000: 1,234."""
    if is_missing(x):
        return DASH
    return _scaled(float(x))


def pct(x: Any) -> str:
    return DASH if is_missing(x) else f"{float(x) * 100:.1f}%"


def yuan(x: Any) -> str:
    """Money: ¥7.48万 for large sums (three significant digits), ¥123 for hundreds, ¥0.78 for unit costs."""
    if is_missing(x):
        return DASH
    v = float(x)
    if v == 0:
        return "¥0"
    if abs(v) >= 9999.5:
        return "¥" + _scaled(v)
    if abs(v) >= 100:
        return f"¥{v:,.0f}"
    return f"¥{v:.2f}"


def minutes(x: Any) -> str:
    if is_missing(x):
        return DASH
    v = float(x)
    return f"{v:.0f} 分钟" if v < 60 else f"{v / 60:.1f} 小时"


def number(x: Any, digits: int = 1) -> str:
    return DASH if is_missing(x) else f"{float(x):,.{digits}f}"


def text(x: Any) -> str:
    """Text cells; dates (date, datetime, pandas.Timestamp) without a midnight time part."""
    if is_missing(x):
        return DASH
    if hasattr(x, "strftime"):
        has_time = hasattr(x, "hour") and (x.hour, x.minute) != (0, 0)
        return x.strftime("%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d")
    return str(x)


def hours(seconds: Any) -> str:
    return DASH if is_missing(seconds) else count(float(seconds) / 3600) + " 小时"


FORMATTERS = {"count": count, "pct": pct, "yuan": yuan, "minutes": minutes, "number": number,
              "hours": hours, "text": text, "int": count, "date": text}  # fmt: skip


def value(x: Any, kind: str) -> str:
    return FORMATTERS[kind](x)


def change(current: Any, previous: Any, kind: str, better: str = "up") -> tuple[str, str]:
    """(text, colour) of the change from previous to current.

    Rates change in percentage points (a rate going from 3.0% to 3.3% is +0.3 个百分点,
    not +10%); counts, money and durations in per cent.
    """
    if is_missing(current) or is_missing(previous):
        return DASH, NEUTRAL
    cur, prev = float(current), float(previous)
    if kind == "pct":
        delta = (cur - prev) * 100
        text_val = f"{abs(delta):.1f} 个百分点"
    else:
        if prev == 0:
            return DASH, NEUTRAL
        delta = (cur - prev) / abs(prev) * 100
        text_val = f"{abs(delta):.1f}%"
    if abs(delta) < 0.05:
        return "持平", NEUTRAL
    arrow = "▲" if delta > 0 else "▼"
    good = (delta > 0) == (better == "up")
    return f"{arrow} {text_val}", GOOD if good else BAD
