"""Ingest test helpers: a private MP_HOME with a landing folder, and quick queries."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from matrix_pulse.settings import Settings, get_settings


@pytest.fixture
def settings(mp_home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Files written by the test are "fresh": keep the second look at their size short.
    monkeypatch.setenv("MP_STABLE_SECONDS", "0.05")
    s = get_settings()
    s.landing_dir.mkdir(parents=True, exist_ok=True)
    return s


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def assert_reconciles(settings: Settings) -> None:
    """rows read = loaded + set aside for every file, and raw/quarantine hold exactly those rows."""
    from matrix_pulse.ingest.discovery import sources_by_folder

    ledger = query(
        settings,
        "SELECT file_id, source, file_name, sha256, status, rows_read, rows_loaded, rows_set_aside "
        "FROM meta.load_ledger",
    )
    for file_id, source, name, sha, status, read, loaded, aside in ledger:
        assert read == loaded + aside, f"{file_id}: {read} != {loaded} + {aside}"
        if status not in ("loaded", "gx_failed"):
            continue
        in_raw = sum(
            query(
                settings,
                f"SELECT count(*) FROM raw.{s.raw_table} WHERE source_file = ? AND file_sha256 = ?",
                [name, sha],
            )[0][0]
            for s in sources_by_folder()[source]
        )
        in_q = query(
            settings,
            "SELECT count(*) FROM raw.quarantine WHERE source_file = ? AND file_sha256 = ?",
            [name, sha],
        )[0][0]
        assert (in_raw, in_q) == (loaded, aside), f"{file_id}: raw {in_raw} / quarantine {in_q} vs ledger"


def connect_rw(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A writing connection to the test warehouse (for tables a test stands in for)."""
    return duckdb.connect(str(settings.warehouse_path))
