-- Every status row of every legacy-DMS lead; is_latest_status marks its current state.
-- The legacy DMS has no distribution time, model code or invalid flag (status 无效 instead).
with source as (
    select * from {{ source('crm', 'crm_legacy') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by clue_id, updated_at order by data_date desc, loaded_at desc, source_row desc
        ) as copy_rank
    from source
    where clue_id is not null
),

renamed as (
    select
        'legacy' as crm_system,
        clue_id,
        dealer_code,
        phone_hash,
        phone_masked,
        coalesce(phone_is_valid, false) as phone_is_valid,
        series_code,
        cast(null as varchar) as model_code,
        channel_name,
        {{ platform_code('channel_name') }} as source_platform,
        nullif(source_account_id, '') as source_account_id,
        nullif(source_content_id, '') as source_content_id,
        nullif(campaign_code, '') as campaign_code,
        created_at,
        cast(null as timestamp) as distributed_at,
        first_follow_at,
        arrived_at,
        test_drive_at,
        ordered_at,
        delivered_at,
        lead_status,
        defeat_reason,
        coalesce(lead_status = '无效', false) as is_invalid_flag,
        cast(null as varchar) as invalid_type,
        updated_at,
        data_date,
        source_file,
        source_row,
        loaded_at
    from deduplicated
    where copy_rank = 1
),

marked as (
    select
        *,
        row_number() over (
            partition by clue_id order by updated_at desc, data_date desc, source_row desc
        ) = 1 as is_latest_status
    from renamed
)

select * from marked
