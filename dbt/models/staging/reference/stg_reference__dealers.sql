-- The dealer list from its latest delivered version (a new full version replaces the old).
with source as (
    select * from {{ source('reference', 'dealers') }}
),

deduplicated as (
    {{ latest_delivery('source', ['dealer_code'], 'dealer_code') }}
),

renamed as (
    select
        dealer_code,
        dealer_name,
        dealer_group,
        province,
        city,
        city_tier,
        region,
        data_date as version_date,
        loaded_at
    from deduplicated
)

select * from renamed
