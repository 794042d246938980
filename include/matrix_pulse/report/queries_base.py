"""The pack queries' shared vocabulary: the report's labels for tiers, regions and the rows that
make a breakdown add up, and the two helpers every query uses (region filter, DataFrame)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from matrix_pulse.sources import MATRIX_TIERS

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pandas as pd

    from matrix_pulse.report.quarters import Quarter


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


# --- results shared by the packs of one read-only connection ---------------------------------
# A report run builds one pack per audience on one read-only connection to the published file,
# which cannot change under it: the national figures every regional pack sets beside its own and
# the quarter's heavy scans are computed once per connection, not once per pack. A writable
# connection (its data may change between two packs) shares nothing.
_shared: dict[str, Any] = {"con": None, "read_only": False, "results": {}, "tables": set()}


def _shared_state(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The shared results of ``con`` (None on a writable connection); a new connection starts afresh."""
    if _shared["con"] is not con:
        row = con.execute(
            "select readonly from duckdb_databases() where database_name = current_database()"
        ).fetchone()
        _shared.update(con=con, read_only=bool(row and row[0]), results={}, tables=set())
    return _shared if _shared["read_only"] else None


def _copy(value: Any) -> Any:
    """Callers may add columns to what a query returns: each gets its own copy."""
    if hasattr(value, "copy"):  # DataFrame, dict, list, set
        return value.copy()
    return value


def shared_per_connection(query: Callable) -> Callable:
    """Run ``query(con, *args)`` once per read-only connection and arguments; every call
    gets a copy of the result."""

    @functools.wraps(query)
    def shared(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> Any:
        key = (query.__module__, query.__qualname__, args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:  # a list argument: not shareable, run it
            return query(con, *args, **kwargs)
        state = _shared_state(con)
        if state is None:
            return query(con, *args, **kwargs)
        if key not in state["results"]:
            state["results"][key] = query(con, *args, **kwargs)
        return _copy(state["results"][key])

    return shared


def quarter_relation(con: duckdb.DuckDBPyConnection, name: str, quarter: Quarter, select_sql: str) -> str:
    """A relation of the quarter to select from, ``select_sql`` with ``{start}`` and ``{end}``
    for the quarter's first and last day. On a read-only connection it is a temporary table,
    computed once for every pack built on the connection; on a writable one, the subquery."""
    sql = select_sql.format(
        start=f"date '{quarter.start.isoformat()}'", end=f"date '{quarter.end.isoformat()}'"
    )
    state = _shared_state(con)
    if state is None:
        return f"({sql})"
    table = f"{name}_{quarter.label}"
    if table not in state["tables"]:
        con.execute(f"create or replace temp table {table} as {sql}")
        state["tables"].add(table)
    return f"temp.{table}"
