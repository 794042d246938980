-- One row per Douyin / Kuaishou live room (platform, live_id), from its latest delivery
-- (a room appears in the file of the day it ended).
with source as (
    select * from {{ source('live', 'live_sessions') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by platform_name, live_id order by data_date desc, loaded_at desc, source_row desc
        ) as row_rank
    from source
    where live_id is not null
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
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
