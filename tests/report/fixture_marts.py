"""A small published DuckDB with the marts and meta tables of docs/interfaces.md §3-4.

The dbt marts are built elsewhere; this fixture lets the report be developed and tested
on its own. Rows are realistic in shape (two regions, several platforms, every matrix
tier, nine dealers, 2025Q3 / 2026Q2 / 2026Q3) and internally consistent: the marts are
derived from the generated facts with SQL, like dbt would, so a direct query and the
pack must agree. Only columns the report reads are guaranteed to carry data.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from tests.report.fixture_playbook import add_playbook_marts
from tests.report.fixture_wecom import add_wecom_marts

QUARTERS = {"2025Q3": date(2025, 7, 1), "2026Q2": date(2026, 4, 1), "2026Q3": date(2026, 7, 1)}
PLATFORMS_CN = {
    "douyin": "抖音",
    "kuaishou": "快手",
    "xiaohongshu": "小红书",
    "weibo": "微博",
    "bilibili": "B站",
    "wechat_oa": "微信公众号",
    "wechat_channels": "视频号",
}
DEALERS = [
    # code, name, group, province, city, tier, region
    ("SH001", "上海浦东远航汽车", "远航集团", "上海", "上海", "一线", "华东"),
    ("HZ002", "杭州西湖恒信汽车", "恒信集团", "浙江", "杭州", "新一线", "华东"),
    ("NJ003", "南京江宁中升汽车", "中升集团", "江苏", "南京", "新一线", "华东"),
    ("SZ004", "苏州工业园广汇汽车", "广汇集团", "江苏", "苏州", "二线", "华东"),
    ("NB005", "宁波鄞州永达汽车", "永达集团", "浙江", "宁波", "二线", "华东"),
    ("GZ101", "广州天河粤宝汽车", "粤宝集团", "广东", "广州", "一线", "华南"),
    ("SZ102", "深圳南山鹏城汽车", "鹏城集团", "广东", "深圳", "一线", "华南"),
    ("FS103", "佛山禅城骏达汽车", "骏达集团", "广东", "佛山", "二线", "华南"),
    ("XM104", "厦门思明嘉华汽车", "嘉华集团", "福建", "厦门", "二线", "华南"),
]
CAMPAIGNS = [
    ("C2507", "夏日智驾体验季", "S7", date(2025, 7, 1), date(2025, 9, 30), 1_200_000.0),
    ("C2604", "春季新车上市", "S9", date(2026, 4, 1), date(2026, 6, 30), 1_500_000.0),
    ("C2607", "千城万店暑期试驾", "S7", date(2026, 7, 1), date(2026, 9, 30), 1_800_000.0),
]
SOURCES = [
    "douyin_posts", "kuaishou_posts", "xiaohongshu_notes", "weibo_posts", "bilibili_videos",
    "wechat_oa", "wechat_channels", "live_sessions", "crm_dcc", "crm_legacy",
]  # fmt: skip
TITLES = [
    "新车静态体验｜{s}内饰细节全解析", "{s}高速智驾实测 300 公里", "车主说｜开了一年{s}的真实感受",
    "展厅直击：{s}到店现车", "{s}冬季续航挑战", "家用 SUV 怎么选？{s}对比评测", "{s}保养费用清单",
    "夜拍{s}灯语", "经销商探店｜试驾{s}", "{s}露营模式体验",
]  # fmt: skip


def _accounts() -> list[dict]:
    rows: list[dict] = []

    def add(platform: str, aid: str, name: str, tier: str, dealer: str | None, region: str) -> None:
        group = {"官方": "1", "经销商": "N", "KOL": "X", "KOC": "X", "高管": "全员", "员工": "全员"}[tier]
        rows.append(dict(platform=platform, account_id=aid, account_name=name, matrix_tier=tier,
                         matrix_group=group, dealer_code=dealer, region=region))  # fmt: skip

    for p in ("douyin", "kuaishou", "xiaohongshu", "weibo", "bilibili", "wechat_oa", "wechat_channels"):
        add(p, f"off_{p}", f"星驰汽车官方{PLATFORMS_CN[p]}", "官方", None, "总部")
    add("douyin", "exec_ceo", "星驰汽车CEO王总", "高管", None, "总部")
    add("weibo", "exec_cmo", "星驰营销李总", "高管", None, "总部")
    for i, p in enumerate(("douyin", "xiaohongshu", "bilibili", "weibo")):
        add(p, f"kol_{i}", ["车评人老陈", "小鹿爱开车", "硬核车研所", "汽车大V阿杰"][i], "KOL", None, "总部")
    for i, p in enumerate(("douyin", "xiaohongshu", "xiaohongshu", "kuaishou", "douyin", "wechat_channels")):
        add(p, f"koc_{i}", f"车友{['小林', '阿美', '大刘', '老周', '晓雨', '子豪'][i]}", "KOC", None, "总部")
    for code, name, *_rest, region in DEALERS:
        if code == "XM104":
            continue  # a dealer with no account at all: shows in "dealers with no active account"
        add("douyin", f"dlr_{code}_dy", f"{name}抖音号", "经销商", code, region)
        add("wechat_channels", f"dlr_{code}_ch", f"{name}视频号", "经销商", code, region)
        if code in ("SH001", "GZ101", "HZ002"):
            add("douyin", f"emp_{code}", f"{name[:4]}销售顾问小张", "员工", code, region)
    return rows


def _days(start: date) -> list[date]:
    end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def build_fixture(path: Path, *, seed: int = 7, critical_gx_failure: bool = False,
                  missing_source_days: int = 3) -> Path:  # fmt: skip
    """Write the published DuckDB at ``path``; returns it. Deterministic for a given seed."""
    rng = random.Random(seed)
    accounts = _accounts()
    growth = {"2025Q3": 0.75, "2026Q2": 0.9, "2026Q3": 1.0}
    base_views = {
        "官方": 60_000,
        "经销商": 6_000,
        "KOL": 90_000,
        "KOC": 12_000,
        "高管": 40_000,
        "员工": 2_500,
    }
    eng_rate = {"官方": 0.035, "经销商": 0.05, "KOL": 0.06, "KOC": 0.08, "高管": 0.045, "员工": 0.07}
    platform_factor = {"douyin": 1.6, "kuaishou": 1.1, "xiaohongshu": 0.8, "weibo": 0.9, "bilibili": 0.7,
                       "wechat_oa": 0.3, "wechat_channels": 0.6}  # fmt: skip

    account_daily, content, lives, leads, creator_costs = [], [], [], [], []
    lead_no = 0
    for qlabel, qstart in QUARTERS.items():
        days = _days(qstart)
        g = growth[qlabel]
        campaign = next(c for c in CAMPAIGNS if c[3] <= qstart <= c[4])
        for a in accounts:
            # Two accounts fall silent in August 2026: the "inactive for 30 days" rule must find them.
            silent_from = (
                date(2026, 8, 10) if a["account_id"] in ("dlr_NB005_dy", "dlr_NB005_ch", "koc_5") else None
            )
            for d in days:
                active = (silent_from is None or d < silent_from) and rng.random() < 0.8
                account_daily.append(dict(date_day=d, platform=a["platform"], account_id=a["account_id"],
                                          matrix_tier=a["matrix_tier"], matrix_group=a["matrix_group"],
                                          dealer_code=a["dealer_code"], region=a["region"],
                                          follower_gain=rng.randint(0, 80) if active else 0, follower_loss=0,
                                          posts_published=1 if active and rng.random() < 0.3 else 0,
                                          is_active=active))  # fmt: skip
            n_posts = 3 if silent_from else rng.randint(5, 9)
            for k in range(n_posts):
                ctype = (
                    "直播"
                    if k == 0 and a["platform"] in ("douyin", "wechat_channels")
                    else (
                        "图文" if a["platform"] in ("xiaohongshu", "weibo", "wechat_oa") and k % 2 else "视频"
                    )
                )
                views = int(base_views[a["matrix_tier"]] * platform_factor[a["platform"]] * g
                            * rng.lognormvariate(0, 0.7))  # fmt: skip
                rate = eng_rate[a["matrix_tier"]] * rng.lognormvariate(0, 0.5)
                if k == 1 and a["matrix_tier"] in ("官方", "KOL"):
                    rate = 0.004  # a big-reach post nobody engaged with: "high views, low interaction"
                engagements = int(views * rate)
                exposure = int(views * 2.4) if a["platform"] == "xiaohongshu" else views
                content.append(dict(quarter_label=qlabel, platform=a["platform"],
                                    post_id=f"{a['account_id']}_{qlabel}_{k}", account_id=a["account_id"],
                                    matrix_tier=a["matrix_tier"], matrix_group=a["matrix_group"],
                                    region=a["region"], dealer_code=a["dealer_code"],
                                    title=TITLES[(k + len(a["account_id"])) % len(TITLES)].format(
                                        s=rng.choice(["S7", "S9"])),
                                    content_type=ctype, views=views, engagements=engagements, exposure=exposure,
                                    month=days[min(len(days) - 1, k * 11)].strftime("%Y-%m")))  # fmt: skip
            if a["platform"] in ("douyin", "wechat_channels", "kuaishou") and a["matrix_tier"] in (
                "官方",
                "经销商",
            ):
                for s in range(rng.randint(2, 5) if not silent_from else 1):
                    d = days[rng.randrange(len(days))]
                    start = datetime.combine(d, datetime.min.time()) + timedelta(hours=19)
                    dur = rng.randint(3600, 3 * 3600)
                    viewers = int(
                        (20_000 if a["matrix_tier"] == "官方" else 2_000) * g * rng.lognormvariate(0, 0.5)
                    )
                    lives.append(dict(platform=a["platform"], live_id=f"live_{a['account_id']}_{qlabel}_{s}",
                                      account_id=a["account_id"], matrix_tier=a["matrix_tier"],
                                      matrix_group=a["matrix_group"], dealer_code=a["dealer_code"],
                                      region=a["region"], date_day=d, started_at=start,
                                      ended_at=start + timedelta(seconds=dur), duration_seconds=dur,
                                      views=int(viewers * 1.6), viewers=viewers,
                                      peak_online=int(viewers * rng.uniform(0.04, 0.1)),
                                      avg_watch_seconds=rng.uniform(60, 240), comments=int(viewers * 0.05),
                                      likes=int(viewers * 0.8), follower_gain=int(viewers * 0.01),
                                      leads=int(viewers * rng.uniform(0.002, 0.008))))  # fmt: skip
            if a["matrix_tier"] in ("KOL", "KOC"):
                fee = (80_000 if a["matrix_tier"] == "KOL" else 8_000) * rng.uniform(0.7, 1.4)
                form = (
                    "直播口播"
                    if a["account_id"] == "koc_0"
                    else ("短视频" if a["platform"] != "xiaohongshu" else "图文笔记")
                )
                creator_costs.append(dict(quarter_label=qlabel, platform=a["platform"], account_id=a["account_id"],
                                          campaign_code=campaign[0], cost_yuan=round(fee, 2), cooperation_form=form,
                                          published_on=qstart + timedelta(days=20)))  # fmt: skip

        # Leads: dealers catch them from every platform; some via creators and official accounts.
        sources = [a for a in accounts if a["matrix_tier"] != "员工"] + [None] * 6
        for code, _name, *_rest, region in DEALERS:
            n = int(rng.randint(40, 110) * g)
            speed = {"SH001": 20, "HZ002": 45, "NJ003": 90, "SZ004": 200, "NB005": 600, "GZ101": 30,
                     "SZ102": 60, "FS103": 400, "XM104": 900}[code]  # fmt: skip
            for _ in range(n):
                lead_no += 1
                src = rng.choice(sources)
                d = days[rng.randrange(len(days))]
                created = datetime.combine(d, datetime.min.time()) + timedelta(minutes=rng.randint(480, 1260))
                invalid = rng.random() < 0.08
                duplicate = not invalid and rng.random() < 0.05
                valid = not invalid and not duplicate
                resp = rng.expovariate(1 / speed) if rng.random() < 0.95 else None
                first_follow = created + timedelta(minutes=resp) if resp is not None else None
                arrived = valid and rng.random() < 0.35
                test_drive = arrived and rng.random() < 0.7
                ordered = test_drive and rng.random() < 0.4
                delivered = ordered and rng.random() < 0.8
                platform = src["platform"] if src else rng.choice(["other", "douyin", "xiaohongshu"])
                leads.append(dict(lead_key=f"L{lead_no:06d}", crm_system="dcc" if code != "NB005" else "legacy",
                                  clue_id=f"C{lead_no}", dealer_code=code, region=region, series_code="S7",
                                  source_platform=platform, channel_name=PLATFORMS_CN.get(platform, "懂车帝"),
                                  source_account_id=src["account_id"] if src else None,
                                  source_matrix_tier=src["matrix_tier"] if src else "none",
                                  source_matrix_group=src["matrix_group"] if src else "none",
                                  source_content_id=None, is_from_live=rng.random() < 0.2,
                                  campaign_code=campaign[0] if rng.random() < 0.6 else None,
                                  created_at=created, created_date=d, distributed_at=created,
                                  first_follow_at=first_follow,
                                  arrived_at=created + timedelta(days=3) if arrived else None,
                                  test_drive_at=created + timedelta(days=4) if test_drive else None,
                                  ordered_at=created + timedelta(days=9) if ordered else None,
                                  delivered_at=created + timedelta(days=30) if delivered else None,
                                  is_defeated=valid and not ordered and rng.random() < 0.2,
                                  current_status="跟进中", is_invalid=invalid, is_duplicate=duplicate,
                                  is_valid=valid, response_minutes=resp,
                                  followed_within_24h=resp is not None and resp <= 1440))  # fmt: skip

    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts; create schema meta")
        frames = {
            "acc": pd.DataFrame(accounts),
            "ad": pd.DataFrame(account_daily),
            "ct": pd.DataFrame(content),
            "lv": pd.DataFrame(lives),
            "ld": pd.DataFrame(leads),
            "cc": pd.DataFrame(creator_costs),
            "dl": pd.DataFrame(
                DEALERS,
                columns=[
                    "dealer_code",
                    "dealer_name",
                    "dealer_group",
                    "province",
                    "city",
                    "city_tier",
                    "region",
                ],
            ),  # fmt: skip
            "cp": pd.DataFrame(
                CAMPAIGNS,
                columns=[
                    "campaign_code",
                    "campaign_name",
                    "series_code",
                    "starts_on",
                    "ends_on",
                    "budget_yuan",
                ],
            ),  # fmt: skip
        }
        for name, df in frames.items():
            con.register(f"_{name}", df)
        con.execute(_MARTS_SQL)
        add_playbook_marts(con)  # issue 16's marts, from the facts above
        add_wecom_marts(con)  # 私域运营 (issue 16): tests/report/fixture_wecom.py
        _write_meta(con, rng, critical_gx_failure, missing_source_days)
    finally:
        con.close()
    return path


_MARTS_SQL = """
create table marts.dim_platform as
  select * from (values ('douyin','抖音'),('kuaishou','快手'),('xiaohongshu','小红书'),('weibo','微博'),
    ('bilibili','B站'),('wechat_oa','微信公众号'),('wechat_channels','视频号')) t(platform, platform_name_cn);
