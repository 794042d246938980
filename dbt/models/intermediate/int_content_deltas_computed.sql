-- A table, not a view: its window function over every post-day is the most expensive step, and
-- as a view each data test on it recomputed it (national bench: ~340 s of a 484 s build).
{{ config(materialized='table') }}

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
with snapshots as (
    select * from {{ ref('int_content_snapshots_unioned') }}
),

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
)

select * from deltas
