-- One row per Kuaishou post and data day: cumulative counters as exported.
with source as (
    select * from {{ source('kuaishou', 'kuaishou_posts') }}
),

deduplicated as (
    {{ latest_delivery('source', ['post_id', 'data_date'], 'post_id') }}
),

renamed as (
    select
        {{ content_identity_columns('kuaishou') }},
        content_type as content_type_raw,
        {{ content_type('content_type') }} as content_type,
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
