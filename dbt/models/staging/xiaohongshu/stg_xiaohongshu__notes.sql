-- One row per Xiaohongshu note and data day: cumulative counters as exported
-- (the only platform reporting impressions, 曝光量).
with source as (
    select * from {{ source('xiaohongshu', 'xiaohongshu_notes') }}
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
        'xiaohongshu' as platform,
        post_id,
        account_id,
        account_name,
        title,
        published_at,
        content_type as content_type_raw,
        {{ content_type('content_type', '图文') }} as content_type,
        impressions,
        views,
        likes,
        saves,
        comments,
        shares,
        avg_watch_seconds,
        follower_gain,
        cover_ctr,
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
