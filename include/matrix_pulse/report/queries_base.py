"""The pack queries' shared vocabulary: the report's labels for tiers, regions and the rows that
make a breakdown add up, and the two helpers every query uses (region filter, DataFrame)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrix_pulse.sources import MATRIX_TIERS

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


TIERS = MATRIX_TIERS  # the contract's tiers, in report order
# Rows that make a breakdown add up to its headline: content of accounts not on the roster
# (the mart's 未登记) and leads whose source account is unknown (no tier).
UNREGISTERED_TIER = "未登记"
UNATTRIBUTED = "未归属"
NO_SOURCE_TIER = "none"  # fct_leads.source_matrix_tier of a lead without a source account
LEAD_TIER_SQL = (f"case when source_matrix_tier is null or source_matrix_tier = '{NO_SOURCE_TIER}' "
                 f"then '{UNATTRIBUTED}' else source_matrix_tier end")  # fmt: skip
OTHER_PLATFORM = "other"  # fct_leads.source_platform for 懂车帝, 400电话, 自然到店 ...
OTHER_PLATFORM_CN = "其他渠道"
HQ_REGION = "总部"  # accounts with no dealer (官方, KOL, KOC, 高管)
CONTENT_TYPES = ("视频", "图文", "直播")
REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
INACTIVE_DAYS = 30


def _region_clause(region: str | None, column: str = "region") -> tuple[str, list]:
    return (f" and {column} = ?", [region]) if region else ("", [])


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()
