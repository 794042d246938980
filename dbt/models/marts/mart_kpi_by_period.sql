-- KPIs by period (ISO week, month, quarter) x platform x tier x region x dealer.
-- Content, follower, post and live figures fall on the day they cover, attributed to the
-- account's tier / dealer / region that day; lead figures on the lead's creation day
-- (creation cohort), by source platform and source-account tier, and the LEAD'S dealer
-- and its region; creator costs on the deal's publication day.
-- Formulas are in _marts__models.yml.
-- Incremental by period (macros/incremental_periods.sql): a run rebuilds, from all their days,
-- only the weeks, months and quarters holding a day whose inputs changed since the last build
-- (int_kpi_days_fingerprinted); the others keep their rows. A daily run rebuilds the new day's
-- week, month and quarter instead of every period of every quarter loaded so far. A new version
-- of the project rebuilds every period, so a new column (appended) reaches every row.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ mp_delete_touched_periods(ref('int_kpi_days_fingerprinted')) }}",
    post_hook="{{ mp_record_period_state(ref('int_kpi_days_fingerprinted')) }}",
) }}
-- depends_on: {{ ref('int_kpi_days_fingerprinted') }}
{%- set touched = mp_touched_periods(ref('int_kpi_days_fingerprinted')) %}
{%- set grain = ['period_type', 'period_label', 'platform', 'matrix_tier', 'matrix_group', 'region',
                 'dealer_code'] %}
{%- set fact_grain = ['periods.period_type', 'periods.period_label', 'facts.platform', 'facts.matrix_tier',
                      'facts.matrix_group', 'facts.region', 'facts.dealer_code'] %}
{#- a fact summed to the day first, before its periods: the grain without the period -#}
{%- set day_grain = ['date_day', 'platform', 'matrix_tier', 'matrix_group', 'region', 'dealer_code'] %}
{%- set sums = ['exposure', 'views', 'engagements', 'follower_gain', 'accounts', 'active_accounts',
                'posts_published', 'live_sessions', 'live_viewers', 'live_leads', 'leads', 'valid_leads',
                'arrivals', 'test_drives', 'orders', 'deliveries', 'defeats', 'followed_within_24h'] %}
with dates as (
    select * from {{ ref('dim_date') }}
),

-- every day of each period this run rebuilds (all of them on a full build)
periods as (
    select * from (
        select
            date_day,
            'week' as period_type,
            iso_week_label as period_label
        from dates
        union all
        select
            date_day,
            'month' as period_type,
            month_label as period_label
        from dates
        union all
        select
            date_day,
            'quarter' as period_type,
            quarter_label as period_label
        from dates
    ) as all_periods
    where {{ mp_in_periods('period_type', 'period_label', touched) }}
),

-- content sums first to the day (the account-day sums of fct_content_daily -> one per day and
-- grain), then to the periods: joining rows to their three periods before aggregating triples
-- them
content_days as (
    select
        {{ day_grain | join(', ') }},
        sum(exposure) as exposure,
        sum(views) as views,
        sum(engagements) as engagements
    from {{ ref('int_content_summed_by_account_day') }}
    group by {{ day_grain | join(', ') }}
),

content as (
    select
        {{ fact_grain | join(', ') }},
        sum(facts.exposure) as exposure,
        sum(facts.views) as views,
        sum(facts.engagements) as engagements
    from content_days as facts
    inner join periods on facts.date_day = periods.date_day
    group by {{ fact_grain | join(', ') }}
),

-- accounts and active accounts are distinct counts, so they are not summed over days: each
-- account counts ONCE per period, in the tier / dealer / region it held on its last row of
-- the period (the period's last day for an account still on the roster), so the tier, region
-- and dealer rows of a period add up to the period's total. Follower gain and posts stay on
-- the day they happened, in that day's tier.
-- follower gain and posts summed to the day first (one row per day and grain instead of one
-- per account and day), like content
account_day_sums as (
    select
        {{ day_grain | join(', ') }},
        sum(follower_gain) as follower_gain,
        sum(posts_published) as posts_published
    from {{ ref('fct_account_daily') }}
    group by {{ day_grain | join(', ') }}
),

account_days as (
    select
        {{ fact_grain | join(', ') }},
        sum(facts.follower_gain) as follower_gain,
        sum(facts.posts_published) as posts_published
    from account_day_sums as facts
    inner join periods on facts.date_day = periods.date_day
    group by {{ fact_grain | join(', ') }}
),

-- per account and period: its last day and whether it was active on any day. Grouping and
-- joining back to the last day's row (fct_account_daily is unique by date_day, platform,
-- account_id) replaces two window functions over every account-day x period, which sorted
-- ~3 rows per account-day at national scale.
account_last_days as (
    select
        periods.period_type,
        periods.period_label,
        facts.platform,
        facts.account_id,
        max(facts.date_day) as last_day,
        max(case when facts.is_active then 1 else 0 end) as was_active
    from {{ ref('fct_account_daily') }} as facts
    inner join periods on facts.date_day = periods.date_day
    group by periods.period_type, periods.period_label, facts.platform, facts.account_id
),

account_periods as (
    select
        last_days.period_type,
        last_days.period_label,
        facts.platform,
        facts.matrix_tier,
        facts.matrix_group,
        facts.region,
        facts.dealer_code,
        last_days.was_active
    from account_last_days as last_days
    inner join {{ ref('fct_account_daily') }} as facts
        on
            -- platform is not in its not-NULL test (account_id and date_day are): a null matches like the window's partition
            last_days.platform is not distinct from facts.platform
            and last_days.account_id = facts.account_id
            and last_days.last_day = facts.date_day
),

account_counts as (
    select
        {{ grain | join(', ') }},
        count(*) as accounts,
        sum(was_active) as active_accounts
    from account_periods
    group by {{ grain | join(', ') }}
),

lives as (
    select
        {{ fact_grain | join(', ') }},
        count(*) as live_sessions,
        sum(facts.viewers) as live_viewers,
        sum(facts.leads) as live_leads
    from {{ ref('fct_live_sessions') }} as facts
    inner join periods on facts.date_day = periods.date_day
    group by {{ fact_grain | join(', ') }}
),

leads as (
    select
        periods.period_type,
        periods.period_label,
        facts.source_platform as platform,
        facts.source_matrix_tier as matrix_tier,
        facts.source_matrix_group as matrix_group,
        facts.region,
        facts.dealer_code,
        count(*) as leads,
        sum(case when facts.is_valid then 1 else 0 end) as valid_leads,
        sum(case when facts.arrived_at is not null then 1 else 0 end) as arrivals,
        sum(case when facts.test_drive_at is not null then 1 else 0 end) as test_drives,
        sum(case when facts.ordered_at is not null then 1 else 0 end) as orders,
        sum(case when facts.delivered_at is not null then 1 else 0 end) as deliveries,
        sum(case when facts.is_defeated then 1 else 0 end) as defeats,
        sum(case when facts.is_valid and facts.followed_within_24h then 1 else 0 end) as followed_within_24h,
        {{ median('facts.response_minutes') }} as median_response_minutes
    from {{ ref('fct_leads') }} as facts
    inner join periods on facts.created_date = periods.date_day
    group by
        periods.period_type,
        periods.period_label,
        facts.source_platform,
        facts.source_matrix_tier,
        facts.source_matrix_group,
        facts.region,
        facts.dealer_code
),

creator_costs as (
    select
        periods.period_type,
        periods.period_label,
        costs.platform,
        coalesce(accounts.matrix_tier, '未登记') as matrix_tier,
        coalesce(accounts.matrix_group, '未登记') as matrix_group,
        coalesce(accounts.region, '总部') as region,
        accounts.dealer_code,
        sum(costs.cost_yuan) as creator_cost_yuan
    from {{ ref('stg_reference__creator_costs') }} as costs
    inner join periods on costs.published_on = periods.date_day
    left join {{ ref('dim_account') }} as accounts
        on
            costs.platform = accounts.platform
            and costs.account_id = accounts.account_id
            and costs.published_on >= accounts.valid_from
            and costs.published_on < accounts.valid_to
    group by
        periods.period_type,
        periods.period_label,
        costs.platform,
        coalesce(accounts.matrix_tier, '未登记'),
        coalesce(accounts.matrix_group, '未登记'),
        coalesce(accounts.region, '总部'),
        accounts.dealer_code
),

{%- set pieces = {
    'content': ['exposure', 'views', 'engagements'],
    'account_days': ['follower_gain', 'posts_published'],
    'account_counts': ['accounts', 'active_accounts'],
    'lives': ['live_sessions', 'live_viewers', 'live_leads'],
    'leads': ['leads', 'valid_leads', 'arrivals', 'test_drives', 'orders', 'deliveries', 'defeats',
              'followed_within_24h', 'median_response_minutes'],
    'creator_costs': ['creator_cost_yuan'],
} %}
{%- set measures = sums + ['median_response_minutes', 'creator_cost_yuan'] %}

unioned as (
    {%- for piece, cols in pieces.items() %}
    select
        {{ grain | join(', ') }},
        {%- for m in measures %}
        {% if m in cols %}{{ m }}{% elif m in sums %}cast(null as bigint){% else %}cast(null as float8){% endif %} as {{ m }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ piece }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

combined as (
    select
        {{ grain | join(', ') }},
        {%- for m in sums %}
        cast(coalesce(sum({{ m }}), 0) as bigint) as {{ m }},
        {%- endfor %}
        cast(max(median_response_minutes) as float8) as median_response_minutes,
        cast(coalesce(sum(creator_cost_yuan), 0) as float8) as creator_cost_yuan
    from unioned
    group by {{ grain | join(', ') }}
),

final as (
    select
        cast(period_type as varchar) as period_type,
        cast(period_label as varchar) as period_label,
        cast(platform as varchar) as platform,
        cast(matrix_tier as varchar) as matrix_tier,
        cast(matrix_group as varchar) as matrix_group,
        cast(region as varchar) as region,
        cast(dealer_code as varchar) as dealer_code,
        exposure,
        views,
        engagements,
        {{ safe_divide('engagements', 'views') }} as interaction_rate,
        follower_gain,
        accounts,
        active_accounts,
        {{ safe_divide('active_accounts', 'accounts') }} as active_account_rate,
        posts_published,
        live_sessions,
        live_viewers,
        live_leads,
        leads,
        valid_leads,
        arrivals,
        test_drives,
        orders,
        deliveries,
        defeats,
        {{ safe_divide('arrivals', 'valid_leads') }} as arrival_rate,
        {{ safe_divide('test_drives', 'valid_leads') }} as test_drive_rate,
        {{ safe_divide('orders', 'valid_leads') }} as order_rate,
        {{ safe_divide('deliveries', 'valid_leads') }} as delivery_rate,
        {{ safe_divide('defeats', 'valid_leads') }} as defeat_rate,
        median_response_minutes,
        {{ safe_divide('followed_within_24h', 'valid_leads') }} as follow_up_24h_rate,
        creator_cost_yuan,
        {{ safe_divide('creator_cost_yuan', 'valid_leads') }} as cost_per_valid_lead
    from combined
)

select * from final
