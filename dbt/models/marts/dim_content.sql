-- One row per post / note / video / article, with its latest known title, type and account.
-- campaign_code: the creator deal (creator_costs) of the same account, platform and
-- publication date, when there is one.
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
        account_id,
        published_on,
        min(campaign_code) as campaign_code
    from {{ ref('stg_reference__creator_costs') }}
    group by platform, account_id, published_on
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
            and latest.account_id = deals.account_id
            and cast(latest.published_at as date) = deals.published_on
)

select * from final
