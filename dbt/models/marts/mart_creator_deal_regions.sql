-- One row per creator deal and region whose dealers received the deal's leads
-- (int_creator_deal_leads_attributed, by the lead's dealer's region): a regional pack shows
-- only the deals that reached its dealers. Sums over a deal's regions equal the deal's
-- leads, valid_leads and orders in mart_creator_roi.
with attributed as (
    select * from {{ ref('int_creator_deal_leads_attributed') }}
),

deals as (
    select
        deal_key,
        quarter_label
    from {{ ref('mart_creator_roi') }}
),

final as (
    select
        cast(attributed.deal_key as varchar) as deal_key,
        cast(deals.quarter_label as varchar) as quarter_label,
        cast(attributed.region as varchar) as region,
        cast(count(*) as bigint) as leads,
        cast(sum(case when attributed.is_valid then 1 else 0 end) as bigint) as valid_leads,
        cast(sum(case when attributed.is_valid_with_order then 1 else 0 end) as bigint) as orders
    from attributed
    inner join deals on attributed.deal_key = deals.deal_key
    group by attributed.deal_key, deals.quarter_label, attributed.region
)

select * from final
