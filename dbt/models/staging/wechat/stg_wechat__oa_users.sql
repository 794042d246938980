-- One row per WeChat OA account and data day: daily follower movements.
with source as (
    select * from {{ source('wechat', 'wechat_oa_users') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, data_date order by loaded_at desc, source_row desc
        ) as row_rank
    from source
    where account_id is not null
),

renamed as (
    select
        'wechat_oa' as platform,
        account_id,
        ref_date,
        new_followers,
        lost_followers,
        total_followers,
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
