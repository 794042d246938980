"""The ingest's DuckDB engine: bounded memory from settings, one checkpoint per chunk, and
exact-duplicate marks that stay exact although stage 1 groups rows by a hash of their cells."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from matrix_pulse.ingest import run_ingest
from matrix_pulse.ingest.normalise import install_macros
from matrix_pulse.ingest.staging_sql import (
    build_normalise_sql,
    hash_collision_sql,
    norm_table,
    union_ddl,
    union_table,
)
from matrix_pulse.ingest.warehouse import connect
from matrix_pulse.settings import Settings, get_settings
from matrix_pulse.sources import SOURCES

from .conftest import assert_reconciles
from .fixtures import write_all_good


def test_ingest_connection_takes_memory_limit_and_threads_from_settings_and_draws_no_progress_bar(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MP_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("MP_DUCKDB_THREADS", "1")
    con = connect(get_settings())  # a Settings is a snapshot of the environment: take it after setenv
    try:
        limit, threads, progress_bar = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('enable_progress_bar')"
        ).fetchone()
    finally:
        con.close()
    assert limit in ("286.1 MiB", "300.0 MB")  # DuckDB reports the limit in its own unit
    assert threads == 1
    assert progress_bar is False  # no bars redrawn into the ingest's task log


def test_the_loader_checkpoints_once_per_chunk_and_never_while_staging(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: DuckDB's automatic checkpoint compressed the whole temp staging table after each
    file's append (crm_dcc's national quarter: 15-17 s to append, 5 s without). The run turns it off
    and checkpoints itself when a chunk is applied: after each chunk the write-ahead log is empty
    (a default 16 MB threshold would leave these small chunks in it) and no staging table is left."""
    from matrix_pulse.ingest import loader

    write_all_good(settings.landing_dir, dt.date(2026, 7, 1))
    write_all_good(settings.landing_dir, dt.date(2026, 7, 2))
    settings = settings.model_copy(update={"ingest_chunk_mb": 1e-6})  # a chunk per source-day
    wal = settings.warehouse_path.with_name(settings.warehouse_path.name + ".wal")
    settle = loader._settle_chunk
    seen: list[tuple[str, int, int]] = []

    def settle_and_look(ctx, files, staged_sources):
        threshold = ctx.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
        settle(ctx, files, staged_sources)
        temp = ctx.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'temp'"
        ).fetchone()[0]
        seen.append((threshold, wal.stat().st_size if wal.exists() else 0, temp))

    monkeypatch.setattr(loader, "_settle_chunk", settle_and_look)
    run_ingest(settings)
    assert len(seen) >= 8
    assert {threshold for threshold, _, _ in seen} == {"931.3 GiB"}  # NO_AUTO_CHECKPOINT, DuckDB's unit
    assert [(wal_bytes, temp) for _, wal_bytes, temp in seen] == [(0, 0)] * len(seen)
    assert_reconciles(settings)


def _staged(con: duckdb.DuckDBPyConnection) -> str:
    """Kuaishou rows of two files: row 3 repeats row 1, row 2 differs only by a NULL cell."""
    src = SOURCES["kuaishou_posts"]
    con.execute(union_ddl(src))
    n = len(src.columns)
    rows = [
        (0, 1, ["a", "1"]),
        (0, 2, ["a", None]),
        (0, 3, ["a", "1"]),
        (0, 4, [None, None]),
        (0, 5, [None, None]),
        (1, 1, ["a", "1"]),  # the same cells in another file are no duplicate
    ]
    for fid, row, cells in rows:
        values = cells + [None] * (n - len(cells))
        con.execute(
            f"INSERT INTO {union_table(src)} VALUES (?, ?, {', '.join('?' * n)}, NULL, NULL)",
            [fid, row, *values],
        )
    return union_table(src)


@pytest.mark.parametrize("exact", [False, True])
def test_exact_duplicates_are_marked_within_a_file_only(exact: bool) -> None:
    con = duckdb.connect()
    install_macros(con)
    _staged(con)
    for sql in build_normalise_sql(SOURCES["kuaishou_posts"], None, exact_duplicates=exact):
        con.execute(sql)
    n = norm_table(SOURCES["kuaishou_posts"])
    marks = con.execute(f"SELECT _fid, source_row, _dup_of FROM {n} ORDER BY 1, 2").fetchall()
    assert marks == [(0, 1, 1), (0, 2, 2), (0, 3, 1), (0, 4, 4), (0, 5, 4), (1, 1, 1)]
    assert con.execute(hash_collision_sql(SOURCES["kuaishou_posts"])).fetchone()[0] == 0


def test_collision_check_catches_a_duplicate_mark_on_different_cells() -> None:
    con = duckdb.connect()
    install_macros(con)
    _staged(con)
    for sql in build_normalise_sql(SOURCES["kuaishou_posts"], None):
        con.execute(sql)
    n = norm_table(SOURCES["kuaishou_posts"])
    # What a 64-bit hash collision would do: row 2 grouped with row 1 although its cells differ.
    con.execute(f"UPDATE {n} SET _dup_of = 1 WHERE _fid = 0 AND source_row = 2")
    assert con.execute(hash_collision_sql(SOURCES["kuaishou_posts"])).fetchone()[0] == 1


def test_collision_check_counts_a_marked_row_it_cannot_find_in_the_staging_table() -> None:
    """The proof looks the marked rows up in the staging table: one it does not find there is
    unproven (a check that finds nothing must not pass)."""
    con = duckdb.connect()
    install_macros(con)
    t = _staged(con)
    for sql in build_normalise_sql(SOURCES["kuaishou_posts"], None):
        con.execute(sql)
    assert con.execute(hash_collision_sql(SOURCES["kuaishou_posts"])).fetchone()[0] == 0
    con.execute(f"DELETE FROM {t} WHERE _fid = 0 AND source_row = 3")  # row 3 is marked a duplicate of 1
    assert con.execute(hash_collision_sql(SOURCES["kuaishou_posts"])).fetchone()[0] == 1
