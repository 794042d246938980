"""Shared set-up for the transform tests: the embedded Airflow environment of
scripts/env.sh (when the caller did not source it) and a throw-away Matrix Pulse home with
a fixture warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The Airflow defaults of scripts/env.sh are set by tests/conftest.py.
# no network in CI: Cosmos must not try to send usage metrics
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")


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
