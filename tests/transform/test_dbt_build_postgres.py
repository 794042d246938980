"""The same project builds on PostgreSQL 15 (the scale-out path) and gives the same marts as
on DuckDB: the fixture raw layer is loaded into both, `dbt build` runs on each target, and
every table of the `marts` schema is compared row for row. On the same build: the analysts'
read-only role (dbt/macros/analyst_role.sql, the marts' `grants`) lets a member read the
marts and nothing else, and the published DuckDB copy read from PostgreSQL
(matrix_pulse.transform.publish_pg) equals the DuckDB build's marts, types included.

PostgreSQL comes from MP_PG_HOST / MP_PG_PORT / MP_PG_USER / MP_PG_PASSWORD / MP_PG_DATABASE
(scripts/env.sh; scripts/postgres_up.sh starts the local server and gives the project's user
CREATEROLE). The build lives in schemas prefixed ``mp_test_<pid>_`` (``MP_DBT_SCHEMA_PREFIX``,
see dbt/macros/generate_schema_name.sql) and grants to the role ``mp_test_<pid>_analysts``
(``MP_PG_ANALYST_ROLE``), all dropped before and after: it never touches the database's own
``raw``/``marts`` or ``mp_analysts`` and two runs never collide. The test skips only when the
server is unreachable and MP_REQUIRE_POSTGRES is unset; CI sets MP_REQUIRE_POSTGRES=1, so
there an unreachable server is a failure.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from marts_equal import assert_marts_equal, assert_same_rows, rows
from matrix_pulse.settings import REPO_ROOT

from .conftest import run_dbt_build

pytestmark = pytest.mark.slow

SCHEMAS = ("raw", "meta", "reference", "staging", "intermediate", "marts")


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


def _drop_schemas(dsn: str, prefix: str, roles: tuple[str, ...] = ()) -> None:
    """Drop the build's schemas, then ``roles`` (dropping the schemas revoked their grants)."""
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cur:
            for schema in SCHEMAS:
                cur.execute(f'drop schema if exists "{prefix}{schema}" cascade')
            for role in roles:
                cur.execute(f'drop role if exists "{role}"')
    finally:
        con.close()


@pytest.fixture(scope="module")
def postgres_build(postgres, duckdb_build, tmp_path_factory) -> Iterator[dict[str, str]]:
    """The fixture raw layer (and meta) loaded into ``mp_test_<pid>_*`` schemas and built with dbt on
    the postgres target: the environment of that build (MP_PG_*, the prefix, the analysts' role)."""
    from .fixture_warehouse import load_fixture_into_postgres

    prefix = f"mp_test_{os.getpid()}_"
    env = {
        **postgres,
        "MP_DBT_SCHEMA_PREFIX": prefix,
        "MP_PG_ANALYST_ROLE": f"{prefix}analysts",
        "MP_WAREHOUSE": str(tmp_path_factory.getbasetemp() / "unused.duckdb"),
    }
    dsn = _dsn(postgres)
    _drop_schemas(dsn, prefix, (env["MP_PG_ANALYST_ROLE"],))
    try:
        work = tmp_path_factory.mktemp("dbt_build_postgres")
        load_fixture_into_postgres(
            dsn, work / "scratch.duckdb", schema=f"{prefix}raw", meta_schema=f"{prefix}meta"
        )
        run_dbt_build(work, env, "--target", "postgres")
        _rebuild_a_kpi_week_incrementally(dsn, prefix, work, env)
        yield env
    finally:
        _drop_schemas(dsn, prefix, (env["MP_PG_ANALYST_ROLE"],))


def _rebuild_a_kpi_week_incrementally(dsn: str, prefix: str, work: Path, env: dict[str, str]) -> None:
    """The KPI mart's incremental path on PostgreSQL (macros/incremental_periods.sql): the rows of
    the fixture's week, month and quarter spoiled and one day's stored fingerprint dropped, an
    incremental build of the mart must rebuild those periods from its inputs (the comparison
    with DuckDB below sees a spoiled row that stayed; which periods it leaves alone is
    test_dbt_incremental_periods' check)."""
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cur:
            cur.execute(
                f'update "{prefix}marts".mart_kpi_by_period set exposure = -1 '
                "where period_label in ('2026-W27', '2026-07', '2026Q3')"
            )
            assert cur.rowcount > 0
            cur.execute(
                f'delete from "{prefix}intermediate".mp_period_state where date_day = %s', ["2026-07-02"]
            )
            assert cur.rowcount == 1
    finally:
        con.close()
    selected = ("--select", "int_kpi_days_fingerprinted", "mart_kpi_by_period")
    run_dbt_build(work / "incremental", env, "--target", "postgres", *selected)