create table marts.dim_dealer as select * from _dl;
create table marts.dim_campaign as select * from _cp;
create table marts.dim_account as
  select md5(platform || account_id) as account_key, platform, account_id, account_name, matrix_tier,
         matrix_group, dealer_code, region, date '2024-01-01' as valid_from, cast(null as date) as valid_to,
         true as is_current
  from _acc;
create table marts.dim_date as
  select d::date as date_day, year(d) as year, year(d) || 'Q' || quarter(d) as quarter_label,
         strftime(d, '%Y-%m') as month_label, strftime(d, '%G-W%V') as iso_week_label,
         dayofweek(d) in (0, 6) as is_weekend, false as is_holiday, cast(null as varchar) as holiday_name
  from range(date '2025-01-01', date '2027-01-01', interval 1 day) t(d);
create table marts.fct_account_daily as select * from _ad;
create table marts.fct_content_daily as  -- one day per item: its totals on the 15th of its month
  select strptime(month || '-15', '%Y-%m-%d')::date as date_day, platform, md5(platform || post_id) as content_key,
         post_id, account_id, matrix_tier, matrix_group, dealer_code, region, content_type, exposure, views,
         engagements
  from _ct;
create table marts.fct_live_sessions as select * from _lv;
create table marts.fct_leads as select * from _ld;
create table marts.mart_content_top as
  select quarter_label, platform, post_id, account_id, matrix_tier, region, title, content_type, views,
         engagements, engagements / nullif(views, 0) as interaction_rate
  from _ct;
