"""Read-only access to the published DuckDB, one connection per request.

The pipeline replaces that file atomically after every build, and a connection held across
requests would keep reading the old, unlinked copy: so each query opens and closes it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class NotPublished(Exception):
    """The published DuckDB (or the meta tables in it) does not exist yet."""


def _query(path: Path, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
    import duckdb  # only the api-server pays for it, and only on these pages

    if not path.exists():
        raise NotPublished(f"{path} does not exist yet")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:  # e.g. half-written by a build that crashed
        raise NotPublished(f"{path} cannot be opened: {exc}") from exc
    try:
        cursor = con.execute(sql, list(params))
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
    except duckdb.CatalogException as exc:
        raise NotPublished(f"{path} has no such table yet: {exc}") from exc
    finally:
        con.close()


def _table_columns(path: Path, schema: str, name: str) -> list[str]:
    _, rows = _query(
        path,
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        (schema, name),
    )
    if not rows:
        raise NotPublished(f"{schema}.{name} is not in {path}")
    return [row[0] for row in rows]
