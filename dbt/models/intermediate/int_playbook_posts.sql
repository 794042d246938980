-- The posts the playbook marts measure (issue 16): one row per loaded post published on a day
-- of the reported period (the first to the last data day of fct_content_daily: posts published
-- before it show up in the first files but belong to no reported quarter), with its loaded life
-- (sum of its daily figures), the tier and dealer its account had on the publication day
-- (SCD2), the kind of day it was published on, the leads whose source content it is, and its
-- days_loaded (publication day to the last loaded day, both included).
{{ config(materialized='table') }}
with daily as (
    select * from {{ ref('fct_content_daily') }}
),

bounds as (
    select
        min(date_day) as first_day,
        max(date_day) as last_day
    from daily
),

life as (
    select
        platform,
        post_id,
        sum(exposure) as exposure,
        sum(views) as views,
        sum(engagements) as engagements
    from daily
    group by platform, post_id
),

lead_counts as (
    select
        source_platform as platform,
        source_content_id as post_id,
        count(*) as leads
    from {{ ref('fct_leads') }}
    where source_content_id is not null
    group by source_platform, source_content_id
),

-- a campaign's first playbook_launch_window_days days
launch_days as (
    select distinct dates.date_day
    from {{ ref('dim_campaign') }} as campaigns
    inner join {{ ref('dim_date') }} as dates
        on
            dates.date_day >= campaigns.starts_on
            and dates.date_day
            <= {{ dbt.dateadd('day', var('playbook_launch_window_days') - 1, 'campaigns.starts_on') }}
),

content as (
    select
        platform,
        post_id,
        account_id,
        cast(published_at as date) as published_on
    from {{ ref('dim_content') }}
),

final as (
    select
        cast(content.platform as varchar) as platform,
        cast(content.post_id as varchar) as post_id,
        cast(content.account_id as varchar) as account_id,
        cast(content.published_on as date) as published_on,
        cast(dates.month_label as varchar) as month_label,
        cast(dates.quarter_label as varchar) as quarter_label,
        cast(cast(date_trunc('week', content.published_on) as date) as date) as week_start,
        cast(extract(isodow from content.published_on) as integer) as iso_day_of_week,
        cast(coalesce(accounts.matrix_tier, '未登记') as varchar) as matrix_tier,
        cast(accounts.dealer_code as varchar) as dealer_code,
        cast(coalesce(accounts.region, '总部') as varchar) as region,
        cast(
            case
                when dates.is_holiday then 'holiday'
                when launch_days.date_day is not null then 'campaign_launch'
                else 'ordinary'
            end as varchar
        ) as day_kind,
        cast(coalesce(life.exposure, 0) as bigint) as exposure,
        -- days from publication to the last loaded day: how much life the views had to grow
        cast(bounds.last_day - content.published_on + 1 as integer) as days_loaded,
        cast(coalesce(life.views, 0) as bigint) as views,
        cast(coalesce(life.engagements, 0) as bigint) as engagements,
        cast(coalesce(lead_counts.leads, 0) as bigint) as leads
    from content
    cross join bounds
    inner join life on content.platform = life.platform and content.post_id = life.post_id
    inner join {{ ref('dim_date') }} as dates on content.published_on = dates.date_day
    left join launch_days on content.published_on = launch_days.date_day
    left join lead_counts on content.platform = lead_counts.platform and content.post_id = lead_counts.post_id
    left join {{ ref('dim_account') }} as accounts
        on
            content.platform = accounts.platform
            and content.account_id = accounts.account_id
            and content.published_on >= accounts.valid_from
            and content.published_on < accounts.valid_to
    where content.published_on between bounds.first_day and bounds.last_day
)

select * from final
