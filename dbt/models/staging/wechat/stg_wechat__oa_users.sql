-- One row per WeChat OA account and data day: daily follower movements.
with source as (
    select * from {{ source('wechat', 'wechat_oa_users') }}
),

deduplicated as (
    {{ latest_delivery('source', ['account_id', 'data_date'], 'account_id') }}
),

renamed as (
    select
        'wechat_oa' as platform,
        account_id,
        ref_date,
        new_followers,
        lost_followers,
        total_followers,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
