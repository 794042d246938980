-- Every version of the matrix roster: one row per account and roster file (data_date =
-- the day that version took effect). int_account_versions_derived turns it into SCD2.
with source as (
    select * from {{ source('reference', 'matrix_roster') }}
),

deduplicated as (
    {{ latest_delivery('source', ['platform_name', 'account_id', 'data_date'], 'account_id') }}
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
    from deduplicated
)

select * from renamed
