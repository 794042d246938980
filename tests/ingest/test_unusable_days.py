"""Issue 14: the data team hears about every unusable day.

A day whose only file was rejected, and a day whose file had every row set aside, show as
unusable in freshness, in the overdue notice (at once, not only once late) and in the
quality gate; a DAG run whose load failed ends failed although freshness still runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from matrix_pulse.ingest import refresh_freshness, run_ingest
from matrix_pulse.ingest.freshness import daily_folders, overdue_source_days
from matrix_pulse.settings import Settings

from .conftest import assert_reconciles, connect_rw, query
from .fixtures import good_rows, write_all_good, write_xlsx

D = dt.date(2026, 7, 1)
D2 = D + dt.timedelta(days=1)


def land_bad_day(settings: Settings) -> None:
    write_all_good(settings.landing_dir, D)
    write_all_good(settings.landing_dir, D2)
    # D2: douyin's every row lacks its post ID (all set aside); bilibili's file is not JSON.
    rows = good_rows("douyin_posts", D2, 3)
    for r in rows:
        r["作品ID"] = None
    write_xlsx(settings.landing_dir, "douyin_posts", D2, rows)
    (settings.landing_dir / "bilibili_videos" / "bilibili_videos_20260702.json").write_text("{not json")


def test_rejected_and_all_rows_set_aside_days_reach_freshness_notice_and_gate(settings: Settings) -> None:
    land_bad_day(settings)
    run_ingest(settings)
    assert_reconciles(settings)
    ledger = dict(query(settings, "SELECT file_name, status FROM meta.load_ledger"))
    assert ledger["douyin_posts/douyin_posts_20260702.xlsx"] == "loaded"  # the file itself was read
    reason = query(
        settings,
        "SELECT reason FROM meta.load_ledger WHERE source = 'bilibili_videos' AND reason IS NOT NULL",
    )
    assert reason[0][0].startswith("bilibili_videos_20260702.json: invalid JSON"), reason  # the landed name
    refresh_freshness(settings, through=D2)
    fresh = dict(
        query(settings, "SELECT source, status FROM meta.source_freshness WHERE data_date = ?", [D2])
    )
    assert fresh["douyin_posts"] == "rejected" and fresh["bilibili_videos"] == "rejected"
    assert {s for s, st in fresh.items() if st != "loaded"} == {"douyin_posts", "bilibili_videos"}
    # Landed on time (not late), yet in the notice, each with what went wrong.
    overdue = overdue_source_days(settings, through=D2)
    assert ("douyin_posts", D2, "all rows set aside") in overdue
    assert ("bilibili_videos", D2, "rejected") in overdue
    assert all(st != "loaded" for _, _, st in overdue)

    from matrix_pulse.report.audiences import GateConfig
    from matrix_pulse.report.gate import evaluate
    from matrix_pulse.report.quarters import Quarter

    con = connect_rw(settings)
    try:  # the gate reads the published copy; these two tables stand in for what dbt builds
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute(
            "CREATE TABLE marts.mart_kpi_by_period AS SELECT 'quarter' AS period_type, '2026Q3' AS period_label"
        )
        result = evaluate(con, Quarter.parse("2026Q3"), GateConfig(max_missing_source_day_rate=0.05))
    finally:
        con.close()
    # two days of every daily folder the contract names (WeCom added one): derived, not fixed
    assert result.unusable_source_days == 2 and result.expected_source_days == 2 * len(daily_folders())
    assert set(result.unusable) == {"douyin_posts 2026-07-02 rejected", "bilibili_videos 2026-07-02 rejected"}
    assert not result.passed and any("douyin_posts 2026-07-02" in r for r in result.reasons)


@pytest.mark.slow
def test_a_run_whose_load_failed_ends_failed_and_freshness_still_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matrix_pulse.ingest
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState, TaskInstanceState

    write_all_good(settings.landing_dir, D)
    run_ingest(settings)  # the warehouse exists; this run's load is what fails

    attempts = []

    def load_fails(*args, **kwargs):
        attempts.append(1)
        raise OSError("disk gone")  # what a real load failure looks like to the task

    monkeypatch.setattr(matrix_pulse.ingest, "run_ingest", load_fails)  # dag.test runs tasks in-process
    dag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "mp_ingest.py")).dags[
        "mp_ingest"
    ]
    load = dag.get_task("load_landed_files")
    # The DAG's own retry count, without its back-off: dag.test sleeps through each retry delay
    # (30 s, then doubled), which was 4.5 of this test's 4.7 minutes and tests nothing here.
    load.retry_delay, load.retry_exponential_backoff = dt.timedelta(0), False
    logical = dt.datetime(2026, 7, 2, 6, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    run = dag.test(logical_date=logical)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["load_landed_files"] == TaskInstanceState.FAILED
    assert len(attempts) == 1 + load.retries >= 2  # failed only after every retry
    assert states["check_freshness"] == TaskInstanceState.SUCCESS  # still ran
    assert states["publish_raw"] == TaskInstanceState.SUCCESS
    assert states["run_outcome"] == TaskInstanceState.FAILED
    assert run.state == DagRunState.FAILED, states
