-- One row per Bilibili video (bvid) and data day: cumulative API stats.
with source as (
    select * from {{ source('bilibili', 'bilibili_videos') }}
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
        'bilibili' as platform,
        post_id,
        account_id,
        title,
        published_at,
        '视频' as content_type,
        duration_seconds,
        views,
        danmaku,
        comments,
        saves,
        coins,
        shares,
        likes,
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
