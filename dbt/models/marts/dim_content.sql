-- One row per post / note / video / article, with its latest known title, type and account.
-- campaign_code: the campaign of the creator deal this post was published for, when it is a
-- deal's deliverable (int_creator_deals_matched_to_deliverables: the deal's window rule).
with snapshots as (
    select
        platform,
        post_id,
        account_id,
        title,
        content_type,
        published_at,
        data_date
    from {{ ref('int_content_snapshots_unioned') }}
    union all
    select
        platform,
        post_id,
        account_id,
        title,
        content_type,
        published_at,
        data_date
    from {{ ref('stg_wechat__oa_articles') }}
),

-- the latest snapshot per item by max() and a join back on the unique (platform, post_id,
-- data_date): hash aggregates, where row_number() sorted ~10 M snapshot rows
latest_day as (
    select
        platform,
        post_id,
        max(data_date) as data_date
    from snapshots
    group by platform, post_id
),

latest as (
    select snapshots.*
    from snapshots
    inner join latest_day
        on
            snapshots.platform = latest_day.platform
            and snapshots.post_id = latest_day.post_id
            and snapshots.data_date = latest_day.data_date
),

deals as (
    select
        platform,
        deliverable_id as post_id,
        campaign_code
    from {{ ref('int_creator_deals_matched_to_deliverables') }}
    where deliverable_kind = 'post'
),

final as (
    select
        cast({{ surrogate_key(['latest.platform', 'latest.post_id']) }} as varchar) as content_key,
        cast(latest.platform as varchar) as platform,
        cast(latest.post_id as varchar) as post_id,
        cast(latest.account_id as varchar) as account_id,
        cast(latest.title as varchar) as title,
        cast(latest.content_type as varchar) as content_type,
        cast(latest.published_at as timestamp) as published_at,
        cast(deals.campaign_code as varchar) as campaign_code
    from latest
    left join deals
        on
            latest.platform = deals.platform
            and latest.post_id = deals.post_id
)

select * from final
