-- One row per Kuaishou post and data day: cumulative counters as exported.
with source as (
    select * from {{ source('kuaishou', 'kuaishou_posts') }}
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
        'kuaishou' as platform,
        post_id,
        account_id,
        account_name,
        title,
        published_at,
        content_type as content_type_raw,
        {{ content_type('content_type') }} as content_type,
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
