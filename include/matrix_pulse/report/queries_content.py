"""Pack queries on content, live streams, creator deals and campaigns (read-only on the
published DuckDB). Region rules as in ``queries``: content, accounts and live streams belong
to the account's region; a creator deal reaches a region through the leads it brought there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.queries_base import (
    CONTENT_TYPES,
    INACTIVE_DAYS,
    _df,
    _region_clause,
    quarter_relation,
    shared_per_connection,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@shared_per_connection
def creator_cost_by_platform(con: duckdb.DuckDBPyConnection, quarter: Quarter,
                             region: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Creator spend and the valid leads those creators brought, per platform; for a region,
    the deals that reached its dealers and the valid leads they brought there."""
    deals = creator_roi(con, quarter, region)
    if not len(deals):
        return deals.assign(cpm_yuan=[]).reindex(
            columns=[
                "platform",
                "platform_name_cn",
                "cost_yuan",
                "valid_leads",
                "cost_per_valid_lead",
                "cpm_yuan",
            ]
        )
    g = deals.groupby(["platform", "platform_name_cn"], as_index=False)[
        ["cost_yuan", "valid_leads", "exposure"]
    ].sum(min_count=1)
    g["cost_per_valid_lead"] = g["cost_yuan"] / g["valid_leads"].where(g["valid_leads"] > 0)
    g["cpm_yuan"] = g["cost_yuan"] / g["exposure"].where(g["exposure"] > 0) * 1000
    return g.drop(columns="exposure").sort_values(["cost_per_valid_lead", "platform"], na_position="last")


