"""The dag-processor Matrix Pulse starts (``python -m matrix_pulse.ops.dag_processor``) against Airflow's own.

Each run: a private Airflow home (a copy of the migrated DB) and DAG folder holding a probe DAG
whose task has a success and a failure callback that each leave a file; a task success and a task
failure callback request filed in the metadata DB as Airflow's triggerer files them; then the
dag-processor started as scripts/airflow_up.sh starts it, for two parsing loops.

With Airflow's own (``airflow dag-processor``) the test holds Airflow to what makes the filter
safe: the success request is claimed, the file parsed for it, and the success callback never runs
("not a failure callback"); the day an Airflow release runs it, this fails and the filter must
go. With ours: the failure callback still runs (the data team's alert e-mail depends on it), both
requests are claimed, and the success one never reaches the processor (here the file is parsed for
the failure one anyway; in a run, where successes come in batches of their own, each such batch
was a parse).
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT, clean_airflow_env

PROBE_DAG = """
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, task

HERE = Path(__file__).parent


def _left(name):
    def callback(context):
        (HERE.parent / name).write_text(context["ti"].task_id)
    return callback


with DAG("mp_callback_probe", schedule=None, start_date=datetime(2026, 7, 1), tags=["test"]):
    @task(on_success_callback=_left("success_ran"), on_failure_callback=_left("failure_ran"))
    def work() -> None:
        pass

    work()
"""
# Filed as airflow/models/trigger.py files them when a trigger ends a task.
FILE_REQUESTS = """
import uuid
from airflow.callbacks.callback_requests import TaskCallbackRequest
from airflow.callbacks.database_callback_sink import DatabaseCallbackSink
from airflow.utils.state import TaskInstanceState

for state in (TaskInstanceState.SUCCESS, TaskInstanceState.FAILED):
    ti = {"id": uuid.uuid4(), "task_id": "work", "dag_id": "mp_callback_probe", "run_id": "manual__probe",
          "try_number": 1, "dag_version_id": uuid.uuid4()}
    DatabaseCallbackSink().send(TaskCallbackRequest(
        filepath="probe.py", bundle_name="dags-folder", bundle_version=None, ti=ti, task_callback_type=state))
"""
IGNORED = "Task callback requested but is not a failure callback"
PROCESSORS = {
    "airflow": "airflow dag-processor --num-runs 2",
    "matrix_pulse": "python -m matrix_pulse.ops.dag_processor --num-runs 2",
}


def _processor_log(airflow_home: Path) -> str:
    """What the DAG file processor logged while parsing the probe (its per-file logs)."""
    logs = sorted((airflow_home / "logs").rglob("probe.py.log"))
    return "\n".join(path.read_text(errors="replace") for path in logs)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("processor", sorted(PROCESSORS))
def test_success_callbacks_run_nowhere_and_ours_skips_their_parse(
    processor: str, tmp_path: Path, private_airflow_home: Path
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "probe.py").write_text(PROBE_DAG)
    db = sqlite3.connect(private_airflow_home / "airflow.db")
    with db:  # the copy may hold requests the shared DB's DAG runs filed: only the probe's count
        db.execute("delete from callback")
    env = clean_airflow_env(private_airflow_home, tmp_path / "mp_home")
    # A file is parsed for its callbacks no sooner than min_file_process_interval (30 s) after its
    # last parse: 1 s keeps each run ~10 s instead of ~40 s.
    script = (
        f'source "{REPO_ROOT}/scripts/env.sh" && export AIRFLOW__CORE__DAGS_FOLDER="{dags}" '
        f"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=1 && "
        f"python -c '{FILE_REQUESTS}' && {PROCESSORS[processor]}"
    )
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    left = db.execute("select count(*) from callback").fetchone()[0]
    db.close()
    assert left == 0, "every filed request is claimed, the dropped one included"
    assert (tmp_path / "failure_ran").read_text() == "work", "the failure callback must still run"
    assert not (tmp_path / "success_ran").exists(), "Airflow now runs task success callbacks here"
    log = _processor_log(private_airflow_home)
    assert "Executing Task callback" in log, log[-3000:]
    if processor == "airflow":
        assert IGNORED in log, "Airflow's processor no longer logs the success request it parses for"
    else:
        assert IGNORED not in log, "our dag-processor parsed the probe for a success callback"
