-- One row per WeChat Channels post (export_id) and data day: cumulative counters.
with source as (
    select * from {{ source('wechat', 'wechat_channels_posts') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by post_id, data_date order by loaded_at desc, source_row desc
        ) as row_rank
    from source
    where post_id is not null
),

renamed as (
    select
        'wechat_channels' as platform,
        post_id,
        account_id,
        title,
        published_at,
        '视频' as content_type,
        views,
        likes,
        comments,
        shares,
        saves,
        follower_gain,
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
