"""The ingest on the PostgreSQL warehouse (``MP_WAREHOUSE_BACKEND=postgres``, issue 13).

The same ingest decides every row: the run parses, normalises, replays deliveries, sets rows
aside and runs the GX suites exactly as on DuckDB, in a **scratch DuckDB file of its own**
(DuckDB stays the parsing engine: it is what makes the loader fast, and it needs no server).
The scratch starts with PostgreSQL's ``meta.load_ledger``, so the run knows every file already
loaded, every source-day already held and every rejected day waiting for a replacement. What
the run changed is then written to PostgreSQL:

- raw rows and quarantine rows with ``COPY … FROM STDIN`` (CSV written by DuckDB);
- every source-day the run displaces is deleted (raw and quarantine) and re-filled in the
  same transaction, with the ledger rows of that day; the run's GX results, ledger tables,
  ignored files and run record too.

**What keeps concurrent writers correct (any worker may run any of these tasks):**

1. ``pg_advisory_lock(ingest_lock_key(settings))``, a session-level advisory lock (one key per
   warehouse: the database's schemas of this ``MP_DBT_SCHEMA_PREFIX``), is held from reading the
   ledger to the last commit. Two ingest runs on two workers therefore never both load the
   same new file or both replace the same source-day; the second waits (up to
   ``lock_timeout``), then reads the ledger the first one wrote. A worker that dies (SIGKILL)
   loses its connection; PostgreSQL then rolls its transaction back and frees the lock, and
   the retry finds the ledger as it was: nothing half-written, nothing loaded twice.
2. The whole run commits as **one transaction**, so each source-day swap is atomic and a
   reader (dbt, an analyst) sees a run entirely or not at all. That is also what dbt's
   incremental watermarks need (dbt/macros/incremental.sql): every row committed after a build
   must carry a ``loaded_at`` later than every row the build saw. Runs are serialised by (1)
   and stamp ``loaded_at`` after taking the lock, so their commits come in stamp order; one
   commit per source-day would let a build see half a run's days and skip the rest.
3. dbt-postgres builds each model in its own transaction and swaps it in by rename; the
   mp_transform DAG allows one active run.

On DuckDB the one-slot pool and the writer queue do this job; here no task needs either
(``Settings.writer_task_args``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from matrix_pulse.ingest.discovery import sources_by_folder
from matrix_pulse.ingest.freshness import FreshnessReport, overdue_source_days, refresh_freshness
from matrix_pulse.ingest.loader import run_ingest
from matrix_pulse.ingest.quality import QualityReport, run_quality
from matrix_pulse.ingest.replay import ACTIVE_STATUSES
from matrix_pulse.ingest.schema import META_DDL, raw_table_ddl
from matrix_pulse.ingest.summary import IngestSummary
from matrix_pulse.ingest.warehouse import connect, insert_rows
from matrix_pulse.settings import Settings

log = logging.getLogger(__name__)


def ingest_lock_key(settings: Settings) -> int:
    """The advisory-lock key of "an ingest is writing this warehouse": a stable signed 64-bit
    number from the schema prefix, so two warehouses in one database never wait on each other."""
    name = f"matrix_pulse.ingest:{settings.dbt_schema_prefix}".encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


LOCK_TIMEOUT = "30min"  # a second run waits this long for the first, then fails (and retries)

_PG_TYPES = {"VARCHAR[]": "text[]", "VARCHAR": "text", "DOUBLE": "double precision", "JSON": "json"}
_TYPE_WORD = re.compile(r"\b(VARCHAR\[\]|VARCHAR|DOUBLE|JSON)(?=[,)\s]|$)")


def pg_type(duck_type: str) -> str:
    """The PostgreSQL type of a DuckDB column type of the raw/meta tables."""
    return _TYPE_WORD.sub(lambda m: _PG_TYPES[m.group(1)], duck_type)


def schema_names(settings: Settings) -> tuple[str, str]:
    """(raw, meta) schema names; MP_DBT_SCHEMA_PREFIX keeps a test's tables apart, as in dbt."""
    return f"{settings.dbt_schema_prefix}raw", f"{settings.dbt_schema_prefix}meta"


def pg_connect(settings: Settings):
    import psycopg2

    return psycopg2.connect(settings.pg_dsn())


