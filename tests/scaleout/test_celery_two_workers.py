"""The Celery stack for real: PostgreSQL metadata DB, Redis broker, two workers (issue 13).

Starts the native stack (scripts/celery_up.sh, the processes of matrix_pulse.ops.celery_stack)
on a private MP_HOME and Airflow home, lands two days of demo exports and runs mp_ingest through
the scheduler and the CeleryExecutor. Then, from the metadata DB: every warehouse-writing task
ran on the `writer` worker from the duckdb_writer queue, the other tasks on `worker` (so both
workers ran tasks), and the DuckDB warehouse has each landed file once with its rows accounted for.

Needs root (the script creates the metadata database as the postgres superuser, like CI) and
redis-server; skips without them unless MP_REQUIRE_POSTGRES is set (CI), where it fails.
Takes about 5 minutes on 2 shared cores (start-up ~2 min, the ingest run ~2-3 min).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import psycopg2
import pytest
from matrix_pulse.ops.airflow_runs import AirflowApi, run_dag

from .stack import celery_stack, metadata_dsn

WRITER_TASKS = {"load_landed_files", "check_quality", "check_freshness"}
OTHER_TASKS = {"pull_exports", "publish_raw"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    with celery_stack(tmp_path_factory, days=("2026-09-29", "2026-09-30")) as started:
        yield started


@pytest.mark.timeout(1500)
def test_ingest_runs_on_two_workers_with_writers_on_the_writer_queue(stack) -> None:
    env, home, airflow_home = stack
    passwords = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
    api = AirflowApi(f"http://127.0.0.1:{env['AIRFLOW_PORT']}", "admin", passwords["admin"])
    api.wait_parsed("mp_ingest", after=datetime.fromtimestamp(0, UTC), timeout=300)
    run = run_dag(api, "mp_ingest", "2026-10-01T06:00:00+08:00", {}, timeout=1200)

    con = psycopg2.connect(metadata_dsn(env, home))
    with con, con.cursor() as cur:
        cur.execute(
            "select task_id, hostname, queue, state from task_instance where dag_id = 'mp_ingest' and run_id = %s",
            (run["dag_run_id"],),
        )
        tasks = {task_id: (host, queue, state) for task_id, host, queue, state in cur.fetchall()}
    con.close()
    for task_id in WRITER_TASKS:
        assert tasks[task_id] == ("writer", "duckdb_writer", "success"), (task_id, tasks[task_id])
    for task_id in OTHER_TASKS:
        assert tasks[task_id] == ("worker", "default", "success"), (task_id, tasks[task_id])
    assert {h for h, _, _ in tasks.values() if h} == {"writer", "worker"}

    # The writer worker wrote the one DuckDB file: each landed file once, every row accounted for.
    landed = [p for p in (home / "landing").rglob("*") if p.is_file() and not p.name.startswith("_")]
    con = duckdb.connect(str(home / "warehouse" / "matrix_pulse.duckdb"), read_only=True)
    try:
        ledger = con.sql(
            "select file_name, count(*), sum(rows_read), sum(rows_loaded + rows_set_aside)"
            " from meta.load_ledger group by file_name"
        ).fetchall()
    finally:
        con.close()
    assert ledger, "nothing was loaded"
    assert all(n == 1 for _, n, _, _ in ledger), "a file was recorded twice"
    assert all(read == accounted for _, _, read, accounted in ledger if read is not None)
    landed_names = {str(p.relative_to(home / "landing")) for p in landed}
    assert {name for name, _, _, _ in ledger} <= landed_names, "the ledger names a file that never landed"
