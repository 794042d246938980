"""The ingest on the PostgreSQL warehouse (matrix_pulse.ingest.pg_warehouse) against a real
PostgreSQL 15, without Airflow: what it writes equals what the DuckDB ingest writes from the
same deliveries, and two ingests started at once load each file once.

Deliveries come in two waves as in test_simulator_reconciliation (first deliveries, then the
final landing whose corrected copies replace them). Every table lives under this test's
schema prefix, dropped afterwards. Skips when PostgreSQL is unreachable, unless
MP_REQUIRE_POSTGRES is set (CI), where that fails.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import duckdb
import psycopg2
import pytest
from matrix_pulse.ingest import run_ingest
from matrix_pulse.ingest.pg_warehouse import load_and_check
from matrix_pulse.ingest.quality import run_quality
from matrix_pulse.settings import Settings, get_settings

from .test_simulator_reconciliation import simulate

pytestmark = pytest.mark.slow

LEDGER = "file_name, sha256, status, reason, rows_read, rows_loaded, rows_set_aside, replaced_by"


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(first wave, final landing) of a demo week."""
    final = tmp_path_factory.mktemp("sim") / "landing"
    simulate(final)
    first = final.parent / "wave1"
    shutil.copytree(final, first, ignore=shutil.ignore_patterns("_redeliveries", "_manifest.json"))
    if (final / "_redeliveries" / "1").exists():
        shutil.copytree(final / "_redeliveries" / "1", first, dirs_exist_ok=True)
    return first, final


@pytest.fixture
def on_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A function landing-dir -> Settings of the PostgreSQL backend under a private schema prefix."""
    prefix = f"mp_pgi_{os.getpid()}_{tmp_path.name[-12:].lower()}_".replace("-", "_")
    monkeypatch.setenv("MP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MP_WAREHOUSE_BACKEND", "postgres")
    monkeypatch.setenv("MP_DBT_SCHEMA_PREFIX", prefix)
    dsn = get_settings().pg_dsn()
    try:
        psycopg2.connect(dsn).close()
    except psycopg2.OperationalError as exc:
        if os.environ.get("MP_REQUIRE_POSTGRES"):
            pytest.fail(f"MP_REQUIRE_POSTGRES is set but PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")

    def settings_for(landing_dir: Path) -> Settings:
        monkeypatch.setenv("MP_LANDING_DIR", str(landing_dir))
        return get_settings()

    yield settings_for
    con = psycopg2.connect(dsn)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(
            f'drop schema if exists "{prefix}raw" cascade; drop schema if exists "{prefix}meta" cascade'
        )
    con.close()


def _pg(settings: Settings, sql: str) -> list[tuple]:
    con = psycopg2.connect(settings.pg_dsn())
    try:
        with con.cursor() as cur:
            cur.execute(sql.replace("raw.", f'"{settings.dbt_schema_prefix}raw".').replace(
                "meta.", f'"{settings.dbt_schema_prefix}meta".'
            ))  # fmt: skip
            return cur.fetchall()
    finally:
        con.close()


def _raw_columns(duck: duckdb.DuckDBPyConnection, table: str) -> str:
    names = duck.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
        "and column_name not in ('loaded_at', 'set_aside_at') order by ordinal_position",
        [table],
    ).fetchall()
    return ", ".join(f'"{n}"' for (n,) in names)


def test_two_waves_on_postgres_equal_the_duckdb_ingest(landing, on_postgres, tmp_path: Path) -> None:
    first, final = landing
    for wave in (first, final):
        settings = on_postgres(wave)
        summary, report, copied = load_and_check(settings, run_id=f"pg_{wave.name}")
        assert copied["source_days"] == len({(f.source, f.data_date) for f in summary.files})
    duck_settings = settings.model_copy(
        update={"warehouse_backend": "duckdb", "warehouse_path": tmp_path / "reference.duckdb"}
    )
    for wave in (first, final):
        wave_settings = duck_settings.model_copy(update={"landing_dir": wave})
        run_ingest(wave_settings, run_id=f"duck_{wave.name}")
        run_quality(wave_settings, run_id=f"duck_{wave.name}")

    duck = duckdb.connect(str(duck_settings.warehouse_path), read_only=True)
    try:
        ledger = sorted(duck.execute(f"select {LEDGER} from meta.load_ledger").fetchall(), key=repr)
        assert any(r[2] == "replaced" for r in ledger), "the second wave replaced no delivery"
        assert sorted(_pg(settings, f"select {LEDGER} from meta.load_ledger"), key=repr) == ledger
        tables = [
            r[0]
            for r in duck.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        ]
        compared = 0
        for table in tables:
            columns = _raw_columns(duck, table)
            on_duckdb = duck.execute(f"select {columns} from raw.{table}").fetchall()
            on_postgres = _pg(settings, f"select {columns} from raw.{table}")
            if table == "quarantine":  # JSON text: compare the parsed values
                on_duckdb = [(*r[:-1], None if r[-1] is None else json.loads(r[-1])) for r in on_duckdb]
            assert sorted(on_postgres, key=repr) == sorted(on_duckdb, key=repr), table
            compared += len(on_duckdb)
        assert compared > 1000
        runs = _pg(
            settings,
            "select count(*), sum(rows_read), sum(rows_loaded + rows_set_aside) from meta.ingest_runs",
        )
        assert runs[0][0] == 2 and runs[0][1] == runs[0][2]
    finally:
        duck.close()


def test_two_ingests_at_once_load_each_file_once(landing, on_postgres) -> None:
    _, final = landing
    settings = on_postgres(final)
    results: list[object] = []

    def ingest(name: str) -> None:
        try:
            results.append(load_and_check(settings, run_id=name)[0])
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            results.append(exc)

    threads = [threading.Thread(target=ingest, args=(f"run_{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not [r for r in results if isinstance(r, Exception)], results
    # One run loaded everything; the other, waiting on the lock, then found every file known.
    assert sorted(len(r.files) for r in results) == [0, len(results[0].files) + len(results[1].files)]
    ledger = _pg(settings, "select file_id, count(*) from meta.load_ledger group by 1 having count(*) > 1")
    assert ledger == []
    assert _pg(settings, "select count(distinct run_id) from meta.ingest_runs") == [(2,)]
