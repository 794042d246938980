-- Every status row of every DCC lead (a lead reappears in the dump of each day it changed);
-- is_latest_status marks its current state (latest UpdateTime). Phone arrives hashed/masked.
with source as (
    select * from {{ source('crm', 'crm_dcc') }}
),

deduplicated as (
    -- the same status row can be exported on two days: keep the latest delivery
    {{ latest_delivery('source', ['clue_id', 'updated_at'], 'clue_id') }}
),

renamed as (
    select
        'dcc' as crm_system,
        clue_id,
        dealer_code,
        phone_hash,
        phone_masked,
        coalesce(phone_is_valid, false) as phone_is_valid,
        series_code,
        model_code,
        channel_name,
        {{ platform_code('channel_name') }} as source_platform,
        nullif(source_account_id, '') as source_account_id,
        nullif(source_content_id, '') as source_content_id,
        nullif(campaign_code, '') as campaign_code,
        created_at,
        distributed_at,
        first_follow_at,
        arrived_at,
        test_drive_at,
        ordered_at,
        delivered_at,
        lead_status,
        defeat_reason,
        {{ yes_no('is_invalid') }} as is_invalid_flag,
        invalid_type,
        updated_at,
        {{ lineage_columns() }}
    from deduplicated
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
