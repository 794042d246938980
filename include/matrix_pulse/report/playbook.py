"""The playbook sections of the pack (issue 16 items 1-4), read from the playbook marts.

全员矩阵 points (the rule's weights printed with the table, a monthly and quarterly leaderboard,
per dealer and for HQ), the advocacy tiers' weekly posting and contribution, the publishing rhythm
(weeks meeting target, silent streaks, silent accounts, official accounts' weekday slots), holiday
and launch content against ordinary days, and cross-platform campaigns. A regional pack filters
the account-level tables to its region; the tier, topic and campaign tables are national (their
marts have no region) and say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrix_pulse.report.model import Column, Table

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from matrix_pulse.report.quarters import Quarter

DAY_KIND_CN = {"holiday": "法定节假日", "campaign_launch": "活动上线期", "ordinary": "普通日"}
WEEKDAYS = (("mon", "周一"), ("tue", "周二"), ("wed", "周三"), ("thu", "周四"), ("fri", "周五"), ("sat", "周六"),
            ("sun", "周日"))  # fmt: skip
NATIONAL = "全国口径（该表不分大区）。"


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()


def _region(region: str | None, column: str = "region") -> tuple[str, list]:
    return (f" and {column} = ?", [region]) if region else ("", [])


def points_rule(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The weights the points mart used (one rule for every row)."""
    row = con.execute(
        "select distinct points_per_post, points_per_1000_views, points_per_engagement from marts.mart_advocacy_points"
    ).fetchall()
    return dict(zip(("per_post", "per_1000_views", "per_engagement"), row[0], strict=True)) if row else None


def rule_text(rule: dict | None) -> str:
    if rule is None:
        return "积分规则：本期无积分数据。"
    return (f"积分规则：每发布 1 条 {rule['per_post']:g} 分 + 每千次播放 {rule['per_1000_views']:g} 分 + "
            f"每次互动 {rule['per_engagement']:g} 分（作品按发布月份计入，取已加载的全部生命周期数据；"
            "权重见 dbt_project.yml 的 playbook_points_* 变量）。")  # fmt: skip


