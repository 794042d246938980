"""
### mp_report: the quarterly review pack (季度复盘), e-mailed exactly once

**When**: 09:00 Asia/Shanghai on 5 January, April, July and October, for the quarter that
just ended; *and* whenever `published_marts` is updated (a rebuilt quarter can be
re-issued); *and* by hand with params `quarter` (e.g. `2026Q3`) and `resend` (everyone) or
`resend_to` (only the listed recipients, e.g. one whose copy was lost).

**Which quarter on an asset trigger**: the quarter named in the asset event's extra
(`quarter`/`quarters`) if the publisher sent one, else the latest *ended* quarter with
data. Exactly-once still holds: a quarter already sent is not sent again (the nightly
rebuild re-issues nothing) unless `resend=true`, which creates a new issue number.

1. **plan** decides the quarter(s).
2. **quality_gate** holds back a quarter with an unfixed critical GX failure or too many
   missing source-days (`config/audiences.yaml: quality_gate`); the data team
   (`MP_ALERT_EMAILS`) gets a notice saying why. Nothing goes to marketing.
3. **build_pack** (mapped per quarter × audience of `config/audiences.yaml`): HTML mail
   with inline charts, PDF, XLSX, archived under `outputs/packs/<quarter>/<audience>/`.
4. **send_pack** (mapped): one message per recipient through `smtp_default`; the SQLite
   send ledger (`state/send_ledger.sqlite`) records intent before and completion after,
   so retries and re-runs never send a recipient the same issue twice (at-most-once:
   see `matrix_pulse.report.ledger`). Retries with exponential back-off; after the last
   one the data team is told.
5. **summary** logs what was sent, skipped or left unconfirmed; when plan or quality_gate
   failed (e.g. a `resend_to` typo) it fails at once, so the run is marked failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from matrix_pulse.orchestration import CPU_BOUND_SLOTS, DEFAULT_ARGS, PUBLISHED_ASSET, TIMEZONE


def _notify_send_failure(context) -> None:
    from matrix_pulse.report.flow import notify_send_failure

    notify_send_failure(context)


@dag(
    dag_id="mp_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 9 5 1,4,7,10 *", timezone=TIMEZONE), assets=[PUBLISHED_ASSET]
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # two runs racing on the same quarter would both find "not sent yet"
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["matrix_pulse", "report", "email"],
    params={
        "quarter": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}Q[1-4]$",
            description="Quarter to report, e.g. 2026Q3 (empty: the quarter just ended)",
        ),
        "resend": Param(
            False, type="boolean", description="Re-issue to every recipient with a new issue number"
        ),
        "resend_to": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Re-issue to these recipients only (a lost copy), with a new issue number",
        ),
    },  # fmt: skip
)
def mp_report() -> None:
    @task
    def plan(**context) -> list[str]:
        from matrix_pulse.clock import data_date_of
        from matrix_pulse.report.flow import check_resend_to, plan_quarters

        events = context.get("triggering_asset_events") or {}
        extras = [dict(e.extra or {}) for evs in events.values() for e in evs]
        # An asset trigger without extras still counts as one: plan from the published data.
        if not extras and context["dag_run"].run_type == "asset_triggered":
            extras = [{}]
        # a scheduled or dated run reports the quarter ended before its data date
        check_resend_to(context["params"].get("resend_to"))  # a typo fails here, before any build
        quarters = plan_quarters(context["params"].get("quarter"), data_date_of(context), extras)
        print(f"reporting quarter(s): {quarters}")
        return quarters

    @task
    def quality_gate(quarters: list[str]) -> dict:
        from matrix_pulse.report.flow import gate_quarters

        return gate_quarters(quarters)

    @task
    def jobs_of(gate: dict) -> list[dict]:
        return gate["jobs"]

    @task(execution_timeout=timedelta(minutes=20), max_active_tis_per_dagrun=CPU_BOUND_SLOTS)
    def build_pack(job: dict, **context) -> dict:
        from matrix_pulse.report.flow import build_job

        params = context["params"]
        return build_job(job, context["run_id"], bool(params.get("resend")), params.get("resend_to"))

    @task(
        retries=4,
        retry_delay=timedelta(seconds=20),
        retry_exponential_backoff=True,
        max_retry_delay=timedelta(minutes=15),
        on_failure_callback=_notify_send_failure,
    )
    def send_pack(built: dict, **context) -> dict:
        from matrix_pulse.report.flow import send_job

        return send_job(built, context["run_id"])

    @task(trigger_rule="all_done")
    def summary(results: list[dict], gate: dict | None) -> dict:
        from matrix_pulse.report.flow import summarize

        return summarize(results or [], gate)

    gate = quality_gate(plan())
    built = build_pack.expand(job=jobs_of(gate))
    sent = send_pack.expand(built=built)
    summary(sent, gate)


mp_report()
