-- fct_content_daily summed to the account and day (with the account's attribution that day, one
-- per account-day), plus the follower gain its posts' counters showed that day: what
-- fct_account_daily, mart_kpi_by_period, mart_dealer_scorecard and mart_advocacy_tiers need,
-- at a tenth of the rows (national: 1.03 M against 10.3 M); each of them read the content rows
-- whole on every daily build.
-- Incremental by day (see macros/incremental.sql): a changed source-day changes the deltas of
-- the LATER days of its posts too, so a run deletes and re-inserts every day from the first
-- changed day of each platform on, and every day from the first re-attributed one; days that no
-- longer exist upstream are deleted and not re-inserted.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ mp_delete_account_day_changes() }}",
    post_hook="{{ mp_record_watermark(mp_attributed_content_sources()) }}",
) }}
{%- set recomputed = mp_account_day_changes('platform', 'date_day') if is_incremental() else '(1 = 1)' %}
with content as (
    select
        date_day,
        platform,
        account_id,
        matrix_tier,
        matrix_group,
        region,
        dealer_code,
        sum(exposure) as exposure,
        sum(views) as views,
        sum(engagements) as engagements
    from {{ ref('fct_content_daily') }}
    where {{ recomputed }}
    group by date_day, platform, account_id, matrix_tier, matrix_group, region, dealer_code
),

-- int_content_deltas_computed holds no WeChat OA rows (its articles report daily values, not
-- cumulative counters): their follower gain comes from the OA user export (fct_account_daily)
post_followers as (
    select
        date_day,
        platform,
        account_id,
        sum(coalesce(follower_gain, 0)) as follower_gain
    from {{ ref('int_content_deltas_computed') }}
    where {{ recomputed }}
    group by date_day, platform, account_id
),

final as (
    select
        cast(content.date_day as date) as date_day,
        cast(content.platform as varchar) as platform,
        cast(content.account_id as varchar) as account_id,
        cast(content.matrix_tier as varchar) as matrix_tier,
        cast(content.matrix_group as varchar) as matrix_group,
        cast(content.region as varchar) as region,
        cast(content.dealer_code as varchar) as dealer_code,
        cast(content.exposure as bigint) as exposure,
        cast(content.views as bigint) as views,
        cast(content.engagements as bigint) as engagements,
        cast(coalesce(post_followers.follower_gain, 0) as bigint) as follower_gain,
        -- every platform but WeChat OA reports cumulative counters (the deltas' rows)
        cast(post_followers.date_day is not null as boolean) as reports_counters
    from content
    left join post_followers
        on
            content.date_day = post_followers.date_day
            and content.platform = post_followers.platform
            and content.account_id = post_followers.account_id
)

select * from final
