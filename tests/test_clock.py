"""One clock and one data-date rule: the 06:00 ingest run, a manual trigger and the alerts agree."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum
import pytest
from matrix_pulse.clock import data_date_of, shanghai_now, shanghai_wall_time_of_timestamp

REPO_ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = "Asia/Shanghai"


@pytest.fixture(scope="module")
def ingest_timetable():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import coerce_to_core_timetable

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "mp_ingest.py"))
    # the scheduler's view of the DAG's schedule (the SDK object only declares it)
    return coerce_to_core_timetable(bag.dags["mp_ingest"].timetable)


def _scheduled_run_at(timetable, moment: pendulum.DateTime) -> dict:
    """The context Airflow gives the scheduled run that fires at ``moment``."""
    from airflow.timetables.base import TimeRestriction

    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=moment.subtract(minutes=1), latest=None, catchup=True),
    )
    assert info.run_after == moment
    return {
        "logical_date": info.logical_date,
        "data_interval_start": info.data_interval.start,
        "data_interval_end": info.data_interval.end,
    }


def test_the_0600_run_covers_the_day_before(ingest_timetable) -> None:
    context = _scheduled_run_at(ingest_timetable, pendulum.datetime(2026, 7, 2, 6, tz=SHANGHAI))
    # 06:00 in Shanghai is 22:00 UTC the day before: the UTC date of the interval end, less a
    # day, would name 30 June; the logical date alone would name 2 July.
    assert data_date_of(context) == dt.date(2026, 7, 1)


def test_the_failure_alert_names_the_same_day_as_the_ingest(ingest_timetable) -> None:
    from matrix_pulse.ops.alerts import render_failure_email

    class Dag:
        dag_id = "mp_ingest"

    context = _scheduled_run_at(ingest_timetable, pendulum.datetime(2026, 7, 2, 6, tz=SHANGHAI))
    subject, _ = render_failure_email({"dag": Dag(), "run_id": "scheduled__x", **context})
    assert subject.endswith("data date 2026-07-01")


def test_a_manual_trigger_covers_the_day_before_its_logical_date(ingest_timetable) -> None:
    # What `airflow dags test mp_ingest 2026-10-01` (make demo) and a UI trigger get.
    logical = pendulum.datetime(2026, 10, 1, tz=SHANGHAI)
    interval = ingest_timetable.infer_manual_data_interval(run_after=logical)
    context = {
        "logical_date": logical,
        "data_interval_start": interval.start,
        "data_interval_end": interval.end,
    }
    assert data_date_of(context) == dt.date(2026, 9, 30)


def test_a_run_without_an_interval_is_about_its_logical_date_in_shanghai() -> None:
    # An unscheduled DAG (the alert probe) or the quarterly report: the logical date's own day,
    # taken in Shanghai (16:00 UTC on the 14th is midnight on the 15th there).
    utc = pendulum.datetime(2026, 7, 14, 16, tz="UTC")
    assert data_date_of(
        {"logical_date": utc, "data_interval_start": utc, "data_interval_end": utc}
    ) == dt.date(2026, 7, 15)

    class DagRun:
        run_after = utc

    assert data_date_of({"logical_date": None, "dag_run": DagRun()}) == dt.date(2026, 7, 15)


def test_wall_clock_is_shanghai_time() -> None:
    now_utc = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    offset = shanghai_now() - now_utc
    assert dt.timedelta(hours=7, minutes=59) < offset < dt.timedelta(hours=8, minutes=1)
    assert shanghai_wall_time_of_timestamp(0) == dt.datetime(1970, 1, 1, 8)
