-- One row per phone a consultant noted for a contact (remark_mobiles), hashed with the CRM
-- phones' key: phone_hash NULL and is_valid FALSE for a junk number (kept, not dropped).
-- The day's latest delivery wins as a whole (a redelivered file replaces every row).
with source as (
    select * from {{ source('wecom', 'wecom_contact_mobiles') }}
),

latest as (
    select *
    from source
    where loaded_at = (
        select max(later.loaded_at) from source as later where later.data_date = source.data_date
    )
),

renamed as (
    select
        external_userid_hash,
        userid,
        remark_mobile_hash as phone_hash,
        remark_mobile_masked as phone_masked,
        remark_mobile_is_valid as phone_is_valid,
        {{ lineage_columns() }}
    from latest
)

select * from renamed
