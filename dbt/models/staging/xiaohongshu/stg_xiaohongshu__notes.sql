-- One row per Xiaohongshu note and data day: cumulative counters as exported
-- (the only platform reporting impressions, 曝光量).
with source as (
    select * from {{ source('xiaohongshu', 'xiaohongshu_notes') }}
),

deduplicated as (
    {{ latest_delivery('source', ['post_id', 'data_date'], 'post_id') }}
),

renamed as (
    select
        {{ content_identity_columns('xiaohongshu') }},
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
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
