-- 全员矩阵 per quarter and advocacy tier (dbt var playbook_advocacy_tiers): its roster accounts
-- (mart_publishing_rhythm), those that posted in every week of the quarter, and the tier's
-- contribution: exposure of its posts by the tier of the day (fct_content_daily) over all
-- exposure, and leads whose source account had the tier on the creation day (fct_leads) over
-- all leads of the quarter.
--   weekly_posting_share = accounts_posting_every_week / accounts
--   exposure_share = exposure / total_exposure;  lead_share = attributed_leads / total_leads
with tiers as (
    {%- for tier in var('playbook_advocacy_tiers') %}
        select '{{ tier }}' as matrix_tier
        {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

rhythm as (
    select
        quarter_label,
        matrix_tier,
        count(*) as accounts,
        count(*) filter (where weeks_posted = weeks_in_quarter) as accounts_posting_every_week
    from {{ ref('mart_publishing_rhythm') }}
    group by quarter_label, matrix_tier
),

exposure as (
    select
        dates.quarter_label,
        content.matrix_tier,
        sum(content.exposure) as exposure
    from {{ ref('int_content_summed_by_account_day') }} as content
    inner join {{ ref('dim_date') }} as dates on content.date_day = dates.date_day
    group by dates.quarter_label, content.matrix_tier
),

leads as (
    select
        dates.quarter_label,
        leads.source_matrix_tier as matrix_tier,
        count(*) as leads
    from {{ ref('fct_leads') }} as leads
    inner join {{ ref('dim_date') }} as dates on leads.created_date = dates.date_day
    group by dates.quarter_label, leads.source_matrix_tier
),

quarters as (
    select
        quarter_label,
        sum(exposure) as total_exposure
    from exposure
    group by quarter_label
),

lead_totals as (
    select
        quarter_label,
        sum(leads) as total_leads
    from leads
    group by quarter_label
),

final as (
    select
        cast(quarters.quarter_label as varchar) as quarter_label,
        cast(tiers.matrix_tier as varchar) as matrix_tier,
        cast(coalesce(rhythm.accounts, 0) as bigint) as accounts,
        cast(coalesce(rhythm.accounts_posting_every_week, 0) as bigint) as accounts_posting_every_week,
        cast(rhythm.accounts_posting_every_week * 1.0 / nullif(rhythm.accounts, 0) as float8)
            as weekly_posting_share,
        cast(coalesce(exposure.exposure, 0) as bigint) as exposure,
        cast(quarters.total_exposure as bigint) as total_exposure,
        cast(coalesce(exposure.exposure, 0) * 1.0 / nullif(quarters.total_exposure, 0) as float8)
            as exposure_share,
        cast(coalesce(leads.leads, 0) as bigint) as attributed_leads,
        cast(coalesce(lead_totals.total_leads, 0) as bigint) as total_leads,
        cast(coalesce(leads.leads, 0) * 1.0 / nullif(lead_totals.total_leads, 0) as float8) as lead_share
    from quarters
    cross join tiers
    left join rhythm on quarters.quarter_label = rhythm.quarter_label and tiers.matrix_tier = rhythm.matrix_tier
    left join exposure
        on quarters.quarter_label = exposure.quarter_label and tiers.matrix_tier = exposure.matrix_tier
    left join leads on quarters.quarter_label = leads.quarter_label and tiers.matrix_tier = leads.matrix_tier
    left join lead_totals on quarters.quarter_label = lead_totals.quarter_label
)

select * from final
