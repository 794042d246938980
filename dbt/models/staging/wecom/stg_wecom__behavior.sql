-- One row per consultant and day: WeCom's contact-behaviour figures.
--   reply_rate         = reply_percentage / 100 (NULL on a day without chats);
--   avg_reply_minutes  = avg_reply_time as exported (minutes; NULL likewise).
with source as (
    select * from {{ source('wecom', 'wecom_behavior') }}
),

deduplicated as (
    {{ latest_delivery('source', ['userid', 'data_date'], 'userid') }}
),

renamed as (
    select
        userid,
        data_date as stat_date,
        new_apply_cnt as new_applies,
        new_contact_cnt as new_contacts_reported,
        coalesce(chat_cnt, 0) as chats,
        coalesce(message_cnt, 0) as messages,
        reply_percentage / 100.0 as reply_rate,
        avg_reply_minutes,
        coalesce(negative_feedback_cnt, 0) as negative_feedback,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
