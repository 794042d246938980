"""One settings object: no module reads the environment except matrix_pulse.settings, and every
option it holds is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matrix_pulse.settings import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
# A read of the environment: os.getenv, os.environ.get / [...] / in / copy / ** unpacking.
# Handing values TO a library that reads the environment itself (os.environ.update) is allowed.
ENV_READ = re.compile(r"\bos\.getenv\b|\bgetenv\(|\bos\.environ\b(?!\.update\()|^\s*from os import .*environ")


def test_no_environment_read_outside_settings() -> None:
    offenders = []
    for folder in ("include", "dags", "plugins"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            if path == REPO_ROOT / "include" / "matrix_pulse" / "settings.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if ENV_READ.search(line):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}")
    assert offenders == [], "read the environment through matrix_pulse.settings:\n" + "\n".join(offenders)


def test_the_grep_catches_an_environment_read() -> None:
    assert ENV_READ.search('x = os.environ.get("MP_HOME")')
    assert ENV_READ.search('env = {**os.environ, "A": "b"}')
    assert ENV_READ.search('os.getenv("MP_HOME")')
    assert not ENV_READ.search("os.environ.update(dbt_env())")


def test_every_option_has_a_description() -> None:
    missing = [name for name, info in Settings.model_fields.items() if not (info.description or "").strip()]
    assert missing == []


def test_options_come_from_mp_variables_and_paths_from_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MP_HOME", str(tmp_path))
    monkeypatch.delenv("MP_WAREHOUSE", raising=False)
    monkeypatch.delenv("MP_LANDING_DIR", raising=False)
    monkeypatch.setenv("MP_LATE_AFTER_HOURS", "12")
    monkeypatch.setenv("MP_DUCKDB_THREADS", "3")
    s = get_settings()
    assert s.warehouse_path == tmp_path.resolve() / "warehouse" / "matrix_pulse.duckdb"
    assert s.landing_dir == tmp_path.resolve() / "landing"
    assert (s.late_after_hours, s.duckdb_threads) == (12, 3)
    assert s.dbt_env()["MP_DUCKDB_THREADS"] == "3"  # dbt's profile and the ingest share the value
    monkeypatch.setenv("MP_LATE_AFTER_HOURS", "soon")
    with pytest.raises(ValueError, match="late_after_hours"):
        get_settings()


def test_dbt_profile_has_no_defaults_of_its_own() -> None:
    """profiles.yml takes the DuckDB values from Settings.dbt_env(), so they cannot drift apart."""
    profile = (REPO_ROOT / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    for name in ("MP_WAREHOUSE", "MP_DBT_THREADS", "MP_DUCKDB_MEMORY_LIMIT", "MP_DUCKDB_THREADS"):
        assert name in get_settings().dbt_env() and f"env_var('{name}')" in profile, name
