"""The failure alert reaches a real SMTP server when a task fails for good.

Runs the probe DAG (tests/ops/alert_probe) with ``dag.test()`` in a child process that
sources scripts/env.sh, so Airflow reads its configuration the way the real components do.
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import REPO_ROOT, clean_airflow_env

PROBE_DIR = REPO_ROOT / "tests" / "ops" / "alert_probe"


def test_recipients_are_split_and_deduplicated() -> None:
    from matrix_pulse.ops.alerts import alert_recipients

    assert alert_recipients("a@x.cn, b@x.cn;a@x.cn  c@x.cn") == ["a@x.cn", "b@x.cn", "c@x.cn"]
    assert alert_recipients("") == []


def test_email_names_dag_task_and_shanghai_date_without_a_task_instance() -> None:
    """A DAG-level failure (no ti) still renders; dates are converted to Asia/Shanghai."""
    from matrix_pulse.ops.alerts import render_failure_email

    class Dag:
        dag_id = "mp_ingest"

    # 2026-07-14 16:00 UTC is 2026-07-15 00:00 in Shanghai: the data date must say the 15th.
    utc_midnight = datetime(2026, 7, 14, 16, tzinfo=ZoneInfo("UTC"))
    subject, body = render_failure_email(
        {"dag": Dag(), "logical_date": utc_midnight, "run_id": "scheduled__x", "reason": "a {{ brace }}"}
    )
    assert "mp_ingest" in subject and "2026-07-15" in subject
    assert "2026-07-15 00:00 CST" in body
    assert "a {{ brace }}" in body


@pytest.mark.slow
def test_failed_task_sends_alert_email(tmp_path: Path, smtp_server, private_airflow_home: Path) -> None:
    port, received = smtp_server
    recipients = ["ops-a@example.com", "ops-b@example.com"]
    env = clean_airflow_env(
        private_airflow_home,
        tmp_path / "mp_home",
        # env.sh builds AIRFLOW_CONN_SMTP_DEFAULT from MP_SMTP_PORT: the test exercises that very
        # connection. (A preset AIRFLOW_CONN_SMTP_DEFAULT is mangled by env.sh's ${X:-{...}}.)
        MP_SMTP_PORT=str(port),
        MP_ALERT_EMAILS=", ".join(recipients),
        AIRFLOW__API__BASE_URL="http://airflow.example.test:8080",
    )
    script = (
        f"source {REPO_ROOT}/scripts/env.sh && "
        # dag.test() only runs DAGs that a configured bundle holds: serve the probe folder.
        f"export AIRFLOW__CORE__DAGS_FOLDER={PROBE_DIR} && "
        f"exec python {PROBE_DIR / 'always_failing_dag.py'}"
    )
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert "DAG_RUN_STATE=failed" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]

    assert len(received.messages) == 1, run.stdout[-4000:]
    envelope_to, message = received.messages[0]
    assert sorted(envelope_to) == recipients
    assert sorted(a.strip() for a in message["To"].split(",")) == recipients
    subject = str(message["Subject"])
    assert subject.startswith("[Matrix Pulse]")
    assert "mp_ops_alert_probe.load_douyin_posts" in subject and "2026-07-15" in subject
    body = message.get_body(preferencelist=("html",)).get_content()
    for expected in ("mp_ops_alert_probe", "load_douyin_posts", "2026-07-15", "RuntimeError"):
        assert expected in body
    assert "http://airflow.example.test:8080/dags/mp_ops_alert_probe/runs/" in body
    assert "/tasks/load_douyin_posts" in body
