"""A new Airflow home's metadata schema and writer pool, set up in one Airflow process (issue 17).

``python -m matrix_pulse.ops.airflow_bootstrap`` runs Airflow's own CLI commands ``airflow db
migrate`` and ``airflow pools set <writer pool> 1 ...``, one after the other, in this one
interpreter. Each ``airflow ...`` command first pays Airflow's import and configuration (~4 CPU-s,
4-11 s of wall time on this 2-core machine under load, measured in `make test`, 2026-12-08) before
it does anything. Both run for every Airflow home without a bootstrap stamp
(scripts/bootstrap_airflow.sh: a first ``make airflow`` or ``make demo``, the bench's home when
there is no migrated database to copy, most Airflow stacks the tests start) and at every start of
the Celery stack (``ops.celery_stack``). docker-compose.yaml keeps the two commands (its init
container runs once per deployment).
"""

from __future__ import annotations

import sys

from matrix_pulse.settings import get_settings

POOL_DESCRIPTION = "DuckDB has one writer per file: every warehouse-writing task runs in this pool"


def commands(pool: str) -> list[list[str]]:
    """The Airflow CLI commands, in order: the schema first (the pool is a row in it)."""
    return [["db", "migrate"], ["pools", "set", pool, "1", POOL_DESCRIPTION]]


def main() -> None:
    from airflow.__main__ import main as airflow_main

    argv = sys.argv
    try:
        for command in commands(get_settings().writer_pool):
            sys.argv = ["airflow", *command]  # airflow's main() parses sys.argv, as the CLI does
            airflow_main()
    finally:
        sys.argv = argv


if __name__ == "__main__":
    main()
