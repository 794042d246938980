-- One row per content item and day it was reported: the day's own figures (differences of
-- the cumulative exports, see int_content_deltas_computed; WeChat OA daily values as they
-- are), attributed to the tier, dealer and region the account had THAT day (SCD2 join).
with cumulative_platforms as (
    select
        date_day,
        platform,
        post_id,
        account_id,
        impressions,
        views,
        likes,
        comments,
        shares,
        saves,
        coins,
        danmaku,
        cast(null as bigint) as zaikan,
        is_counter_corrected
    from {{ ref('int_content_deltas_computed') }}
),

wechat_oa as (
    select
        data_date as date_day,
        platform,
        post_id,
        account_id,
        cast(null as bigint) as impressions,
        views,
        likes,
        comments,
        shares,
        saves,
        cast(null as bigint) as coins,
        cast(null as bigint) as danmaku,
        zaikan,
        false as is_counter_corrected
    from {{ ref('stg_wechat__oa_articles') }}
),

daily as (
    select * from cumulative_platforms
    union all
    select * from wechat_oa
),

accounts as (
    select * from {{ ref('dim_account') }}
),

content as (
    select * from {{ ref('dim_content') }}
),

platforms as (
    select * from {{ ref('platforms') }}
),

final as (
    select
        cast(daily.date_day as date) as date_day,
        cast(daily.platform as varchar) as platform,
        cast(content.content_key as varchar) as content_key,
        cast(daily.post_id as varchar) as post_id,
        cast(daily.account_id as varchar) as account_id,
        cast(coalesce(accounts.matrix_tier, '未登记') as varchar) as matrix_tier,
        cast(coalesce(accounts.matrix_group, '未登记') as varchar) as matrix_group,
        cast(accounts.dealer_code as varchar) as dealer_code,
        cast(coalesce(accounts.region, '总部') as varchar) as region,
        cast(content.content_type as varchar) as content_type,
        cast(
            case when coalesce(platforms.reports_impressions, false) then daily.impressions else daily.views end
            as bigint
        ) as exposure,
        cast(daily.views as bigint) as views,
        cast(daily.likes as bigint) as likes,
        cast(daily.comments as bigint) as comments,
        cast(daily.shares as bigint) as shares,
        cast(daily.saves as bigint) as saves,
        cast(
            coalesce(daily.likes, 0) + coalesce(daily.comments, 0) + coalesce(daily.shares, 0)
            + coalesce(daily.saves, 0) as bigint
        ) as engagements,
        cast(daily.coins as bigint) as coins,
        cast(daily.danmaku as bigint) as danmaku,
        cast(daily.zaikan as bigint) as zaikan,
        cast(daily.is_counter_corrected as boolean) as is_counter_corrected
    from daily
    left join content
        on daily.platform = content.platform and daily.post_id = content.post_id
    left join platforms on daily.platform = platforms.platform
    left join accounts
        on
            daily.platform = accounts.platform
            and daily.account_id = accounts.account_id
            and daily.date_day >= accounts.valid_from
            and daily.date_day < accounts.valid_to
)

select * from final
