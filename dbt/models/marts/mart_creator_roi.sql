-- One row per creator deal (a creator_costs row): its cost against what the creator published
-- for it (int_creator_deals_matched_to_deliverables: posts or, for 直播口播, live sessions in the
-- deal's window) and the leads attributed to it (int_creator_deal_leads_attributed).
-- The deal belongs to the quarter of its 发布日期; its content figures are the deliverables'
-- whole loaded life (a post keeps earning after the quarter ends) and its leads are all leads
-- attributed to it, whenever created. Formulas in _marts__models.yml.
with dates as (
    select
        date_day,
        quarter_label
    from {{ ref('dim_date') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

deliverables as (
    select * from {{ ref('int_creator_deals_matched_to_deliverables') }}
),

deals as (
    select distinct
        deal_key,
        platform,
        account_id,
        campaign_code,
        cooperation_form,
        cost_yuan,
        published_on
    from deliverables
),

post_figures as (
    select
        deliverables.deal_key,
        count(distinct deliverables.deliverable_id) as posts_matched,
        sum(facts.exposure) as exposure,
        sum(facts.views) as views,
        sum(facts.engagements) as engagements
    from deliverables
    left join {{ ref('fct_content_daily') }} as facts
        on deliverables.platform = facts.platform and deliverables.deliverable_id = facts.post_id
    where deliverables.deliverable_kind = 'post'
    group by deliverables.deal_key
),

post_followers as (
    select
        deliverables.deal_key,
        sum(deltas.follower_gain) as follower_gain
    from deliverables
    inner join {{ ref('int_content_deltas_computed') }} as deltas
        on deliverables.platform = deltas.platform and deliverables.deliverable_id = deltas.post_id
    where deliverables.deliverable_kind = 'post'
    group by deliverables.deal_key
),

-- a live session's exposure and views are its 观看人次, its engagements likes + comments
live_figures as (
    select
        deliverables.deal_key,
        count(*) as live_sessions_matched,
        sum(lives.views) as exposure,
        sum(lives.views) as views,
        sum(coalesce(lives.likes, 0) + coalesce(lives.comments, 0)) as engagements,
        sum(lives.follower_gain) as follower_gain
    from deliverables
    inner join {{ ref('fct_live_sessions') }} as lives
        on deliverables.platform = lives.platform and deliverables.deliverable_id = lives.live_id
    where deliverables.deliverable_kind = 'live'
    group by deliverables.deal_key
),

leads as (
    select
        deal_key,
        count(*) as leads,
        sum(case when is_valid then 1 else 0 end) as valid_leads,
        sum(case when is_valid_with_order then 1 else 0 end) as orders
    from {{ ref('int_creator_deal_leads_attributed') }}
    group by deal_key
),

figures as (
    select
        deals.*,
        dates.quarter_label,
        accounts.account_name,
        coalesce(accounts.matrix_tier, '未登记') as matrix_tier,
        coalesce(post_figures.posts_matched, 0) as posts_matched,
        coalesce(live_figures.live_sessions_matched, 0) as live_sessions_matched,
        -- nothing matched (e.g. the day file of the live session never arrived): unknown, not 0
        case when post_figures.deal_key is not null or live_figures.deal_key is not null
            then coalesce(post_figures.exposure, 0) + coalesce(live_figures.exposure, 0)
        end as exposure,
        case when post_figures.deal_key is not null or live_figures.deal_key is not null
            then coalesce(post_figures.views, 0) + coalesce(live_figures.views, 0)
        end as views,
        case when post_figures.deal_key is not null or live_figures.deal_key is not null
            then coalesce(post_figures.engagements, 0) + coalesce(live_figures.engagements, 0)
        end as engagements,
        case when post_figures.deal_key is not null or live_figures.deal_key is not null
            then coalesce(post_followers.follower_gain, 0) + coalesce(live_figures.follower_gain, 0)
        end as follower_gain,
        coalesce(leads.leads, 0) as leads,
        coalesce(leads.valid_leads, 0) as valid_leads,
        coalesce(leads.orders, 0) as orders
    from deals
    inner join dates on deals.published_on = dates.date_day
    left join accounts
        on
            deals.platform = accounts.platform
            and deals.account_id = accounts.account_id
            and deals.published_on >= accounts.valid_from
            and deals.published_on < accounts.valid_to
    left join post_figures on deals.deal_key = post_figures.deal_key
    left join post_followers on deals.deal_key = post_followers.deal_key
    left join live_figures on deals.deal_key = live_figures.deal_key
    left join leads on deals.deal_key = leads.deal_key
),

final as (
    select
        cast(quarter_label as varchar) as quarter_label,
        cast(platform as varchar) as platform,
        cast(account_id as varchar) as account_id,
        cast(account_name as varchar) as account_name,
        cast(matrix_tier as varchar) as matrix_tier,
        cast(campaign_code as varchar) as campaign_code,
        cast(cost_yuan as float8) as cost_yuan,
        cast(exposure as bigint) as exposure,
        cast(views as bigint) as views,
        cast(engagements as bigint) as engagements,
        cast(valid_leads as bigint) as valid_leads,
        {{ safe_divide('cost_yuan * 1000', 'exposure') }} as cpm_yuan,
        {{ safe_divide('cost_yuan', 'engagements') }} as cpe_yuan,
        {{ safe_divide('cost_yuan', 'valid_leads') }} as cost_per_valid_lead,
        cast(deal_key as varchar) as deal_key,
        cast(cooperation_form as varchar) as cooperation_form,
        cast(published_on as date) as published_on,
        cast(posts_matched as bigint) as posts_matched,
        cast(live_sessions_matched as bigint) as live_sessions_matched,
        cast(follower_gain as bigint) as follower_gain,
        cast(leads as bigint) as leads,
        cast(orders as bigint) as orders
    from figures
)

select * from final
