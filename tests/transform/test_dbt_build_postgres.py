"""The same project builds on PostgreSQL 15 (the scale-out path) and gives the same marts as
on DuckDB: the fixture raw layer is loaded into both, `dbt build` runs on each target, and
every table of the `marts` schema is compared row for row.

PostgreSQL comes from MP_PG_HOST / MP_PG_PORT / MP_PG_USER / MP_PG_PASSWORD / MP_PG_DATABASE
(scripts/env.sh; scripts/postgres_up.sh starts the local server). The build lives in schemas
prefixed ``mp_test_<pid>_`` (``MP_DBT_SCHEMA_PREFIX``, see dbt/macros/generate_schema_name.sql),
dropped before and after: it never touches the database's own ``raw``/``marts`` and two runs
never collide. The test skips only when the server is unreachable and MP_REQUIRE_POSTGRES is
unset; CI sets MP_REQUIRE_POSTGRES=1, so there an unreachable server is a failure.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.settings import REPO_ROOT

from .conftest import run_dbt_build

pytestmark = pytest.mark.slow

SCHEMAS = ("raw", "reference", "staging", "intermediate", "marts")


def _pg_settings() -> dict[str, str]:
    env = os.environ
    password = env.get("MP_PG_PASSWORD")
    if password is None:  # pytest started without scripts/env.sh: the file postgres_up.sh generates
        secret = Path(env.get("MP_HOME", REPO_ROOT / "data")) / "secrets" / "pg_password"
        password = secret.read_text().strip() if secret.is_file() else ""
    return {
        "MP_PG_HOST": env.get("MP_PG_HOST", "127.0.0.1"),
        "MP_PG_PORT": env.get("MP_PG_PORT", "5432"),
        "MP_PG_USER": env.get("MP_PG_USER", "matrix_pulse"),
        "MP_PG_PASSWORD": password,
        "MP_PG_DATABASE": env.get("MP_PG_DATABASE", "matrix_pulse"),
    }


def _dsn(pg: dict[str, str]) -> str:
    return (
        f"host={pg['MP_PG_HOST']} port={pg['MP_PG_PORT']} user={pg['MP_PG_USER']} "
        f"password={pg['MP_PG_PASSWORD']} dbname={pg['MP_PG_DATABASE']} connect_timeout=5"
    )


@pytest.fixture(scope="session")
def postgres() -> dict[str, str]:
    """Connection settings of a reachable PostgreSQL, or a skip (a failure under MP_REQUIRE_POSTGRES).

    Session-scoped and requested first, so a skip comes before the DuckDB build is paid for.
    """
    import psycopg2

    pg = _pg_settings()
    try:
        psycopg2.connect(_dsn(pg)).close()
    except psycopg2.OperationalError as exc:
        where = f"{pg['MP_PG_USER']}@{pg['MP_PG_HOST']}:{pg['MP_PG_PORT']}/{pg['MP_PG_DATABASE']}"
        message = f"PostgreSQL {where} unreachable ({str(exc).strip()}); start it with scripts/postgres_up.sh"
        if os.environ.get("MP_REQUIRE_POSTGRES"):
            pytest.fail(f"MP_REQUIRE_POSTGRES is set but {message}")
        pytest.skip(message)
    return pg


def _drop_schemas(dsn: str, prefix: str) -> None:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cur:
            for schema in SCHEMAS:
                cur.execute(f'drop schema if exists "{prefix}{schema}" cascade')
    finally:
        con.close()


def _normalised(value):
    """One Python value for what both engines return: numeric -> int or float, no tz."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple((v is None, round(v, 4) if isinstance(v, float) else v if v is not None else 0) for v in row)


def _rows(fetched: list[tuple]) -> list[tuple]:
    return sorted((tuple(_normalised(v) for v in r) for r in fetched), key=_sort_key)


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_demo_marts_are_equal_on_duckdb_and_postgres(postgres, duckdb_build, tmp_path):
    import psycopg2

    from .fixture_warehouse import load_fixture_into_postgres

    prefix = f"mp_test_{os.getpid()}_"
    dsn = _dsn(postgres)
    _drop_schemas(dsn, prefix)
    try:
        load_fixture_into_postgres(dsn, tmp_path / "scratch.duckdb", schema=f"{prefix}raw")
        run_dbt_build(
            tmp_path,
            {**postgres, "MP_DBT_SCHEMA_PREFIX": prefix, "MP_WAREHOUSE": str(tmp_path / "unused.duckdb")},
            "--target",
            "postgres",
        )
        warehouse, _ = duckdb_build
        duck = duckdb.connect(str(warehouse), read_only=True)
        pg = psycopg2.connect(dsn)
        try:
            tables = [
                r[0]
                for r in duck.execute(
                    "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
                ).fetchall()
            ]
            with pg.cursor() as cur:
                cur.execute(
                    "select table_name from information_schema.tables where table_schema = %s order by 1",
                    [f"{prefix}marts"],
                )
                assert [r[0] for r in cur.fetchall()] == tables
            assert len(tables) >= 14
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
                on_duckdb = _rows(duck.execute(f"select {select} from marts.{table}").fetchall())
                with pg.cursor() as cur:
                    cur.execute(f'select {select} from "{prefix}marts".{table}')
                    on_postgres = _rows(cur.fetchall())
                assert len(on_postgres) == len(on_duckdb), table
                assert on_duckdb, f"marts.{table} is empty: the fixture no longer exercises it"
                for d_row, p_row in zip(on_duckdb, on_postgres, strict=True):
                    differing = [
                        (c, d, p) for c, d, p in zip(columns, d_row, p_row, strict=True) if not _same(d, p)
                    ]
                    assert not differing, f"marts.{table}: (column, duckdb, postgres) {differing}"
        finally:
            pg.close()
            duck.close()
    finally:
        _drop_schemas(dsn, prefix)