def ensure_pg_schema(cur, settings: Settings) -> None:
    """Create (or extend) the raw and meta tables in PostgreSQL, from the same DDL as DuckDB."""
    raw, meta = schema_names(settings)
    # Two workers starting on a fresh database would race on CREATE ... IF NOT EXISTS (it is not
    # atomic in PostgreSQL): the DDL runs under a transaction-level advisory lock of its own.
    cur.execute("SELECT pg_advisory_xact_lock(%s)", [ingest_lock_key(settings) ^ 1])
    cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{raw}"; CREATE SCHEMA IF NOT EXISTS "{meta}"')
    for ddl in META_DDL:
        ddl = re.sub(r"EXISTS raw\.", f'EXISTS "{raw}".', ddl)
        cur.execute(pg_type(re.sub(r"EXISTS meta\.", f'EXISTS "{meta}".', ddl)))
    cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s", [raw]
    )
    for ddl in raw_table_ddl(cur.fetchall(), schema=f'"{raw}"', type_of=pg_type):
        cur.execute(ddl)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def _seed_ledger(cur, con: duckdb.DuckDBPyConnection, settings: Settings) -> set[str]:
    """Copy PostgreSQL's ledger into the scratch; returns the file_ids it held."""
    _, meta = schema_names(settings)
    cols = _columns(con, "meta", "load_ledger")
    cur.execute(f'SELECT {", ".join(cols)} FROM "{meta}".load_ledger')
    rows = [list(r) for r in cur.fetchall()]
    if rows:
        insert_rows(con, "meta.load_ledger", rows)
    return {r[cols.index("file_id")] for r in rows}


@contextmanager
def _scratch(settings: Settings) -> Iterator[Settings]:
    """Settings whose warehouse is a private, throw-away DuckDB file (with its spill folder)."""
    with tempfile.TemporaryDirectory(prefix="mp_pg_ingest_") as tmp:
        yield settings.model_copy(update={"warehouse_path": Path(tmp) / "scratch.duckdb"})


@contextmanager
def ingest_lock(pg, settings: Settings) -> Iterator[None]:
    """The session advisory lock every ingest writer holds (see the module docstring)."""
    key = ingest_lock_key(settings)
    with pg.cursor() as cur:
        cur.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        cur.execute("SELECT pg_advisory_lock(%s)", [key])
    pg.commit()
    try:
        yield
    finally:
        if not pg.closed:
            pg.rollback()
            with pg.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [key])
            pg.commit()


def _copy_in(
    cur, con: duckdb.DuckDBPyConnection, select: str, target: str, cols: list[str], tmp: Path
) -> int:
    """COPY the rows of a DuckDB query into a PostgreSQL table (CSV: NULL unquoted, '' quoted)."""
    path = tmp / "copy.csv"
    con.execute(f"COPY ({select}) TO '{path}' (FORMAT csv, HEADER false)")
    names = ", ".join(f'"{c}"' for c in cols)
    with path.open("rb") as fh:
        cur.copy_expert(f"COPY {target} ({names}) FROM STDIN WITH (FORMAT csv)", fh)
    return cur.rowcount


def _insert(cur, target: str, cols: list[str], rows: list[tuple]) -> None:
    from psycopg2.extras import execute_values

    if rows:
        names = ", ".join(f'"{c}"' for c in cols)
        execute_values(cur, f"INSERT INTO {target} ({names}) VALUES %s", rows, page_size=500)


