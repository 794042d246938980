"""DDL of the raw and meta tables the ingest owns (docs/interfaces.md section 3).

Raw tables are derived from the contract (``matrix_pulse.sources.raw_columns``) so it stays
the one description of a source; a column added to the registry later is added to an existing warehouse too.
All timestamps are Asia/Shanghai wall-clock (naive TIMESTAMP), like the data.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from matrix_pulse.sources import LINEAGE_COLUMNS, SOURCES, Source
from matrix_pulse.sources import raw_columns as contract_columns

__all__ = ["LINEAGE_COLUMNS", "META_DDL", "ensure_schema", "raw_columns"]


def raw_columns(source: Source) -> list[tuple[str, str]]:
    """(name, type) of raw.<raw_table>, in order: the contract's columns (``sources.raw_columns``)."""
    return [(c.name, c.type) for c in contract_columns(source)]


META_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS raw.quarantine (
        source VARCHAR, raw_table VARCHAR, data_date DATE, source_file VARCHAR, file_sha256 VARCHAR,
        source_row BIGINT, reason VARCHAR, detail VARCHAR, original JSON, set_aside_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS meta.load_ledger (
        file_id VARCHAR, source VARCHAR, data_date DATE, file_name VARCHAR, archive_path VARCHAR,
        size_bytes BIGINT, sha256 VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_set_aside BIGINT,
        status VARCHAR, reason VARCHAR, extra_columns VARCHAR[], landed_at TIMESTAMP,
        first_seen_at TIMESTAMP, loaded_at TIMESTAMP, replaced_by VARCHAR, file_mtime DOUBLE,
        gx_checked_at TIMESTAMP, run_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS meta.load_ledger_tables (
        file_id VARCHAR, raw_table VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_set_aside BIGINT)""",
    """CREATE TABLE IF NOT EXISTS meta.ignored_files (
        run_id VARCHAR, file_name VARCHAR, reason VARCHAR, seen_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS meta.source_freshness (
        source VARCHAR, data_date DATE, status VARCHAR, file_name VARCHAR, landed_at TIMESTAMP,
        deadline TIMESTAMP, is_late BOOLEAN, checked_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS meta.gx_results (
        run_id VARCHAR, source VARCHAR, raw_table VARCHAR, data_date DATE, file_name VARCHAR,
        expectation VARCHAR, column_name VARCHAR, severity VARCHAR, success BOOLEAN,
        unexpected_count BIGINT, details VARCHAR, checked_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS meta.ingest_runs (
        run_id VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, files_seen BIGINT,
        files_loaded BIGINT, files_rejected BIGINT, files_duplicate BIGINT, files_replaced BIGINT,
        files_ignored BIGINT, files_in_progress BIGINT, rows_read BIGINT, rows_loaded BIGINT,
        rows_set_aside BIGINT)""",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or extend) every raw and meta table; safe to run on every ingest."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    for ddl in META_DDL:
        con.execute(ddl)
    columns = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'raw'"
    ).fetchall()
    for ddl in raw_table_ddl(columns):
        con.execute(ddl)


def raw_table_ddl(
    existing_columns: list[tuple[str, str]], schema: str = "raw", type_of: Callable[[str], str] = str
) -> list[str]:
    """CREATE TABLE / ADD COLUMN statements that bring ``schema`` to the contract, given the
    (table, column) pairs it has; ``type_of`` maps DuckDB's column types to the engine's."""
    existing: dict[str, set[str]] = {}
    for table, column in existing_columns:
        existing.setdefault(table, set()).add(column)
    statements = []
    for src in SOURCES.values():
        cols = raw_columns(src)
        if src.raw_table not in existing:
            body = ", ".join(f'"{n}" {type_of(t)}' for n, t in cols)
            statements.append(f"CREATE TABLE {schema}.{src.raw_table} ({body})")
            continue
        statements += [
            f'ALTER TABLE {schema}.{src.raw_table} ADD COLUMN "{name}" {type_of(typ)}'
            for name, typ in cols
            if name not in existing[src.raw_table]
        ]
    return statements
