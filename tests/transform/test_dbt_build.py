"""`dbt build` on the fixture warehouse: every model, data test and unit test passes, the
marts have exactly the columns of docs/interfaces.md section 4, and the tricky rules hold
on realistic rows."""

from __future__ import annotations

import re

import duckdb
import pytest
from matrix_pulse.settings import REPO_ROOT
from matrix_pulse.sources import LINEAGE_COLUMNS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built_warehouse(duckdb_build):
    warehouse, stdout = duckdb_build
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con, stdout
    con.close()


def _interface_columns() -> dict[str, list[str]]:
    text = (REPO_ROOT / "docs" / "interfaces.md").read_text(encoding="utf-8").split("## 4.")[1]
    out = {}
    for m in re.finditer(r"`((?:dim|fct|mart)_\w+)\((.*?)\)`", text, re.S):
        cols = re.sub(r"\([^)]*\)", "", m.group(2))
        out[m.group(1)] = [c.strip().split(" ")[0] for c in cols.split(",")]
    return out


def test_build_passes_with_unit_tests(built_warehouse):
    _, stdout = built_warehouse
    assert "6 unit tests" in stdout
    assert re.search(r"ERROR=0 ", stdout)


def test_a_build_writes_no_debug_log_file(duckdb_build):
    """dbt_env() turns dbt's file log off (Cosmos would write it into a temporary copy it
    deletes); what dbt prints is unchanged."""
    warehouse, stdout = duckdb_build
    logs = warehouse.parent / "logs"  # run_dbt_build's --log-path
    assert logs.is_dir() and not (logs / "dbt.log").exists()
    assert "Done. PASS=" in stdout


def test_marts_have_the_interface_columns(built_warehouse):
    con, _ = built_warehouse
    expected = _interface_columns()
    # every mart is documented: a new one missing from docs/interfaces.md fails here
    built = {
        r[0]
        for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
    }
    assert set(expected) == built, (sorted(built - set(expected)), sorted(set(expected) - built))
    for table, cols in expected.items():
        got = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]
        assert got == cols, table


def _views(con, platform, post_id):
    return con.execute(
        "select date_day::varchar, views, is_counter_corrected, matrix_tier from marts.fct_content_daily "
        "where platform = ? and post_id = ? order by date_day",
        [platform, post_id],
    ).fetchall()


def test_counter_drop_is_clamped_and_flagged(built_warehouse):
    con, _ = built_warehouse
    rows = _views(con, "douyin", "dy_p2")
    assert [r[1] for r in rows] == [2000, 2007, 0, 4514]
    assert [r[2] for r in rows] == [False, False, True, False]


def test_unknown_value_and_missing_day_are_covered_by_the_next_delta(built_warehouse):
    con, _ = built_warehouse
    assert [r[1] for r in _views(con, "kuaishou", "ks_p1")] == [1000, None, 2014, 1007]
    weibo = _views(con, "weibo", "wb_1")
    assert [r[0] for r in weibo] == ["2026-07-01", "2026-07-02", "2026-07-04"]  # 07-03 missing, not zero
    # the final cumulative value equals the sum of the days when nothing was corrected
    assert sum(r[1] for r in weibo) == 100000


def test_each_day_takes_the_tier_of_that_day(built_warehouse):
    con, _ = built_warehouse
    assert [r[3] for r in _views(con, "douyin", "dy_p3")] == ["KOC", "员工", "员工"]
    assert {r[3] for r in _views(con, "douyin", "dy_p5")} == {"未登记"}


def test_wechat_oa_daily_values_are_taken_as_they_are(built_warehouse):
    con, _ = built_warehouse
    raw = con.execute("select sum(views) from raw.wechat_oa_articles").fetchone()[0]
    fct = con.execute(
        "select sum(views) from marts.fct_content_daily where platform = 'wechat_oa'"
    ).fetchone()[0]
    assert fct == raw


def test_leads_duplicates_validity_and_tiers(built_warehouse):
    con, _ = built_warehouse
    leads = {
        r[0]: r[1:]
        for r in con.execute(
            "select clue_id, is_duplicate, is_valid, source_platform, source_matrix_tier, current_status, is_from_live "
            "from marts.fct_leads"
        ).fetchall()
    }
    assert leads["C001"] == (False, True, "douyin", "经销商", "已下订单", True)
    assert leads["L001"][:2] == (True, False)  # same phone and series 1 day after C001
    assert leads["C005"][:2] == (True, False)
    assert leads["C005"][3] == "员工"  # dy_koc_1 became an employee before the lead was created
    assert leads["C002"][:2] == (False, True)
    assert leads["C003"][1:4] == (False, "other", "none")  # junk phone, no source account
    assert leads["C004"][1] is False  # flagged invalid by the DCC
    assert leads["L002"][1] is False and leads["L002"][4] == "无效"


