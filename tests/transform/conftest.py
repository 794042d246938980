"""Shared set-up for the transform tests: the embedded Airflow environment of
scripts/env.sh (when the caller did not source it) and a throw-away Matrix Pulse home with
a fixture warehouse."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

# The Airflow defaults of scripts/env.sh are set by tests/conftest.py.
# no network in CI: Cosmos must not try to send usage metrics
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
# as scripts/env.sh sets it (see matrix_pulse.transform.cosmos_config); read when cosmos is imported
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY", "False")


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """The manifest the DAG is rendered from, as set-up builds it (no-op when it is fresh)."""
    from matrix_pulse.transform.cosmos_config import ensure_manifest

    return ensure_manifest()


@pytest.fixture
def fixture_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MP_HOME, MP_WAREHOUSE and MP_PUBLISHED under tmp_path, warehouse holding the fixture raw layer."""
    from .fixture_warehouse import build_fixture_warehouse

    home = tmp_path / "mp_home"
    warehouse = home / "warehouse" / "matrix_pulse.duckdb"
    monkeypatch.setenv("MP_HOME", str(home))
    monkeypatch.setenv("MP_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("MP_PUBLISHED", str(home / "published" / "matrix_pulse_marts.duckdb"))
    build_fixture_warehouse(warehouse)
    return home


def run_dbt_build(work_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`dbt build` of the project with its target and logs in ``work_dir``; fails the test on error."""
    from matrix_pulse.settings import get_settings
    from matrix_pulse.transform.cosmos_config import DBT_EXECUTABLE, DBT_PROJECT_DIR

    started = time.monotonic()
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE), "build", *args, "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(work_dir / "target"),
            "--log-path", str(work_dir / "logs"),
        ],
        env={**os.environ, **get_settings().dbt_env(), **env}, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    print(f"dbt build {' '.join(args)} in {work_dir}: {time.monotonic() - started:.1f}s")
    return result


@pytest.fixture(scope="session")
def duckdb_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The fixture raw layer built by `dbt build` on DuckDB: (warehouse path, dbt's stdout).

    Built once per session: the dbt tests and the PostgreSQL comparison read the same build.
    """
    from .fixture_warehouse import build_fixture_warehouse

    root = tmp_path_factory.mktemp("dbt_build_duckdb")
    warehouse = build_fixture_warehouse(root / "matrix_pulse.duckdb")
    result = run_dbt_build(root, {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"})
    return warehouse, result.stdout
