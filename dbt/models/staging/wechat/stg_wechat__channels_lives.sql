-- One row per WeChat Channels live session (export_id), from its latest delivery.
with source as (
    select * from {{ source('wechat', 'wechat_channels_lives') }}
),

deduplicated as (
    {{ latest_delivery('source', ['live_id'], 'live_id') }}
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
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
