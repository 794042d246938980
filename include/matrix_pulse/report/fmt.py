"""Number formats used everywhere in the pack, so a figure reads the same in mail, PDF and chart.

万 / 亿 for large counts, one decimal for percentages, changes as ▲/▼ with a colour that
says whether the change is good (green) or bad (red) for that metric: colour alone
is ambiguous in China (red means "up" on a stock screen), so the arrow always says the
direction and the colour the verdict.
"""

from __future__ import annotations

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


def count(x: Any) -> str:
    """12,345 -> 1.2万; 123,456,789 -> 1.23亿; below 10,000 with thousands separators."""
    if is_missing(x):
        return DASH
    v = float(x)
    if abs(v) >= 1e8:
        return f"{v / 1e8:.2f}亿"
    if abs(v) >= 1e4:
        return f"{v / 1e4:.1f}万"
    return f"{v:,.0f}"


def pct(x: Any) -> str:
    return DASH if is_missing(x) else f"{float(x) * 100:.1f}%"


def yuan(x: Any) -> str:
    """Money: ¥1.2万 for large sums, ¥123 for hundreds, ¥0.78 for unit costs like CPE."""
    if is_missing(x):
        return DASH
    v = float(x)
    if abs(v) >= 1e4:
        return f"¥{v / 1e4:.1f}万"
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
              "hours": hours, "text": text, "int": count}  # fmt: skip


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
