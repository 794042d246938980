-- One row per Douyin post and data day: cumulative counters as exported.
with source as (
    select * from {{ source('douyin', 'douyin_posts') }}
),

deduplicated as (
    {{ latest_delivery('source', ['post_id', 'data_date'], 'post_id') }}
),

renamed as (
    select
        {{ content_identity_columns('douyin') }},
        content_type as content_type_raw,
        {{ content_type('content_type') }} as content_type,
        review_status,
        views,
        completion_rate,
        avg_watch_seconds,
        likes,
        comments,
        shares,
        saves,
        profile_visits,
        follower_gain,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
