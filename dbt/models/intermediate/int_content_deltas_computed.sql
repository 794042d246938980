-- A table, not a view: its window function over every post-day is the most expensive step, and
-- as a view each data test on it recomputed it (national bench: ~340 s of a 484 s build).
-- Incremental by post-day (see macros/incremental.sql): a changed source-day changes the deltas
-- of the following days of its posts, so the window reads every snapshot of each affected post
-- and the run replaces that post's rows from its platform's first changed day on (delete+insert
-- on platform, post_id, date_day). Affected = posts in the changed days now, plus posts this
-- table holds on those days (a re-delivery may have dropped them); the post-hook drops the rows
-- of posts that no longer have a snapshot on such a day. A day's delivery rewrites that day's
-- rows only, not each touched post's whole history (national: 106 k rows instead of 1.5 M).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'post_id', 'date_day'],
    post_hook=[
        "{{ mp_delete_vanished_rows('date_day', ref('int_content_snapshots_unioned'), 'data_date', mp_content_sources()) }}",
        "{{ mp_record_watermark(mp_content_sources()) }}",
    ],
) }}
{%- set changed_days = mp_changed_days(mp_content_sources(), mp_watermark()) if is_incremental() else [] %}

-- Daily figures of every post from its cumulative snapshots: today's value minus the last
-- KNOWN earlier value of the same post.
--   * first appearance: the whole cumulative value counts (delta from 0);
--   * a missing day (file never delivered): the next delta covers both days;
--   * an unknown value ('-' in the export, NULL): that day's delta is NULL and the next
--     known value is compared with the last known one;
--   * a counter lower than the last known value: the day counts 0 (never negative) and the
--     row is flagged is_counter_corrected.
{%- set metrics = ['impressions', 'views', 'likes', 'comments', 'shares', 'saves', 'coins', 'danmaku',
                   'follower_gain'] %}
with
{%- if is_incremental() %}
affected_posts as (
    select platform, post_id from {{ ref('int_content_snapshots_unioned') }}
    where {{ mp_in_days('platform', 'data_date', changed_days) }}
    union
    select platform, post_id from {{ this }}
    where {{ mp_in_days('platform', 'date_day', changed_days) }}
),
{%- endif %}

snapshots as (
    {%- if is_incremental() %}
    select all_snapshots.*
    from {{ ref('int_content_snapshots_unioned') }} as all_snapshots
    inner join affected_posts using (platform, post_id)
    {%- else %}
    select * from {{ ref('int_content_snapshots_unioned') }}
    {%- endif %}
),

{%- if target.type == 'duckdb' %}
-- DuckDB: the last known earlier value is last_value(... ignore nulls) over the preceding rows;
-- every metric shares ONE window (one sort of the post-days) instead of a sort per metric
with_previous as (
    select
        *,
        {%- for m in metrics %}
        last_value({{ m }} ignore nulls) over preceding_days as {{ m }}_previous,
        {%- endfor %}
        row_number() over (partition by platform, post_id order by data_date) as appearance_no
    from snapshots
    window preceding_days as (
        partition by platform, post_id order by data_date rows between unbounded preceding and 1 preceding
    )
),
{%- else %}
-- PostgreSQL has no IGNORE NULLS: each known value opens a group, the NULLs after it belong to
-- that group, and the previous row's group value is the last known one
known_groups as (
    -- each known value opens a group; the NULLs after it belong to that group
    select
        *,
        {%- for m in metrics %}
        count({{ m }}) over (
            partition by platform, post_id order by data_date rows between unbounded preceding and current row
        ) as {{ m }}_group,
        {%- endfor %}
        row_number() over (partition by platform, post_id order by data_date) as appearance_no
    from snapshots
),

carried as (
    select
        *,
        {%- for m in metrics %}
        max({{ m }}) over (partition by platform, post_id, {{ m }}_group) as {{ m }}_last_known{% if not loop.last %},{% endif %}
        {%- endfor %}
    from known_groups
),

with_previous as (
    select
        *,
        {%- for m in metrics %}
        lag({{ m }}_last_known) over (partition by platform, post_id order by data_date) as {{ m }}_previous{% if not loop.last %},{% endif %}
        {%- endfor %}
    from carried
),
{%- endif %}

deltas as (
    select
        data_date as date_day,
        platform,
        post_id,
        account_id,
        appearance_no,
        {%- for m in metrics %}
        case
            when {{ m }} is null then null
            when {{ m }}_previous is null then {{ m }}
            when {{ m }} >= {{ m }}_previous then {{ m }} - {{ m }}_previous
            else 0
        end as {{ m }},
        {%- endfor %}
        (
            {%- for m in metrics %}
            coalesce({{ m }} < {{ m }}_previous, false){% if not loop.last %} or{% endif %}
            {%- endfor %}
        ) as is_counter_corrected
    from with_previous
    {%- if is_incremental() %}
    -- the days before the first changed one keep their deltas (they read no changed snapshot)
    where {{ mp_from_first_changed_day('platform', 'data_date', changed_days) }}
    {%- endif %}
)

select * from deltas