create table marts.mart_creator_roi as
  -- One row per deal (H1's seam): the deal's own content, leads through campaign code and account.
  with lead_counts as (
    select d.quarter_label, l.source_account_id as account_id, l.campaign_code, count(*) as leads,
           count(*) filter (where l.is_valid) as valid_leads,
           count(*) filter (where l.is_valid and l.ordered_at is not null) as orders
    from _ld l join marts.dim_date d on d.date_day = l.created_date
    group by all),
  reach as (select quarter_label, account_id, count(*) as posts_matched, sum(exposure) as exposure,
                   sum(views) as views, sum(engagements) as engagements from _ct group by all),
  lives as (select d.quarter_label, account_id, count(*) as live_sessions_matched
            from _lv join marts.dim_date d using (date_day) group by all),
  gains as (select d.quarter_label, account_id, sum(follower_gain) as follower_gain
            from _ad join marts.dim_date d using (date_day) group by all)
  select md5(c.quarter_label || c.platform || c.account_id || c.campaign_code) as deal_key,
         c.quarter_label, c.platform, c.account_id, a.account_name, a.matrix_tier, c.campaign_code,
         c.cooperation_form, c.published_on, c.cost_yuan, coalesce(r.posts_matched, 0) as posts_matched,
         coalesce(lv.live_sessions_matched, 0) as live_sessions_matched, r.exposure, r.views, r.engagements,
         coalesce(g.follower_gain, 0) as follower_gain, coalesce(lc.leads, 0) as leads,
         coalesce(lc.valid_leads, 0) as valid_leads, coalesce(lc.orders, 0) as orders,
         c.cost_yuan / nullif(r.exposure, 0) * 1000 as cpm_yuan, c.cost_yuan / nullif(r.engagements, 0) as cpe_yuan,
         c.cost_yuan / nullif(lc.valid_leads, 0) as cost_per_valid_lead
  from _cc c join _acc a using (account_id)
  left join reach r using (quarter_label, account_id)
  left join lives lv using (quarter_label, account_id)
  left join gains g using (quarter_label, account_id)
  left join lead_counts lc using (quarter_label, account_id, campaign_code);
create table marts.mart_creator_deal_regions as
  select r.deal_key, r.quarter_label, l.region, count(*) as leads, count(*) filter (where l.is_valid) as valid_leads,
         count(*) filter (where l.is_valid and l.ordered_at is not null) as orders
  from marts.mart_creator_roi r
  join marts.dim_date d on d.quarter_label = r.quarter_label
  join _ld l on l.created_date = d.date_day and l.source_account_id = r.account_id
    and l.campaign_code = r.campaign_code
  group by all;
create table marts.mart_kpi_by_period as
  with periods as (
    select 'quarter' as period_type, quarter_label as period_label, * from _ct
    union all select 'month', month, * from _ct),
  reach as (
    select period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_code,
           sum(exposure) as exposure, sum(views) as views, sum(engagements) as engagements
    from periods group by all),
  acts as (
    select p.period_type, p.period_label, a.platform, a.matrix_tier, a.matrix_group, a.region, a.dealer_code,
           count(distinct a.account_id) as accounts,
           count(distinct a.account_id) filter (where a.is_active) as active_accounts,
           sum(a.follower_gain) as follower_gain, sum(a.posts_published) as posts_published
    from _ad a join (select date_day, 'quarter' as period_type, quarter_label as period_label from marts.dim_date
                     union all select date_day, 'month', month_label from marts.dim_date) p using (date_day)
    group by all),
  lv as (
    select p.period_type, p.period_label, platform, matrix_tier, matrix_group, region, dealer_code,
           count(*) as live_sessions, sum(viewers) as live_viewers, sum(leads) as live_leads
    from _lv join (select date_day, 'quarter' as period_type, quarter_label as period_label from marts.dim_date
                   union all select date_day, 'month', month_label from marts.dim_date) p using (date_day)
    group by all),
  ld as (
    select p.period_type, p.period_label, source_platform as platform, source_matrix_tier as matrix_tier,
           source_matrix_group as matrix_group, region, dealer_code, count(*) as leads,
           count(*) filter (where is_valid) as valid_leads,
           count(*) filter (where is_valid and arrived_at is not null) as arrivals,
           count(*) filter (where is_valid and test_drive_at is not null) as test_drives,
           count(*) filter (where is_valid and ordered_at is not null) as orders,
           count(*) filter (where is_valid and delivered_at is not null) as deliveries,
           count(*) filter (where is_valid and is_defeated) as defeats,
           median(response_minutes) filter (where is_valid) as median_response_minutes,
           avg(followed_within_24h::int) filter (where is_valid) as follow_up_24h_rate
    from _ld join (select date_day, 'quarter' as period_type, quarter_label as period_label from marts.dim_date
                   union all select date_day, 'month', month_label from marts.dim_date) p
      on p.date_day = _ld.created_date
    group by all),
  -- NULL dealer_code (accounts of 总部, leads without a dealer) must still join: a key that is never NULL
  reach_k as (select *, coalesce(dealer_code, '-') as dealer_key from reach),
  acts_k as (select *, coalesce(dealer_code, '-') as dealer_key from acts),
  lv_k as (select *, coalesce(dealer_code, '-') as dealer_key from lv),
  ld_k as (select *, coalesce(dealer_code, '-') as dealer_key from ld),
  keys as (select period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_code, dealer_key from reach_k
           union select period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_code, dealer_key from acts_k
           union select period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_code, dealer_key from lv_k
           union select period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_code, dealer_key from ld_k)
  select k.* exclude (dealer_key), coalesce(r.exposure, 0) as exposure, coalesce(r.views, 0) as views,
         coalesce(r.engagements, 0) as engagements, r.engagements / nullif(r.views, 0) as interaction_rate,
         coalesce(a.follower_gain, 0) as follower_gain, coalesce(a.accounts, 0) as accounts,
         coalesce(a.active_accounts, 0) as active_accounts, a.active_accounts / nullif(a.accounts, 0) as active_account_rate,
         coalesce(a.posts_published, 0) as posts_published, coalesce(lv.live_sessions, 0) as live_sessions,
         coalesce(lv.live_viewers, 0) as live_viewers, coalesce(lv.live_leads, 0) as live_leads,
         coalesce(ld.leads, 0) as leads, coalesce(ld.valid_leads, 0) as valid_leads,
         coalesce(ld.arrivals, 0) as arrivals, coalesce(ld.test_drives, 0) as test_drives,
         coalesce(ld.orders, 0) as orders, coalesce(ld.deliveries, 0) as deliveries,
         coalesce(ld.defeats, 0) as defeats, ld.arrivals / nullif(ld.valid_leads, 0) as arrival_rate,
         ld.test_drives / nullif(ld.valid_leads, 0) as test_drive_rate,
         ld.orders / nullif(ld.valid_leads, 0) as order_rate,
         ld.deliveries / nullif(ld.valid_leads, 0) as delivery_rate,
         ld.defeats / nullif(ld.valid_leads, 0) as defeat_rate, ld.median_response_minutes,
         ld.follow_up_24h_rate, 0.0 as creator_cost_yuan, cast(null as double) as cost_per_valid_lead
  from keys k
  left join reach_k r using (period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_key)
  left join acts_k a using (period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_key)
  left join lv_k lv using (period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_key)
  left join ld_k ld using (period_type, period_label, platform, matrix_tier, matrix_group, region, dealer_key);
create table marts.mart_dealer_scorecard as
  with q as (select distinct quarter_label from _ct),
  acc as (select d.quarter_label, a.dealer_code, count(distinct a.account_id) as accounts,
                 count(distinct a.account_id) filter (where a.is_active) as active_accounts
          from _ad a join marts.dim_date d using (date_day) where a.dealer_code is not null group by all),
  reach as (select quarter_label, dealer_code, sum(exposure) as exposure, sum(engagements) as engagements
            from _ct where dealer_code is not null group by all),
  ld as (select d.quarter_label, l.dealer_code, count(*) as leads, count(*) filter (where is_valid) as valid_leads,
                count(*) filter (where is_valid and arrived_at is not null) as arrivals,
                count(*) filter (where is_valid and ordered_at is not null) as orders,
                median(response_minutes) filter (where is_valid) as median_response_minutes,
                avg(followed_within_24h::int) filter (where is_valid) as follow_up_24h_rate
         from _ld l join marts.dim_date d on d.date_day = l.created_date group by all),
  base as (
    select q.quarter_label, dl.dealer_code, dl.dealer_name, dl.region, dl.province, dl.city, dl.city_tier,
           coalesce(acc.accounts, 0) as accounts, coalesce(acc.active_accounts, 0) as active_accounts,
           coalesce(reach.exposure, 0) as exposure, coalesce(reach.engagements, 0) as engagements,
           coalesce(ld.leads, 0) as leads, coalesce(ld.valid_leads, 0) as valid_leads,
           coalesce(ld.arrivals, 0) as arrivals, coalesce(ld.orders, 0) as orders,
           ld.orders / nullif(ld.valid_leads, 0) as order_rate, ld.median_response_minutes,
           ld.follow_up_24h_rate
    from q cross join _dl dl
    left join acc on acc.quarter_label = q.quarter_label and acc.dealer_code = dl.dealer_code
    left join reach on reach.quarter_label = q.quarter_label and reach.dealer_code = dl.dealer_code
    left join ld on ld.quarter_label = q.quarter_label and ld.dealer_code = dl.dealer_code)
  select *, rank() over (partition by quarter_label order by leads desc) as rank_leads,
         rank() over (partition by quarter_label order by order_rate desc nulls last) as rank_order_rate,
         rank() over (partition by quarter_label order by median_response_minutes asc nulls last) as rank_response
  from base;
"""


def _write_meta(con: duckdb.DuckDBPyConnection, rng: random.Random, critical: bool, missing: int) -> None:
    fresh, ledger, gx = [], [], []
    for qstart in QUARTERS.values():
        for d in _days(qstart):
            for src in SOURCES:
                fresh.append(dict(source=src, data_date=d, status="loaded", file_name=f"{src}_{d:%Y%m%d}",
                                  landed_at=datetime.combine(d + timedelta(days=1), datetime.min.time()),
                                  is_late=False))  # fmt: skip
    # A few missing / rejected source-days in 2026Q3 so the health page has something to show.
    q3 = [r for r in fresh if r["data_date"] >= date(2026, 7, 1)]
    for r in rng.sample(q3, missing):
        r["status"] = "missing"
        r["file_name"] = None
    rejected = rng.choice([r for r in q3 if r["status"] == "loaded"])
    rejected["status"] = "rejected"
    for i, r in enumerate(fresh):
        if r["status"] == "missing":
            continue
        aside = 1 if i % 97 == 0 else 0
        status = "rejected" if r["status"] == "rejected" else "loaded"
        ledger.append(dict(file_id=f"f{i}", source=r["source"], data_date=r["data_date"],
                           file_name=f"{r['file_name']}.csv", archive_path=None, size_bytes=40_000,
                           sha256=f"{i:064d}", rows_read=120, rows_loaded=0 if status == "rejected" else 120 - aside,
                           rows_set_aside=120 if status == "rejected" else aside, status=status,
                           reason="缺少必填列 播放量" if status == "rejected" else None, extra_columns=None,
                           first_seen_at=r["landed_at"], loaded_at=r["landed_at"], replaced_by=None))  # fmt: skip
    for d in (date(2026, 7, 14), date(2026, 8, 3)):
        gx.append(dict(run_id="gx1", source="weibo_posts", data_date=d, file_name=f"weibo_posts_{d:%Y%m%d}.csv",
                       expectation="expect_column_values_to_not_be_null", column_name="阅读数",
                       severity="warning", success=False, unexpected_count=3, details="{}",
                       checked_at=datetime(2026, 10, 1)))  # fmt: skip
    gx.append(dict(run_id="gx1", source="douyin_posts", data_date=date(2026, 8, 20),
                   file_name="douyin_posts_20260820.xlsx", expectation="expect_column_values_to_be_unique",
                   column_name="作品ID", severity="critical", success=not critical, unexpected_count=0 if not critical
                   else 12, details="{}", checked_at=datetime(2026, 10, 1)))  # fmt: skip
    for name, rows in (("source_freshness", fresh), ("load_ledger", ledger), ("gx_results", gx)):
        con.register("_meta_df", pd.DataFrame(rows))
        con.execute(f"create table meta.{name} as select * from _meta_df")
        con.unregister("_meta_df")


if __name__ == "__main__":  # python tests/report/fixture_marts.py OUT.duckdb
    import sys

    print(build_fixture(Path(sys.argv[1])))
