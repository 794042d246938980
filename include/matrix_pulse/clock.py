"""The one clock: Asia/Shanghai wall time, and the rule that names the data date of a DAG run.

Every timestamp the pipeline writes is Shanghai wall-clock time without a zone (the warehouse
speaks the business's time), and every "which day is this run about" goes through
``data_date_of``, so the ingest, its overdue notice, the failure alerts and the pack name the
same day for the same run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from matrix_pulse.settings import TIMEZONE

TZ = ZoneInfo(TIMEZONE)


def shanghai_now() -> dt.datetime:
    """Asia/Shanghai wall-clock now (naive), the time basis of every table the pipeline writes."""
    return dt.datetime.now(TZ).replace(tzinfo=None)


def shanghai_today() -> dt.date:
    return dt.datetime.now(TZ).date()


def to_shanghai(moment: dt.datetime) -> dt.datetime:
    """An aware moment in Shanghai time (a naive one is taken as UTC, as Airflow stores them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(TZ)


def shanghai_wall_time_of_timestamp(seconds: float) -> dt.datetime:
    """A POSIX timestamp (e.g. a file's mtime) as naive Shanghai wall-clock time."""
    return dt.datetime.fromtimestamp(seconds, TZ).replace(tzinfo=None)


def data_date_of(context: Mapping[str, Any]) -> dt.date:
    """The day (Asia/Shanghai) a DAG run is about: one rule for the DAGs, the alerts and the pack.

    - A run whose data interval is a span (``mp_ingest``: its 06:00 cron has a one-day
      interval, so the run at 06:00 on D+1 covers D 06:00 → D+1 06:00) is about the day its
      interval starts: D. Airflow gives a manual trigger the same span ending at its logical
      date, so ``airflow dags test mp_ingest 2026-10-01`` is about 2026-09-30.
    - Any other run (no schedule, or a cron without an interval such as the quarterly report)
      is about the day of its logical date; asset-triggered and some manual runs have none in
      Airflow 3: then the start of the data interval, then the moment the run was due, then now.
    """
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is not None and end is not None and end > start:
        return to_shanghai(start).date()
    dag_run = context.get("dag_run")
    for moment in (context.get("logical_date"), start, getattr(dag_run, "run_after", None)):
        if moment is not None:
            return to_shanghai(moment).date()
    return shanghai_today()
