"""Shared set-up for the report tests: a fixture published DuckDB, a small audiences file,
a real SMTP server (our aiosmtpd sink) and the SMTP connection pointed at it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.report.fixture_marts import build_fixture

AUDIENCES_YAML = """
quality_gate:
  max_missing_source_day_rate: 0.05
  block_on_critical_gx: true
pack:
  creator_rows_in_pdf: 4  # below the fixture's 10 creator deals: the DAG path prints a capped table
audiences:
  - {id: hq, name: 总部市场部, scope: national, recipients: [cmo@example.com, marketing-hq@example.com]}
  - {id: huadong, name: 华东大区, scope: region, region: 华东, recipients: [huadong-marketing@example.com]}
"""


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture(tmp_path_factory.mktemp("fixture") / "published.duckdb")


@pytest.fixture(scope="session")
def blocked_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same marts, but a critical GX failure on 2026-08-20 that no re-delivery fixed."""
    return build_fixture(
        tmp_path_factory.mktemp("fixture_blocked") / "published.duckdb", critical_gx_failure=True
    )


def make_home(root: Path, published: Path) -> Path:
    home = root / "mp_home"
    (home / "published").mkdir(parents=True)
    shutil.copy(published, home / "published" / "matrix_pulse_marts.duckdb")
    (home / "audiences.yaml").write_text(AUDIENCES_YAML, encoding="utf-8")
    return home


def smtp_conn_json(port: int) -> str:
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                       "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "matrix-pulse@example.com",
                                 "timeout": 10, "retry_limit": 0}})  # fmt: skip


@pytest.fixture(scope="module")
def report_env(tmp_path_factory: pytest.TempPathFactory, fixture_db: Path) -> Iterator[dict]:
    """MP_HOME with the published fixture, the 2-audience config, and a running SMTP sink."""
    from matrix_pulse.ops.smtp_sink import SmtpSink

    home = make_home(tmp_path_factory.mktemp("report"), fixture_db)
    with pytest.MonkeyPatch.context() as mp, SmtpSink(home / "mailbox") as sink:
        for var in ("MP_WAREHOUSE", "MP_PUBLISHED", "MP_LANDING_DIR"):
            mp.delenv(var, raising=False)
        mp.setenv("MP_HOME", str(home))
        mp.setenv("MP_AUDIENCES_FILE", str(home / "audiences.yaml"))
        mp.setenv("MP_ALERT_EMAILS", "data-team@example.com")
        mp.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn_json(sink.port))
        yield {"home": home, "sink": sink, "published": home / "published" / "matrix_pulse_marts.duckdb"}
