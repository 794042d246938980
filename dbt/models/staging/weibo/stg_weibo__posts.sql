-- One row per Weibo post and data day: cumulative counters as exported; reads above
-- 100k arrive as 10万+ (100000, views_is_lower_bound TRUE).
with source as (
    select * from {{ source('weibo', 'weibo_posts') }}
),

deduplicated as (
    {{ latest_delivery('source', ['post_id', 'data_date'], 'post_id') }}
),

renamed as (
    select
        {{ content_identity_columns('weibo') }},
        '图文' as content_type,
        views,
        coalesce(views_is_lower_bound, false) as views_is_lower_bound,
        shares,
        comments,
        likes,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
