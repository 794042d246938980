-- One row per WeChat OA article (msgid) and data day. DAILY values (not cumulative):
-- views = read_count (阅读次数), read_user = readers.
with source as (
    select * from {{ source('wechat', 'wechat_oa_articles') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by msgid, data_date order by loaded_at desc, source_row desc
        ) as row_rank
    from source
    where msgid is not null
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
        data_date,
        source_file,
        source_row,
        loaded_at
    from ranked
    where row_rank = 1
)

select * from renamed
