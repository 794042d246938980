-- One row per account and day on which its platform delivered data: every account on the
-- roster that day (active or not) plus unregistered accounts that showed activity.
--   follower_gain   = post-level follower counters (day-over-day) + live-session follower
--                     gains + WeChat OA new followers;
--   follower_loss   = WeChat OA unfollows (no other platform reports losses);
--   posts_published = content items first published that day;
--   is_active       = published at least one post or held a live session that day.
-- Days a platform did not deliver are absent (missing, not zero).
with platform_days as (
    select distinct
        platform,
        date_day
    from {{ ref('int_content_summed_by_account_day') }}
    union
    select distinct
        platform,
        data_date as date_day
    from {{ ref('stg_wechat__oa_users') }}
    union
    select distinct
        platform,
        date_day
    from {{ ref('fct_live_sessions') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

roster_days as (
    select
        platform_days.platform,
        accounts.account_id,
        platform_days.date_day
    from platform_days
    inner join accounts
        on
            platform_days.platform = accounts.platform
            and platform_days.date_day >= accounts.valid_from
            and platform_days.date_day < accounts.valid_to
),

post_followers as (
    select
        platform,
        account_id,
        date_day,
        follower_gain,
        0 as follower_loss,
        0 as posts_published,
        0 as live_sessions
    from {{ ref('int_content_summed_by_account_day') }}
    where reports_counters
),

publications as (
    select
        platform,
        account_id,
        cast(published_at as date) as date_day,
        0 as follower_gain,
        0 as follower_loss,
        count(*) as posts_published,
        0 as live_sessions
    from {{ ref('dim_content') }}
    group by platform, account_id, cast(published_at as date)
),

lives as (
    select
        platform,
        account_id,
        date_day,
        sum(coalesce(follower_gain, 0)) as follower_gain,
        0 as follower_loss,
        0 as posts_published,
        count(*) as live_sessions
    from {{ ref('fct_live_sessions') }}
    group by platform, account_id, date_day
),

wechat_followers as (
    select
        platform,
        account_id,
        data_date as date_day,
        sum(coalesce(new_followers, 0)) as follower_gain,
        sum(coalesce(lost_followers, 0)) as follower_loss,
        0 as posts_published,
        0 as live_sessions
    from {{ ref('stg_wechat__oa_users') }}
    group by platform, account_id, data_date
),

activity as (
    select
        activity_rows.platform,
        activity_rows.account_id,
        activity_rows.date_day,
        sum(activity_rows.follower_gain) as follower_gain,
        sum(activity_rows.follower_loss) as follower_loss,
        sum(activity_rows.posts_published) as posts_published,
        sum(activity_rows.live_sessions) as live_sessions
    from (
        select * from post_followers
        union all
        select * from publications
        union all
        select * from lives
        union all
        select * from wechat_followers
    ) as activity_rows
    inner join platform_days
        on activity_rows.platform = platform_days.platform and activity_rows.date_day = platform_days.date_day
    group by activity_rows.platform, activity_rows.account_id, activity_rows.date_day
),

account_days as (
    select
        platform,
        account_id,
        date_day
    from roster_days
    union
    select
        platform,
        account_id,
        date_day
    from activity
),

final as (
    select
        cast(account_days.date_day as date) as date_day,
        cast(account_days.platform as varchar) as platform,
        cast(account_days.account_id as varchar) as account_id,
        cast(coalesce(accounts.matrix_tier, '未登记') as varchar) as matrix_tier,
        cast(coalesce(accounts.matrix_group, '未登记') as varchar) as matrix_group,
        cast(accounts.dealer_code as varchar) as dealer_code,
        cast(coalesce(accounts.region, '总部') as varchar) as region,
        cast(coalesce(activity.follower_gain, 0) as bigint) as follower_gain,
        cast(coalesce(activity.follower_loss, 0) as bigint) as follower_loss,
        cast(coalesce(activity.posts_published, 0) as bigint) as posts_published,
        cast(coalesce(activity.posts_published, 0) > 0 or coalesce(activity.live_sessions, 0) > 0 as boolean)
            as is_active
    from account_days
    left join activity
        on
            account_days.platform = activity.platform
            and account_days.account_id = activity.account_id
            and account_days.date_day = activity.date_day
    left join accounts
        on
            account_days.platform = accounts.platform
            and account_days.account_id = accounts.account_id
            and account_days.date_day >= accounts.valid_from
            and account_days.date_day < accounts.valid_to
)

select * from final
