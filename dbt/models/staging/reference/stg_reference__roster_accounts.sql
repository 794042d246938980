-- Every version of the matrix roster: one row per account and roster file (data_date =
-- the day that version took effect). int_account_versions_derived turns it into SCD2.
with source as (
    select * from {{ source('reference', 'matrix_roster') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by platform_name, account_id, data_date order by loaded_at desc, source_row desc
        ) as row_rank
    from source
    where account_id is not null
),

renamed as (
    select
        {{ platform_code('platform_name') }} as platform,
        platform_name,
        account_id,
        account_name,
        matrix_tier,
        nullif(dealer_code, '') as dealer_code,
        opened_on,
        account_status,
        data_date as version_date,
        source_file,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
