-- One row per WeChat Channels post (export_id) and data day: cumulative counters.
with source as (
    select * from {{ source('wechat', 'wechat_channels_posts') }}
),

deduplicated as (
    {{ latest_delivery('source', ['post_id', 'data_date'], 'post_id') }}
),

renamed as (
    select
        {{ content_identity_columns('wechat_channels', with_account_name=false) }},
        '视频' as content_type,
        views,
        likes,
        comments,
        shares,
        saves,
        follower_gain,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
