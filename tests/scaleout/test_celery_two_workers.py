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
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import REPO_ROOT
from matrix_pulse.ops.airflow_runs import AirflowApi, run_dag

WRITER_TASKS = {"load_landed_files", "check_quality", "check_freshness"}
OTHER_TASKS = {"pull_exports", "publish_raw"}


def _unavailable(reason: str) -> None:
    if os.environ.get("MP_REQUIRE_POSTGRES"):
        pytest.fail(f"MP_REQUIRE_POSTGRES is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    if os.geteuid() != 0:
        _unavailable("the Celery stack test creates its metadata database as root")
    if not shutil.which("redis-server"):
        _unavailable("redis-server is not installed (scripts/redis_install.sh)")
    home = tmp_path_factory.mktemp("mp_home")
    airflow_home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "MP_HOME": str(home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW_PORT": os.environ.get("AIRFLOW_PORT", "8080"),
    }
    # Alerts and notices go to this test's SMTP sink, whatever connection the calling shell had.
    smtp_port = env.get("MP_SMTP_PORT", "8025")
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": int(smtp_port),
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "matrix-pulse@example.com"},
        }
    )
    simulate = [
        *("python", "-m", "matrix_pulse.simulator", "--scale", "demo", "--seed", "7"),
        *("--start", "2026-09-29", "--end", "2026-09-30", "--out", str(home / "landing")),
    ]
    subprocess.run(simulate, env=env, check=True, capture_output=True)
    sink = subprocess.Popen(
        [
            *("python", "-m", "matrix_pulse.ops.smtp_sink", "--host", "127.0.0.1"),
            *("--port", smtp_port, "--dir", str(home / "mailbox")),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    up = subprocess.run(
        [str(REPO_ROOT / "scripts" / "celery_up.sh"), "start"], env=env, capture_output=True, text=True
    )
    try:
        if up.returncode:
            pytest.fail(f"the Celery stack did not start:\n{up.stdout[-2000:]}\n{up.stderr[-4000:]}")
        yield env, home, airflow_home
    finally:
        subprocess.run([str(REPO_ROOT / "scripts" / "celery_up.sh"), "stop"], env=env, capture_output=True)
        sink.terminate()
        sink.wait(10)


def _metadata_dsn(env: dict[str, str], home: Path) -> str:
    password = env.get("MP_PG_PASSWORD") or (home / "secrets" / "pg_password").read_text().strip()
    user, db = env.get("MP_PG_USER", "matrix_pulse"), env.get("MP_PG_DATABASE", "matrix_pulse")
    host, port = env.get("MP_PG_HOST", "127.0.0.1"), env.get("MP_PG_PORT", "5432")
    return f"host={host} port={port} user={user} password={password} dbname={db}_airflow"


@pytest.mark.timeout(1500)
def test_ingest_runs_on_two_workers_with_writers_on_the_writer_queue(stack) -> None:
    env, home, airflow_home = stack
    passwords = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
    api = AirflowApi(f"http://127.0.0.1:{env['AIRFLOW_PORT']}", "admin", passwords["admin"])
    api.wait_parsed("mp_ingest", after=datetime.fromtimestamp(0, UTC), timeout=300)
    run = run_dag(api, "mp_ingest", "2026-10-01T06:00:00+08:00", {}, timeout=1200)

    con = psycopg2.connect(_metadata_dsn(env, home))
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
