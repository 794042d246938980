-- One row per quarter, dealer and WeCom consultant (私域运营): the contacts the consultant added
-- and how they chatted, on the days the export loaded. The dealer is the member's department
-- in the same day's member list. Formulas (also in _wecom__marts.yml):
--   new_contacts          = contacts added (rows of stg_wecom__contacts) in the quarter;
--   chats, messages, negative_feedback = sums of the daily figures;
--   chats_with_reply_figures = sum(chats) over days that report a reply rate;
--   reply_rate            = sum(reply_rate * chats) / chats_with_reply_figures;
--   avg_reply_minutes     = sum(avg_reply_minutes * chats) / the same chats (chat-weighted);
--   contacts_from_live / _post / _campaign = contacts whose QR state names a live room in
--       fct_live_sessions, a post in dim_content, a campaign in dim_campaign;
--   contacts_unattributed = the rest (empty state, unknown text, an ID the warehouse does not
--       know): the four add up to new_contacts.
with dates as (
    select date_day, quarter_label from {{ ref('dim_date') }}
),

members as (
    select userid, data_date, dealer_code from {{ ref('stg_wecom__members') }}
),

dealers as (
    select dealer_code, region from {{ ref('dim_dealer') }}
),

live_rooms as (
    select distinct live_id from {{ ref('fct_live_sessions') }}
),

posts as (
    select distinct post_id from {{ ref('dim_content') }}
),

campaigns as (
    select distinct campaign_code from {{ ref('dim_campaign') }}
),

contacts as (
    select
        contacts.userid,
        contacts.data_date,
        case
            when contacts.state_kind = 'live' and live_rooms.live_id is not null then 'live'
            when contacts.state_kind = 'post' and posts.post_id is not null then 'post'
            when contacts.state_kind = 'campaign' and campaigns.campaign_code is not null then 'campaign'
            else 'unattributed'
        end as attributed_to
    from {{ ref('stg_wecom__contacts') }} as contacts
    left join live_rooms on contacts.state_kind = 'live' and contacts.state_target = live_rooms.live_id
    left join posts on contacts.state_kind = 'post' and contacts.state_target = posts.post_id
    left join campaigns
        on contacts.state_kind = 'campaign' and contacts.state_target = campaigns.campaign_code
),

contact_days as (
    select
        userid,
        data_date,
        count(*) as new_contacts,
        count(*) filter (where attributed_to = 'live') as contacts_from_live,
        count(*) filter (where attributed_to = 'post') as contacts_from_post,
        count(*) filter (where attributed_to = 'campaign') as contacts_from_campaign,
        count(*) filter (where attributed_to = 'unattributed') as contacts_unattributed
    from contacts
    group by userid, data_date
),

behavior_days as (
    select
        userid,
        stat_date as data_date,
        chats,
        messages,
        negative_feedback,
        case when reply_rate is not null then chats else 0 end as rated_chats,
        -- exact decimals, so that the period's sums below do not depend on the order in which
        -- the database's threads add them up: summed as doubles, a rebuild of the same rows
        -- changed the last bits of most reply rates (demo: 339 of 462 rows differed between two
        -- runs of this SQL), and every build rewrote the published table
        coalesce(cast(reply_rate * chats as decimal(38, 18)), 0) as replied_chats,
        coalesce(cast(avg_reply_minutes * chats as decimal(38, 18)), 0) as reply_minutes_weighted
    from {{ ref('stg_wecom__behavior') }}
),

consultant_days as (
    select
        coalesce(b.userid, c.userid) as userid,
        coalesce(b.data_date, c.data_date) as data_date,
        coalesce(c.new_contacts, 0) as new_contacts,
        coalesce(c.contacts_from_live, 0) as contacts_from_live,
        coalesce(c.contacts_from_post, 0) as contacts_from_post,
        coalesce(c.contacts_from_campaign, 0) as contacts_from_campaign,
        coalesce(c.contacts_unattributed, 0) as contacts_unattributed,
        coalesce(b.chats, 0) as chats,
        coalesce(b.messages, 0) as messages,
        coalesce(b.negative_feedback, 0) as negative_feedback,
        coalesce(b.rated_chats, 0) as rated_chats,
        coalesce(b.replied_chats, 0) as replied_chats,
        coalesce(b.reply_minutes_weighted, 0) as reply_minutes_weighted
    from behavior_days as b
    full outer join contact_days as c on b.userid = c.userid and b.data_date = c.data_date
),

final as (
    select
        cast(dates.quarter_label as varchar) as quarter_label,
        cast(coalesce(members.dealer_code, 'HQ') as varchar) as dealer_code,
        cast(coalesce(dealers.region, '总部') as varchar) as region,
        cast(d.userid as varchar) as userid,
        cast(sum(d.new_contacts) as bigint) as new_contacts,
        cast(sum(d.chats) as bigint) as chats,
        cast(sum(d.messages) as bigint) as messages,
        cast(sum(d.negative_feedback) as bigint) as negative_feedback,
        -- the weight of the two averages below, so a dealer or region can re-aggregate them
        cast(sum(d.rated_chats) as bigint) as chats_with_reply_figures,
        cast(sum(d.replied_chats) / nullif(sum(d.rated_chats), 0) as float8) as reply_rate,
        cast(sum(d.reply_minutes_weighted) / nullif(sum(d.rated_chats), 0) as float8) as avg_reply_minutes,
        cast(sum(d.contacts_from_live) as bigint) as contacts_from_live,
        cast(sum(d.contacts_from_post) as bigint) as contacts_from_post,
        cast(sum(d.contacts_from_campaign) as bigint) as contacts_from_campaign,
        cast(sum(d.contacts_unattributed) as bigint) as contacts_unattributed
    from consultant_days as d
    inner join dates on d.data_date = dates.date_day
    left join members on d.userid = members.userid and d.data_date = members.data_date
    left join dealers on members.dealer_code = dealers.dealer_code
    group by 1, 2, 3, 4
)

select * from final
