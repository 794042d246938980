-- One row per quarter, platform, creator account and campaign with a paid deal
-- (creator_costs, by publication date): the cost against what the account's campaign
-- content (dim_content.campaign_code) did in the quarter and the valid leads the CRMs
-- attribute to the account and campaign. Formulas in _marts__models.yml.
with dates as (
    select
        date_day,
        quarter_label
    from {{ ref('dim_date') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

deals as (
    select
        dates.quarter_label,
        costs.platform,
        costs.account_id,
        costs.campaign_code,
        sum(costs.cost_yuan) as cost_yuan,
        max(accounts.account_name) as account_name,
        max(coalesce(accounts.matrix_tier, '未登记')) as matrix_tier
    from {{ ref('stg_reference__creator_costs') }} as costs
    inner join dates on costs.published_on = dates.date_day
    left join accounts
        on
            costs.platform = accounts.platform
            and costs.account_id = accounts.account_id
            and costs.published_on >= accounts.valid_from
            and costs.published_on < accounts.valid_to
    group by dates.quarter_label, costs.platform, costs.account_id, costs.campaign_code
),

content as (
    select
        dates.quarter_label,
        facts.platform,
        facts.account_id,
        items.campaign_code,
        sum(facts.exposure) as exposure,
        sum(facts.views) as views,
        sum(facts.engagements) as engagements
    from {{ ref('fct_content_daily') }} as facts
    inner join {{ ref('dim_content') }} as items on facts.content_key = items.content_key
    inner join dates on facts.date_day = dates.date_day
    where items.campaign_code is not null
    group by dates.quarter_label, facts.platform, facts.account_id, items.campaign_code
),

leads as (
    select
        dates.quarter_label,
        facts.source_platform as platform,
        facts.source_account_id as account_id,
        facts.campaign_code,
        sum(case when facts.is_valid then 1 else 0 end) as valid_leads
    from {{ ref('fct_leads') }} as facts
    inner join dates on facts.created_date = dates.date_day
    where facts.source_account_id is not null and facts.campaign_code is not null
    group by dates.quarter_label, facts.source_platform, facts.source_account_id, facts.campaign_code
),

final as (
    select
        cast(deals.quarter_label as varchar) as quarter_label,
        cast(deals.platform as varchar) as platform,
        cast(deals.account_id as varchar) as account_id,
        cast(deals.account_name as varchar) as account_name,
        cast(deals.matrix_tier as varchar) as matrix_tier,
        cast(deals.campaign_code as varchar) as campaign_code,
        cast(deals.cost_yuan as float8) as cost_yuan,
        cast(coalesce(content.exposure, 0) as bigint) as exposure,
        cast(coalesce(content.views, 0) as bigint) as views,
        cast(coalesce(content.engagements, 0) as bigint) as engagements,
        cast(coalesce(leads.valid_leads, 0) as bigint) as valid_leads,
        {{ safe_divide('deals.cost_yuan * 1000', 'content.exposure') }} as cpm_yuan,
        {{ safe_divide('deals.cost_yuan', 'content.engagements') }} as cpe_yuan,
        {{ safe_divide('deals.cost_yuan', 'leads.valid_leads') }} as cost_per_valid_lead
    from deals
    left join content
        on
            deals.quarter_label = content.quarter_label
            and deals.platform = content.platform
            and deals.account_id = content.account_id
            and deals.campaign_code = content.campaign_code
    left join leads
        on
            deals.quarter_label = leads.quarter_label
            and deals.platform = leads.platform
            and deals.account_id = leads.account_id
            and deals.campaign_code = leads.campaign_code
)

select * from final
