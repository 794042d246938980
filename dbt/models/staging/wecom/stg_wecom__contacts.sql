-- One row per external contact a consultant added (external_userid only as its keyed hash).
--   state_kind   = live / post / campaign by the channel QR's prefix (live_, post_, cmp_),
--                  'other' for any other text, 'none' when empty;
--   state_target = the live room ID, post ID or campaign code after the prefix.
with source as (
    select * from {{ source('wecom', 'wecom_contacts') }}
),

deduplicated as (
    {{ latest_delivery('source', ['external_userid_hash', 'userid', 'data_date'], 'external_userid_hash') }}
),

renamed as (
    select
        external_userid_hash,
        userid,
        added_at,
        add_way,
        trim(state) as state,
        case
            when nullif(trim(state), '') is null then 'none'
            when starts_with(trim(state), 'live_') then 'live'
            when starts_with(trim(state), 'post_') then 'post'
            when starts_with(trim(state), 'cmp_') then 'campaign'
            else 'other'
        end as state_kind,
        case
            when starts_with(trim(state), 'live_') then substr(trim(state), 6)
            when starts_with(trim(state), 'post_') then substr(trim(state), 6)
            when starts_with(trim(state), 'cmp_') then substr(trim(state), 5)
        end as state_target,
        {{ lineage_columns() }}
    from deduplicated
)

select * from renamed