def sync_run(cur, con: duckdb.DuckDBPyConnection, settings: Settings, seeded: set[str], tmp: Path) -> dict:
    """Write what the scratch run changed into PostgreSQL (the caller's one transaction)."""
    raw, meta = schema_names(settings)
    ledger_cols = _columns(con, "meta", "load_ledger")
    new = [
        r
        for r in con.execute(f"SELECT {', '.join(ledger_cols)} FROM meta.load_ledger").fetchall()
        if r[0] not in seeded
    ]
    i_source, i_date, i_status = (ledger_cols.index(c) for c in ("source", "data_date", "status"))
    days = sorted({(r[i_source], r[i_date]) for r in new})
    won = sorted({(r[i_source], r[i_date]) for r in new if r[i_status] in ACTIVE_STATUSES})
    folders = sources_by_folder()
    copied = {"source_days": len(days), "source_days_replaced": len(won), "raw_rows": 0, "quarantined": 0}
    # 1. every source-day this run now holds: the earlier delivery's rows go, this run's come in
    for folder in sorted({f for f, _ in won}):
        dates = [d for f, d in won if f == folder]
        for src in folders[folder]:
            cur.execute(f'DELETE FROM "{raw}".{src.raw_table} WHERE data_date = ANY(%s)', [dates])
        cur.execute(
            f'DELETE FROM "{raw}".quarantine WHERE source = %s AND data_date = ANY(%s)', [folder, dates]
        )
    for table in sorted({s.raw_table for f, _ in won for s in folders[f]}):
        cols = _columns(con, "raw", table)
        names = ", ".join(f'"{c}"' for c in cols)
        copied["raw_rows"] += _copy_in(
            cur, con, f"SELECT {names} FROM raw.{table}", f'"{raw}".{table}', cols, tmp
        )
    qcols = _columns(con, "raw", "quarantine")
    copied["quarantined"] = _copy_in(
        cur, con, f"SELECT {', '.join(qcols)} FROM raw.quarantine", f'"{raw}".quarantine', qcols, tmp
    )
    # 2. the ledger rows of every touched source-day, as the scratch run left them (new rows,
    #    and earlier rows it marked 'replaced' or closed)
    for source, day in days:
        cur.execute(f'DELETE FROM "{meta}".load_ledger WHERE source = %s AND data_date = %s', [source, day])
    day_set = set(days)
    _insert(
        cur,
        f'"{meta}".load_ledger',
        ledger_cols,
        [
            r
            for r in con.execute(f"SELECT {', '.join(ledger_cols)} FROM meta.load_ledger").fetchall()
            if (r[i_source], r[i_date]) in day_set
        ],
    )
    # 3. what only this run wrote: per-table counts of its files, GX results, ignored files, the run
    for table in ("load_ledger_tables", "gx_results", "ignored_files", "ingest_runs"):
        cols = _columns(con, "meta", table)
        _insert(
            cur,
            f'"{meta}".{table}',
            cols,
            con.execute(f"SELECT {', '.join(cols)} FROM meta.{table}").fetchall(),
        )
    return copied


def load_and_check(
    settings: Settings, run_id: str | None = None
) -> tuple[IngestSummary, QualityReport, dict]:
    """The ingest and its GX suites on a scratch DuckDB, then one PostgreSQL transaction.

    GX runs before the commit, so PostgreSQL never holds a row the suites have not passed
    (a file failing a critical expectation arrives already in quarantine, ledger ``gx_failed``).
    """
    pg = pg_connect(settings)
    try:
        with pg.cursor() as cur:
            ensure_pg_schema(cur, settings)
        pg.commit()
        with ingest_lock(pg, settings), _scratch(settings) as scratch:
            con = connect(scratch)
            try:
                with pg.cursor() as cur:
                    seeded = _seed_ledger(cur, con, settings)
            finally:
                con.close()
            summary = run_ingest(scratch, run_id=run_id)
            report = run_quality(scratch, run_id=run_id)
            con = connect(scratch)
            try:
                with pg.cursor() as cur:
                    copied = sync_run(cur, con, settings, seeded, scratch.warehouse_path.parent)
                pg.commit()
            finally:
                con.close()
        log.info("PostgreSQL warehouse: %s", copied)
        return summary, report, copied
    finally:
        pg.close()


def freshness(settings: Settings, through: dt.date) -> tuple[FreshnessReport, list[tuple[str, dt.date, str]]]:
    """meta.source_freshness rebuilt from PostgreSQL's ledger (computed on a scratch, replaced
    in one transaction), and the overdue source-days of ``overdue_source_days``."""
    _, meta = schema_names(settings)
    pg = pg_connect(settings)
    try:
        with pg.cursor() as cur:
            ensure_pg_schema(cur, settings)
        pg.commit()
        with _scratch(settings) as scratch:
            con = connect(scratch)
            try:
                with pg.cursor() as cur:
                    _seed_ledger(cur, con, settings)
                report = refresh_freshness(scratch, through=through, con=con)
                cols = _columns(con, "meta", "source_freshness")
                rows = con.execute(f"SELECT {', '.join(cols)} FROM meta.source_freshness").fetchall()
            finally:
                con.close()
            overdue = overdue_source_days(scratch, through)
        with pg.cursor() as cur:
            cur.execute(f'DELETE FROM "{meta}".source_freshness')
            _insert(cur, f'"{meta}".source_freshness', cols, rows)
        pg.commit()
        return report, overdue
    finally:
        pg.close()
