"""The warehouse side of the ingest: a writing connection, one transaction() and the run records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from matrix_pulse.clock import shanghai_now
from matrix_pulse.ingest.normalise import install_macros
from matrix_pulse.ingest.pii import restrict_to_owner
from matrix_pulse.ingest.schema import ensure_schema
from matrix_pulse.ingest.summary import IngestSummary
from matrix_pulse.settings import Settings


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A writing connection to the warehouse with the raw/meta schema and the macros."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    # Bounded memory (settings.duckdb_config). preserve_insertion_order stays on: a CSV's
    # rows take their file order from the staging table's rowid, which needs it.
    con = duckdb.connect(str(settings.warehouse_path), config=settings.duckdb_config())
    # DuckDB draws a progress bar on stdout for any statement over 2 s, also when stdout is a file
    # or a pipe (the bench's national ingest log held 16 of them). A connection setting:
    # duckdb.connect's config refuses it.
    con.execute("SET enable_progress_bar = false")
    restrict_to_owner(settings.warehouse_path)  # H5: 0600/0700 whatever the caller's umask
    ensure_schema(con)
    install_macros(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT around the block, ROLLBACK (and re-raise) when it fails: all of it or none."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[list[object]], batch: int = 200
) -> None:
    """Multi-row INSERT ... VALUES (one statement per ``batch`` rows, not one per row)."""
    for i in range(0, len(rows), batch):
        part = rows[i : i + batch]
        marks = "(" + ", ".join("?" * len(part[0])) + ")"
        con.execute(
            f"INSERT INTO {table} VALUES {', '.join([marks] * len(part))}", [v for r in part for v in r]
        )


def record_run(con: duckdb.DuckDBPyConnection, s: IngestSummary, started: dt.datetime) -> None:
    ignored = [[s.run_id, j.rel_path, j.reason, started] for j in s.ignored]
    ignored += [
        [s.run_id, p, "still being written (size changed between two looks)", started] for p in s.in_progress
    ]
    if ignored:
        con.executemany("INSERT INTO meta.ignored_files VALUES (?, ?, ?, ?)", ignored)
    con.execute(
        "INSERT INTO meta.ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            s.run_id,
            started,
            shanghai_now(),
            len(s.files) + s.skipped_known,
            len(s.by_status("loaded")),
            len(s.rejected),
            len(s.by_status("duplicate_delivery")),
            0,
            len(s.ignored),
            len(s.in_progress),
            sum(f.rows_read for f in s.files),
            sum(f.rows_loaded for f in s.files),
            sum(f.rows_set_aside for f in s.files),
        ],
    )
