"""### mp_transform: raw tables → dbt star schema and marts → published read-only copy

Runs whenever the ingest updates any raw table (an Asset expression over every raw
Asset), at most one run at a time:

1. **dbt** — the `dbt/` project through astronomer-cosmos in watcher mode: the
   `dbt_producer_watcher` task runs ONE `dbt build` (seeds, models, data and unit tests);
   ONE sensor per seed and per model (`<model>_run`, `<seed>_seed`) reports that node's
   result and then the result of the data tests declared on it, so a failed model, or a
   failed test of it, fails that model's task (its retry, once the build has ended, runs
   `dbt build --select <model>`: the model and its tests). The producer runs in the one-slot
   `duckdb_writer` pool (DuckDB has a single writer); the sensors only read its results, so
   they all start with the run, beside it, and each reports as soon as the build has decided
   its node and tests (dbt skips the models built from a failed one: their sensors end
   skipped). Under the scheduler each sensor starts in the **triggerer** and, when its node and
   tests passed, ends there without a task process; any other outcome hands it to a worker,
   which fails it (or, on a retry, rebuilds the node once the tasks of the models it is built
   from have succeeded).
2. **publish_marts** — waits for every model's and seed's task, then copies the `marts` and `meta` schemas into a new DuckDB file and
   swaps it in atomically at the published path; analysts holding the old file open are
   never blocked. The new file starts from the last published one: only the tables (or the
   days of a fact table) whose content changed are written again. On the PostgreSQL backend (`MP_WAREHOUSE_BACKEND=postgres`) the copy is
   read from PostgreSQL, where analysts may also query the marts directly through the
   read-only role `MP_PG_ANALYST_ROLE`. Emits the `marts` and `published_marts` Assets
   (the report DAG's trigger).
3. **generate_dbt_docs** — `dbt docs generate` into `<MP_HOME>/dbt_target/docs`, only when the
   dbt project or the warehouse's columns changed since the last docs (a daily run that only
   brings data keeps them; trigger with `{"regenerate_docs": true}` to force). The docs show the
   manifest the producer's build compiled (kept when every node passed), so dbt only parses
   and reads the catalog here instead of compiling every node a second time.

Configuration: `matrix_pulse.transform.cosmos_config`; publishing: `matrix_pulse.transform.publish`
(and `publish_pg` for PostgreSQL).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from cosmos import DbtTaskGroup
from matrix_pulse.orchestration import (
    ANY_RAW_ASSET,
    DEFAULT_ARGS,
    MARTS_ASSET,
    PUBLISHED_ASSET,
    TIMEZONE,
    WRITER,
)
from matrix_pulse.transform.cosmos_config import dbt_task_group_kwargs, wire_consumers_beside_producer


@dag(
    dag_id="mp_transform",
    schedule=ANY_RAW_ASSET,
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"regenerate_docs": False},
    tags=["matrix_pulse", "transform", "dbt"],
    doc_md=__doc__,
)
def mp_transform():
    dbt = DbtTaskGroup(group_id="dbt", **dbt_task_group_kwargs())
    consumers = wire_consumers_beside_producer(dbt)

    @task(**WRITER, outlets=[MARTS_ASSET, PUBLISHED_ASSET])
    def publish_marts() -> dict[str, int]:
        from matrix_pulse.settings import get_settings
        from matrix_pulse.transform.publish import publish

        return publish(get_settings())

    @task(**WRITER)
    def generate_dbt_docs(params: dict | None = None) -> str:
        from matrix_pulse.settings import get_settings
        from matrix_pulse.transform.publish import generate_docs

        return str(generate_docs(get_settings(), force=bool((params or {}).get("regenerate_docs", False))))

    published = publish_marts()
    dbt >> published >> generate_dbt_docs()
    consumers >> published  # every model's and seed's task: one failed fails the run


mp_transform()
