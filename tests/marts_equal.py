"""Cell-by-cell comparison of the `marts` schema of a DuckDB build and a PostgreSQL build.

Both engines return one Python value per cell once normalised (numeric -> int or float, no
time zone); floats are compared to 1e-9 relative. Shared by the dbt target test
(tests/transform) and the PostgreSQL warehouse on Celery (tests/scaleout).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math


def _normalised(value):
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple((v is None, round(v, 4) if isinstance(v, float) else v if v is not None else 0) for v in row)


def rows(fetched: list[tuple]) -> list[tuple]:
    """The rows normalised and sorted, so two engines' results line up."""
    return sorted((tuple(_normalised(v) for v in r) for r in fetched), key=_sort_key)


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def assert_same_rows(
    table: str, columns: list[str], expected: list[tuple], got: list[tuple], what: str
) -> None:
    """``got`` equals ``expected`` (both from ``rows``) cell by cell; names the differing cells."""
    assert len(got) == len(expected), f"{table}: {len(expected)} rows on duckdb, {len(got)} on {what}"
    for e_row, g_row in zip(expected, got, strict=True):
        differing = [(c, e, g) for c, e, g in zip(columns, e_row, g_row, strict=True) if not same(e, g)]
        assert not differing, f"{table}: (column, duckdb, {what}) {differing}"


def assert_marts_equal(
    duck, pg, pg_schema: str, min_tables: int = 14, every_table_has_rows: bool = False
) -> dict[str, int]:
    """Every table of DuckDB's `marts` equals ``pg_schema`` on PostgreSQL, cell by cell; rows per table."""
    tables = [
        r[0]
        for r in duck.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
    ]
    with pg.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", [pg_schema]
        )
        assert [r[0] for r in cur.fetchall()] == tables
    assert len(tables) >= min_tables, tables
    counted: dict[str, int] = {}
    for table in tables:
        columns = [
            r[0]
            for r in duck.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        on_duckdb = rows(duck.execute(f"select {select} from marts.{table}").fetchall())
        with pg.cursor() as cur:
            cur.execute(f'select {select} from "{pg_schema}".{table}')
            on_postgres = rows(cur.fetchall())
        if every_table_has_rows:
            assert on_duckdb, f"marts.{table} is empty: the input no longer exercises it"
        assert_same_rows(f"marts.{table}", columns, on_duckdb, on_postgres, "postgres")
        counted[table] = len(on_duckdb)
    return counted
