"""Every query the pack runs against the published DuckDB (marts and meta, read-only).

Only columns listed in docs/interfaces.md §3-4 are read. ``region`` narrows a query to
one 大区 (a regional pack); ``None`` is the national view. Region rules:
- content, accounts and live streams belong to the account's region (``总部`` accounts
  such as 官方/KOL appear only in the national view);
- leads belong to the dealer that works them (``fct_leads.region``), whatever platform
  or account they came from: a regional director answers for their dealers' leads.
Lead figures come from ``fct_leads`` (lead-creation cohort of the quarter) because a
median response time cannot be re-aggregated from the pre-aggregated KPI rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.queries_base import (  # noqa: F401  the pack reads the labels as queries.<NAME>
    CONTENT_TYPES,
    HQ_REGION,
    INACTIVE_DAYS,
    LEAD_TIER_SQL,
    NO_SOURCE_TIER,
    OTHER_PLATFORM,
    OTHER_PLATFORM_CN,
    REGIONS,
    TIERS,
    UNATTRIBUTED,
    UNREGISTERED_TIER,
    _df,
    _region_clause,
    quarter_relation,
    shared_per_connection,
)

# Content, live and creator queries live in their own module; re-exported so every caller
# keeps one entry point (queries.<name>).
from matrix_pulse.report.queries_content import (  # noqa: F401
    CREATOR_DEAL_COLUMNS,
    by_content_type,
    campaign_roi,
    creator_cost_by_platform,
    creator_roi,
    inactive_accounts,
    live_by_account,
    live_by_platform,
    live_totals,
    low_interaction_content,
    top_content,
    top_live_sessions,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@shared_per_connection
def quarter_labels_with_data(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select distinct period_label from marts.mart_kpi_by_period where period_type = 'quarter' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


@shared_per_connection
def account_roster(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Each account once per quarter, by its tier, dealer and region on the last day it has a
    row in the quarter (an account that changed tier or dealer is not counted twice); active
    when it had at least one active day in the quarter."""
    clause, params = _region_clause(region)
    last_day = quarter_relation(
        con, "account_last_day", quarter,
        """select platform, account_id, arg_max(matrix_tier, date_day) as matrix_tier,
                  arg_max(region, date_day) as region, arg_max(dealer_code, date_day) as dealer_code,
                  bool_or(is_active) as is_active
           from marts.fct_account_daily where date_day between {start} and {end} group by all""",
    )  # fmt: skip
    return _df(con, f"select * from {last_day} where true{clause}", params)


