"""What every Matrix Pulse DAG shares: default args, the writer pool, the Assets.

DAG files import from here and stay thin. Nothing heavy is imported at module level:
the scheduler parses DAG files often, and GX, dbt and pandas cost seconds to import.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cached_property

from airflow.sdk import Asset, AssetAny

from matrix_pulse.ops.alerts import failure_alert
from matrix_pulse.settings import TIMEZONE, get_settings
from matrix_pulse.sources import SOURCES

__all__ = [
    "DEFAULT_ARGS",
    "MARTS_ASSET",
    "PUBLISHED_ASSET",
    "RAW_ASSETS",
    "ANY_RAW_ASSET",
    "CPU_BOUND_SLOTS",
    "TIMEZONE",
    "WRITER",
    "WRITER_POOL",
]

OWNER = "data-team"

# Tasks that touch files, the warehouse or SMTP retry with exponential back-off.
DEFAULT_ARGS: dict = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    # After the last retry only: an e-mail naming DAG, task, data date and log link.
    "on_failure_callback": failure_alert(),
}

# DuckDB allows one writing process per file: every task that writes the warehouse
# runs in this one-slot pool (created by `make` set-up / scripts/bootstrap_airflow.sh).
WRITER_POOL = get_settings().writer_pool
# On the CeleryExecutor the pool is not enough: a slot says "one at a time", not "on the machine
# that holds the file". Writer tasks also go to one named queue that only the worker owning the
# DuckDB file serves (`make celery`: one process, concurrency 1). LocalExecutor ignores queues.
# On the PostgreSQL backend neither applies: PostgreSQL's locks keep writers correct on any worker.
WRITER: dict[str, str] = get_settings().writer_task_args()

# Tasks that keep a core busy for their whole run (a pack's charts and PDF) run at most this many
# at a time per DAG run: the executor's own slots are more (scripts/airflow_up.sh), because most
# tasks mostly wait.
CPU_BOUND_SLOTS = os.cpu_count() or 2

# Assets: the ingest publishes one per raw table; dbt is scheduled on them and publishes
# the marts; the report DAG is scheduled on the marts.
RAW_ASSETS: dict[str, Asset] = {
    name: Asset(name=f"raw.{src.raw_table}", uri=f"duckdb://matrix_pulse/raw/{src.raw_table}", group="raw")
    for name, src in SOURCES.items()
}
MARTS_ASSET = Asset(name="marts", uri="duckdb://matrix_pulse/marts", group="marts")
PUBLISHED_ASSET = Asset(
    name="published_marts", uri="file://matrix_pulse/published/marts.duckdb", group="marts"
)


class _AnyOfFixedAssets(AssetAny):
    """``AssetAny`` whose hash is computed once (its assets never change after the DAG file
    is parsed).

    Airflow hashes a DAG, schedule included, for every dependency a task sets
    (``{task.dag for task in ...}``), and an Asset's hash serialises it to JSON. mp_transform's
    Cosmos group sets ~200 dependencies against a schedule of one Asset per raw table: 16,000
    Asset hashes, a third of the DAG file's parse time, paid again by each of its ~115 task
    processes. Serialisation matches on ``AssetAny`` (isinstance), so the subclass is stored
    as a plain AssetAny.
    """

    @cached_property
    def _hash(self) -> int:
        return super().__hash__()

    def __hash__(self) -> int:
        return self._hash


# mp_transform's schedule: any raw table the ingest updated.
ANY_RAW_ASSET = _AnyOfFixedAssets(*RAW_ASSETS.values())
