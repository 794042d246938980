-- One row per WeChat Channels live session (export_id), from its latest delivery.
with source as (
    select * from {{ source('wechat', 'wechat_channels_lives') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by live_id order by data_date desc, loaded_at desc, source_row desc
        ) as row_rank
    from source
    where live_id is not null
),

renamed as (
    select
        'wechat_channels' as platform,
        live_id,
        account_id,
        started_at,
        duration_seconds,
        {{ dbt.dateadd('second', 'cast(round(coalesce(duration_seconds, 0)) as integer)', 'started_at') }}
            as ended_at,
        viewers,
        cast(null as bigint) as views,
        peak_online,
        avg_watch_seconds,
        follower_gain,
        shares,
        comments,
        cast(null as bigint) as likes,
        leads,
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
