"""The incremental dbt build gives exactly the marts of a full rebuild.

On real DuckDB with the real dbt project: the fixture quarter is built without its last day
(and without the second roster version), then the ingest's effects are replayed the way
``matrix_pulse.ingest.loader`` writes them (a source-day's rows deleted and inserted again
with a new loaded_at): the held-back day arrives, and an OLD day is re-delivered with other
counters and one post fewer (which changes the day-over-day deltas of the days after it).
A plain ``dbt build`` (incremental) must then equal ``dbt build --full-refresh`` of a copy
of the same warehouse, table by table, over every column (marts and intermediate tables).
The CRM side gets its own changes to old days (a re-delivery that drops a lead, drops a lead's
latest status row and moves a lead to another phone and series; a late day with a lead that
makes a later one a duplicate): the leads models are incremental by lead and by duplicate
partition, the latest snapshot per post by post, the content's account-day sums by day from the
first changed or re-attributed one.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from matrix_pulse.transform.cosmos_config import PRODUCTION_BUILD_FLAGS

from .conftest import run_dbt_build
from .fixture_warehouse import build_fixture_warehouse

pytestmark = pytest.mark.slow

LATER_LOAD = "2026-07-06 06:00:00"  # after every fixture load (the ingest's clock moves on)
HELD_BACK = (
    "data_date >= date '2026-07-04' or (source_file like '%roster%' and data_date = date '2026-07-03')"
)
COMPARED_SCHEMAS = ("marts", "intermediate")


def _build(work_dir, env, *args):
    """`dbt build` as the DAG runs it (no unit tests: test_dbt_build runs those)."""
    return run_dbt_build(work_dir, env, *PRODUCTION_BUILD_FLAGS, *args)


def _raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw' and table_name <> 'quarantine' "
            "order by 1"
        ).fetchall()
    ]


def _hold_back_last_day(warehouse) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute("create schema held_back")
    for table in _raw_tables(con):
        con.execute(f"create table held_back.{table} as select * from raw.{table} where {HELD_BACK}")
        con.execute(f"delete from raw.{table} where {HELD_BACK}")
    con.close()


def _deliver_new_day_and_redeliver_an_old_one(warehouse) -> dict[str, int]:
    con = duckdb.connect(str(warehouse))
    changed = {}
    # the held-back day (and roster version) arrives
    for table in _raw_tables(con):
        con.execute(
            f"insert into raw.{table} select * replace (timestamp '{LATER_LOAD}' as loaded_at) from held_back.{table}"
        )
        changed[table] = con.execute(f"select count(*) from held_back.{table}").fetchone()[0]
    con.execute("drop schema held_back cascade")
    # a corrected re-delivery of 07-02 replaces that source-day: other counters, one post fewer
    dropped = con.execute(
        "select min(post_id) from raw.douyin_posts where data_date = date '2026-07-02'"
    ).fetchone()[0]
    con.execute(
        "create temp table redelivered as select * replace (views + 5000 as views, likes + 3 as likes, "
        f"timestamp '{LATER_LOAD}' + interval 1 hour as loaded_at) "
        "from raw.douyin_posts where data_date = date '2026-07-02' and post_id <> ?",
        [dropped],
    )
    con.execute("delete from raw.douyin_posts where data_date = date '2026-07-02'")
    con.execute("insert into raw.douyin_posts select * from redelivered")
    con.execute(
        "update raw.wechat_oa_articles set views = views + 10, "
        f"loaded_at = timestamp '{LATER_LOAD}' + interval 1 hour where data_date = date '2026-07-02'"
    )
    con.close()
    changed["dropped_post"] = dropped
    _redeliver_old_crm_days(warehouse)
    return changed


REDELIVERED_CRM_AT = "2026-07-06 09:00:00"


def _redeliver_old_crm_days(warehouse) -> None:
    """Old CRM days change: crm_dcc 07-03 is re-delivered with C005 (a lead only that day had)
    and C001's latest status row (C001 falls back to its 07-01 status) dropped, and C004 moved
    from (hash_b, S9) to (hash_a, S7), where it becomes a duplicate; crm_legacy gets a late
    07-01 with a new lead L000 on (hash_b, S5), which makes the untouched L002 a duplicate."""
    con = duckdb.connect(str(warehouse))
    con.execute(
        "create temp table redelivered as select * replace (case when clue_id = 'C004' then 'hash_a' "
        "else phone_hash end as phone_hash, case when clue_id = 'C004' then 'S7' else series_code end "
        f"as series_code, timestamp '{REDELIVERED_CRM_AT}' as loaded_at) "
        "from raw.crm_dcc where data_date = date '2026-07-03' and clue_id not in ('C001', 'C005')"
    )
    assert con.execute("select count(*) from redelivered").fetchone()[0] == 1
    con.execute("delete from raw.crm_dcc where data_date = date '2026-07-03'")
    con.execute("insert into raw.crm_dcc select * from redelivered")
    con.execute(
        "insert into raw.crm_legacy select * replace ('L000' as clue_id, date '2026-07-01' as data_date, "
        "timestamp '2026-07-01 09:00:00' as created_at, timestamp '2026-07-01 09:30:00' as updated_at, "
        f"'crm_legacy_20260701.csv' as source_file, timestamp '{REDELIVERED_CRM_AT}' as loaded_at) "
        "from raw.crm_legacy where clue_id = 'L002'"
    )
    con.close()


def _assert_crm_changes_arrived(warehouse) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    leads = {
        row[0]: row[1:]
        for row in con.execute(
            "select clue_id, is_duplicate, current_status, created_date from marts.fct_leads"
        ).fetchall()
    }
    con.close()
    assert "C005" not in leads and "L000" in leads
    assert leads["L002"][0] is True and leads["C004"][0] is True and leads["L000"][0] is False


def _leads_filter_is_a_subquery(tmp_path) -> bool:
    """Whether the incremental build's int_leads_unioned selected the changed leads by a
    subquery (above mp_inline_leads_limit) rather than by inlined clue ids."""
    compiled = next((tmp_path / "incremental" / "target" / "compiled").rglob("int_leads_unioned.sql"))
    return ") as changed_leads where crm_system = 'dcc'" in compiled.read_text()


def _table_differences(left, right) -> dict[str, tuple[int, int, int, int]]:
    """Per table of COMPARED_SCHEMAS: (rows left, rows right, left-only rows, right-only rows)."""
    con = duckdb.connect()
    con.execute(f"attach '{left}' as l (read_only)")
    con.execute(f"attach '{right}' as r (read_only)")
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'r' and schema_name in "
        f"({', '.join(repr(s) for s in COMPARED_SCHEMAS)}) and table_name not in ('mp_increment_state', 'mp_test_state', 'mp_period_state') order by 1, 2"
    ).fetchall()
    out = {}
    for schema, table in tables:
        name = f"{schema}.{table}"
        # every column but the time a row was written (int_leads_duplicates_flagged.mp_built_at)
        columns = ", ".join(
            f'"{c}"'
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where database_name = 'r' and schema_name = ? "
                "and table_name = ? and column_name <> 'mp_built_at' order by column_index",
                [schema, table],
            ).fetchall()
        )
        out[name] = con.execute(
            f"select (select count(*) from l.{name}), (select count(*) from r.{name}), "
            f"(select count(*) from (select {columns} from l.{name} except all select {columns} from r.{name})), "
            f"(select count(*) from (select {columns} from r.{name} except all select {columns} from l.{name}))"
        ).fetchone()
    con.close()
    return out


def _assert_incremental_equals_full_refresh(tmp_path, warehouse, env, *incremental_args: str) -> None:
    """Build incrementally, then --full-refresh a copy: every intermediate and mart table must
    hold the same rows (counts, and EXCEPT ALL both ways)."""
    _build(tmp_path / "incremental", env, *incremental_args)
    full = tmp_path / "full_refresh.duckdb"
    shutil.copyfile(warehouse, full)
    _build(tmp_path / "full", {**env, "MP_WAREHOUSE": str(full)}, "--full-refresh")
    differences = _table_differences(warehouse, full)
    assert "marts.fct_content_daily" in differences and len(differences) >= 16
    unequal = {name: d for name, d in differences.items() if d[0] != d[1] or d[2] or d[3]}
    assert unequal == {}


@pytest.fixture(scope="module")
def whole_quarter_built(tmp_path_factory: pytest.TempPathFactory):
    """The whole fixture quarter after a plain first build, made once for the tests that start
    from it; each works on its own copy (``_copy_of``)."""
    root = tmp_path_factory.mktemp("incremental_first_build")
    warehouse = build_fixture_warehouse(root / "quarter.duckdb")
    _build(root / "first", {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"})
    assert not warehouse.with_name(warehouse.name + ".wal").exists()  # dbt checkpointed on exit
    return warehouse


def _copy_of(warehouse, tmp_path):
    """A copy under the same file name, so dbt sees the database (named after the file) the first build saw."""
    copy = tmp_path / warehouse.name
    shutil.copyfile(warehouse, copy)
    return copy


def test_incremental_build_equals_full_refresh(tmp_path):
    warehouse = build_fixture_warehouse(tmp_path / "incremental.duckdb")
    env = {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}
    _hold_back_last_day(warehouse)
    _build(tmp_path / "first", env)

    changed = _deliver_new_day_and_redeliver_an_old_one(warehouse)
    assert changed["douyin_posts"] > 0 and changed["matrix_roster"] > 0 and changed["dropped_post"]
    before = duckdb.connect(str(warehouse), read_only=True)
    dropped_rows_before = before.execute(
        "select count(*) from marts.fct_content_daily where post_id = ? and date_day = date '2026-07-02'",
        [changed["dropped_post"]],
    ).fetchone()[0]
    before.close()
    assert dropped_rows_before == 1  # the re-delivery must remove it

    # a table without a watermark (built by an earlier version of the project) is rebuilt in full,
    # including the removal of its rows for days that are no longer in raw
    con = duckdb.connect(str(warehouse))
    con.execute(
        "delete from intermediate.mp_increment_state where model_name = 'int_content_deltas_computed'"
    )
    con.close()

    _assert_incremental_equals_full_refresh(tmp_path, warehouse, env)
    assert not _leads_filter_is_a_subquery(tmp_path)  # a few changed leads: inlined ids
    # the new day and the re-delivered values are really there (not two equally stale builds)
    con = duckdb.connect(str(warehouse), read_only=True)
    assert (
        con.execute("select max(date_day) from marts.fct_content_daily").fetchone()[0].isoformat()
        == "2026-07-04"
    )
    assert (
        con.execute(
            "select count(*) from marts.fct_content_daily where post_id = ? and date_day = date '2026-07-02'",
            [changed["dropped_post"]],
        ).fetchone()[0]
        == 0
    )
    state = dict(
        con.execute("select model_name, raw_loaded_at from intermediate.mp_increment_state").fetchall()
    )
    con.close()
    assert str(state["fct_content_daily"]) == "2026-07-06 07:00:00"
    assert str(state["int_leads_duplicates_flagged"]) == REDELIVERED_CRM_AT
    _assert_crm_changes_arrived(warehouse)


def test_incremental_build_equals_full_refresh_when_old_days_change(whole_quarter_built, tmp_path):
    """After a build of the whole fixture quarter: the latest day of every Douyin post is
    re-delivered with one post fewer (its latest snapshot falls back a day), another post
    retitled and a third with another content type (which the content facts carry on EVERY day
    of the post, though only its latest day changed), the second roster version moves a
    Kuaishou account to another dealer, and old CRM days change (see _redeliver_old_crm_days)."""
    warehouse = _copy_of(whole_quarter_built, tmp_path)
    env = {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}
    con = duckdb.connect(str(warehouse))
    assert (
        con.execute("select max(data_date) from raw.douyin_posts").fetchone()[0].isoformat() == "2026-07-04"
    )
    con.execute(
        "create temp table redelivered as select * replace (case when post_id = 'dy_p2' then title || ' (修订)' "
        "else title end as title, case when post_id = 'dy_p4' then '视频' else content_type end as content_type, "
        f"timestamp '{REDELIVERED_CRM_AT}' as loaded_at) "
        "from raw.douyin_posts where data_date = date '2026-07-04' and post_id <> 'dy_p1'"
    )
    con.execute("delete from raw.douyin_posts where data_date = date '2026-07-04'")
    con.execute("insert into raw.douyin_posts select * from redelivered")
    # a corrected 07-03 roster version moves ks_dealer_2 to dealer D001: the Kuaishou days from
    # 07-03 on re-attribute although no Kuaishou post changed
    con.execute(
        "update raw.matrix_roster set dealer_code = case when account_id = 'ks_dealer_2' then 'D001' "
        f"else dealer_code end, loaded_at = timestamp '{REDELIVERED_CRM_AT}' where data_date = date '2026-07-03'"
    )
    # and a corrected 07-01 version makes it a KOC until then: lead C002 (created 07-01, no CRM row
    # of it changes) gets that source tier
    con.execute(
        "update raw.matrix_roster set matrix_tier = case when account_id = 'ks_dealer_2' then 'KOC' else "
        f"matrix_tier end, loaded_at = timestamp '{REDELIVERED_CRM_AT}' where data_date = date '2026-07-01'"
    )
    # a new dealer list moves D001 to another region: lead C003's (no CRM row of it changes)
    con.execute(f"update raw.dealers set region = case when dealer_code = 'D001' then '华北' else region end, "
                f"loaded_at = timestamp '{REDELIVERED_CRM_AT}'")  # fmt: skip
    con.close()
    _redeliver_old_crm_days(warehouse)

    # more changed leads than the inline limit (a backfill's path): the subquery, same rows
    _assert_incremental_equals_full_refresh(tmp_path, warehouse, env, "--vars", "{mp_inline_leads_limit: 1}")
    assert _leads_filter_is_a_subquery(tmp_path)
    _assert_crm_changes_arrived(warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    latest = dict(
        con.execute(
            "select post_id, data_date from intermediate.int_content_latest_snapshots where platform = 'douyin'"
        ).fetchall()
    )
    titles = dict(
        con.execute("select post_id, title from marts.dim_content where platform = 'douyin'").fetchall()
    )
    dealers = dict(
        con.execute(
            "select cast(date_day as varchar), dealer_code from marts.fct_account_daily where account_id = 'ks_dealer_2'"
        ).fetchall()
    )
    retyped = con.execute(
        "select count(*), count(distinct facts.content_type), bool_and(facts.content_type = content.content_type), "
        "any_value(content.content_type) from marts.fct_content_daily as facts inner join marts.dim_content as "
        "content using (platform, post_id) where platform = 'douyin' and post_id = 'dy_p4'"
    ).fetchone()
    leads = {
        row[0]: row[1:]
        for row in con.execute(
            "select clue_id, region, is_from_live, source_matrix_tier from marts.fct_leads"
        ).fetchall()
    }
    con.close()
    # each reached fct_leads through the dimensions alone (see fct_leads' recomputed_keys)
    assert leads["C003"][0] == "华北" and leads["C002"][2] == "KOC"
    assert latest["dy_p1"].isoformat() == "2026-07-03" and latest["dy_p2"].isoformat() == "2026-07-04"
    assert titles["dy_p2"].endswith("(修订)")
    assert dealers["2026-07-02"] == "D002" and dealers["2026-07-03"] == dealers["2026-07-04"] == "D001"
    # the incremental build rewrites the retyped post's earlier days too (the content facts are
    # otherwise replaced from the first changed day on)
    assert retyped[0] >= 2 and retyped[1:] == (1, True, "视频")


def test_a_live_taken_back_reaches_the_leads_from_it(whole_quarter_built, tmp_path):
    """Only a dimension changes: the WeChat Channels live wxc_live_1 is taken back (its 07-03 file
    re-delivered empty), and no CRM row changes. Lead L001, from that live, must lose the flag
    (fct_leads compares its stored leads with the current lives), as a full rebuild gives."""
    warehouse = _copy_of(whole_quarter_built, tmp_path)
    env = {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}
    con = duckdb.connect(str(warehouse))
    assert con.execute("select is_from_live from marts.fct_leads where clue_id = 'L001'").fetchone() == (
        True,
    )
    con.execute("delete from raw.wechat_channels_lives where live_id = 'wxc_live_1'")
    con.close()
    _assert_incremental_equals_full_refresh(tmp_path, warehouse, env)
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select is_from_live from marts.fct_leads where clue_id = 'L001'").fetchone() == (
        False,
    )
    con.close()


def test_incremental_build_without_changes_keeps_the_marts(whole_quarter_built, tmp_path):
    """A second build with nothing new re-reads no source-day and leaves every table as it was."""
    warehouse = _copy_of(whole_quarter_built, tmp_path)
    env = {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}
    first = tmp_path / "first.duckdb"
    shutil.copyfile(warehouse, first)
    _build(tmp_path / "second", env)
    differences = _table_differences(warehouse, first)
    assert {name: d for name, d in differences.items() if d[0] != d[1] or d[2] or d[3]} == {}


# --- changes only the load ledger shows --------------------------------------------------

EMPTY_DAY = ("kuaishou_posts", "2026-07-02")  # re-delivered; every row of the new file set aside
GX_FAILED_DAY = ("bilibili_videos", "2026-07-03")  # loaded before the build, GX-failed after it
REDELIVERY_AT = "2026-07-06 08:00:00"
GX_CHECK_AT = "2026-07-06 08:30:00"


def _seed_ledger(warehouse) -> None:
    """One 'loaded' ledger row per source-day of the fixture's raw layer, as the ingest writes
    them (``source`` = landing folder), plus the ingest's gx_checked_at column."""
    from matrix_pulse.sources import SOURCES, landing_folder

    con = duckdb.connect(str(warehouse))
    con.execute("alter table meta.load_ledger add column if not exists gx_checked_at timestamp")
    for table in _raw_tables(con):
        folder = landing_folder(SOURCES[table])
        con.execute(
            "insert into meta.load_ledger (file_id, source, data_date, file_name, sha256, rows_read, rows_loaded, "
            "rows_set_aside, status, first_seen_at, loaded_at) "
            "select ? || '/' || source_file || '@' || file_sha256, ?, data_date, ? || '/' || source_file, "
            "file_sha256, count(*), count(*), 0, 'loaded', min(loaded_at), min(loaded_at) "
            f"from raw.{table} where (?, data_date) not in (select source, data_date from meta.load_ledger) "
            "group by source_file, file_sha256, data_date",
            [folder, folder, folder, folder],
        )
    con.close()