def content_posts(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> str:
    """The quarter's daily content facts summed per post, content type and region (a post whose
    account moved region has a row per region): every count of distinct posts and sum of views
    or engagements by region, type or title reads the same from it as from the daily facts, in
    a twentieth of the rows."""
    return quarter_relation(
        con, "content_posts", quarter,
        """select region, content_type, platform, post_id, sum(views) as views, sum(engagements) as engagements
           from marts.fct_content_daily where date_day between {start} and {end} group by all""",
    )  # fmt: skip


@shared_per_connection
def by_content_type(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Content types from the daily facts, each day in the region its account had that day (like
    the headline), so the table adds up in a regional pack too: mart_content_top gives a post one
    region for the whole quarter, which splits differently when a dealer account moved region.
    ``items`` counts a post once per region it had views in."""
    clause, params = _region_clause(region)
    return _df(
        con,
        f"""with c as (
              select content_type, count(distinct platform || ':' || post_id) as items, sum(views) as views,
                     sum(engagements) as engagements, sum(engagements) / nullif(sum(views), 0) as interaction_rate
              from {content_posts(con, quarter)} where true{clause} group by 1)
            select t.content_type, coalesce(c.items, 0) as items, coalesce(c.views, 0) as views,
                   coalesce(c.engagements, 0) as engagements, c.interaction_rate,
                   c.views / nullif(c.items, 0) as views_per_item
            from (select unnest(?::varchar[]) as content_type) t left join c using (content_type)
            order by list_position(?::varchar[], t.content_type)""",
        [*params, list(CONTENT_TYPES), list(CONTENT_TYPES)],
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


def low_interaction_content(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None,
                            views_quantile: float, rate_factor: float, network_rate: float | None,
                            n: int = 10) -> tuple[pd.DataFrame, dict]:  # fmt: skip
    """Content whose views are in the top (1 - views_quantile) of the quarter's content and
    whose interaction rate is below rate_factor x the network's interaction rate; and the cut-offs."""
    clause, params = _region_clause(region, "region")
    views_cut, items = con.execute(
        f"select quantile_cont(views, ?), count(*) from marts.mart_content_top where quarter_label = ?{clause}",
        [views_quantile, quarter.label, *params],
    ).fetchall()[0]
    rule = {"views_cut": views_cut, "items": items, "network_rate": network_rate,
            "rate_cut": network_rate * rate_factor if network_rate is not None else None}  # fmt: skip
    if views_cut is None or rule["rate_cut"] is None:
        return top_content(con, quarter, region, 0).assign(views=[]), {**rule, "matches": 0}
    cclause, cparams = _region_clause(region, "c.region")
    where = f"c.quarter_label = ?{cclause} and c.views >= ? and c.interaction_rate < ?"
    args = [quarter.label, *cparams, views_cut, rule["rate_cut"]]
    matches = con.execute(f"select count(*) from marts.mart_content_top c where {where}", args).fetchall()[0][
        0
    ]
    df = _df(
        con,
        f"""select c.title, p.platform_name_cn, a.account_name, c.matrix_tier, c.content_type, c.views,
                   c.engagements, c.interaction_rate
            from marts.mart_content_top c join marts.dim_platform p using (platform)
            left join (select distinct platform, account_id, account_name from marts.dim_account where is_current) a
              using (platform, account_id)
            where {where}
            order by c.views desc, c.platform, c.post_id limit {int(n)}""",
        args,
    )
    return df, {**rule, "matches": matches}


def live_by_account(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Live-stream results per account: sessions, viewers, leads, leads per 1,000 viewers."""
    clause, params = _region_clause(region, "l.region")
    return _df(
        con,
        f"""select l.platform, l.account_id, p.platform_name_cn, a.account_name, l.matrix_tier,
                   count(*) as sessions, sum(l.viewers) as viewers, sum(l.leads) as leads,
                   sum(l.leads) / nullif(sum(l.viewers), 0) * 1000 as leads_per_k_viewers
            from marts.fct_live_sessions l join marts.dim_platform p using (platform)
            left join (select distinct platform, account_id, account_name from marts.dim_account where is_current) a
              using (platform, account_id)
            where l.date_day between ? and ?{clause}
            group by all order by viewers desc, l.platform, l.account_id""",
        [quarter.start, quarter.end, *params],
    )


@shared_per_connection
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


@shared_per_connection
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


CREATOR_DEAL_COLUMNS = """r.deal_key, r.platform, r.account_id, r.account_name, p.platform_name_cn, r.matrix_tier,
       r.campaign_code, c.campaign_name, r.cooperation_form, r.published_on, r.cost_yuan, r.posts_matched,
       r.live_sessions_matched, r.exposure, r.views, r.engagements, r.follower_gain"""


@shared_per_connection
def creator_roi(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None = None) -> pd.DataFrame:
    """Every creator deal of the quarter (one row per deal), largest cost first.

    The PDF prints the first rows only, so the order is what marketing sees: the biggest
    spends, whatever their cost per lead (ranking by cost per valid lead would float small
    one-lead deals to the top and sink the deals with no valid lead). Ties (same cost)
    break on the deal's platform, account and campaign, so a rebuilt pack prints the same rows.

    For a region: only the deals whose leads reached that region's dealers, with the
    leads, valid leads and orders they brought there (mart_creator_deal_regions); cost and
    reach stay the deal's own (the budget is national), so cost per valid lead is the
    deal's cost over the region's valid leads only where stated.
    """
    order = "order by r.cost_yuan desc nulls last, r.platform, r.account_id, r.campaign_code, r.deal_key"
    if region is None:
        return _df(
            con,
            f"""select {CREATOR_DEAL_COLUMNS}, r.leads, r.valid_leads, r.orders, r.cpm_yuan, r.cpe_yuan,
                       r.cost_per_valid_lead
                from marts.mart_creator_roi r join marts.dim_platform p using (platform)
                left join marts.dim_campaign c using (campaign_code)
                where r.quarter_label = ? {order}""",
            [quarter.label],
        )
    return _df(
        con,
        f"""select {CREATOR_DEAL_COLUMNS}, g.leads, g.valid_leads, g.orders, r.cpm_yuan, r.cpe_yuan,
                   r.cost_yuan / nullif(r.valid_leads, 0) as cost_per_valid_lead
            from marts.mart_creator_roi r join marts.dim_platform p using (platform)
            join marts.mart_creator_deal_regions g using (deal_key, quarter_label)
            left join marts.dim_campaign c using (campaign_code)
            where r.quarter_label = ? and g.region = ? and g.leads > 0 {order}""",
        [quarter.label, region],
    )


def campaign_roi(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None = None) -> pd.DataFrame:
    """Creator deals summed per campaign (of the same deals creator_roi returns)."""
    deals = creator_roi(con, quarter, region)
    cols = ["campaign_code", "campaign_name", "creators", "deals", "cost_yuan", "exposure", "engagements",
            "leads", "valid_leads", "orders", "cpm_yuan", "cpe_yuan", "cost_per_valid_lead"]  # fmt: skip
    if not len(deals):
        return deals.reindex(columns=cols)
    deals = deals.assign(campaign_name=deals["campaign_name"].fillna(deals["campaign_code"]))
    g = deals.groupby(["campaign_code", "campaign_name"], as_index=False).agg(
        creators=("account_id", "nunique"), deals=("deal_key", "count"), cost_yuan=("cost_yuan", "sum"),
        exposure=("exposure", "sum"), engagements=("engagements", "sum"), leads=("leads", "sum"),
        valid_leads=("valid_leads", "sum"), orders=("orders", "sum"),
    )  # fmt: skip
    g["cpm_yuan"] = g["cost_yuan"] / g["exposure"].where(g["exposure"] > 0) * 1000
    g["cpe_yuan"] = g["cost_yuan"] / g["engagements"].where(g["engagements"] > 0)
    g["cost_per_valid_lead"] = g["cost_yuan"] / g["valid_leads"].where(g["valid_leads"] > 0)
    return g.sort_values(["cost_yuan", "campaign_code"], ascending=[False, True])[cols].reset_index(drop=True)


def inactive_accounts(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None,
                      days: int = INACTIVE_DAYS) -> pd.DataFrame:  # fmt: skip
    """Current roster accounts with no active day in the last ``days`` days of the quarter."""
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
              and (la.last_active_day is null or la.last_active_day <= ?::date - {int(days)})
            order by days_inactive desc nulls first, a.account_name""",
        [quarter.end, quarter.end, *params, quarter.end],
    )
