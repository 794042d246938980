"""
### mp_ingest: landed files -> DuckDB raw layer, checked by Great Expectations

Daily at 06:00 Asia/Shanghai (files for D land on D+1 before 06:00, some days late).

0. **pull_exports** fetches what is due from the platform APIs and SFTP drops named in
   `config/pull.yaml` into the landing folders (`docs/pulling.md`); every attempt is a row in
   the pull ledger. A source that failed is retried by the next run; params `repull_from` /
   `repull_to` (/ `repull_sources`) fetch a date range again.
1. **load_landed_files** loads every landed file the ledger has not seen, whatever its
   data date (late files, re-deliveries, a backlog), into `raw.*`; bad rows go to
   `raw.quarantine`, unreadable files are set aside whole; `meta.load_ledger` says what
   happened to each file.
2. **check_quality** runs a GX suite per raw table on each newly loaded file; a failed
   *critical* expectation quarantines that file's rows and fails the task (naming file and
   expectation) after all files are checked. Data Docs: `$MP_HOME/gx/gx/uncommitted/data_docs`.
3. **publish_raw** emits the `raw.*` Assets the dbt DAG is scheduled on (also after a GX
   failure: the failing file is already out of `raw`).
4. **check_freshness** rebuilds `meta.source_freshness` and e-mails the data team a notice
   listing every source-day of the last week that is unusable (rejected, every row set
   aside, GX-failed) or missing past its deadline (`MP_LATE_AFTER_HOURS`). A late source is
   not a pipeline failure, so the task succeeds unless the run is triggered with
   `fail_on_overdue=true`.
5. **run_outcome** fails the run when any task above failed (it runs only then): freshness
   and the Assets still run after a failed load, but the grid shows the day as failed and
   `airflow dags test` exits non-zero, instead of a green leaf hiding the failure. It does
   not retry: its verdict cannot change.

Every task that writes the warehouse runs in the one-slot writer pool and, on Celery, on the
writer queue (`matrix_pulse.orchestration.WRITER`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, task
from airflow.sdk.definitions.param import Param
from matrix_pulse.orchestration import DEFAULT_ARGS, RAW_ASSETS, TIMEZONE, WRITER


@dag(
    dag_id="mp_ingest",
    # The one-day interval makes the run at 06:00 on D+1 cover D (matrix_pulse.clock.data_date_of).
    schedule=CronTriggerTimetable("0 6 * * *", timezone=TIMEZONE, interval=timedelta(days=1)),
    start_date=datetime(2026, 7, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["matrix_pulse", "ingest", "raw"],
    params={
        "fail_on_overdue": Param(
            False, type="boolean", description="Also fail the task when a recent source-day is overdue"
        ),
        "repull_from": Param(
            None, type=["null", "string"], format="date", description="Re-pull data dates from"
        ),
        "repull_to": Param(
            None, type=["null", "string"], format="date", description="... through (default: from)"
        ),
        "repull_sources": Param(
            [], type="array", description="Landing folders to re-pull (empty: all configured)"
        ),
    },
)
def mp_ingest() -> None:
    # Not in the writer pool: pulling writes landing files and its own SQLite ledger only.
    @task(execution_timeout=timedelta(hours=1))
    def pull_exports(**context) -> dict:
        from matrix_pulse.clock import data_date_of
        from matrix_pulse.pull import pull_for_run
        from matrix_pulse.settings import get_settings

        through = data_date_of(context)  # the run at 06:00 on D+1 (Shanghai) pulls up to D
        return pull_for_run(get_settings(), context.get("params"), through, context.get("run_id"))

    @task(**WRITER, execution_timeout=timedelta(hours=1))
    def load_landed_files(run_id: str | None = None) -> dict:
        from matrix_pulse.ingest.steps import load_landed
        from matrix_pulse.settings import get_settings

        return load_landed(get_settings(), run_id)

    @task(**WRITER, execution_timeout=timedelta(hours=1))
    def check_quality(loaded: dict, run_id: str | None = None) -> dict:
        from matrix_pulse.ingest.steps import check_quality as check
        from matrix_pulse.settings import get_settings

        return check(get_settings(), loaded, run_id)

    @task(trigger_rule="all_done", outlets=list(RAW_ASSETS.values()))
    def publish_raw() -> None:
        """Emit the raw Assets; dbt runs on them (bad files are already in quarantine)."""

    @task(**WRITER, trigger_rule="all_done")
    def check_freshness(**context) -> dict:
        from matrix_pulse.clock import data_date_of
        from matrix_pulse.ingest.steps import refresh
        from matrix_pulse.settings import get_settings

        settings = get_settings()
        params = context.get("params")
        through = data_date_of(context)  # the run at 06:00 on D+1 covers D
        report, overdue = refresh(settings, through)
        print(report.describe())
        if overdue:
            from matrix_pulse.ops.notify import notify_overdue
            from matrix_pulse.pull.ledger import pull_notes

            # What the pull saw ("throttled since Tuesday"), not just "missing".
            notes = pull_notes(settings, [(s, d) for s, d, _ in overdue])
            overdue = [
                (s, d, f"{st}; {notes[(s, d)].describe()}" if (s, d) in notes else st) for s, d, st in overdue
            ]
            listing = ", ".join(f"{s} {d} ({st})" for s, d, st in overdue)
            print(f"WARNING source-days unusable or overdue past the deadline: {listing}")
            notify_overdue(overdue, through)
            if (params or {}).get("fail_on_overdue"):
                raise RuntimeError(f"Source-days overdue (not loaded past the deadline): {listing}")
        return {"expected_source_days": report.rows, "missing": len(report.missing), "overdue": len(overdue)}

    # No retries: its upstream states cannot change while it waits, so each retry only held the
    # run's failure (and its alert) back by the back-off, 30 s then 60 s.
    @task(trigger_rule="one_failed", retries=0)
    def run_outcome() -> None:
        """Runs only when an upstream task failed: the run then ends failed (a leaf decides)."""
        raise RuntimeError(
            "mp_ingest: a task of this run failed (see its log); freshness was still refreshed"
        )

    loaded = load_landed_files()
    pull_exports() >> loaded
    checked = check_quality(loaded)
    published = publish_raw()
    freshness = check_freshness()
    checked >> [published, freshness]
    [loaded, checked, published, freshness] >> run_outcome()


mp_ingest()
