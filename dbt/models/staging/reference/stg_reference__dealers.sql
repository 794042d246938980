-- The dealer list from its latest delivered version (a new full version replaces the old).
with source as (
    select * from {{ source('reference', 'dealers') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by dealer_code order by data_date desc, loaded_at desc, source_row desc
        ) as row_rank
    from source
    where dealer_code is not null
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
    from ranked
    where row_rank = 1
)

select * from renamed
