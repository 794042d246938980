-- The daily cumulative snapshots of every post on every platform whose counters are
-- cumulative since publication, in one shape (a metric a platform does not report is NULL).
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
),
{%- endfor %}

unioned as (
    {%- for model in inputs %}
    select * from {{ model }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from unioned
