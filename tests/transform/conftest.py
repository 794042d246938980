"""Shared set-up for the transform tests: the embedded Airflow environment of
scripts/env.sh (when the caller did not source it) and a throw-away Matrix Pulse home with
a fixture warehouse."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile
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


# This worker's first partial_parse.msgpack per warehouse file name and overrides (see dbt()).
_PARSED = Path(tempfile.mkdtemp(prefix="mp_dbt_parsed_"))
atexit.register(shutil.rmtree, _PARSED, ignore_errors=True)


def dbt(
    command: str,
    work_dir: Path,
    env: dict[str, str],
    *args: str,
    project: Path | None = None,
    timeout: int = 900,
) -> subprocess.CompletedProcess:
    """`dbt <command>` of the project (or a copy of it) with its target and logs in ``work_dir``.

    Every call of the transform tests goes through here so that dbt parses the project ONCE per
    xdist worker and warehouse name, not once per call: a full parse is ~3 of a fixture build's
    ~14 s of CPU, and these modules run ~30 builds. dbt re-parses in full whenever the profile's
    connection values differ from the saved parse's, and the DuckDB path is one of them, so dbt
    runs in the warehouse's folder with ``MP_WAREHOUSE`` as the bare file name (the same
    database: DuckDB names it after the file). A fresh target starts from the first parse this
    worker saved for that name; dbt itself checks every file's checksum, the profile, the vars and
    the env vars against it and re-parses what changed (the scope tests that edit a model or a
    macro see the edit). The seed is a parse of this checkout's own project (in these modules the
    first call for each name builds it unedited); a parse carried across DIFFERENT checkouts is
    what scripts/env.sh keeps Cosmos' cache from doing, after one unexplained build of another
    checkout's tests."""
    from matrix_pulse.settings import get_settings
    from matrix_pulse.transform.cosmos_config import DBT_EXECUTABLE, DBT_PROJECT_DIR

    project = project or DBT_PROJECT_DIR
    merged = {**os.environ, **get_settings().dbt_env(), **env}
    cwd = None
    if merged.get("MP_DBT_TARGET", "duckdb") == "duckdb" and merged.get("MP_WAREHOUSE"):
        warehouse = Path(merged["MP_WAREHOUSE"]).resolve()
        cwd, merged["MP_WAREHOUSE"] = warehouse.parent, warehouse.name
    key = hashlib.md5(
        repr(sorted({**env, "MP_WAREHOUSE": merged.get("MP_WAREHOUSE")}.items())).encode()
    ).hexdigest()
    saved, target = _PARSED / f"{key}.msgpack", work_dir / "target"
    if saved.exists() and not (target / "partial_parse.msgpack").exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, target / "partial_parse.msgpack")
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE), command, *args, "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(target), "--log-path", str(work_dir / "logs"),
        ],
        env=merged, cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if not saved.exists() and (target / "partial_parse.msgpack").exists():
        shutil.copyfile(target / "partial_parse.msgpack", saved)
    return result


def run_dbt_build(work_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`dbt build` of the project with its target and logs in ``work_dir``; fails the test on error."""
    started = time.monotonic()
    result = dbt("build", work_dir, env, *args)
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
