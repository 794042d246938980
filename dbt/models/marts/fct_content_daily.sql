-- One row per content item and day it was reported: the day's own figures (differences of
-- the cumulative exports, see int_content_deltas_computed; WeChat OA daily values as they
-- are), attributed to the tier, dealer and region the account had THAT day (SCD2 join).
-- Incremental by post-day like int_content_deltas_computed (see macros/incremental.sql): the
-- affected posts' rows from their platform's first changed day on, every row on or after the
-- first day a new roster version or dealer list can re-attribute, and every row of a post whose
-- content type (its latest snapshot's, dim_content) the run changed.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'post_id', 'date_day'],
    post_hook=[
        "{{ mp_delete_vanished_rows('date_day', mp_content_daily_keys(), 'date_day', mp_content_sources(include_wechat_oa=true)) }}",
        "{{ mp_record_watermark(mp_attributed_content_sources()) }}",
    ],
) }}
{%- if is_incremental() %}
{%- set since = mp_watermark() %}
{%- set changed_days = mp_changed_days(mp_content_sources(include_wechat_oa=true), since) %}
{%- set attribution_from = mp_attribution_change_start(since) %}
{%- endif %}
with
{%- if is_incremental() %}
affected_posts as (
    select platform, post_id from {{ ref('int_content_deltas_computed') }}
    where {{ mp_in_days('platform', 'date_day', changed_days) }}
    union
    select platform, post_id from {{ ref('stg_wechat__oa_articles') }}
    where {{ mp_in_days("'wechat_oa'", 'data_date', changed_days) }}
    union
    select platform, post_id from {{ this }}
    where {{ mp_in_days('platform', 'date_day', changed_days) }}
    {%- if attribution_from is not none %}
        or date_day >= cast('{{ attribution_from }}' as date)
    {%- endif %}
),

-- a post's content type is its latest snapshot's: a changed day that gave an affected post
-- another one changes all its days, not only those from the first changed day on
retyped_posts as (
    select distinct stored.platform, stored.post_id
    from {{ this }} as stored
    inner join affected_posts
        on stored.platform = affected_posts.platform and stored.post_id = affected_posts.post_id
    left join {{ ref('dim_content') }} as content
        on stored.platform = content.platform and stored.post_id = content.post_id
    where stored.content_type is distinct from content.content_type
        or stored.content_key is distinct from content.content_key
),
{%- endif %}

cumulative_platforms as (
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
    {%- if is_incremental() %}
    where (platform, post_id) in (select platform, post_id from affected_posts)
        and (
            {{ mp_from_first_changed_day('platform', 'date_day', changed_days, attribution_from) }}
            or (platform, post_id) in (select platform, post_id from retyped_posts)
        )
    {%- endif %}
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
    {%- if is_incremental() %}
    where post_id in (select post_id from affected_posts where platform = 'wechat_oa')
        and (
            {{ mp_from_first_changed_day("'wechat_oa'", 'data_date', changed_days, attribution_from) }}
            or post_id in (select post_id from retyped_posts where platform = 'wechat_oa')
        )
    {%- endif %}
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
