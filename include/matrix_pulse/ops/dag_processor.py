"""Airflow's dag-processor, without the task callbacks it would only log (issue 17).

Matrix Pulse starts its dag-processor as ``python -m matrix_pulse.ops.dag_processor [options]``
(scripts/airflow_up.sh, ops.celery_stack, docker-compose.yaml): ``airflow dag-processor
[options]`` with one change, in the method Airflow names as the place to change where callbacks
come from (``DagFileProcessorManager.fetch_callbacks``).

Why: Airflow 3.3's triggerer files a task callback request for every task it ends, its successes
included (``airflow/models/trigger.py``), and the dag-processor parses that task's DAG file again
for each batch of them, only for its processor to log "Task callback requested but is not a failure
callback" and return (``dag_processing/processor.py``, ``_execute_task_callbacks``): a success
callback runs in the task's own process, never here. Every consumer of ``mp_transform`` ends in the
triggerer, so a national run paid 20-34 CPU-s of re-parses of mp_transform.py (0.55-0.73 CPU-s
each) for nothing; without them a full national build took 136.6 s instead of 145.5 s (means of
three alternating runs each, 2026-12-07, README Measured). The manager below
claims the requests from the metadata DB exactly as Airflow does (none is left behind) and queues
only those the processor acts on: failure and retry callbacks (the data team's alert e-mail,
ops.alerts) and every DAG and e-mail callback pass untouched.

tests/ops/test_dag_processor.py holds Airflow's processor to "does nothing with a success": the
day an Airflow release runs them here, that test fails and this filter must go.
"""

from __future__ import annotations

import sys

from airflow.callbacks.callback_requests import CallbackRequest, TaskCallbackRequest
from airflow.dag_processing.manager import DagFileProcessorManager


def processor_acts_on(request: CallbackRequest) -> bool:
    """False for what Airflow's DAG file processor only logs: a task callback for anything but a
    failure or a retry.

    The same test as the processor's own (``TaskCallbackRequest.is_failure_callback``), so a
    callback type Airflow adds to the failures passes here too.
    """
    return not isinstance(request, TaskCallbackRequest) or request.is_failure_callback


class CallbackFilteringManager(DagFileProcessorManager):
    """``DagFileProcessorManager`` that does not re-parse a DAG file for callbacks it would ignore."""

    def fetch_callbacks(self) -> list[CallbackRequest]:
        claimed = super().fetch_callbacks()
        kept = [request for request in claimed if processor_acts_on(request)]
        if len(kept) < len(claimed):
            self.log.debug("Dropped %d task success callbacks (nothing runs them)", len(claimed) - len(kept))
        return kept


def main(argv: list[str] | None = None) -> None:
    """``airflow dag-processor`` with ``argv`` as its options, on ``CallbackFilteringManager``."""
    from airflow.__main__ import main as airflow_main
    from airflow.cli.commands import dag_processor_command

    # The CLI command builds its manager from this module-level name (_create_dag_processor_job_runner);
    # tests/ops/test_dag_processor.py fails if that stops being so.
    dag_processor_command.DagFileProcessorManager = CallbackFilteringManager
    sys.argv = ["airflow", "dag-processor", *(sys.argv[1:] if argv is None else argv)]
    airflow_main()


if __name__ == "__main__":
    main()