def _redeliver_with_every_row_set_aside(warehouse) -> int:
    """Replays ``apply.apply_folder`` for a re-delivery whose rows ALL went to quarantine: one
    transaction deletes the day from raw and quarantine, marks the earlier delivery 'replaced',
    writes the new rows to quarantine only and a 'loaded' ledger row with rows_loaded = 0.
    raw gets no row newer than the last build: only the ledger shows the change."""
    from matrix_pulse.ingest.schema import META_DDL as INGEST_META_DDL

    table, day = EMPTY_DAY
    new_id = f"{table}/{table}_{day.replace('-', '')}.xlsx@redelivered"
    con = duckdb.connect(str(warehouse))
    con.execute(INGEST_META_DDL[0])  # raw.quarantine, as the ingest creates it
    rows = con.execute(f"select count(*) from raw.{table} where data_date = ?", [day]).fetchone()[0]
    con.execute("begin transaction")
    con.execute(
        "insert into raw.quarantine select ?, ?, data_date, ?, 'redelivered', source_row, 'bad_date', "
        f"'发布时间 unparseable', to_json(t), timestamp '{REDELIVERY_AT}' from raw.{table} as t where data_date = ?",
        [table, table, new_id.split("@")[0], day],
    )  # the new file's rows (the old ones stand in for them), set aside
    con.execute(f"delete from raw.{table} where data_date = ?", [day])
    con.execute(
        "delete from raw.quarantine where source = ? and data_date = ? and file_sha256 <> 'redelivered'",
        [table, day],
    )
    con.execute(
        "update meta.load_ledger set status = 'replaced', replaced_by = ? "
        "where source = ? and data_date = ? and status in ('loaded', 'gx_failed')",
        [new_id, table, day],
    )
    con.execute(
        "insert into meta.load_ledger (file_id, source, data_date, file_name, sha256, rows_read, rows_loaded, "
        "rows_set_aside, status, first_seen_at, loaded_at) values "
        f"(?, ?, ?, ?, 'redelivered', ?, 0, ?, 'loaded', timestamp '{REDELIVERY_AT}', timestamp '{REDELIVERY_AT}')",
        [new_id, table, day, new_id.split("@")[0], rows, rows],
    )
    con.execute("commit")
    con.close()
    return rows


