"""On Celery, DuckDB's single writer holds only if every writing task goes to the writer queue.

The one-slot pool marks the tasks that write the warehouse; each of them must also carry the
queue only the `writer` worker serves, and no other task may (it would wait on one slot for
nothing). The stack's definition must have exactly one worker on that queue, with one slot.
"""

from __future__ import annotations

import pytest
from conftest import REPO_ROOT
from matrix_pulse.ops.celery_stack import processes
from matrix_pulse.settings import get_settings


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_every_writer_runs_on_the_writer_queue_and_only_the_producer_holds_the_pool(dagbag) -> None:
    """Every task that may write the DuckDB file runs on the writer queue (on Celery: the one
    worker that owns the file). The one-slot pool serialises the writers, except the dbt
    consumer sensors: they only read the producer's XComs (their fallback dbt run writes, hence
    the queue), and pooled behind their own producer they would queue for its slot
    (transform/cosmos_config.py says why and what DuckDB's lock does instead)."""
    settings = get_settings()
    in_pool, in_queue = set(), set()
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            if task.pool == settings.writer_pool:
                in_pool.add((dag.dag_id, task.task_id))
            if task.queue == settings.writer_queue:
                in_queue.add((dag.dag_id, task.task_id))
    assert ("mp_ingest", "load_landed_files") in in_pool
    producers = {(d, t) for d, t in in_pool if d == "mp_transform" and t.startswith("dbt.")}
    assert len(producers) == 1, f"one dbt producer holds the pool: {sorted(producers)}"
    assert in_pool <= in_queue, f"pooled but not on the writer queue: {sorted(in_pool - in_queue)}"
    consumers = in_queue - in_pool
    assert consumers, "the dbt consumer sensors are on the writer queue"
    assert all(d == "mp_transform" and t.startswith("dbt.") for d, t in consumers), sorted(consumers)


def test_exactly_one_worker_serves_the_writer_queue_with_one_slot(tmp_path) -> None:
    from matrix_pulse.settings import Settings

    settings = Settings(home=tmp_path)
    serving = [p for p in processes(settings) if p.argv[:3] == ("airflow", "celery", "worker")]
    assert len(serving) == 2, "the stack has two workers"
    writers = [p for p in serving if settings.writer_queue in p.argv[p.argv.index("--queues") + 1].split(",")]
    assert [p.name for p in writers] == ["writer"]
    assert writers[0].argv[writers[0].argv.index("--concurrency") + 1] == "1"
