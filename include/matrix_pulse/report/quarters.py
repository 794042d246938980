"""Quarter labels ('2026Q3') and the date arithmetic the pack needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, label: str) -> Quarter:
        m = _QUARTER_RE.match(label.strip().upper())
        if not m:
            raise ValueError(f"quarter {label!r}: expected a label like '2026Q3'")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date | datetime) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def label_cn(self) -> str:
        return f"{self.year}年第{'一二三四'[self.q - 1]}季度"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter (inclusive)."""
        return self.next().start - timedelta(days=1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.q == 1 else Quarter(self.year, self.q - 1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.q == 4 else Quarter(self.year, self.q + 1)

    def year_ago(self) -> Quarter:
        return Quarter(self.year - 1, self.q)

    def months(self) -> list[str]:
        return [f"{self.year}-{m:02d}" for m in range(3 * self.q - 2, 3 * self.q + 1)]

    def __str__(self) -> str:
        return self.label


def quarter_just_ended(day: date | datetime) -> Quarter:
    """The quarter before the one ``day`` falls in (the scheduled run on 5 Jan reports Q4)."""
    return Quarter.of(day).previous()