def _gx_fail_an_old_file(warehouse) -> int:
    """Replays ``quality._quarantine_file``: a file loaded before the last build fails a critical
    expectation after it; its rows move to quarantine and its ledger row becomes 'gx_failed'
    (first_seen_at unchanged, gx_checked_at = now)."""
    table, day = GX_FAILED_DAY
    con = duckdb.connect(str(warehouse))
    rows = con.execute(f"select count(*) from raw.{table} where data_date = ?", [day]).fetchone()[0]
    con.execute("begin transaction")
    con.execute(
        "insert into raw.quarantine select ?, ?, data_date, source_file, file_sha256, source_row, 'gx_critical', "
        f"'views: max exceeded', to_json(t), timestamp '{GX_CHECK_AT}' from raw.{table} as t where data_date = ?",
        [table, table, day],
    )
    con.execute(f"delete from raw.{table} where data_date = ?", [day])
    con.execute(
        "update meta.load_ledger set status = 'gx_failed', reason = 'views: max exceeded', rows_loaded = 0, "
        f"rows_set_aside = rows_read, gx_checked_at = timestamp '{GX_CHECK_AT}' "
        "where source = ? and data_date = ? and status = 'loaded'",
        [table, day],
    )
    con.execute("commit")
    con.close()
    return rows


