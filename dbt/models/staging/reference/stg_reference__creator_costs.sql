-- Creator (KOL/KOC) deals: one row per platform, account, campaign and publication date,
-- from the latest file that listed it.
with source as (
    select * from {{ source('reference', 'creator_costs') }}
),

deduplicated as (
    {{ latest_delivery('source', ['platform_name', 'account_id', 'campaign_code', 'published_on'], 'account_id') }}
),

renamed as (
    select
        {{ platform_code('platform_name') }} as platform,
        account_id,
        campaign_code,
        deal_type,
        cost_yuan,
        published_on,
        data_date as version_date,
        loaded_at
    from deduplicated
)

select * from renamed
