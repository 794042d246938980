"""mart_kpi_by_period is rebuilt only for the periods whose days changed, and each input counts.

The mart reads five inputs by day (content sums, account days, live sessions, leads by creation
day, creator costs by publication day). After a first build of the fixture, one row of EACH is
moved to a day in a week of its own (weeks that held nothing before), straight in the tables the
mart reads, as if their models had rebuilt those rows. Rebuilding the fingerprints and the mart
incrementally must then equal a full rebuild of the same two models: a week whose only change
came from an input the fingerprints missed would be absent. A row that no build produces, put
in an untouched week beforehand, must still be there: the untouched periods are kept, not
rebuilt.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from matrix_pulse.transform.cosmos_config import PRODUCTION_BUILD_FLAGS

from .conftest import run_dbt_build
from .fixture_warehouse import build_fixture_warehouse

pytestmark = pytest.mark.slow

SELECTED = ("--select", "int_kpi_days_fingerprinted", "mart_kpi_by_period")
# each input's moved row lands on a Monday of its own ISO week (none of them holds fixture data)
MOVED = {
    "marts.fct_leads": ("created_date", "2026-08-10", "2026-W33"),
    "marts.fct_live_sessions": ("date_day", "2026-08-17", "2026-W34"),
    "marts.fct_account_daily": ("date_day", "2026-08-24", "2026-W35"),
    "intermediate.int_content_summed_by_account_day": ("date_day", "2026-08-31", "2026-W36"),
    "raw.creator_costs": ("published_on", "2026-09-07", "2026-W37"),
}
UNTOUCHED_WEEK = "2025-W02"


def _move_one_row_of_each_input(con: duckdb.DuckDBPyConnection) -> None:
    for table, (column, day, _week) in MOVED.items():
        moved = con.execute(
            f"update {table} set {column} = date '{day}' where rowid = (select min(rowid) from {table})"
        ).fetchone()[0]
        assert moved == 1, table


def _kpi_rows(warehouse, *where: str) -> set[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        f"select * from marts.mart_kpi_by_period where {' and '.join(where) or 'true'}"
    ).fetchall()
    con.close()
    return set(rows)


def test_kpi_periods_rebuilt_only_where_an_input_changed_a_day(tmp_path):
    warehouse = build_fixture_warehouse(tmp_path / "periods.duckdb")
    env = {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}
    run_dbt_build(tmp_path / "first", env, *PRODUCTION_BUILD_FLAGS)

    con = duckdb.connect(str(warehouse))
    # a row no build produces, in a week none of the moves below touches
    con.execute(
        "insert into marts.mart_kpi_by_period select * replace "
        f"('{UNTOUCHED_WEEK}' as period_label, 'kept_as_it_was' as platform) "
        "from marts.mart_kpi_by_period where period_type = 'week' limit 1"
    )
    _move_one_row_of_each_input(con)
    con.close()
    full = tmp_path / "full" / warehouse.name
    full.parent.mkdir()
    shutil.copyfile(warehouse, full)

    run_dbt_build(tmp_path / "incremental", env, *SELECTED)
    run_dbt_build(tmp_path / "full_build", {**env, "MP_WAREHOUSE": str(full)}, *SELECTED, "--full-refresh")

    kept = _kpi_rows(warehouse, f"period_label = '{UNTOUCHED_WEEK}'")
    assert [row[2] for row in kept] == ["kept_as_it_was"]  # untouched week: not rebuilt
    assert _kpi_rows(full, f"period_label = '{UNTOUCHED_WEEK}'") == set()
    rebuilt = _kpi_rows(warehouse, f"period_label <> '{UNTOUCHED_WEEK}'")
    assert rebuilt == _kpi_rows(full)
    # every moved row made its own week (so each input's change had to be seen to get it)
    weeks = {row[1] for row in rebuilt if row[0] == "week"}
    assert {week for _table, (_column, _day, week) in MOVED.items()} <= weeks
