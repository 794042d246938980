-- 跨平台联动, per platform: one row per campaign and platform on which it had a creator deal
-- (mart_creator_roi) or a lead (fct_leads carrying the campaign code, by its source platform;
-- 'other' = a channel outside the matrix platforms). exposure and engagements are the creator
-- deals' deliverables (NULL when none of them loaded: unknown, not 0); leads / valid_leads /
-- orders are every lead of the campaign from the platform (orders among valid leads).
--   cost_per_valid_lead = creator_cost_yuan / valid_leads
with deals as (
    select
        campaign_code,
        platform,
        count(*) as creator_deals,
        sum(cost_yuan) as creator_cost_yuan,
        sum(exposure) as exposure,
        sum(engagements) as engagements
    from {{ ref('mart_creator_roi') }}
    group by campaign_code, platform
),

leads as (
    select
        campaign_code,
        source_platform as platform,
        count(*) as leads,
        count(*) filter (where is_valid) as valid_leads,
        count(*) filter (where is_valid and ordered_at is not null) as orders
    from {{ ref('fct_leads') }}
    where campaign_code is not null
    group by campaign_code, source_platform
),

tiers as (
    select campaign_code, platform, matrix_tier from {{ ref('mart_creator_roi') }}
    union
    select campaign_code, source_platform as platform, source_matrix_tier as matrix_tier
    from {{ ref('fct_leads') }}
    where campaign_code is not null and source_matrix_tier <> 'none'
),

tier_lists as (
    select
        campaign_code,
        platform,
        string_agg(matrix_tier, ',' order by matrix_tier) as tiers
    from tiers
    group by campaign_code, platform
),

cells as (
    select campaign_code, platform from deals
    union
    select campaign_code, platform from leads
),

final as (
    select
        cast(cells.campaign_code as varchar) as campaign_code,
        cast(cells.platform as varchar) as platform,
        cast(tier_lists.tiers as varchar) as tiers,
        cast(coalesce(deals.creator_deals, 0) as bigint) as creator_deals,
        cast(coalesce(deals.creator_cost_yuan, 0) as float8) as creator_cost_yuan,
        cast(deals.exposure as bigint) as exposure,
        cast(deals.engagements as bigint) as engagements,
        cast(coalesce(leads.leads, 0) as bigint) as leads,
        cast(coalesce(leads.valid_leads, 0) as bigint) as valid_leads,
        cast(coalesce(leads.orders, 0) as bigint) as orders,
        cast(coalesce(deals.creator_cost_yuan, 0) / nullif(leads.valid_leads, 0) as float8) as cost_per_valid_lead
    from cells
    left join deals on cells.campaign_code = deals.campaign_code and cells.platform = deals.platform
    left join leads on cells.campaign_code = leads.campaign_code and cells.platform = leads.platform
    left join tier_lists on cells.campaign_code = tier_lists.campaign_code and cells.platform = tier_lists.platform
)

select * from final
