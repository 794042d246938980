-- One row per WeChat OA article (msgid) and data day. DAILY values (not cumulative):
-- views = read_count (阅读次数), read_user = readers.
with source as (
    select * from {{ source('wechat', 'wechat_oa_articles') }}
),

deduplicated as (
    {{ latest_delivery('source', ['msgid', 'data_date'], 'msgid') }}
),

renamed as (
    select
        'wechat_oa' as platform,
        msgid as post_id,
        account_id,
        title,
        published_at,
        '图文' as content_type,
        ref_date,
        read_user,
        views,
        shares,
        likes,
        zaikan,
        comments,
        saves,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
