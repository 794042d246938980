-- Leads attributed to creator deals, each lead to at most one deal, through what the CRM says
-- about the lead's source (as the CRMs have always been read):
--   1. source content: the lead's source content (SourceContentId / 来源内容) is one of the
--      deal's deliverables (a matched post, or a live session of a 直播口播 deal);
--   2. otherwise campaign: the lead's source platform and account are the deal's and its
--      campaign code is the deal's campaign; when the account has several deals in that
--      campaign, the one published nearest the lead's creation day (then the earlier).
-- Any creation date: a deal's leads are the leads its content brought, whenever they came.
-- Reads fct_leads for the one definition of a valid lead and the lead's dealer region.
{{ config(materialized='table') }}
with deliverables as (
    select * from {{ ref('int_creator_deals_matched_to_deliverables') }}
),

deals as (
    select distinct
        deal_key,
        platform,
        account_id,
        campaign_code,
        published_on
    from deliverables
),

leads as (
    select * from {{ ref('fct_leads') }}
),

by_content as (
    select
        leads.lead_key,
        min(deliverables.deal_key) as deal_key
    from leads
    inner join deliverables
        on
            leads.source_platform = deliverables.platform
            and leads.source_content_id = deliverables.deliverable_id
    group by leads.lead_key
),

by_campaign as (
    select
        leads.lead_key,
        deals.deal_key,
        row_number() over (
            partition by leads.lead_key
            order by abs(leads.created_date - deals.published_on), deals.published_on, deals.deal_key
        ) as deal_choice
    from leads
    inner join deals
        on
            leads.source_platform = deals.platform
            and leads.source_account_id = deals.account_id
            and leads.campaign_code = deals.campaign_code
    where not exists (select 1 from by_content where by_content.lead_key = leads.lead_key)
),

attributed as (
    select
        lead_key,
        deal_key,
        'content' as attributed_by
    from by_content
    union all
    select
        lead_key,
        deal_key,
        'campaign' as attributed_by
    from by_campaign
    where deal_choice = 1
),

final as (
    select
        cast(attributed.deal_key as varchar) as deal_key,
        cast(attributed.lead_key as varchar) as lead_key,
        cast(attributed.attributed_by as varchar) as attributed_by,
        cast(leads.region as varchar) as region,
        cast(leads.dealer_code as varchar) as dealer_code,
        cast(leads.created_date as date) as created_date,
        cast(leads.is_valid as boolean) as is_valid,
        cast(leads.is_valid and leads.ordered_at is not null as boolean) as is_valid_with_order
    from attributed
    inner join leads on attributed.lead_key = leads.lead_key
)

select * from final
