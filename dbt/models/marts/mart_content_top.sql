-- Every content item with its totals for each quarter it was reported in (the report pack
-- ranks them). Tier and region: those of the account on the item's last reported day of
-- the quarter. interaction_rate = engagements / views.
with dates as (
    select
        date_day,
        quarter_label
    from {{ ref('dim_date') }}
),

facts as (
    select
        dates.quarter_label,
        daily.*
    from {{ ref('fct_content_daily') }} as daily
    inner join dates on daily.date_day = dates.date_day
),

-- the item's last reported day of the quarter by max() and a join back on the unique
-- (date_day, platform, post_id): hash aggregates, where row_number() sorted ~10 M rows
totals as (
    select
        quarter_label,
        platform,
        post_id,
        sum(views) as views,
        sum(engagements) as engagements,
        max(date_day) as last_day
    from facts
    group by quarter_label, platform, post_id
),

final as (
    select
        cast(totals.quarter_label as varchar) as quarter_label,
        cast(totals.platform as varchar) as platform,
        cast(totals.post_id as varchar) as post_id,
        cast(last_day.account_id as varchar) as account_id,
        cast(last_day.matrix_tier as varchar) as matrix_tier,
        cast(last_day.region as varchar) as region,
        cast(items.title as varchar) as title,
        cast(items.content_type as varchar) as content_type,
        cast(coalesce(totals.views, 0) as bigint) as views,
        cast(coalesce(totals.engagements, 0) as bigint) as engagements,
        {{ safe_divide('totals.engagements', 'totals.views') }} as interaction_rate
    from totals
    inner join {{ ref('fct_content_daily') }} as last_day
        on
            totals.platform = last_day.platform
            and totals.post_id = last_day.post_id
            and totals.last_day = last_day.date_day
    left join {{ ref('dim_content') }} as items
        on totals.platform = items.platform and totals.post_id = items.post_id
)

select * from final
