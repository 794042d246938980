"""Start the native Celery stack (scripts/celery_up.sh) for a test, on a private MP_HOME and
Airflow home, with demo exports landed for ``days`` and a real SMTP sink.

Needs root (the script creates the metadata database as the postgres superuser, like CI) and
redis-server; skips without them unless MP_REQUIRE_POSTGRES is set (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from tests.ops.conftest import free_port


def unavailable(reason: str) -> None:
    if os.environ.get("MP_REQUIRE_POSTGRES"):
        pytest.fail(f"MP_REQUIRE_POSTGRES is set but {reason}")
    pytest.skip(reason)


def simulate(env: dict[str, str], out: Path, start: str, end: str) -> None:
    """The demo's exports for start..end (seed 7) in ``out`` (emptied first by the simulator)."""
    argv = [
        *("python", "-m", "matrix_pulse.simulator", "--scale", "demo", "--seed", "7"),
        *("--start", start, "--end", end, "--out", str(out)),
    ]
    subprocess.run(argv, env=env, check=True, capture_output=True)


@contextmanager
def celery_stack(
    tmp_path_factory: pytest.TempPathFactory,
    days: tuple[str, str],
    extra_env: dict[str, str] | None = None,
    fresh_metadata: bool = False,
) -> Iterator[tuple[dict[str, str], Path, Path]]:
    """(env, MP_HOME, AIRFLOW_HOME) of a running stack; stopped (and its sink) on exit.

    ``fresh_metadata`` drops the metadata database first, so no earlier run shows up in it."""
    if os.geteuid() != 0:
        unavailable("the Celery stack test creates its metadata database as root")
    if not shutil.which("redis-server"):
        unavailable("redis-server is not installed (scripts/redis_install.sh)")
    home = tmp_path_factory.mktemp("mp_home")
    airflow_home = tmp_path_factory.mktemp("airflow_home")
    # Free ports, not the stack's defaults (8080, 6379, 8025): a `make airflow` or `make celery` the
    # developer left running, or a Redis an interrupted test run left behind, holds those.
    env = {
        **os.environ,
        "MP_HOME": str(home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW_PORT": str(free_port()),
        "MP_REDIS_PORT": str(free_port()),
        "MP_SMTP_PORT": str(free_port()),
        **(extra_env or {}),
    }
    # Alerts, notices and packs go to this test's SMTP sink, whatever connection the calling shell had.
    smtp_port = env["MP_SMTP_PORT"]
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": int(smtp_port),
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "matrix-pulse@example.com"},
        }
    )
    simulate(env, home / "landing", *days)
    if fresh_metadata:
        database = f"{env.get('MP_PG_DATABASE', 'matrix_pulse')}_airflow"
        subprocess.run(
            ["su", "postgres", "-c", f"dropdb --if-exists {database}"], check=True, capture_output=True
        )
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


def metadata_dsn(env: dict[str, str], home: Path) -> str:
    """The stack's Airflow metadata database (``<MP_PG_DATABASE>_airflow``)."""
    password = env.get("MP_PG_PASSWORD") or (home / "secrets" / "pg_password").read_text().strip()
    user, db = env.get("MP_PG_USER", "matrix_pulse"), env.get("MP_PG_DATABASE", "matrix_pulse")
    host, port = env.get("MP_PG_HOST", "127.0.0.1"), env.get("MP_PG_PORT", "5432")
    return f"host={host} port={port} user={user} password={password} dbname={db}_airflow"
