"""The same project builds on PostgreSQL 15 (the scale-out path). Runs only when MP_PG_HOST
(and MP_PG_PORT / MP_PG_USER / MP_PG_PASSWORD / MP_PG_DATABASE) point at a scratch database:
its `raw` schema is dropped and reloaded with the fixture."""

from __future__ import annotations

import os
import subprocess

import pytest
from matrix_pulse.transform.cosmos_config import DBT_EXECUTABLE, DBT_PROJECT_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("MP_PG_HOST"), reason="MP_PG_HOST not set: no PostgreSQL to build on"
    ),
]


def test_build_on_postgres_matches_duckdb(tmp_path):
    import psycopg2

    from .fixture_warehouse import load_fixture_into_postgres

    env = os.environ
    dsn = (
        f"host={env['MP_PG_HOST']} port={env.get('MP_PG_PORT', '5432')} user={env.get('MP_PG_USER', 'matrix_pulse')} "
        f"password={env.get('MP_PG_PASSWORD', '')} dbname={env.get('MP_PG_DATABASE', 'matrix_pulse')}"
    )
    load_fixture_into_postgres(dsn, tmp_path / "scratch.duckdb")
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE), "build", "--target", "postgres", "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
            "--log-path", str(tmp_path / "logs"),
        ],
        env={**os.environ, "MP_WAREHOUSE": str(tmp_path / "unused.duckdb")},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select period_type, sum(views), sum(leads), sum(valid_leads) from marts.mart_kpi_by_period "
                "group by 1 order by 1"
            )
            rows = cur.fetchall()
    finally:
        con.close()
    assert [tuple(int(v) if i else v for i, v in enumerate(r)) for r in rows] == [
        ("month", 188017, 7, 2),
        ("quarter", 188017, 7, 2),
        ("week", 188017, 7, 2),
    ]