def _backend_settings(env: dict[str, str], **fields):
    """Settings of the postgres backend on the test build (its prefix and connection)."""
    from matrix_pulse.settings import Settings

    return Settings(
        warehouse_backend="postgres",
        dbt_schema_prefix=env["MP_DBT_SCHEMA_PREFIX"],
        pg_analyst_role=env["MP_PG_ANALYST_ROLE"],
        pg_host=env["MP_PG_HOST"],
        pg_port=int(env["MP_PG_PORT"]),
        pg_user=env["MP_PG_USER"],
        pg_password=env["MP_PG_PASSWORD"],
        pg_database=env["MP_PG_DATABASE"],
        **fields,
    )


def _marts_tables(duck: duckdb.DuckDBPyConnection, schema: str = "marts") -> list[str]:
    return [
        r[0]
        for r in duck.execute(
            "select table_name from duckdb_tables() where schema_name = ? order by 1", [schema]
        ).fetchall()
    ]


def _column_types(duck: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return duck.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? "
        "and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def test_demo_marts_are_equal_on_duckdb_and_postgres(postgres_build, duckdb_build):
    import psycopg2

    prefix = postgres_build["MP_DBT_SCHEMA_PREFIX"]
    warehouse, _ = duckdb_build
    duck = duckdb.connect(str(warehouse), read_only=True)
    pg = psycopg2.connect(_dsn(postgres_build))
    try:
        assert_marts_equal(duck, pg, f"{prefix}marts", every_table_has_rows=True)
    finally:
        pg.close()
        duck.close()


@pytest.fixture
def analyst_login(postgres_build) -> Iterator[dict[str, str]]:
    """A LOGIN role in the analysts' role, with a random password: the connection settings of an
    analyst. Created by the project's user (CREATEROLE), dropped after the test."""
    import psycopg2

    login = f"{postgres_build['MP_DBT_SCHEMA_PREFIX']}analyst_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(18)
    con = psycopg2.connect(_dsn(postgres_build))
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(
                f'create role "{login}" login password %s in role "{postgres_build["MP_PG_ANALYST_ROLE"]}"',
                [password],
            )
        yield {**postgres_build, "MP_PG_USER": login, "MP_PG_PASSWORD": password}
    finally:
        with con.cursor() as cur:
            cur.execute(f'drop role if exists "{login}"')
        con.close()


def test_analysts_read_the_marts_and_nothing_else(postgres_build, analyst_login, duckdb_build):
    import psycopg2
    from psycopg2 import errors

    prefix = postgres_build["MP_DBT_SCHEMA_PREFIX"]
    warehouse, _ = duckdb_build
    duck = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = _marts_tables(duck)
    finally:
        duck.close()
    analyst = psycopg2.connect(_dsn(analyst_login))
    analyst.autocommit = True  # each refused statement stands alone
    try:
        with analyst.cursor() as cur:
            for table in tables:
                cur.execute(f'select count(*) from "{prefix}marts".{table}')
                assert cur.fetchone()[0] > 0, table
            # the other layers: their schemas grant the role nothing (raw and meta hold unmasked
            # ingest detail, staging/intermediate are dbt's working layers)
            for relation in (
                "raw.douyin_posts",
                "meta.source_freshness",
                "staging.stg_douyin__posts",
                "intermediate.int_content_snapshots_unioned",
            ):
                schema, name = relation.split(".")
                with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                    cur.execute(f'select 1 from "{prefix}{schema}".{name} limit 1')
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                cur.execute(
                    f'insert into "{prefix}marts".dim_platform select * from "{prefix}marts".dim_platform'
                )
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                cur.execute(f'create table "{prefix}marts".analyst_scratch (x int)')
    finally:
        analyst.close()


# Edge values the marts do not hold but meta may (the ingest's load_ledger.extra_columns is a
# list): NULL apart from '', lists with NULL and '' elements, CSV's own characters, JSON, a
# declared numeric and a timestamptz; JSON null apart from SQL NULL (published as naive Beijing time, like DuckDB's warehouse).
EDGE_DDL = """create table "{schema}".publish_edges (id int, s text, arr text[], j jsonb, n numeric(12, 2),
    avg_n numeric, tz timestamptz, f double precision)"""
EDGE_ROWS = [
    (1, "", [], {"a": [1, None]}, "3.25", "1.5", "2026-07-01 02:00:00+00", 0.1),
    (2, None, None, None, None, None, None, None),
    (
        3,
        'a,"b"\nc\r\n中文 \\N',
        ["", None, "x,y", '"q"', "{}", "NULL"],
        "null",
        "-0.01",
        "2",
        None,
        float("inf"),
    ),
]
EDGE_PUBLISHED = [
    (1, "", [], '{"a": [1, null]}', decimal.Decimal("3.25"), 1.5, dt.datetime(2026, 7, 1, 10), 0.1),
    (2, None, None, None, None, None, None, None),
    (3, 'a,"b"\nc\r\n中文 \\N', ["", None, "x,y", '"q"', "{}", "NULL"], "null", decimal.Decimal("-0.01"), 2.0, None,
     float("inf")),
]  # fmt: skip
EDGE_TYPES = [
    ("id", "INTEGER"), ("s", "VARCHAR"), ("arr", "VARCHAR[]"), ("j", "JSON"), ("n", "DECIMAL(12,2)"),
    ("avg_n", "DOUBLE"), ("tz", "TIMESTAMP"), ("f", "DOUBLE"),
]  # fmt: skip


def test_published_copy_from_postgres_equals_the_duckdb_build(postgres_build, duckdb_build, tmp_path):
    """publish() on the postgres backend: the marts (and meta) of the DuckDB build, cell by cell
    and type by type, in a DuckDB file swapped in at the published path."""
    import psycopg2
    from matrix_pulse.transform.publish import publish
    from psycopg2.extras import Json

    env = postgres_build
    prefix = env["MP_DBT_SCHEMA_PREFIX"]
    pg = psycopg2.connect(_dsn(env))
    try:
        with pg, pg.cursor() as cur:
            cur.execute(EDGE_DDL.format(schema=f"{prefix}meta"))
            cur.executemany(
                f'insert into "{prefix}meta".publish_edges values (%s, %s, %s, %s, %s, %s, %s, %s)',
                [(*r[:3], Json(r[3]) if isinstance(r[3], dict) else r[3], *r[4:]) for r in EDGE_ROWS],
            )
        published = tmp_path / "published" / "matrix_pulse_marts.duckdb"
        copied = publish(_backend_settings(env, published_path=published))
    finally:
        pg.close()
    assert [p.name for p in published.parent.iterdir()] == [published.name]  # no spool or temp file left

    warehouse, _ = duckdb_build
    duck = duckdb.connect(str(warehouse), read_only=True)
    pub = duckdb.connect(str(published), read_only=True)
    try:
        expected = {f"{s}.{t}" for s in ("marts", "meta") for t in _marts_tables(duck, s)}
        assert set(copied) == expected | {"meta.publish_edges"}
        for name in sorted(expected):
            schema, table = name.split(".")
            types = _column_types(duck, schema, table)
            assert _column_types(pub, schema, table) == types, name
            select = ", ".join(f'"{c}"' for c, _ in types)
            on_duckdb = rows(duck.execute(f"select {select} from {name}").fetchall())
            assert copied[name] == len(on_duckdb), name
            assert_same_rows(name, [c for c, _ in types], on_duckdb, rows(pub.execute(f"select {select} from {name}").fetchall()), "published")  # fmt: skip
        assert _column_types(pub, "meta", "publish_edges") == EDGE_TYPES
        assert pub.execute("select * from meta.publish_edges order by id").fetchall() == EDGE_PUBLISHED
    finally:
        pub.close()
        duck.close()


def test_docs_fingerprint_on_postgres_follows_columns_of_the_prefixed_schemas(postgres_build):
    """The docs step on the postgres backend: same columns, same fingerprint; a new column, a new one."""
    import psycopg2
    from matrix_pulse.transform.publish import docs_fingerprint

    env = postgres_build
    prefix = env["MP_DBT_SCHEMA_PREFIX"]
    settings = _backend_settings(env)
    first = docs_fingerprint(settings)
    assert docs_fingerprint(settings) == first
    pg = psycopg2.connect(_dsn(env))
    try:
        with pg, pg.cursor() as cur:
            cur.execute(f'create table "{prefix}meta".fingerprint_probe (x int)')
        assert docs_fingerprint(settings) != first
    finally:
        with pg, pg.cursor() as cur:
            cur.execute(f'drop table if exists "{prefix}meta".fingerprint_probe')
        pg.close()


def test_docs_are_generated_from_postgres_and_then_kept(postgres_build, tmp_path, monkeypatch):
    """The docs step on the postgres backend: `dbt docs generate` reads PostgreSQL's catalog (it
    never opens a DuckDB file), and the next run with the same columns keeps those docs."""
    import json

    from matrix_pulse.settings import get_settings
    from matrix_pulse.transform.publish import generate_docs

    env = {**postgres_build, "MP_WAREHOUSE_BACKEND": "postgres", "MP_HOME": str(tmp_path / "home")}
    env["MP_WAREHOUSE"] = str(tmp_path / "no_such_warehouse.duckdb")
    for name, value in {**get_settings().dbt_env(), **env}.items():
        monkeypatch.setenv(name, value)  # generate_dbt_docs exports dbt_env(): restored after the test
    settings = get_settings()
    index = generate_docs(settings)
    catalog = json.loads((index.parent / "catalog.json").read_text(encoding="utf-8"))
    prefix = postgres_build["MP_DBT_SCHEMA_PREFIX"]
    assert {n["metadata"]["schema"] for n in catalog["nodes"].values()} >= {
        f"{prefix}marts",
        f"{prefix}staging",
    }
    assert not (tmp_path / "no_such_warehouse.duckdb").exists()
    generated = index.stat().st_mtime_ns
    assert generate_docs(settings) == index
    assert index.stat().st_mtime_ns == generated  # same columns: dbt did not run again
