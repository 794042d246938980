-- The latest snapshot of every content item (post, note, video, article): one row per
-- (platform, post_id) with the attributes of its latest data day, for dim_content.
-- Incremental by post (see macros/incremental.sql), exact: a post whose latest day so far is a
-- source-day the ingest (re-)loaded since the last build is recomputed over ALL its days (its
-- latest row may be gone); a post with rows on changed days but an unchanged latest day takes
-- the latest of that kept row and its changed-day rows (every other day of it is older and
-- unchanged); other posts are untouched. A post no day holds any more is deleted by the
-- post-hook. A table of ~1 row per post: dim_content's join to the deals stays a full
-- rebuild on top of it, without re-reading the ~10 M snapshot rows every day.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'post_id'],
    post_hook=[
        "{{ mp_delete_vanished_rows('data_date', mp_content_snapshot_keys(), 'data_date', mp_content_sources(include_wechat_oa=true)) }}",
        "{{ mp_record_watermark(mp_content_sources(include_wechat_oa=true)) }}",
    ],
) }}
{%- set columns = ['platform', 'post_id', 'account_id', 'title', 'content_type', 'published_at', 'data_date'] %}
{%- if is_incremental() %}
{%- set changed_days = mp_changed_days(mp_content_sources(include_wechat_oa=true), mp_watermark()) %}
{%- set stale_posts = "select platform, post_id from " ~ this ~ " where " ~ mp_in_days('platform', 'data_date', changed_days) %}
{%- set any_stale = execute and run_query("select count(*) from (" ~ stale_posts ~ ") as s").columns[0].values()[0] > 0 %}
{%- endif %}
with
{%- if is_incremental() %}
-- the snapshots of the changed days (a day filter, pushed into the scans)
changed_rows as (
    select {{ columns | join(', ') }} from {{ ref('int_content_snapshots_unioned') }}
    where {{ mp_in_days('platform', 'data_date', changed_days) }}
    union all
    select {{ columns | join(', ') }} from {{ ref('stg_wechat__oa_articles') }}
    where {{ mp_in_days("'wechat_oa'", 'data_date', changed_days) }}
),

-- posts whose latest day so far changed: that row may be gone, so every day of theirs is read
stale_posts as (
    {{ stale_posts }}
),

-- any other post with a changed-day row still has its latest row so far, unchanged (its day did
-- not change), and every other day of it is older: its latest is the latest of that row and
-- its changed-day rows
snapshots as (
    {%- if any_stale %}
    select {% for c in columns %}snapshots.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    from (
        select {{ columns | join(', ') }} from {{ ref('int_content_snapshots_unioned') }}
        union all
        select {{ columns | join(', ') }} from {{ ref('stg_wechat__oa_articles') }}
    ) as snapshots
    inner join stale_posts on snapshots.platform = stale_posts.platform and snapshots.post_id = stale_posts.post_id
    union all
    {%- endif %}
    select {{ columns | join(', ') }} from changed_rows
    where not exists (
        select 1 from stale_posts
        where stale_posts.platform = changed_rows.platform and stale_posts.post_id = changed_rows.post_id
    )
    union all
    select {% for c in columns %}kept.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ this }} as kept
    where
        not {{ mp_in_days('kept.platform', 'kept.data_date', changed_days) }}
        and exists (
            select 1 from changed_rows
            where changed_rows.platform = kept.platform and changed_rows.post_id = kept.post_id
        )
),
{%- else %}
snapshots as (
    select {{ columns | join(', ') }} from {{ ref('int_content_snapshots_unioned') }}
    union all
    select {{ columns | join(', ') }} from {{ ref('stg_wechat__oa_articles') }}
),
{%- endif %}

-- the latest snapshot per item by max() and a join back on the unique (platform, post_id,
-- data_date): hash aggregates, where row_number() sorted ~10 M snapshot rows
latest_day as (
    select
        platform,
        post_id,
        max(data_date) as data_date
    from snapshots
    group by platform, post_id
),

latest as (
    select snapshots.*
    from snapshots
    inner join latest_day
        on
            snapshots.platform = latest_day.platform
            and snapshots.post_id = latest_day.post_id
            and snapshots.data_date = latest_day.data_date
)

select * from latest
