-- One row per day of dim_date: the day's week, month and quarter labels and a fingerprint of
-- every input row mart_kpi_by_period reads for that day, over exactly the columns it reads
-- (content and follower figures on the day they cover, lives on their day, leads on their
-- creation day, creator costs on their publication day with the account's attribution then).
-- mart_kpi_by_period rebuilds the periods of the days whose fingerprint changed since its
-- last build (macros/incremental_periods.sql). A column the mart starts to read must be added
-- here too; test_dbt_incremental moves a row of each input to a day of its own and checks
-- that the incremental mart equals a full rebuild.
{{ config(materialized='table') }}
with dates as (
    select date_day, iso_week_label, month_label, quarter_label from {{ ref('dim_date') }}
),

content as (
    select
        date_day,
        {{ mp_rows_fingerprint(['platform', 'matrix_tier', 'matrix_group', 'region', 'dealer_code',
                                'exposure', 'views', 'engagements']) }} as fingerprint
    from {{ ref('int_content_summed_by_account_day') }}
    group by date_day
),

account_days as (
    select
        date_day,
        {{ mp_rows_fingerprint(['platform', 'account_id', 'matrix_tier', 'matrix_group', 'region', 'dealer_code',
                                'follower_gain', 'posts_published', 'is_active']) }} as fingerprint
    from {{ ref('fct_account_daily') }}
    group by date_day
),

lives as (
    select
        date_day,
        {{ mp_rows_fingerprint(['platform', 'matrix_tier', 'matrix_group', 'region', 'dealer_code',
                                'viewers', 'leads']) }} as fingerprint
    from {{ ref('fct_live_sessions') }}
    group by date_day
),

leads as (
    select
        created_date as date_day,
        {{ mp_rows_fingerprint(['source_platform', 'source_matrix_tier', 'source_matrix_group', 'region',
                                'dealer_code', 'is_valid', 'arrived_at is null', 'test_drive_at is null',
                                'ordered_at is null', 'delivered_at is null', 'is_defeated',
                                'followed_within_24h', 'response_minutes']) }} as fingerprint
    from {{ ref('fct_leads') }}
    group by created_date
),

-- as mart_kpi_by_period attributes them: the account's roster version on the publication day
creator_costs as (
    select
        costs.published_on as date_day,
        {{ mp_rows_fingerprint(['costs.platform', 'accounts.matrix_tier', 'accounts.matrix_group',
                                'accounts.region', 'accounts.dealer_code', 'costs.cost_yuan']) }} as fingerprint
    from {{ ref('stg_reference__creator_costs') }} as costs
    left join {{ ref('dim_account') }} as accounts
        on
            costs.platform = accounts.platform
            and costs.account_id = accounts.account_id
            and costs.published_on >= accounts.valid_from
            and costs.published_on < accounts.valid_to
    group by costs.published_on
),

final as (
    select
        dates.date_day,
        cast(dates.iso_week_label as varchar) as iso_week_label,
        cast(dates.month_label as varchar) as month_label,
        cast(dates.quarter_label as varchar) as quarter_label,
        -- the labels too: a day that moves to another period changes both
        cast(
            dates.iso_week_label || '|' || dates.month_label || '|' || dates.quarter_label
            || '|' || coalesce(content.fingerprint, '-')
            || '|' || coalesce(account_days.fingerprint, '-')
            || '|' || coalesce(lives.fingerprint, '-')
            || '|' || coalesce(leads.fingerprint, '-')
            || '|' || coalesce(creator_costs.fingerprint, '-')
            as varchar
        ) as fingerprint
    from dates
    left join content on dates.date_day = content.date_day
    left join account_days on dates.date_day = account_days.date_day
    left join lives on dates.date_day = lives.date_day
    left join leads on dates.date_day = leads.date_day
    left join creator_costs on dates.date_day = creator_costs.date_day
)

select * from final