def test_incremental_build_sees_changes_only_the_ledger_shows(tmp_path):
    """Source-days emptied without any new raw row (a re-delivery set aside whole, a GX failure
    of a file loaded before the last build) are rebuilt like a full refresh would."""
    warehouse = build_fixture_warehouse(tmp_path / "ledger.duckdb")
    env = {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}
    _seed_ledger(warehouse)
    _build(tmp_path / "first", env)
    con = duckdb.connect(str(warehouse), read_only=True)
    state_before = dict(
        con.execute("select model_name, raw_loaded_at from intermediate.mp_increment_state").fetchall()
    )
    con.close()

    assert _redeliver_with_every_row_set_aside(warehouse) > 0
    assert _gx_fail_an_old_file(warehouse) > 0
    _assert_incremental_equals_full_refresh(tmp_path, warehouse, env)
    con = duckdb.connect(str(warehouse), read_only=True)
    for table, day in (EMPTY_DAY, GX_FAILED_DAY):
        platform = table.split("_")[0]
        assert con.execute(f"select count(*) from raw.{table} where data_date = ?", [day]).fetchone()[0] == 0
        for relation, date_col in (
            ("intermediate.int_content_snapshots_unioned", "data_date"),
            ("intermediate.int_content_deltas_computed", "date_day"),
            ("marts.fct_content_daily", "date_day"),
        ):
            assert (
                con.execute(
                    f"select count(*) from {relation} where platform = ? and {date_col} = ?", [platform, day]
                ).fetchone()[0]
                == 0
            ), (relation, table, day)
    state = dict(
        con.execute("select model_name, raw_loaded_at from intermediate.mp_increment_state").fetchall()
    )
    con.close()
    # raw got nothing newer: its watermark stays (the ledger's moved, see macros/incremental.sql)
    assert state == state_before
