-- The daily cumulative snapshots of every post on every platform whose counters are
-- cumulative since publication, in one shape (a metric a platform does not report is NULL).
-- Incremental by source-day (see macros/incremental.sql): a run deletes the platform-days the
-- ingest (re-)loaded since the last build and appends them again from staging, whose dedup
-- window is partitioned by day, so only those days are read. A table, not a view: the deltas,
-- dim_content and the tests read it several times, and a view recomputed the staging dedup
-- of ~10 M rows each time.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ mp_delete_changed_days('platform', 'data_date', mp_content_sources()) }}",
    post_hook="{{ mp_record_watermark(mp_content_sources()) }}",
) }}
{%- set changed_days = mp_changed_days(mp_content_sources(), mp_watermark()) if is_incremental() else [] %}
{%- set metrics = ['impressions', 'views', 'likes', 'comments', 'shares', 'saves', 'coins', 'danmaku',
                   'follower_gain'] %}
{%- set inputs = {
    'stg_douyin__posts': ['views', 'likes', 'comments', 'shares', 'saves', 'follower_gain'],
    'stg_kuaishou__posts': ['views', 'likes', 'comments', 'shares', 'saves', 'follower_gain'],
    'stg_xiaohongshu__notes': ['impressions', 'views', 'likes', 'comments', 'shares', 'saves', 'follower_gain'],
    'stg_weibo__posts': ['views', 'likes', 'comments', 'shares'],
    'stg_bilibili__videos': ['views', 'likes', 'comments', 'shares', 'saves', 'coins', 'danmaku'],
    'stg_wechat__channels_posts': ['views', 'likes', 'comments', 'shares', 'saves', 'follower_gain'],
} %}
{%- set platform_of = {
    'stg_douyin__posts': 'douyin', 'stg_kuaishou__posts': 'kuaishou', 'stg_xiaohongshu__notes': 'xiaohongshu',
    'stg_weibo__posts': 'weibo', 'stg_bilibili__videos': 'bilibili', 'stg_wechat__channels_posts': 'wechat_channels',
} %}
with
{%- for model, reported in inputs.items() %}
{{ model }} as (
    select
        platform,
        post_id,
        account_id,
        title,
        content_type,
        published_at,
        data_date,
        {%- for m in metrics %}
        {% if m in reported %}cast({{ m }} as bigint){% else %}cast(null as bigint){% endif %} as {{ m }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref(model) }}
    {%- if is_incremental() %}
    -- one platform per input: a plain filter on the day reaches the staging window's partition
    where {{ mp_in_days("'" ~ platform_of[model] ~ "'", 'data_date', changed_days) }}
    {%- endif %}
),
{%- endfor %}

unioned as (
    {%- for model in inputs %}
    select * from {{ model }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from unioned