@shared_per_connection
def reach(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> dict:
    """Exposure, views, engagements, interaction rate, accounts and posts for one quarter."""
    clause, params = _region_clause(region)
    row = con.execute(
        f"""select sum(exposure), sum(views), sum(engagements), sum(engagements) / nullif(sum(views), 0),
                   sum(posts_published), sum(follower_gain), sum(live_sessions), sum(live_viewers), sum(live_leads)
            from marts.mart_kpi_by_period
            where period_type = 'quarter' and period_label = ?{clause}""",
        [quarter.label, *params],
    ).fetchall()[0]
    keys = ("exposure", "views", "engagements", "interaction_rate", "posts_published", "follower_gain",
            "live_sessions", "live_viewers", "live_leads")  # fmt: skip
    out = dict(zip(keys, row, strict=True))
    roster = account_roster(con, quarter, region)
    out["accounts"] = len(roster)
    out["active_accounts"] = int(roster["is_active"].sum()) if len(roster) else 0
    return out


def quarter_has_data(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> bool:
    """Whether the marts cover the quarter at all (nationally): without it a figure is unknown, not 0."""
    return quarter.label in quarter_labels_with_data(con)


@shared_per_connection
def lead_funnel(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> dict:
    """Leads of the quarter's creation cohort: counts, funnel rates over valid leads, response."""
    clause, params = _region_clause(region)
    row = con.execute(
        f"""select count(*), count(*) filter (where is_valid),
                   count(*) filter (where is_valid and arrived_at is not null),
                   count(*) filter (where is_valid and test_drive_at is not null),
                   count(*) filter (where is_valid and ordered_at is not null),
                   count(*) filter (where is_valid and delivered_at is not null),
                   median(response_minutes) filter (where is_valid),
                   avg(followed_within_24h::int) filter (where is_valid)
            from marts.fct_leads where created_date between ? and ?{clause}""",
        [quarter.start, quarter.end, *params],
    ).fetchall()[0]
    leads, valid, arrivals, test_drives, orders, deliveries, median_resp, fu24 = row
    rate = lambda n: n / valid if valid else None  # noqa: E731 - funnel rates share one denominator
    return dict(leads=leads, valid_leads=valid, arrivals=arrivals, test_drives=test_drives, orders=orders,
                deliveries=deliveries, arrival_rate=rate(arrivals), test_drive_rate=rate(test_drives),
                order_rate=rate(orders), delivery_rate=rate(deliveries), median_response_minutes=median_resp,
                follow_up_24h_rate=fu24)  # fmt: skip


def headline(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> dict:
    return reach(con, quarter, region) | lead_funnel(con, quarter, region)


@shared_per_connection
def by_tier(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Matrix tiers, then 未登记 (content of accounts not on the roster) and 未归属 (leads with no
    known source account), so every column adds up to the headline. Accounts are counted once,
    by their tier on the last day (account_roster)."""
    clause, params = _region_clause(region)
    tiers = [*TIERS, UNREGISTERED_TIER, UNATTRIBUTED]
    # a tier the roster does not know yet gets its own row (after the known ones), never dropped
    seen = con.execute(
        f"""select distinct matrix_tier from marts.mart_kpi_by_period
            where period_type = 'quarter' and period_label = ?
              and (exposure > 0 or views > 0 or posts_published > 0 or follower_gain > 0)
            union select distinct {LEAD_TIER_SQL} from marts.fct_leads where created_date between ? and ?""",
        [quarter.label, quarter.start, quarter.end],
    ).fetchall()
    tiers += sorted({t for (t,) in seen if t is not None} - set(tiers))
    df = _df(
        con,
        f"""with r as (
              select matrix_tier, sum(posts_published) as posts_published, sum(exposure) as exposure, sum(views) as views,
                     sum(engagements) as engagements, sum(engagements) / nullif(sum(views), 0) as interaction_rate,
                     sum(follower_gain) as follower_gain
              from marts.mart_kpi_by_period
              where period_type = 'quarter' and period_label = ?{clause} group by 1),
            l as (
              select {LEAD_TIER_SQL} as matrix_tier, count(*) as leads,
                     count(*) filter (where is_valid) as valid_leads,
                     count(*) filter (where is_valid and ordered_at is not null) as orders
              from marts.fct_leads where created_date between ? and ?{clause} group by 1)
            select t.matrix_tier, coalesce(r.posts_published, 0) as posts_published, coalesce(r.exposure, 0) as exposure,
                   coalesce(r.views, 0) as views, coalesce(r.engagements, 0) as engagements, r.interaction_rate,
                   coalesce(r.follower_gain, 0) as follower_gain, coalesce(l.leads, 0) as leads,
                   coalesce(l.valid_leads, 0) as valid_leads, l.orders / nullif(l.valid_leads, 0) as order_rate
            from (select unnest(?::varchar[]) as matrix_tier) t
            left join r using (matrix_tier) left join l using (matrix_tier)
            order by list_position(?::varchar[], t.matrix_tier)""",
        [quarter.label, *params, quarter.start, quarter.end, *params, tiers, tiers],
    )
    roster = account_roster(con, quarter, region)
    accounts = roster.groupby("matrix_tier")["is_active"].agg(["count", "sum"])
    df.insert(1, "accounts", df["matrix_tier"].map(accounts["count"]).fillna(0).astype("int64"))
    df.insert(2, "active_accounts", df["matrix_tier"].map(accounts["sum"]).fillna(0).astype("int64"))
    return df


@shared_per_connection
def by_platform(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Every platform, then 其他渠道 (leads from 懂车帝, 400电话, 自然到店 ...: no content of ours),
    so exposure and leads add up to the headline. Platforms without content in a region tie
    at 0 exposure: the code breaks the tie, so a rebuilt pack lists them in the same order."""
    clause, params = _region_clause(region)
    return _df(
        con,
        f"""with r as (
              select platform, sum(exposure) as exposure, sum(views) as views, sum(engagements) as engagements,
                     sum(engagements) / nullif(sum(views), 0) as interaction_rate
              from marts.mart_kpi_by_period
              where period_type = 'quarter' and period_label = ?{clause} group by 1),
            l as (
              select coalesce(source_platform, ?) as platform, count(*) as leads,
                     count(*) filter (where is_valid) as valid_leads,
                     count(*) filter (where is_valid and ordered_at is not null) as orders
              from marts.fct_leads where created_date between ? and ?{clause} group by 1),
            p as (select platform, platform_name_cn, 0 as is_other from marts.dim_platform
                  union all select ?, ?, 1)
            select p.platform, p.platform_name_cn, coalesce(r.exposure, 0) as exposure,
                   coalesce(r.engagements, 0) as engagements, r.interaction_rate,
                   coalesce(l.leads, 0) as leads, coalesce(l.valid_leads, 0) as valid_leads,
                   l.orders / nullif(l.valid_leads, 0) as order_rate
            from p left join r using (platform) left join l using (platform)
            order by p.is_other, exposure desc, p.platform""",
        [
            quarter.label,
            *params,
            OTHER_PLATFORM,
            quarter.start,
            quarter.end,
            *params,
            OTHER_PLATFORM,
            OTHER_PLATFORM_CN,
        ],
    )


FUNNEL_DIMENSIONS = {
    # key: (SQL expression over fct_leads, label)
    "platform": (f"coalesce(source_platform, '{OTHER_PLATFORM}')", "来源平台"),
    "tier": (LEAD_TIER_SQL, "来源层级"),
    "region": (f"coalesce(region, '{UNATTRIBUTED}')", "大区"),
}


@shared_per_connection
def funnel_by(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None, dimension: str
) -> pd.DataFrame:
    """Every funnel stage of the quarter's lead cohort by source platform, source tier or region.

    Rates share the headline's denominator (valid leads of the same cohort); the median
    response is over valid leads, as everywhere in the pack."""
    expr, _label = FUNNEL_DIMENSIONS[dimension]
    clause, params = _region_clause(region)
    df = _df(
        con,
        f"""select {expr} as segment, count(*) as leads, count(*) filter (where is_valid) as valid_leads,
                   count(*) filter (where is_valid and arrived_at is not null) as arrivals,
                   count(*) filter (where is_valid and test_drive_at is not null) as test_drives,
                   count(*) filter (where is_valid and ordered_at is not null) as orders,
                   count(*) filter (where is_valid and delivered_at is not null) as deliveries,
                   median(response_minutes) filter (where is_valid) as median_response_minutes,
                   avg(followed_within_24h::int) filter (where is_valid) as follow_up_24h_rate
            from marts.fct_leads where created_date between ? and ?{clause} group by 1""",
        [quarter.start, quarter.end, *params],
    )
    for stage in ("arrival", "test_drive", "order", "delivery"):
        n = {"arrival": "arrivals", "test_drive": "test_drives", "order": "orders", "delivery": "deliveries"}[
            stage
        ]
        df[f"{stage}_rate"] = (df[n] / df["valid_leads"].where(df["valid_leads"] > 0)).astype("float64")
    if dimension == "platform":
        names = dict(con.execute("select platform, platform_name_cn from marts.dim_platform").fetchall())
        names[OTHER_PLATFORM] = OTHER_PLATFORM_CN
        order = [*names]
        df["segment_name"] = df["segment"].map(lambda p: names.get(p, p))
    else:
        order = list(TIERS) + [UNREGISTERED_TIER] if dimension == "tier" else list(REGIONS)
        order.append(UNATTRIBUTED)
        df["segment_name"] = df["segment"]
    rank = {k: i for i, k in enumerate(order)}
    df["_order"] = df["segment"].map(lambda k: rank.get(k, len(rank)))
    return df.sort_values(["_order", "segment"]).drop(columns="_order").reset_index(drop=True)


@shared_per_connection
def region_comparison(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    """The seven 大区 side by side (HQ pack): reach of the region's accounts, the funnel of its
    dealers' leads. 总部 (accounts with no dealer) and 未归属 (leads without a known dealer)
    close the table so exposure and valid leads add up to the national headline."""
    reach_df = _df(
        con,
        """select region, sum(exposure) as exposure, sum(views) as views, sum(engagements) as engagements,
                  sum(engagements) / nullif(sum(views), 0) as interaction_rate
           from marts.mart_kpi_by_period where period_type = 'quarter' and period_label = ? group by 1""",
        [quarter.label],
    )
    funnel = funnel_by(con, quarter, None, "region").rename(columns={"segment": "region"})
    import pandas as pd

    order = [*REGIONS, HQ_REGION, UNATTRIBUTED]
    # a region the config does not know is shown after the known ones, never dropped
    seen = set(reach_df["region"].dropna()) | set(funnel["region"].dropna())
    order += sorted(seen - set(order))
    df = (
        pd.DataFrame({"region": order})
        .merge(reach_df, on="region", how="left")
        .merge(funnel.drop(columns="segment_name"), on="region", how="left")
    )
    for c in ("exposure", "views", "engagements", "leads", "valid_leads", "arrivals", "test_drives", "orders",
              "deliveries"):  # fmt: skip
        df[c] = df[c].fillna(0).astype("int64")
    keep = df["region"].isin(REGIONS) | (df["exposure"] > 0) | (df["leads"] > 0)
    return df[keep].reset_index(drop=True)


@shared_per_connection
def dealer_scorecard(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """The dealer scorecard, with the response median over VALID leads (the pack's one definition,
    as in the headline) taken from fct_leads, and the national response rank on that median:
    mart_dealer_scorecard's median is over all leads (issue 11, H1 owns that mart)."""
    clause, params = _region_clause(region, "s.region")
    return _df(
        con,
        f"""with resp as (
              select dealer_code, median(response_minutes) filter (where is_valid) as median_response_minutes
              from marts.fct_leads where created_date between ? and ? group by 1),
            national as (
              select s.* exclude (median_response_minutes, rank_response), r.median_response_minutes,
                     rank() over (order by r.median_response_minutes asc nulls last) as rank_response
              from marts.mart_dealer_scorecard s left join resp r using (dealer_code)
              where s.quarter_label = ?)
            select dealer_code, dealer_name, region, province, city, city_tier, accounts, active_accounts,
                   exposure, engagements, leads, valid_leads, arrivals, orders, order_rate,
                   median_response_minutes, follow_up_24h_rate, rank_leads, rank_order_rate, rank_response
            from national s where true{clause} order by rank_leads, dealer_code""",
        [quarter.start, quarter.end, quarter.label, *params],
    )


@shared_per_connection
def months_with_data(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Months the marts cover at all (nationally): any other month is unknown, not 0."""
    rows = con.execute(
        "select distinct period_label from marts.mart_kpi_by_period where period_type = 'month'"
    ).fetchall()
    return {r[0] for r in rows}


def monthly_trend(con: duckdb.DuckDBPyConnection, months: list[str], region: str | None) -> pd.DataFrame:
    """Exposure, engagements and valid leads per month; NULL (a gap, a blank cell) for a month
    the marts do not cover, 0 only for a covered month in which nothing happened."""
    clause, params = _region_clause(region)
    covered = sorted(months_with_data(con) & set(months))
    return _df(
        con,
        f"""with r as (
              select period_label as month, sum(exposure) as exposure, sum(engagements) as engagements
              from marts.mart_kpi_by_period
              where period_type = 'month' and period_label in (select unnest(?::varchar[])){clause} group by 1),
            l as (
              select strftime(created_date, '%Y-%m') as month, count(*) filter (where is_valid) as valid_leads
              from marts.fct_leads where strftime(created_date, '%Y-%m') in (select unnest(?::varchar[])){clause}
              group by 1),
            m as (select unnest(?::varchar[]) as month)
            select m.month,
                   case when list_contains(?::varchar[], m.month) then coalesce(r.exposure, 0) end as exposure,
                   case when list_contains(?::varchar[], m.month) then coalesce(r.engagements, 0) end as engagements,
                   case when list_contains(?::varchar[], m.month) then coalesce(l.valid_leads, 0) end as valid_leads
            from m left join r using (month) left join l using (month)
            order by m.month""",
        [months, *params, months, *params, months, covered, covered, covered],
    ).astype({"exposure": "float64", "engagements": "float64", "valid_leads": "float64"})


# --- data health (meta) --------------------------------------------------------------------
@shared_per_connection
def source_health(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    return _df(
        con,
        """with f as (
             select source, count(*) as expected_days, count(*) filter (where status = 'loaded') as loaded_days,
                    count(*) filter (where status = 'missing') as missing_days,
                    count(*) filter (where status = 'rejected') as rejected_days,
                    count(*) filter (where status = 'gx_failed') as gx_failed_days,
                    count(*) filter (where is_late) as late_days
             from meta.source_freshness where data_date between ? and ? group by 1),
           l as (
             select source, count(*) filter (where status <> 'replaced') as files,
                    count(*) filter (where status in ('rejected', 'gx_failed')) as files_set_aside,
                    sum(rows_read) filter (where status <> 'replaced') as rows_read,
                    sum(rows_set_aside) filter (where status <> 'replaced') as rows_set_aside
             from meta.load_ledger where data_date between ? and ? group by 1)
           select f.*, coalesce(l.files, 0) as files, coalesce(l.files_set_aside, 0) as files_set_aside,
                  coalesce(l.rows_read, 0) as rows_read, coalesce(l.rows_set_aside, 0) as rows_set_aside
           from f left join l using (source) order by f.source""",
        [quarter.start, quarter.end, quarter.start, quarter.end],
    )


@shared_per_connection
def missing_source_days(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    return _df(
        con,
        """select source, data_date, status from meta.source_freshness
           where data_date between ? and ? and status <> 'loaded' order by data_date, source""",
        [quarter.start, quarter.end],
    )


@shared_per_connection
def gx_failures(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    """Failed expectations of the quarter's dates, with whether a later check of the same thing passed."""
    return _df(
        con,
        """with ranked as (
             select *, row_number() over (partition by source, data_date, expectation, column_name
                                          order by checked_at desc) as rn
             from meta.gx_results where data_date between ? and ?)
           select source, data_date, file_name, expectation, column_name, severity, unexpected_count,
                  rn = 1 as is_latest_check
           from ranked where not success order by severity, data_date, source""",
        [quarter.start, quarter.end],
    )
