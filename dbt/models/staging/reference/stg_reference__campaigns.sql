-- Marketing campaigns from their latest delivered version.
with source as (
    select * from {{ source('reference', 'campaigns') }}
),

deduplicated as (
    {{ latest_delivery('source', ['campaign_code'], 'campaign_code') }}
),

renamed as (
    select
        campaign_code,
        campaign_name,
        series_code,
        starts_on,
        ends_on,
        budget_yuan,
        data_date as version_date,
        loaded_at
    from deduplicated
)

select * from renamed
