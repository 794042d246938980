"""A DAG whose only task always fails: the probe for the failure alert (tests/ops/test_alerts.py).

Kept out of dags/ so the scheduler never sees it. Run as a script it calls ``dag.test()``
for one data date, with retries=0 so the first failure is the final one.
"""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from airflow.sdk import DAG, task
from matrix_pulse.ops.alerts import failure_alert

DAG_ID = "mp_ops_alert_probe"
TASK_ID = "load_douyin_posts"
DATA_DATE = datetime(2026, 7, 15, tzinfo=ZoneInfo("Asia/Shanghai"))

with DAG(
    dag_id=DAG_ID,
    schedule=None,
    start_date=datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
    catchup=False,
    tags=["test"],
    # The same shape as orchestration.DEFAULT_ARGS once the lead adds the callback there.
    default_args={"retries": 0, "on_failure_callback": failure_alert()},
) as dag:

    @task(task_id=TASK_ID)
    def always_fails() -> None:
        raise RuntimeError("simulated failure: landing folder douyin_posts is empty for 2026-07-15")

    always_fails()


if __name__ == "__main__":
    run = dag.test(logical_date=DATA_DATE)
    print(f"DAG_RUN_STATE={run.state}")
    sys.exit(0)
