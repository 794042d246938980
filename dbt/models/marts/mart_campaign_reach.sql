-- 跨平台联动, per campaign: the sums of its mart_campaign_platforms rows, the matrix platforms it
-- ran on (a creator deal or a lead there; 'other' channels are not a platform of the matrix)
-- and the tiers involved. is_single_platform: it ran on one platform only.
--   cost_per_valid_lead = creator_cost_yuan / valid_leads
with cells as (
    select * from {{ ref('mart_campaign_platforms') }}
),

campaigns as (
    select * from {{ ref('dim_campaign') }}
),

tiers as (
    select campaign_code, matrix_tier from {{ ref('mart_creator_roi') }}
    union
    select campaign_code, source_matrix_tier as matrix_tier
    from {{ ref('fct_leads') }}
    where campaign_code is not null and source_matrix_tier <> 'none'
),

tier_lists as (
    select
        campaign_code,
        string_agg(matrix_tier, ',' order by matrix_tier) as tiers
    from tiers
    group by campaign_code
),

summed as (
    select
        campaign_code,
        string_agg(platform, ',' order by platform) filter (where platform <> 'other') as platforms,
        count(*) filter (where platform <> 'other') as n_platforms,
        sum(creator_deals) as creator_deals,
        sum(creator_cost_yuan) as creator_cost_yuan,
        sum(exposure) as exposure,
        sum(engagements) as engagements,
        sum(leads) as leads,
        sum(valid_leads) as valid_leads,
        sum(orders) as orders
    from cells
    group by campaign_code
),

final as (
    select
        cast(summed.campaign_code as varchar) as campaign_code,
        cast(campaigns.campaign_name as varchar) as campaign_name,
        cast(campaigns.starts_on as date) as starts_on,
        cast(campaigns.ends_on as date) as ends_on,
        cast(summed.platforms as varchar) as platforms,
        cast(summed.n_platforms as integer) as n_platforms,
        cast(summed.n_platforms = 1 as boolean) as is_single_platform,
        cast(tier_lists.tiers as varchar) as tiers,
        cast(summed.creator_deals as bigint) as creator_deals,
        cast(summed.creator_cost_yuan as float8) as creator_cost_yuan,
        cast(summed.exposure as bigint) as exposure,
        cast(summed.engagements as bigint) as engagements,
        cast(summed.leads as bigint) as leads,
        cast(summed.valid_leads as bigint) as valid_leads,
        cast(summed.orders as bigint) as orders,
        cast(summed.creator_cost_yuan / nullif(summed.valid_leads, 0) as float8) as cost_per_valid_lead
    from summed
    left join campaigns on summed.campaign_code = campaigns.campaign_code
    left join tier_lists on summed.campaign_code = tier_lists.campaign_code
)

select * from final
