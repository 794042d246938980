"""Run the mp_ingest DAG end to end with dag.test() on real landed files."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from .conftest import query
from .fixtures import write_all_good

D = dt.date(2026, 7, 1)


@pytest.mark.slow
def test_mp_ingest_dag_runs_end_to_end(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState
    from matrix_pulse.ingest.freshness import daily_folders

    landed = write_all_good(settings.landing_dir, D)  # one file per landing folder
    (settings.landing_dir / "douyin_posts" / "README.txt").write_text("junk")
    dag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "mp_ingest.py")).dags[
        "mp_ingest"
    ]
    # The run at 06:00 on D+1 covers D: nothing is overdue, so the whole run succeeds.
    logical = dt.datetime(2026, 7, 2, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    run = dag.test(logical_date=logical)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == DagRunState.SUCCESS, states
    assert query(settings, "SELECT count(*) FROM meta.load_ledger WHERE status = 'loaded'")[0][0] == len(
        landed
    )
    assert query(settings, "SELECT count(DISTINCT file_name) FROM meta.gx_results")[0][0] == len(landed)
    assert query(settings, "SELECT count(*) FROM meta.source_freshness WHERE status = 'loaded'")[0][0] == len(
        daily_folders()
    )
    assert os.path.exists(settings.gx_data_docs_dir / "index.html")
