"""mp_transform under the real scheduler (scripts/airflow_up.sh: scheduler, triggerer, LocalExecutor),
where each dbt consumer starts in the triggerer (``watcher.NodeVerdictTrigger``), not in a task
process. `dag.test()` never starts a task from a trigger, so only a scheduler shows this path.

One run on the fixture warehouse with one failing data test (the roster's accepted_values):
- the root consumers start with the run, beside the build, not after it (every other one too);
- the consumers whose node and tests passed end in the triggerer: success without a worker
  process (no pid); (a test counts for the node it is declared on: the dims the roster's
  relationships tests read do not fail with it);
- the roster model's consumer is handed to a worker, which fails it with its tests' verdict;
- its retry (the producer has ended) runs on a worker too and rebuilds the model with its tests
  (`dbt build --select`), so the failed test fails it again;
- every consumer of a model built from it (dbt skipped those) ends skipped in the triggerer once
  the roster's task has failed for good (marked failed here instead of a third try): no worker
  process, no failure of its own;
- nothing is published.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from matrix_pulse.settings import REPO_ROOT, get_settings

from tests.ops.conftest import clean_airflow_env, free_port
from tests.transform.test_mp_transform_dag import _load_dag

SCRIPT = REPO_ROOT / "scripts" / "airflow_up.sh"
ROSTER = "dbt.stg_reference__roster_accounts_run"


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _copy_migrated_db(home: Path) -> None:
    """The repo's migrated metadata DB (SQLite backup API: consistent even mid-write)."""
    home.mkdir()
    source, target = (
        sqlite3.connect(REPO_ROOT / "airflow_home" / "airflow.db"),
        sqlite3.connect(home / "airflow.db"),
    )
    with target:
        source.backup(target)
    source.close()
    target.close()


def _task_instances(db: Path, run_id: str) -> dict[str, tuple]:
    with sqlite3.connect(db, timeout=30) as con:
        rows = con.execute(
            "select task_id, state, try_number, pid, start_date, end_date from task_instance "
            "where dag_id = 'mp_transform' and run_id = ?",
            (run_id,),
        ).fetchall()
    return {task_id: row for task_id, *row in rows}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_consumers_end_in_the_triggerer_and_a_failed_test_still_fails_on_a_worker(fixture_home, tmp_path):
    import httpx
    from matrix_pulse.transform.publish import publish_warehouse_copy

    settings = get_settings()
    publish_warehouse_copy(settings.warehouse_path, settings.published_path)  # yesterday's copy
    published_before = settings.published_path.stat().st_mtime_ns
    with duckdb.connect(str(settings.warehouse_path)) as con:
        # not a matrix tier: the (error-severity) accepted_values test of the roster's staging model fails
        con.execute("update raw.matrix_roster set matrix_tier = '路人' where account_id = 'dy_official'")

    airflow_home = tmp_path / "airflow_home"
    _copy_migrated_db(airflow_home)
    port = free_port()
    env = clean_airflow_env(
        airflow_home,
        fixture_home,
        MP_WAREHOUSE=str(settings.warehouse_path),
        MP_PUBLISHED=str(settings.published_path),
        AIRFLOW_PORT=str(port),
        AIRFLOW_UP_TIMEOUT="300",
        # only the run this test triggers (as scripts/demo.sh does)
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="0.25",
    )
    started = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=400)
    try:
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-3000:]
        password = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())[
            "admin"
        ]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            token = http.post("/auth/token", json={"username": "admin", "password": password}).json()
            http.headers["Authorization"] = f"Bearer {token['access_token']}"
            _wait_for(
                lambda: http.get("/api/v2/dags/mp_transform").status_code == 200,
                180,
                "mp_transform to be parsed",
            )
            assert http.patch("/api/v2/dags/mp_transform", json={"is_paused": False}).status_code == 200
            run = http.post("/api/v2/dags/mp_transform/dagRuns", json={"logical_date": None})
            assert run.status_code == 200, run.text
            run_id = run.json()["dag_run_id"]
            db = airflow_home / "airflow.db"

            def roster_retried_and_failed_again():
                state, try_number, *_ = _task_instances(db, run_id).get(ROSTER, (None, 0))
                return try_number >= 2 and state in ("up_for_retry", "failed")

            _wait_for(roster_retried_and_failed_again, 600, "the roster model's task to fail on its retry")
            # its last retry would come after a longer back-off: mark it failed, as from the UI
            marked = http.patch(
                f"/api/v2/dags/mp_transform/dagRuns/{run_id}/taskInstances/{ROSTER}",
                json={"new_state": "failed"},
            )
            assert marked.status_code == 200, marked.text
            built_from_roster = {
                t
                for t in _load_dag().get_task(ROSTER).get_flat_relative_ids(upstream=False)
                if t.endswith("_run")
            }

            def every_consumer_ended():
                tis = _task_instances(db, run_id)
                ended = ("success", "failed", "skipped", "upstream_failed")
                return all(tis.get(t, (None,))[0] in ended for t in built_from_roster | {ROSTER})

            _wait_for(every_consumer_ended, 300, "the consumers of the models built from the roster to end")
            tis = _task_instances(db, run_id)
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=90)

    consumers = {t: v for t, v in tis.items() if t.endswith(("_run", "_seed")) and t != ROSTER}
    # models whose tests passed: ended in the triggerer, no task process was started for them
    assert tis["dbt.stg_douyin__posts_run"][0] == "success"
    succeeded = {t: pid for t, (state, _, pid, *_) in consumers.items() if state == "success"}
    assert len(succeeded) >= 20, sorted(consumers.items())  # the staging models but the roster's, ...
    assert {t for t, pid in succeeded.items() if pid is not None} == set(), "started a task process"
    producer_id = "dbt.dbt_producer_watcher"
    assert tis[producer_id][2] is not None  # the build itself ran in a task process
    # the root consumers (staging models, seeds) started with the run, before the build ended
    producer_end = tis[producer_id][4]  # (state, try_number, pid, start_date, end_date)
    roots = [
        t.task_id
        for t in _load_dag().tasks
        if t.upstream_task_ids == {producer_id} and t.task_id in consumers
    ]
    assert len(roots) >= 20 and all(tis[t][3] < producer_end for t in roots), {t: tis[t][3] for t in roots}

    # the failed test: try 1 was decided on a worker with the tests' verdict ...
    logs = airflow_home / "logs" / "dag_id=mp_transform" / f"run_id={run_id}" / f"task_id={ROSTER}"
    first = (logs / "attempt=1.log").read_text()
    assert "not all of its dbt data tests passed" in first
    # ... and the retry rebuilt the model with its tests (`dbt build --select`), which failed again
    second = (logs / "attempt=2.log").read_text()
    assert "stg_reference__roster_accounts" in second and "accepted_values" in second
    assert "Retry attempt #1" in second
    # dbt skipped every model built from the roster: their tasks end skipped, in the triggerer
    assert len(built_from_roster) >= 10
    assert {t: tuple(tis[t][:3:2]) for t in built_from_roster} == {
        t: ("skipped", None) for t in built_from_roster
    }
    assert tis.get("publish_marts", (None,))[0] in (None, "upstream_failed")
    assert settings.published_path.stat().st_mtime_ns == published_before
