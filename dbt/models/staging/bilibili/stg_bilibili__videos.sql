-- One row per Bilibili video (bvid) and data day: cumulative API stats.
with source as (
    select * from {{ source('bilibili', 'bilibili_videos') }}
),

deduplicated as (
    {{ latest_delivery('source', ['post_id', 'data_date'], 'post_id') }}
),

renamed as (
    select
        {{ content_identity_columns('bilibili', with_account_name=false) }},
        '视频' as content_type,
        duration_seconds,
        views,
        danmaku,
        comments,
        saves,
        coins,
        shares,
        likes,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
