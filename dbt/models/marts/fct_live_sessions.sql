-- One row per live session: Douyin and Kuaishou rooms (live_sessions CSV) and WeChat
-- Channels lives, on the day the session ended (its data day), with the account's tier that day.
{%- set columns = ['platform', 'live_id', 'account_id', 'data_date', 'started_at', 'ended_at',
                   'duration_seconds', 'views', 'viewers', 'peak_online', 'avg_watch_seconds', 'comments',
                   'likes', 'follower_gain', 'leads'] %}
with sessions as (
    select {{ columns | join(', ') }} from {{ ref('stg_live__sessions') }}
    union all
    select {{ columns | join(', ') }} from {{ ref('stg_wechat__channels_lives') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

final as (
    select
        cast(sessions.platform as varchar) as platform,
        cast(sessions.live_id as varchar) as live_id,
        cast(sessions.account_id as varchar) as account_id,
        cast(coalesce(accounts.matrix_tier, '未登记') as varchar) as matrix_tier,
        cast(coalesce(accounts.matrix_group, '未登记') as varchar) as matrix_group,
        cast(accounts.dealer_code as varchar) as dealer_code,
        cast(coalesce(accounts.region, '总部') as varchar) as region,
        cast(sessions.data_date as date) as date_day,
        cast(sessions.started_at as timestamp) as started_at,
        cast(sessions.ended_at as timestamp) as ended_at,
        cast(sessions.duration_seconds as float8) as duration_seconds,
        cast(sessions.views as bigint) as views,
        cast(sessions.viewers as bigint) as viewers,
        cast(sessions.peak_online as bigint) as peak_online,
        cast(sessions.avg_watch_seconds as float8) as avg_watch_seconds,
        cast(sessions.comments as bigint) as comments,
        cast(sessions.likes as bigint) as likes,
        cast(sessions.follower_gain as bigint) as follower_gain,
        cast(sessions.leads as bigint) as leads
    from sessions
    left join accounts
        on
            sessions.platform = accounts.platform
            and sessions.account_id = accounts.account_id
            and sessions.data_date >= accounts.valid_from
            and sessions.data_date < accounts.valid_to
)

select * from final
