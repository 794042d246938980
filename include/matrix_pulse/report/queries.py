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
from matrix_pulse.sources import MATRIX_TIERS

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

TIERS = MATRIX_TIERS  # the contract's tiers, in report order
CONTENT_TYPES = ("视频", "图文", "直播")
# The "high views, low interaction" rule: views in the top quarter of the quarter's
# content and an interaction rate below half the median interaction rate.
LOW_INTERACTION_VIEWS_QUANTILE = 0.75
LOW_INTERACTION_RATE_FACTOR = 0.5
INACTIVE_DAYS = 30
MIN_VALID_LEADS_FOR_COST_RANKING = 5


def _region_clause(region: str | None, column: str = "region") -> tuple[str, list]:
    return (f" and {column} = ?", [region]) if region else ("", [])


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()


def quarter_labels_with_data(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select distinct period_label from marts.mart_kpi_by_period where period_type = 'quarter' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def reach(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> dict:
    """Exposure, views, engagements, interaction rate, accounts and posts for one quarter."""
    clause, params = _region_clause(region)
    row = con.execute(
        f"""select sum(exposure), sum(views), sum(engagements), sum(engagements) / nullif(sum(views), 0),
                   sum(accounts), sum(active_accounts), sum(posts_published), sum(follower_gain),
                   sum(live_sessions), sum(live_viewers), sum(live_leads)
            from marts.mart_kpi_by_period
            where period_type = 'quarter' and period_label = ?{clause}""",
        [quarter.label, *params],
    ).fetchall()[0]
    keys = ("exposure", "views", "engagements", "interaction_rate", "accounts", "active_accounts",
            "posts_published", "follower_gain", "live_sessions", "live_viewers", "live_leads")  # fmt: skip
    return dict(zip(keys, row, strict=True))


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


def by_tier(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    clause, params = _region_clause(region)
    lclause, lparams = _region_clause(region)
    return _df(
        con,
        f"""with r as (
              select matrix_tier, sum(accounts) as accounts, sum(active_accounts) as active_accounts,
                     sum(posts_published) as posts_published, sum(exposure) as exposure, sum(views) as views,
                     sum(engagements) as engagements, sum(engagements) / nullif(sum(views), 0) as interaction_rate,
                     sum(follower_gain) as follower_gain
              from marts.mart_kpi_by_period
              where period_type = 'quarter' and period_label = ?{clause} group by 1),
            l as (
              select source_matrix_tier as matrix_tier, count(*) filter (where is_valid) as valid_leads,
                     count(*) filter (where is_valid and ordered_at is not null) as orders
              from marts.fct_leads where created_date between ? and ?{lclause} group by 1)
            select t.matrix_tier, r.* exclude (matrix_tier), coalesce(l.valid_leads, 0) as valid_leads,
                   l.orders / nullif(l.valid_leads, 0) as order_rate
            from (select unnest(?::varchar[]) as matrix_tier) t
            left join r using (matrix_tier) left join l using (matrix_tier)
            order by list_position(?::varchar[], t.matrix_tier)""",
        [quarter.label, *params, quarter.start, quarter.end, *lparams, list(TIERS), list(TIERS)],
    )


def by_platform(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    # Platforms without content in a region tie at 0 exposure: the code breaks the tie, so
    # a rebuilt pack lists them in the same order as the one sent.
    clause, params = _region_clause(region)
    return _df(
        con,
        f"""with r as (
              select platform, sum(exposure) as exposure, sum(views) as views, sum(engagements) as engagements,
                     sum(engagements) / nullif(sum(views), 0) as interaction_rate
              from marts.mart_kpi_by_period
              where period_type = 'quarter' and period_label = ?{clause} group by 1),
            l as (
              select source_platform as platform, count(*) as leads, count(*) filter (where is_valid) as valid_leads,
                     count(*) filter (where is_valid and ordered_at is not null) as orders
              from marts.fct_leads where created_date between ? and ?{clause} group by 1)
            select p.platform, p.platform_name_cn, coalesce(r.exposure, 0) as exposure,
                   coalesce(r.engagements, 0) as engagements, r.interaction_rate,
                   coalesce(l.leads, 0) as leads, coalesce(l.valid_leads, 0) as valid_leads,
                   l.orders / nullif(l.valid_leads, 0) as order_rate
            from marts.dim_platform p left join r using (platform) left join l using (platform)
            order by exposure desc, p.platform""",
        [quarter.label, *params, quarter.start, quarter.end, *params],
    )


def creator_cost_by_platform(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    """Creator spend and the valid leads those creators brought, per platform (national budget)."""
    return _df(
        con,
        """select r.platform, p.platform_name_cn, sum(r.cost_yuan) as cost_yuan,
                  sum(r.valid_leads) as valid_leads,
                  sum(r.cost_yuan) / nullif(sum(r.valid_leads), 0) as cost_per_valid_lead,
                  sum(r.cost_yuan) / nullif(sum(r.exposure), 0) * 1000 as cpm_yuan
           from marts.mart_creator_roi r join marts.dim_platform p using (platform)
           where r.quarter_label = ? group by all order by cost_per_valid_lead nulls last""",
        [quarter.label],
    )


def by_content_type(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    clause, params = _region_clause(region)
    return _df(
        con,
        f"""with c as (
              select content_type, count(*) as items, sum(views) as views, sum(engagements) as engagements,
                     sum(engagements) / nullif(sum(views), 0) as interaction_rate
              from marts.mart_content_top where quarter_label = ?{clause} group by 1)
            select t.content_type, coalesce(c.items, 0) as items, coalesce(c.views, 0) as views,
                   coalesce(c.engagements, 0) as engagements, c.interaction_rate,
                   c.views / nullif(c.items, 0) as views_per_item
            from (select unnest(?::varchar[]) as content_type) t left join c using (content_type)
            order by list_position(?::varchar[], t.content_type)""",
        [quarter.label, *params, list(CONTENT_TYPES), list(CONTENT_TYPES)],
    )


def top_content(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None, n: int = 10
) -> pd.DataFrame:
    clause, params = _region_clause(region, "c.region")
    return _df(
        con,
        f"""select c.title, p.platform_name_cn, a.account_name, c.matrix_tier, c.content_type, c.views,
                   c.engagements, c.interaction_rate
            from marts.mart_content_top c join marts.dim_platform p using (platform)
            left join (select distinct platform, account_id, account_name from marts.dim_account where is_current) a
              using (platform, account_id)
            where c.quarter_label = ?{clause}
            order by c.views desc limit {int(n)}""",
        [quarter.label, *params],
    )


def low_interaction_content(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None, n: int = 10
) -> tuple[pd.DataFrame, dict]:
    """Content with views in the top quartile but interaction below half the median; and the cut-offs."""
    clause, params = _region_clause(region, "region")
    cut = con.execute(
        f"""select quantile_cont(views, ?), median(interaction_rate) from marts.mart_content_top
            where quarter_label = ?{clause}""",
        [LOW_INTERACTION_VIEWS_QUANTILE, quarter.label, *params],
    ).fetchall()[0]
    views_cut, median_rate = cut
    if views_cut is None:
        return top_content(con, quarter, region, 0), {
            "views_cut": None,
            "rate_cut": None,
            "median_rate": None,
        }
    rate_cut = (median_rate or 0) * LOW_INTERACTION_RATE_FACTOR
    cclause, cparams = _region_clause(region, "c.region")
    df = _df(
        con,
        f"""select c.title, p.platform_name_cn, a.account_name, c.matrix_tier, c.content_type, c.views,
                   c.engagements, c.interaction_rate
            from marts.mart_content_top c join marts.dim_platform p using (platform)
            left join (select distinct platform, account_id, account_name from marts.dim_account where is_current) a
              using (platform, account_id)
            where c.quarter_label = ?{cclause} and c.views >= ? and c.interaction_rate < ?
            order by c.views desc limit {int(n)}""",
        [quarter.label, *cparams, views_cut, rate_cut],
    )
    return df, {"views_cut": views_cut, "rate_cut": rate_cut, "median_rate": median_rate}


def live_by_platform(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    clause, params = _region_clause(region, "l.region")
    return _df(
        con,
        f"""select p.platform_name_cn, l.matrix_tier, count(*) as sessions, sum(l.viewers) as viewers,
                   max(l.peak_online) as peak_online, sum(l.viewers * l.avg_watch_seconds) as watch_seconds,
                   sum(l.duration_seconds) as duration_seconds, sum(l.leads) as leads,
                   sum(l.leads) / nullif(sum(l.viewers), 0) * 1000 as leads_per_k_viewers
            from marts.fct_live_sessions l join marts.dim_platform p using (platform)
            where l.date_day between ? and ?{clause}
            group by all order by viewers desc""",
        [quarter.start, quarter.end, *params],
    )


def live_totals(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> dict:
    clause, params = _region_clause(region)
    row = con.execute(
        f"""select count(*), sum(viewers), max(peak_online), sum(viewers * avg_watch_seconds), sum(leads),
                   sum(leads) / nullif(sum(viewers), 0) * 1000
            from marts.fct_live_sessions where date_day between ? and ?{clause}""",
        [quarter.start, quarter.end, *params],
    ).fetchall()[0]
    return dict(zip(("sessions", "viewers", "peak_online", "watch_seconds", "leads", "leads_per_k_viewers"),
                    row, strict=True))  # fmt: skip


def top_live_sessions(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None,
                      n: int = 10) -> pd.DataFrame:  # fmt: skip
    clause, params = _region_clause(region, "l.region")
    return _df(
        con,
        f"""select l.date_day, p.platform_name_cn, a.account_name, l.matrix_tier, l.duration_seconds, l.viewers,
                   l.peak_online, l.avg_watch_seconds, l.leads,
                   l.leads / nullif(l.viewers, 0) * 1000 as leads_per_k_viewers
            from marts.fct_live_sessions l join marts.dim_platform p using (platform)
            left join (select distinct platform, account_id, account_name from marts.dim_account where is_current) a
              using (platform, account_id)
            where l.date_day between ? and ?{clause} order by l.viewers desc limit {int(n)}""",
        [quarter.start, quarter.end, *params],
    )


def dealer_scorecard(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    clause, params = _region_clause(region)
    return _df(
        con,
        f"""select dealer_code, dealer_name, region, province, city, city_tier, accounts, active_accounts,
                   exposure, engagements, leads, valid_leads, arrivals, orders, order_rate,
                   median_response_minutes, follow_up_24h_rate, rank_leads, rank_order_rate, rank_response
            from marts.mart_dealer_scorecard where quarter_label = ?{clause} order by rank_leads, dealer_code""",
        [quarter.label, *params],
    )


def network_follow_up_median(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> float | None:
    """The national network median of dealers' 24-hour follow-up rate (the benchmark of rule 3)."""
    return con.execute(
        "select median(follow_up_24h_rate) from marts.mart_dealer_scorecard where quarter_label = ?",
        [quarter.label],
    ).fetchall()[0][0]


def creator_roi(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    """Every creator deal (creator x campaign) of the quarter, largest cost first.

    The PDF prints the first rows only, so the order is what marketing sees: the biggest
    spends, whatever their cost per lead (ranking by cost per valid lead would float small
    one-lead deals to the top and sink the ~1/4 of deals with no valid lead). Ties (same
    cost) break on the mart's unique key, so a rebuilt pack prints the same rows.
    """
    return _df(
        con,
        """select r.platform, r.account_id, r.account_name, p.platform_name_cn, r.matrix_tier, r.campaign_code,
                  c.campaign_name, r.cost_yuan, r.exposure, r.engagements, r.valid_leads, r.cpm_yuan, r.cpe_yuan,
                  r.cost_per_valid_lead
           from marts.mart_creator_roi r join marts.dim_platform p using (platform)
           left join marts.dim_campaign c using (campaign_code)
           where r.quarter_label = ?
           order by r.cost_yuan desc nulls last, r.platform, r.account_id, r.campaign_code""",
        [quarter.label],
    )


def campaign_roi(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    return _df(
        con,
        """select r.campaign_code, c.campaign_name, count(distinct r.account_id) as creators, sum(r.cost_yuan) as cost_yuan,
                  sum(r.exposure) as exposure, sum(r.engagements) as engagements, sum(r.valid_leads) as valid_leads,
                  sum(r.cost_yuan) / nullif(sum(r.exposure), 0) * 1000 as cpm_yuan,
                  sum(r.cost_yuan) / nullif(sum(r.engagements), 0) as cpe_yuan,
                  sum(r.cost_yuan) / nullif(sum(r.valid_leads), 0) as cost_per_valid_lead
           from marts.mart_creator_roi r left join marts.dim_campaign c using (campaign_code)
           where r.quarter_label = ? group by all order by cost_yuan desc""",
        [quarter.label],
    )


def inactive_accounts(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Current roster accounts with no active day in the last INACTIVE_DAYS days of the quarter."""
    clause, params = _region_clause(region, "a.region")
    return _df(
        con,
        f"""with last_active as (
              select platform, account_id, max(date_day) as last_active_day
              from marts.fct_account_daily where is_active and date_day <= ? group by all)
            select a.account_name, p.platform_name_cn, a.matrix_tier, a.dealer_code, a.region,
                   la.last_active_day, date_diff('day', la.last_active_day, ?::date) as days_inactive
            from marts.dim_account a join marts.dim_platform p using (platform)
            left join last_active la using (platform, account_id)
            where a.is_current{clause}
              and (la.last_active_day is null or la.last_active_day <= ?::date - {INACTIVE_DAYS})
            order by days_inactive desc nulls first, a.account_name""",
        [quarter.end, quarter.end, *params, quarter.end],
    )


def monthly_trend(con: duckdb.DuckDBPyConnection, months: list[str], region: str | None) -> pd.DataFrame:
    clause, params = _region_clause(region)
    return _df(
        con,
        f"""with r as (
              select period_label as month, sum(exposure) as exposure, sum(engagements) as engagements
              from marts.mart_kpi_by_period
              where period_type = 'month' and period_label in (select unnest(?::varchar[])){clause} group by 1),
            l as (
              select strftime(created_date, '%Y-%m') as month, count(*) filter (where is_valid) as valid_leads
              from marts.fct_leads where strftime(created_date, '%Y-%m') in (select unnest(?::varchar[])){clause}
              group by 1)
            select m.month, coalesce(r.exposure, 0) as exposure, coalesce(r.engagements, 0) as engagements,
                   coalesce(l.valid_leads, 0) as valid_leads
            from (select unnest(?::varchar[]) as month) m left join r using (month) left join l using (month)
            order by m.month""",
        [months, *params, months, *params, months],
    )


# --- data health (meta) --------------------------------------------------------------------
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


def missing_source_days(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    return _df(
        con,
        """select source, data_date, status from meta.source_freshness
           where data_date between ? and ? and status <> 'loaded' order by data_date, source""",
        [quarter.start, quarter.end],
    )


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