def leaderboard(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Quarter points per advocacy account, with its points in each month of the quarter."""
    clause, params = _region(region, "q.region")
    months = [f"{quarter.start.year}-{m:02d}" for m in range(quarter.start.month, quarter.start.month + 3)]
    month_cols = ", ".join(
        f"sum(points) filter (where period_label = '{label}') as points_m{i + 1}"
        for i, label in enumerate(months)
    )
    return _df(
        con,
        f"""with months as (
              select platform, account_id, matrix_tier, dealer_code, {month_cols}
              from marts.mart_advocacy_points where period_type = 'month'
              group by platform, account_id, matrix_tier, dealer_code)
            select rank() over (order by q.points desc) as rank, coalesce(a.account_name, q.account_id) as account_name,
                   p.platform_name_cn, q.matrix_tier, coalesce(q.dealer_code, '总部') as dealer_code, q.region,
                   q.posts, q.views, q.engagements, coalesce(m.points_m1, 0) as points_m1,
                   coalesce(m.points_m2, 0) as points_m2, coalesce(m.points_m3, 0) as points_m3, q.points
            from marts.mart_advocacy_points q
            left join months m
              on m.platform = q.platform and m.account_id = q.account_id and m.matrix_tier = q.matrix_tier
             and m.dealer_code is not distinct from q.dealer_code
            left join marts.dim_account a on a.platform = q.platform and a.account_id = q.account_id and a.is_current
            left join marts.dim_platform p on p.platform = q.platform
            where q.period_type = 'quarter' and q.period_label = ?{clause}
            order by q.points desc, account_name""",
        [quarter.label, *params],
    )


def dealer_board(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Points per dealer (总部 = HQ accounts): the sum of its accounts' quarter points."""
    clause, params = _region(region)
    return _df(
        con,
        f"""select coalesce(dealer_code, '总部') as dealer_code, region, count(*) as accounts, sum(posts) as posts,
                   sum(points) as points, max(points) as best_account_points
            from marts.mart_advocacy_points
            where period_type = 'quarter' and period_label = ?{clause}
            group by all order by points desc, dealer_code""",
        [quarter.label, *params],
    )


def advocacy_tiers(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    return _df(
        con,
        """select matrix_tier, accounts, accounts_posting_every_week, weekly_posting_share, exposure,
                  exposure_share, attributed_leads, lead_share
           from marts.mart_advocacy_tiers where quarter_label = ? order by matrix_tier""",
        [quarter.label],
    )


def rhythm_by_tier(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Per tier: accounts, target, the share of account-weeks meeting it, silent and went-silent accounts."""
    clause, params = _region(region)
    return _df(
        con,
        f"""select matrix_tier, max(weekly_target) as weekly_target, count(*) as accounts, sum(posts) as posts,
                   sum(weeks_met_target) as weeks_met_target, sum(weeks_in_quarter) as account_weeks,
                   sum(weeks_met_target) / nullif(sum(weeks_in_quarter), 0) as target_week_share,
                   count(*) filter (where weeks_met_target = weeks_in_quarter) as accounts_always_on_target,
                   count(*) filter (where is_silent) as silent_accounts,
                   count(*) filter (where went_silent) as went_silent_accounts,
                   max(longest_silent_streak_weeks) as longest_silent_streak_weeks
            from marts.mart_publishing_rhythm where quarter_label = ?{clause}
            group by all order by matrix_tier""",
        [quarter.label, *params],
    )


def silent_accounts(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    clause, params = _region(region, "r.region")
    return _df(
        con,
        f"""select coalesce(a.account_name, r.account_id) as account_name, p.platform_name_cn, r.matrix_tier,
                   coalesce(r.dealer_code, '总部') as dealer_code, r.region, r.posts, r.weeks_posted,
                   r.longest_silent_streak_weeks, r.trailing_silent_weeks,
                   case when r.is_silent then '整季未发' else '已停更' end as status
            from marts.mart_publishing_rhythm r
            left join marts.dim_account a on a.platform = r.platform and a.account_id = r.account_id and a.is_current
            left join marts.dim_platform p on p.platform = r.platform
            where r.quarter_label = ? and (r.is_silent or r.went_silent){clause}
            order by r.is_silent desc, r.trailing_silent_weeks desc, account_name""",
        [quarter.label, *params],
    )


def official_slots(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    slots = ", ".join(f"r.posts_{k}" for k, _ in WEEKDAYS)
    return _df(
        con,
        f"""select coalesce(a.account_name, r.account_id) as account_name, p.platform_name_cn, r.posts, {slots},
                   r.weeks_met_target, r.weeks_in_quarter
            from marts.mart_publishing_rhythm r
            left join marts.dim_account a on a.platform = r.platform and a.account_id = r.account_id and a.is_current
            left join marts.dim_platform p on p.platform = r.platform
            where r.quarter_label = ? and r.matrix_tier = '官方' order by r.posts desc, account_name""",
        [quarter.label],
    )


def topic_days(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    df = _df(
        con,
        """select matrix_tier, day_kind, posts, views, engagements, leads, views_per_post, interaction_rate,
                  leads_per_post, views_per_post_vs_ordinary, avg_days_loaded
           from marts.mart_topic_days where quarter_label = ?
           order by matrix_tier, case day_kind when 'holiday' then 1 when 'campaign_launch' then 2 else 3 end""",
        [quarter.label],
    )
    df["day_kind_cn"] = df["day_kind"].map(DAY_KIND_CN)
    return df


def top_topic_posts(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    df = _df(
        con,
        """select t.day_kind, t.post_rank, t.title, p.platform_name_cn, coalesce(a.account_name, t.account_id) as account_name,
                  t.matrix_tier, t.published_on, t.views, t.engagements, t.interaction_rate, t.leads
           from marts.mart_topic_posts_top t
           left join marts.dim_account a on a.platform = t.platform and a.account_id = t.account_id and a.is_current
           left join marts.dim_platform p on p.platform = t.platform
           where t.quarter_label = ? order by t.day_kind desc, t.post_rank""",
        [quarter.label],
    )
    df["day_kind_cn"] = df["day_kind"].map(DAY_KIND_CN)
    return df


def campaigns(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    """Campaigns starting in the quarter, their platforms by display name ("抖音、小红书")."""
    df = _df(
        con,
        """select campaign_code, coalesce(campaign_name, campaign_code) as campaign_name, platforms, n_platforms,
                  case when is_single_platform then '是' else '否' end as single_platform, tiers, creator_deals,
                  creator_cost_yuan, exposure, engagements, leads, valid_leads, orders, cost_per_valid_lead
           from marts.mart_campaign_reach where starts_on between ? and ? order by campaign_code""",
        [quarter.start, quarter.end],
    )
    # The mart lists platform codes joined by commas, one unbreakable word of up to ~60 letters
    # that squeezed the campaign's name to one character a line in the PDF; display names joined
    # by 、 read as the other tables do and wrap.
    names = dict(con.execute("select platform, platform_name_cn from marts.dim_platform").fetchall())
    df["platforms"] = [
        "、".join(names.get(code) or code for code in codes.split(",")) if isinstance(codes, str) else codes
        for codes in df["platforms"]
    ]
    return df


def campaign_platforms(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> pd.DataFrame:
    return _df(
        con,
        """select c.campaign_code, coalesce(p.platform_name_cn, c.platform) as platform_name_cn, c.tiers,
                  c.creator_deals, c.creator_cost_yuan, c.exposure, c.engagements, c.leads, c.valid_leads,
                  c.orders, c.cost_per_valid_lead
           from marts.mart_campaign_platforms c
           join marts.mart_campaign_reach r using (campaign_code)
           left join marts.dim_platform p on p.platform = c.platform
           where r.starts_on between ? and ? order by c.campaign_code, c.platform""",
        [quarter.start, quarter.end],
    )


ACCOUNT = [Column("account_name", "账号", "text"), Column("platform_name_cn", "平台", "text"),
           Column("matrix_tier", "层级", "text"), Column("dealer_code", "经销商", "text"),
           Column("region", "大区", "text")]  # fmt: skip
CAMPAIGN_FIGURES = [Column("creator_deals", "达人合作", "count"), Column("creator_cost_yuan", "达人费用", "yuan"),
                    Column("exposure", "曝光", "count"), Column("engagements", "互动", "count"),
                    Column("leads", "线索", "count"), Column("valid_leads", "有效线索", "count"),
                    Column("orders", "下订", "count"), Column("cost_per_valid_lead", "有效线索成本", "yuan")]  # fmt: skip


def tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> list[Table]:
    """Every playbook table of one pack, keys prefixed ``playbook_``."""
    rule = rule_text(points_rule(con))
    months = [f"{m}月" for m in range(quarter.start.month, quarter.start.month + 3)]
    board = Table("playbook_points", "全员矩阵积分榜（高管 / 员工）", leaderboard(con, quarter, region),
                  [Column("rank", "名次", "int"), *ACCOUNT, Column("posts", "发布", "count"),
                   Column("views", "播放", "count"), Column("engagements", "互动", "count"),
                   *[Column(f"points_m{i + 1}", f"{label}积分", "number") for i, label in enumerate(months)],
                   Column("points", "季度积分", "number")],
                  rule + " 各月积分相加等于季度积分。", "全员积分榜", shown=15)  # fmt: skip
    dealers = Table("playbook_points_dealers", "全员矩阵积分：按经销商（总部 = 总部账号）", dealer_board(con, quarter, region),
                    [Column("dealer_code", "经销商", "text"), Column("region", "大区", "text"),
                     Column("accounts", "上榜账号", "count"), Column("posts", "发布", "count"),
                     Column("points", "积分合计", "number"), Column("best_account_points", "最高个人积分", "number")],
                    "各经销商积分相加等于积分榜合计。", "全员积分-经销商", shown=15)  # fmt: skip
    tiers = Table("playbook_advocacy_tiers", "全员矩阵：周更账号占比与贡献", advocacy_tiers(con, quarter),
                  [Column("matrix_tier", "层级", "text"), Column("accounts", "账号数", "count"),
                   Column("accounts_posting_every_week", "每周都发布的账号", "count"),
                   Column("weekly_posting_share", "周更账号占比", "pct"), Column("exposure", "曝光", "count"),
                   Column("exposure_share", "曝光贡献", "pct"), Column("attributed_leads", "归因线索", "count"),
                   Column("lead_share", "线索贡献", "pct")],
                  NATIONAL + "贡献 = 该层级曝光（线索）÷ 全部曝光（线索）。", "全员矩阵贡献")  # fmt: skip
    rhythm = Table("playbook_rhythm", "周更计划：按层级", rhythm_by_tier(con, quarter, region),
                   [Column("matrix_tier", "层级", "text"), Column("weekly_target", "每周目标", "int"),
                    Column("accounts", "账号数", "count"), Column("posts", "发布", "count"),
                    Column("target_week_share", "达标周占比", "pct"),
                    Column("accounts_always_on_target", "每周都达标的账号", "count"),
                    Column("silent_accounts", "整季未发账号", "count"), Column("went_silent_accounts", "停更账号", "count"),
                    Column("longest_silent_streak_weeks", "最长连续沉默周数", "int")],
                   "达标周占比 = 达标的账号周 ÷ 全部账号周（周一起算）；目标见 dbt_project.yml 的 "
                   "playbook_weekly_targets；停更 = 本季度发过但最后 4 周未发。", "周更计划")  # fmt: skip
    silent = Table("playbook_silent_accounts", "沉默账号：整季未发或已停更", silent_accounts(con, quarter, region),
                   [*ACCOUNT, Column("posts", "发布", "count"), Column("weeks_posted", "有发布的周", "int"),
                    Column("longest_silent_streak_weeks", "最长连续沉默周数", "int"),
                    Column("trailing_silent_weeks", "季末连续沉默周数", "int"), Column("status", "状态", "text")],
                   "", "停更与未发账号", shown=15)  # fmt: skip
    slots = Table("playbook_official_slots", "官方账号发布时段（按星期）", official_slots(con, quarter),
                  [Column("account_name", "账号", "text"), Column("platform_name_cn", "平台", "text"),
                   Column("posts", "发布", "count"), *[Column(f"posts_{k}", label, "count") for k, label in WEEKDAYS],
                   Column("weeks_met_target", "达标周", "int"), Column("weeks_in_quarter", "季度周数", "int")],
                  NATIONAL + "各星期相加等于发布数。", "官方账号时段")  # fmt: skip
    topics = Table("playbook_topic_days", "话题策划：节假日与活动上线期 vs 普通日", topic_days(con, quarter),
                   [Column("matrix_tier", "层级", "text"), Column("day_kind_cn", "发布日", "text"),
                    Column("posts", "发布", "count"), Column("views", "播放", "count"),
                    Column("engagements", "互动", "count"), Column("leads", "线索", "count"),
                    Column("views_per_post", "条均播放", "number"), Column("interaction_rate", "互动率", "pct"),
                    Column("leads_per_post", "条均线索", "number"),
                    Column("views_per_post_vs_ordinary", "条均播放 ÷ 普通日", "number"),
                    Column("avg_days_loaded", "平均已加载天数", "number")],
                   NATIONAL + "节假日 = 节假日种子表中的放假日；活动上线期 = 活动开始后的前 3 天（非节假日）；"
                   "同一层级的三类发布日相加等于该层级合计。注意：播放等为作品已加载的全部数据，临近数据截止日发布的作品"
                   "（如季末的中秋假期）累计天数少，条均播放偏低：见“平均已加载天数”；规则 P3 不评判"
                   "平均已加载天数低于阈值的节假日行。", "话题与节假日")  # fmt: skip
    top = Table("playbook_topic_posts_top", "节假日与活动上线期 Top 内容（按播放）", top_topic_posts(con, quarter),
                [Column("day_kind_cn", "发布日", "text"), Column("post_rank", "名次", "int"), Column("title", "标题", "text"),
                 Column("platform_name_cn", "平台", "text"), Column("account_name", "账号", "text"),
                 Column("matrix_tier", "层级", "text"), Column("published_on", "发布日期", "date"),
                 Column("views", "播放", "count"), Column("engagements", "互动", "count"),
                 Column("interaction_rate", "互动率", "pct"), Column("leads", "线索", "count")],
                NATIONAL, "话题Top内容")  # fmt: skip
    camps = Table("playbook_campaigns", "跨平台联动：本季度开始的活动", campaigns(con, quarter),
                  [Column("campaign_code", "活动编码", "text"), Column("campaign_name", "活动", "text"),
                   Column("platforms", "平台", "text"), Column("n_platforms", "平台数", "int"),
                   Column("single_platform", "仅单一平台", "text"), Column("tiers", "层级", "text"),
                   *CAMPAIGN_FIGURES],
                  NATIONAL + "曝光与互动为达人合作交付内容；线索为带该活动编码的全部线索；"
                  "有效线索成本 = 达人费用 ÷ 有效线索。", "跨平台联动")  # fmt: skip
    per_platform = Table("playbook_campaign_platforms", "跨平台联动：活动 × 平台", campaign_platforms(con, quarter),
                         [Column("campaign_code", "活动编码", "text"), Column("platform_name_cn", "平台", "text"),
                          Column("tiers", "层级", "text"), *CAMPAIGN_FIGURES],
                         "各平台相加等于活动合计（“other”= 非自有平台渠道的线索）。", "跨平台联动-平台", shown=30)  # fmt: skip
    return [board, dealers, tiers, rhythm, silent, slots, topics, top, camps, per_platform]
