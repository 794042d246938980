-- Creator deals (creator_costs rows) matched to what the creator published for them, the way a
-- creator brief runs: the deal names a publication date (发布日期) and the creator publishes
-- the sponsored content around it.
--   window      = 发布日期 ± var('creator_deal_window_days'), clipped to the campaign's dates;
--   post deals  (every 合作形式 except 直播口播) = ONE post of the deal's account on the deal's
--                platform published in the window: the nearest to 发布日期 (then the earliest)
--                that no other deal claimed. Matching is nearest-first over all (deal, post)
--                pairs: a pair is settled when it is the nearest for both the deal and the post,
--                in var('creator_deal_match_rounds') rounds, so no post serves two deals;
--   直播口播    = every live session of the account started in the window; a session inside
--                the windows of two live-mention deals goes to the nearer deal (then the earlier).
-- One row per deal and deliverable; a deal with nothing published in its window has one row
-- with deliverable_kind NULL (so every deal is here exactly once or once per deliverable).
{{ config(materialized='table') }}
{%- set window = var('creator_deal_window_days') | int %}
{%- set rounds = var('creator_deal_match_rounds') | int %}
with costs as (
    select * from {{ ref('stg_reference__creator_costs') }}
),

campaigns as (
    select * from {{ ref('stg_reference__campaigns') }}
),

deals as (
    select
        {{ surrogate_key(['costs.platform', 'costs.account_id', 'costs.campaign_code', 'costs.published_on']) }}
            as deal_key,
        costs.platform,
        costs.account_id,
        costs.campaign_code,
        costs.deal_type as cooperation_form,
        costs.cost_yuan,
        costs.published_on,
        costs.deal_type = '直播口播' as is_live_mention,
        case
            when campaigns.starts_on > {{ add_days('costs.published_on', -window) }} then campaigns.starts_on
            else cast({{ add_days('costs.published_on', -window) }} as date)
        end as window_starts_on,
        case
            when campaigns.ends_on < {{ add_days('costs.published_on', window) }} then campaigns.ends_on
            else cast({{ add_days('costs.published_on', window) }} as date)
        end as window_ends_on
    from costs
    left join campaigns on costs.campaign_code = campaigns.campaign_code
),

creator_accounts as (
    select distinct
        platform,
        account_id
    from deals
),

posts as (
    select
        snapshots.platform,
        snapshots.post_id,
        snapshots.account_id,
        min(snapshots.published_at) as published_at
    from {{ ref('int_content_snapshots_unioned') }} as snapshots
    inner join creator_accounts
        on snapshots.platform = creator_accounts.platform and snapshots.account_id = creator_accounts.account_id
    group by snapshots.platform, snapshots.post_id, snapshots.account_id
),

post_candidates as (
    select
        deals.deal_key,
        deals.published_on,
        posts.platform,
        posts.post_id,
        posts.published_at,
        abs(cast(posts.published_at as date) - deals.published_on) as distance_days
    from deals
    inner join posts
        on
            deals.platform = posts.platform
            and deals.account_id = posts.account_id
            and cast(posts.published_at as date) between deals.window_starts_on and deals.window_ends_on
    where not deals.is_live_mention
),

{%- for r in range(rounds) %}

-- round {{ r + 1 }}: the pairs whose deal and post are both still open, ranked from each side by
-- one total order (distance, post time, post id, deal date, deal key), so the nearest pair
-- overall is always settled
ranked_{{ r }} as (
    select
        candidates.*,
        row_number() over (
            partition by candidates.deal_key
            order by candidates.distance_days, candidates.published_at, candidates.post_id
        ) as deal_choice,
        row_number() over (
            partition by candidates.platform, candidates.post_id
            order by candidates.distance_days, candidates.published_on, candidates.deal_key
        ) as post_choice
    from post_candidates as candidates
    {%- if r > 0 %}
    where
        not exists (select 1 from settled_{{ r - 1 }} as s where s.deal_key = candidates.deal_key)
        and not exists (
            select 1 from settled_{{ r - 1 }} as s
            where s.platform = candidates.platform and s.post_id = candidates.post_id
        )
    {%- endif %}
),

settled_{{ r }} as (
    {%- if r > 0 %}
    select * from settled_{{ r - 1 }}
    union all
    {%- endif %}
    select
        deal_key,
        platform,
        post_id,
        published_at
    from ranked_{{ r }}
    where deal_choice = 1 and post_choice = 1
),
{%- endfor %}

live_sessions as (
    select platform, live_id, account_id, started_at from {{ ref('stg_live__sessions') }}
    union all
    select platform, live_id, account_id, started_at from {{ ref('stg_wechat__channels_lives') }}
),

live_candidates as (
    select
        deals.deal_key,
        live_sessions.platform,
        live_sessions.live_id,
        live_sessions.started_at,
        row_number() over (
            partition by live_sessions.platform, live_sessions.live_id
            order by abs(cast(live_sessions.started_at as date) - deals.published_on), deals.published_on, deals.deal_key
        ) as session_choice
    from deals
    inner join live_sessions
        on
            deals.platform = live_sessions.platform
            and deals.account_id = live_sessions.account_id
            and cast(live_sessions.started_at as date) between deals.window_starts_on and deals.window_ends_on
    where deals.is_live_mention
),

deliverables as (
    select
        deal_key,
        'post' as deliverable_kind,
        post_id as deliverable_id,
        published_at as deliverable_published_at
    from settled_{{ rounds - 1 }}
    union all
    select
        deal_key,
        'live' as deliverable_kind,
        live_id as deliverable_id,
        started_at as deliverable_published_at
    from live_candidates
    where session_choice = 1
),

final as (
    select
        cast(deals.deal_key as varchar) as deal_key,
        cast(deals.platform as varchar) as platform,
        cast(deals.account_id as varchar) as account_id,
        cast(deals.campaign_code as varchar) as campaign_code,
        cast(deals.cooperation_form as varchar) as cooperation_form,
        cast(deals.cost_yuan as float8) as cost_yuan,
        cast(deals.published_on as date) as published_on,
        cast(deals.window_starts_on as date) as window_starts_on,
        cast(deals.window_ends_on as date) as window_ends_on,
        cast(deliverables.deliverable_kind as varchar) as deliverable_kind,
        cast(deliverables.deliverable_id as varchar) as deliverable_id,
        cast(deliverables.deliverable_published_at as timestamp) as deliverable_published_at
    from deals
    left join deliverables on deals.deal_key = deliverables.deal_key
)

select * from final