def test_kpi_mart_reconciles_with_the_facts(built_warehouse):
    con, _ = built_warehouse
    for period in ("week", "month", "quarter"):
        mart = con.execute(
            "select sum(views), sum(engagements), sum(leads), sum(valid_leads) from marts.mart_kpi_by_period "
            "where period_type = ?",
            [period],
        ).fetchone()
        facts = con.execute(
            "select (select sum(views) from marts.fct_content_daily), "
            "(select sum(engagements) from marts.fct_content_daily), "
            "(select count(*) from marts.fct_leads), "
            "(select count(*) filter (where is_valid) from marts.fct_leads)"
        ).fetchone()
        assert mart == facts, period


KPI_ADDITIVE = ("exposure", "views", "engagements", "follower_gain", "accounts", "active_accounts",
                "posts_published", "live_sessions", "live_viewers", "live_leads", "leads", "valid_leads",
                "arrivals", "test_drives", "orders", "deliveries", "defeats", "creator_cost_yuan")  # fmt: skip


def test_kpi_breakdowns_add_up_to_the_period_total(built_warehouse):
    """Every additive measure of mart_kpi_by_period: the platform, tier and region rows of a period
    sum to the period's total taken from the facts, and accounts are counted once per period (so
    dy_koc_1, which changed tier and dealer on 07-03, is in one tier row only)."""
    con, _ = built_warehouse
    sums = ", ".join(f"sum({m})" for m in KPI_ADDITIVE)
    totals = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            f"select period_type, period_label, {sums} from marts.mart_kpi_by_period group by all"
        ).fetchall()
    }
    for cut in ("platform", "matrix_tier", "region"):
        by_cut: dict[tuple, list] = {}
        for r in con.execute(
            f"select period_type, period_label, {cut}, {sums} from marts.mart_kpi_by_period group by all"
        ).fetchall():
            acc = by_cut.setdefault((r[0], r[1]), [0] * len(KPI_ADDITIVE))
            for i, v in enumerate(r[3:]):
                acc[i] += v or 0
        assert by_cut == {k: pytest.approx([v or 0 for v in t]) for k, t in totals.items()}, cut
    accounts = dict(
        con.execute(
            "select periods.period_type || ':' || periods.period_label, count(distinct f.platform || ':' || f.account_id) "
            "from marts.fct_account_daily f join (select date_day, 'week' as period_type, iso_week_label as period_label "
            "from marts.dim_date union all select date_day, 'month', month_label from marts.dim_date "
            "union all select date_day, 'quarter', quarter_label from marts.dim_date) periods using (date_day) group by 1"
        ).fetchall()
    )
    got = {f"{t}:{label}": v[KPI_ADDITIVE.index("accounts")] for (t, label), v in totals.items()}
    assert {k: v for k, v in got.items() if v} == accounts
    # the fixture holds a mover, so a double count would show
    moves = con.execute(
        "select count(distinct matrix_tier) from marts.fct_account_daily where account_id = 'dy_koc_1'"
    ).fetchone()[0]
    assert moves == 2


def test_creator_deals_take_what_the_creator_published_for_them(built_warehouse):
    con, _ = built_warehouse
    deals = {
        r[0]: r[1:]
        for r in con.execute(
            "select account_id, posts_matched, live_sessions_matched, exposure, views, engagements, leads "
            "from marts.mart_creator_roi"
        ).fetchall()
    }
    # each deal's post is the one its account published inside the window of 发布日期 (07-01)
    matched = dict(
        con.execute(
            "select account_id, deliverable_id from intermediate.int_creator_deals_matched_to_deliverables"
        ).fetchall()
    )
    assert matched == {"dy_kol_1": "dy_p4", "xhs_kol_1": "xhs_n2"}
    for account, post in matched.items():
        life = con.execute(
            "select sum(exposure), sum(views), sum(engagements) from marts.fct_content_daily where post_id = ?",
            [post],
        ).fetchone()
        assert deals[account][:2] == (1, 0)
        assert deals[account][2:5] == life and life[0] > 0
    # the lead whose source content is the xhs deal's note is that deal's
    assert deals["xhs_kol_1"][5] == 1
    regions = con.execute("select region, leads from marts.mart_creator_deal_regions").fetchall()
    assert sum(n for _, n in regions) == sum(d[5] for d in deals.values())


def test_scorecard_counts_an_account_once_for_its_dealer_on_the_quarters_last_day(built_warehouse):
    con, _ = built_warehouse
    accounts = dict(
        con.execute(
            "select dealer_code, accounts from marts.mart_dealer_scorecard where quarter_label = '2026Q3'"
        ).fetchall()
    )
    # dy_koc_1 joined dealer D002 as an employee on 07-03: it counts there, and nowhere else
    bound = con.execute(
        "select count(*) from marts.dim_account where dealer_code is not null and is_current"
    ).fetchone()[0]
    assert sum(accounts.values()) == bound
    assert accounts["D002"] >= 2


