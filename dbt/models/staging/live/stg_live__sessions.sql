-- One row per Douyin / Kuaishou live room (platform, live_id), from its latest delivery
-- (a room appears in the file of the day it ended).
with source as (
    select * from {{ source('live', 'live_sessions') }}
),

deduplicated as (
    {{ latest_delivery('source', ['platform_name', 'live_id'], 'live_id') }}
),

renamed as (
    select
        {{ platform_code('platform_name') }} as platform,
        platform_name,
        live_id,
        account_id,
        started_at,
        ended_at,
        {{ seconds_between('started_at', 'ended_at') }} as duration_seconds,
        views,
        viewers,
        peak_online,
        avg_watch_seconds,
        comments,
        likes,
        follower_gain,
        component_clicks,
        leads,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
