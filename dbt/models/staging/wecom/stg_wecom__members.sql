-- One row per WeCom member and data day (the day's full member list): dealer code from the
-- department ('HQ' for the brand's own staff), active unless status 4 (left).
with source as (
    select * from {{ source('wecom', 'wecom_members') }}
),

deduplicated as (
    {{ latest_delivery('source', ['userid', 'data_date'], 'userid') }}
),

renamed as (
    select
        userid,
        case when department = 'HQ' then null else department end as dealer_code,
        department = 'HQ' as is_hq,
        member_status = '1' as is_active,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
