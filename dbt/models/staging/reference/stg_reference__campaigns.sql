-- Marketing campaigns from their latest delivered version.
with source as (
    select * from {{ source('reference', 'campaigns') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by campaign_code order by data_date desc, loaded_at desc, source_row desc
        ) as row_rank
    from source
    where campaign_code is not null
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
    from ranked
    where row_rank = 1
)

select * from renamed
