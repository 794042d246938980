-- One row per post / note / video / article, with its latest known title, type and account.
-- campaign_code: the campaign of the creator deal this post was published for, when it is a
-- deal's deliverable (int_creator_deals_matched_to_deliverables: the deal's window rule).
-- the latest snapshot of each item is kept incrementally by int_content_latest_snapshots
with latest as (
    select * from {{ ref('int_content_latest_snapshots') }}
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
