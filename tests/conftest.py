"""Shared test set-up.

The embedded Airflow home (scripts/env.sh, migrated by scripts/setup.sh) is used by the
DAG tests; every test that writes data gets its own MP_HOME so runs never share state.
The defaults below only apply when pytest is started without `make test`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("AIRFLOW_HOME", str(REPO_ROOT / "airflow_home"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO_ROOT / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DEFAULT_TIMEZONE", "Asia/Shanghai")
# A fixed test key: never a production key (those come from the environment or a connection).
os.environ.setdefault("MP_PII_HMAC_KEY", "test-only-hmac-key-3f9c2a7e")


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
