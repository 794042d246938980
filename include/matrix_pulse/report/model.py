"""The pack as plain data: typed columns, tables, KPIs, recommendations.

HTML mail, PDF and XLSX render these, so all three show the very same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matrix_pulse.report import fmt

if TYPE_CHECKING:
    import pandas as pd

ROW_KIND = "row"  # a column whose format differs per row: the row's own ``kind`` field names it


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # a key of fmt.FORMATTERS; also sets the XLSX number format


@dataclass
class Table:
    key: str
    title: str
    df: pd.DataFrame
    columns: list[Column]
    note: str = ""
    sheet: str = ""  # XLSX sheet name (<= 31 chars); defaults to the title
    # Rows the PDF prints (the first ones, in the DataFrame's order; None = all). The XLSX
    # always holds every row, and the PDF says how many there are and in which sheet.
    shown: int | None = None
    # Columns the PDF prints when an A4 page cannot hold them all (None = all); the XLSX has all.
    pdf_columns: tuple[str, ...] | None = None
    # What an empty table means, said in the PDF (e.g. "无：全部通过"): "no data" would mislead
    # where no row is the good news.
    empty: str = "（本季度无数据）"

    def printed_columns(self) -> list[Column]:
        return [c for c in self.columns if self.pdf_columns is None or c.key in self.pdf_columns]

    def rows(self, limit: int | None = None, columns: list[Column] | None = None) -> list[list[str]]:
        """Formatted cells, in column order (what mail and PDF show); the first ``limit`` rows."""
        df = self.df if limit is None else self.df.head(limit)
        cols = columns or self.columns
        return [[fmt.value(rec.get(c.key), cell_kind(c, rec)) for c in cols] for rec in df.to_dict("records")]


def cell_kind(column: Column, record: dict) -> str:
    """The format of one cell: the column's, or the row's own for a ROW_KIND column (the KPI table)."""
    return record.get("kind", "number") if column.kind == ROW_KIND else column.kind


@dataclass
class Kpi:
    key: str
    label: str
    kind: str
    better: str  # "up" | "down": which direction is good news
    value: Any
    previous: Any  # same audience, previous quarter
    year_ago: Any  # same audience, same quarter a year earlier
    benchmark: Any = None  # national value (regional packs only)
    # Why a comparison is missing, said next to the "—": the earlier quarter is not in the
    # marts at all, or it is but has no value for this figure (e.g. no valid lead).
    previous_gap: str = "上季度无数据"
    year_ago_gap: str = "去年同期无数据"

    @property
    def text(self) -> str:
        return fmt.value(self.value, self.kind)

    def _change(self, earlier: Any, gap: str) -> tuple[str, str]:
        if fmt.is_missing(earlier) or fmt.is_missing(self.value):
            return f"{fmt.DASH}（{gap if fmt.is_missing(earlier) else '本季度无该指标'}）", fmt.NEUTRAL
        return fmt.change(self.value, earlier, self.kind, self.better)

    @property
    def qoq(self) -> tuple[str, str]:
        return self._change(self.previous, self.previous_gap)

    @property
    def yoy(self) -> tuple[str, str]:
        return self._change(self.year_ago, self.year_ago_gap)

    @property
    def benchmark_text(self) -> str:
        return fmt.value(self.benchmark, self.kind)


@dataclass
class Recommendation:
    rule: str  # the stated rule with its threshold, so a reader can check it
    title: str
    evidence: list[str]  # the numbers that triggered it (or showed it was not triggered)
    action: str
    category: str = ""  # 内容 / 互动 / 渠道 / 直播 / 漏斗 / 经销商跟进 / 账号
    triggered: bool = True