def _dbt_test_fails(warehouse, select: str, tmp_path):
    """`dbt test --select <select>` on ``warehouse``, which must fail: (the process, run_results' results)."""
    import json

    from .conftest import dbt

    result = dbt("test", tmp_path, {"MP_WAREHOUSE": str(warehouse), "MP_DBT_TARGET": "duckdb"}, "--select", select,
                 timeout=600)  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]
    return result, json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]


def test_unique_combination_test_reports_every_duplicate_and_only_those(duckdb_build, tmp_path):
    """The project's uniqueness test (a hash pre-grouping on DuckDB, macros/test_unique_combination.sql)
    finds a copied row and a copied row whose key holds NULLs (NULLs compare equal), and
    returns exactly the duplicated combinations; every other uniqueness test still passes."""
    import shutil

    warehouse, _ = duckdb_build
    copy = shutil.copy(warehouse, tmp_path / "with_duplicates.duckdb")
    with duckdb.connect(str(copy)) as con:
        con.execute("insert into marts.fct_account_daily select * from marts.fct_account_daily limit 1")
        nulls = "dealer_code is null"  # the brand's and creators' rows: no dealer
        assert con.execute(f"select count(*) from marts.mart_kpi_by_period where {nulls}").fetchone()[0] > 0
        con.execute(
            f"insert into marts.mart_kpi_by_period select * from marts.mart_kpi_by_period where {nulls} limit 2"
        )
    result, results = _dbt_test_fails(copy, "test_name:unique_combination_of_columns", tmp_path)
    failed = {r["unique_id"].split(".")[2]: r["failures"] for r in results if r["status"] == "fail"}
    assert failed == {
        "unique_combination_of_columns_fct_account_daily_date_day__platform__account_id": 1,
        "unique_combination_of_columns_mart_kpi_by_period_period_type__period_label__platform__matrix_tier__matrix_group__region__dealer_code": 2,
    }, result.stdout[-3000:]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(tests) > 20 and all(r["status"] in ("pass", "fail") for r in tests)


def test_not_null_test_counts_the_nulls_of_each_column_it_checks(duckdb_build, tmp_path):
    """The project's one not-NULL test per model (macros/test_not_null_columns.sql) fails with the
    NULL rows of all its columns together, as dbt's per-column not_null counted them, its failing
    rows name each column holding NULLs with its count, and it checks sources too."""
    import shutil

    warehouse, _ = duckdb_build
    copy = shutil.copy(warehouse, tmp_path / "with_nulls.duckdb")
    with duckdb.connect(str(copy)) as con:
        con.execute("update marts.fct_leads set clue_id = null where lead_key in "
                    "(select lead_key from marts.fct_leads order by lead_key limit 3)")  # fmt: skip
        con.execute("update marts.fct_leads set is_valid = null where lead_key in "
                    "(select lead_key from marts.fct_leads order by lead_key desc limit 2)")  # fmt: skip
        # the raw tables' test covers every lineage column the ingest stamps (LINEAGE_COLUMNS)
        con.execute("update raw.douyin_posts set loaded_at = null where source_row = 1")
        con.execute("update raw.douyin_posts set file_sha256 = null where source_row = 2")
        raw_by_column = con.execute(
            "select 'file_sha256', count(*) filter (file_sha256 is null) from raw.douyin_posts "
            "union all select 'loaded_at', count(*) filter (loaded_at is null) from raw.douyin_posts"
        ).fetchall()
    raw_nulls = sum(n for _, n in raw_by_column)
    assert all(n > 0 for _, n in raw_by_column), raw_by_column
    result, results = _dbt_test_fails(copy, "test_name:not_null_columns", tmp_path)
    failed = {r["unique_id"].split(".")[2]: r for r in results if r["status"] == "fail"}
    leads = "not_null_columns_fct_leads_lead_key__clue_id__source_matrix_tier__created_date__is_duplicate__is_valid"
    raw = "source_not_null_columns_douyin_douyin_posts_" + "__".join(c.name for c in LINEAGE_COLUMNS)
    failures = {name: r["failures"] for name, r in failed.items()}
    assert failures == {leads: 5, raw: raw_nulls}, result.stdout[-3000:]
    with duckdb.connect(str(copy), read_only=True) as con:
        by_column = sorted(con.execute(failed[leads]["compiled_code"]).fetchall())
        assert by_column == [("clue_id", 3), ("is_valid", 2)]
        assert sorted(con.execute(failed[raw]["compiled_code"]).fetchall()) == raw_by_column
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(tests) > 50 and all(r["status"] in ("pass", "fail") for r in tests)
