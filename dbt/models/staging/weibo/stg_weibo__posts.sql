-- One row per Weibo post and data day: cumulative counters as exported; reads above
-- 100k arrive as 10万+ (100000, views_is_lower_bound TRUE).
with source as (
    select * from {{ source('weibo', 'weibo_posts') }}
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
        'weibo' as platform,
        post_id,
        account_id,
        account_name,
        title,
        published_at,
        '图文' as content_type,
        views,
        coalesce(views_is_lower_bound, false) as views_is_lower_bound,
        shares,
        comments,
        likes,
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
