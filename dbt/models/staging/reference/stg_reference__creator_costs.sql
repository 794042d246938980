-- Creator (KOL/KOC) deals: one row per platform, account, campaign and publication date,
-- from the latest file that listed it.
with source as (
    select * from {{ source('reference', 'creator_costs') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by platform_name, account_id, campaign_code, published_on
            order by data_date desc, loaded_at desc, source_row desc
        ) as row_rank
    from source
    where account_id is not null
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
    from ranked
    where row_rank = 1
)

select * from renamed
