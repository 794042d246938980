"""Shared test set-up.

The embedded Airflow home (scripts/env.sh, migrated by scripts/setup.sh) is used by the
DAG tests; every test that writes data gets its own MP_HOME so runs never share state.
The defaults below only apply when pytest is started without `make test`.

Parallel runs (pytest-xdist; ``make test`` passes ``-n``, see the Makefile): each xdist worker
gets a private copy of the migrated Airflow home (metadata DB, logs), so two workers'
``dag.test()`` runs never write one SQLite file, and every test that writes data has its own
MP_HOME, free ports and its own PostgreSQL schema prefix. What must stay on one worker is a
session fixture several modules share: the e2e demo (run twice: 394 s of set-up in the
fresh-clone CI of 0f1a19f), the Celery stack of tests/scaleout, the report fixtures, the simulator runs,
the pull stand-ins, the DuckDB build of the dbt fixture. ``WORK_UNITS`` names those folders (and
one pair of modules); the scheduler below (``pytest_xdist_make_scheduler``) sends each to one
worker as a unit and every other test module as its own unit, the units in ``WORK_UNITS`` order
first, then the modules in collection order (see the note under ``WORK_UNITS``). (xdist's own
``--dist loadgroup`` cannot be used: with pytest 9.2 the group it appends to ``item._nodeid`` is
never read, pytest 9.2 derives ``nodeid`` from ``item._id``.)
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _private_airflow_home(worker: str) -> None:
    """Point this session (or xdist worker) at its own copy of the migrated Airflow home, before Airflow is imported."""
    shared = Path(os.environ.get("AIRFLOW_HOME", REPO_ROOT / "airflow_home"))
    home = Path(tempfile.mkdtemp(prefix=f"mp_airflow_{worker}_"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    for name in ("airflow.cfg", "webserver_config.py"):
        if (shared / name).is_file():
            shutil.copy2(shared / name, home / name)
    if (shared / "airflow.db").is_file():  # the SQLite backup API copies consistently even mid-write
        source, target = sqlite3.connect(shared / "airflow.db"), sqlite3.connect(home / "airflow.db")
        with target:
            source.backup(target)
        source.close()
        target.close()
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(home / "logs")


# Every test session works on its own copy of the migrated Airflow home (one per xdist worker):
# the runs that dag.test() records (logical dates in 2026-07, failures on purpose) must not
# show up in the data team's Airflow UI after `make test`, nor two workers share a SQLite file.
_private_airflow_home(os.environ.get("PYTEST_XDIST_WORKER", "session"))


os.environ.setdefault("AIRFLOW_HOME", str(REPO_ROOT / "airflow_home"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO_ROOT / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Asia/Shanghai")
# A fixed test key: never a production key (those come from the environment or a connection).
os.environ.setdefault("MP_PII_HMAC_KEY", "test-only-hmac-key-3f9c2a7e")


# Folders whose tests share a session fixture: each runs on one xdist worker, as one unit.
WORK_UNITS = (
    "tests/e2e/",
    "tests/scaleout/",
    "tests/report/",
    "tests/simulator/",
    "tests/pull/",
    # test_dbt_build.py and test_dbt_build_postgres.py: both read the session's `duckdb_build`
    # (a full dbt build of the fixture quarter), built once when they share a worker
    "tests/transform/test_dbt_build",
)

# Units are handed out in WORK_UNITS order, then the remaining modules in collection order.
# Handing the long modules out longest first was tried and gave nothing measurable: fresh-clone
# CI, 3 workers, tests only: collection order 738.6 and 842.1 s (0f1a19f, 1eb7fc1; the e2e demo
# fixture, the critical path, 394 and 473 s), longest first 800.0 s (2f22e4e; fixture 442 s);
# four workers 764.2 s (fixture 531 s). Runs of the same order differ by ~100 s.


def _work_unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return next((unit for unit in WORK_UNITS if path.startswith(unit)), path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long units first (the order xdist's scheduler below hands them out; serial runs keep it too)."""
    rank = {unit: i for i, unit in enumerate(WORK_UNITS)}
    items.sort(key=lambda item: rank.get(_work_unit(item.nodeid), len(rank)))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """xdist's load-scope scheduler with our units: a WORK_UNITS folder, else the test module."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    config.option.loadscopereorder = False  # keep the order pytest_collection_modifyitems chose
    return WorkUnitScheduling(config, log)


@pytest.fixture
def mp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private MP_HOME (landing, warehouse, outputs) for one test."""
    home = tmp_path / "mp_home"
    home.mkdir()
    monkeypatch.setenv("MP_HOME", str(home))
    monkeypatch.delenv("MP_WAREHOUSE", raising=False)
    monkeypatch.delenv("MP_PUBLISHED", raising=False)
    monkeypatch.delenv("MP_LANDING_DIR", raising=False)
    return home
