"""The playbook marts (issue 16) in the report fixture, derived from its facts with SQL like dbt
would: each content row of the fixture is one post (published on the 15th of its month), leads
carry their campaign code, the points rule is the dbt_project.yml one. The derivation is simpler
than the real marts (one post a row, no weeks of silence beyond whole quarters) but internally
consistent, so the pack's playbook tables can be checked against direct queries."""

from __future__ import annotations

import duckdb

PLAYBOOK_SQL = """
create table marts.mart_advocacy_points as
  with posts as (
    select c.platform, c.account_id, c.matrix_tier, c.dealer_code, c.region, d.month_label, d.quarter_label,
           c.views, c.engagements
    from marts.fct_content_daily c join marts.dim_date d using (date_day)
    where c.matrix_tier in ('高管', '员工')),
  periods as (
    select 'month' as period_type, month_label as period_label, * from posts
    union all select 'quarter', quarter_label, * from posts),
  summed as (
    select period_type, period_label, platform, account_id, matrix_tier, dealer_code, region, count(*) as posts,
           sum(views)::bigint as views, sum(engagements)::bigint as engagements
    from periods group by all)
  select *, posts * 10 + views / 1000.0 + engagements * 0.1 as points,
         rank() over (partition by period_type, period_label, coalesce(dealer_code, '总部')
                      order by posts * 10 + views / 1000.0 + engagements * 0.1 desc) as rank_in_dealer,
         rank() over (partition by period_type, period_label
                      order by posts * 10 + views / 1000.0 + engagements * 0.1 desc) as rank_overall,
         10.0 as points_per_post, 1.0 as points_per_1000_views, 0.1 as points_per_engagement
  from summed;
create table marts.mart_publishing_rhythm as
  with quarters as (select distinct quarter_label from marts.fct_content_daily join marts.dim_date using (date_day)),
  posts as (
    select d.quarter_label, c.platform, c.account_id, count(*) as posts,
           count(*) filter (where dayofweek(c.date_day) = 1) as posts_mon,
           count(*) filter (where dayofweek(c.date_day) = 2) as posts_tue,
           count(*) filter (where dayofweek(c.date_day) = 3) as posts_wed,
           count(*) filter (where dayofweek(c.date_day) = 4) as posts_thu,
           count(*) filter (where dayofweek(c.date_day) = 5) as posts_fri,
           count(*) filter (where dayofweek(c.date_day) = 6) as posts_sat,
           count(*) filter (where dayofweek(c.date_day) = 0) as posts_sun
    from marts.fct_content_daily c join marts.dim_date d using (date_day) group by all),
  targets as (select * from (values ('官方', 3), ('经销商', 2), ('KOL', 1), ('KOC', 1), ('高管', 1), ('员工', 1))
              t(matrix_tier, weekly_target))
  select q.quarter_label, a.platform, a.account_id, a.matrix_tier, a.dealer_code, a.region, t.weekly_target,
         13 as weeks_in_quarter, coalesce(p.posts, 0) as posts, least(coalesce(p.posts, 0), 3) as weeks_posted,
         least(coalesce(p.posts, 0) // t.weekly_target, 3) as weeks_met_target,
         13 - least(coalesce(p.posts, 0), 3) as longest_silent_streak_weeks,
         case when coalesce(p.posts, 0) = 0 then 13 else 2 end as trailing_silent_weeks,
         coalesce(p.posts, 0) = 0 as is_silent, false as went_silent,
         coalesce(p.posts_mon, 0) as posts_mon, coalesce(p.posts_tue, 0) as posts_tue,
         coalesce(p.posts_wed, 0) as posts_wed, coalesce(p.posts_thu, 0) as posts_thu,
         coalesce(p.posts_fri, 0) as posts_fri, coalesce(p.posts_sat, 0) as posts_sat,
         coalesce(p.posts_sun, 0) as posts_sun
  from quarters q cross join marts.dim_account a
  left join targets t using (matrix_tier)
  left join posts p on p.quarter_label = q.quarter_label and p.platform = a.platform and p.account_id = a.account_id;
create table marts.mart_advocacy_tiers as
  with r as (select quarter_label, matrix_tier, count(*) as accounts,
                    count(*) filter (where weeks_posted = weeks_in_quarter) as every_week
             from marts.mart_publishing_rhythm group by all),
  e as (select d.quarter_label, c.matrix_tier, sum(c.exposure) as exposure
        from marts.fct_content_daily c join marts.dim_date d using (date_day) group by all),
  l as (select d.quarter_label, l.source_matrix_tier as matrix_tier, count(*) as leads
        from marts.fct_leads l join marts.dim_date d on d.date_day = l.created_date group by all),
  et as (select quarter_label, sum(exposure) as total from e group by all),
  lt as (select quarter_label, sum(leads) as total from l group by all)
  select et.quarter_label, t.matrix_tier, coalesce(r.accounts, 0) as accounts,
         coalesce(r.every_week, 0) as accounts_posting_every_week, r.every_week / nullif(r.accounts, 0) as weekly_posting_share,
         coalesce(e.exposure, 0)::bigint as exposure, et.total::bigint as total_exposure,
         coalesce(e.exposure, 0) / nullif(et.total, 0) as exposure_share, coalesce(l.leads, 0) as attributed_leads,
         coalesce(lt.total, 0) as total_leads, coalesce(l.leads, 0) / nullif(lt.total, 0) as lead_share
  from et cross join (values ('高管'), ('员工')) t(matrix_tier)
  left join r on r.quarter_label = et.quarter_label and r.matrix_tier = t.matrix_tier
  left join e on e.quarter_label = et.quarter_label and e.matrix_tier = t.matrix_tier
  left join l on l.quarter_label = et.quarter_label and l.matrix_tier = t.matrix_tier
  left join lt on lt.quarter_label = et.quarter_label;
create table marts.mart_topic_days as
  with s as (
    select d.quarter_label, c.matrix_tier,
           case when d.is_holiday then 'holiday' when day(c.date_day) <= 3 then 'campaign_launch' else 'ordinary' end
             as day_kind,
           count(*) as posts, sum(c.views)::bigint as views, sum(c.engagements)::bigint as engagements,
           0::bigint as leads,
           avg((select max(date_day) from marts.fct_content_daily) - c.date_day + 1) as avg_days_loaded
    from marts.fct_content_daily c join marts.dim_date d using (date_day) group by all)
  select s.*, s.views / nullif(s.posts, 0) as views_per_post, s.engagements / nullif(s.views, 0) as interaction_rate,
         s.leads / nullif(s.posts, 0) as leads_per_post,
         (s.views / nullif(s.posts, 0)) / nullif(o.views / nullif(o.posts, 0), 0) as views_per_post_vs_ordinary
  from s left join s o on o.quarter_label = s.quarter_label and o.matrix_tier = s.matrix_tier
   and o.day_kind = 'ordinary';
create table marts.mart_topic_posts_top as
  select d.quarter_label, 'campaign_launch' as day_kind,
         row_number() over (partition by d.quarter_label order by c.views desc, c.platform, c.post_id) as post_rank,
         c.platform, c.post_id, c.account_id, c.matrix_tier, c.region, 'fixture post ' || c.post_id as title,
         c.date_day as published_on, c.views::bigint as views, c.engagements::bigint as engagements,
         c.engagements / nullif(c.views, 0) as interaction_rate, 0::bigint as leads
  from marts.fct_content_daily c join marts.dim_date d using (date_day)
  qualify post_rank <= 10;
create table marts.mart_campaign_platforms as
  with deals as (select campaign_code, platform, count(*) as creator_deals, sum(cost_yuan) as creator_cost_yuan,
                        sum(exposure)::bigint as exposure, sum(engagements)::bigint as engagements,
                        string_agg(distinct matrix_tier, ',' order by matrix_tier) as tiers
                 from marts.mart_creator_roi group by all),
  leads as (select campaign_code, source_platform as platform, count(*) as leads,
                   count(*) filter (where is_valid) as valid_leads,
                   count(*) filter (where is_valid and ordered_at is not null) as orders
            from marts.fct_leads where campaign_code is not null group by all),
  cells as (select campaign_code, platform from deals union select campaign_code, platform from leads)
  select c.campaign_code, c.platform, d.tiers, coalesce(d.creator_deals, 0) as creator_deals,
         coalesce(d.creator_cost_yuan, 0) as creator_cost_yuan, d.exposure, d.engagements,
         coalesce(l.leads, 0) as leads, coalesce(l.valid_leads, 0) as valid_leads, coalesce(l.orders, 0) as orders,
         coalesce(d.creator_cost_yuan, 0) / nullif(l.valid_leads, 0) as cost_per_valid_lead
  from cells c left join deals d using (campaign_code, platform) left join leads l using (campaign_code, platform);
create table marts.mart_campaign_reach as
  select p.campaign_code, c.campaign_name, c.starts_on, c.ends_on,
         string_agg(p.platform, ',' order by p.platform) filter (where p.platform <> 'other') as platforms,
         count(*) filter (where p.platform <> 'other') as n_platforms,
         count(*) filter (where p.platform <> 'other') = 1 as is_single_platform,
         string_agg(distinct p.tiers, ',') as tiers, sum(p.creator_deals) as creator_deals,
         sum(p.creator_cost_yuan) as creator_cost_yuan, sum(p.exposure) as exposure, sum(p.engagements) as engagements,
         sum(p.leads) as leads, sum(p.valid_leads) as valid_leads, sum(p.orders) as orders,
         sum(p.creator_cost_yuan) / nullif(sum(p.valid_leads), 0) as cost_per_valid_lead
  from marts.mart_campaign_platforms p left join marts.dim_campaign c using (campaign_code)
  group by all;
"""


def add_playbook_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(PLAYBOOK_SQL)
