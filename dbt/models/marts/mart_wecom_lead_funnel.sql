-- One row per quarter (of the lead's creation) and dealer: the valid leads that became a WeCom
-- contact (a remark_mobiles phone of any loaded contact has the lead's phone hash) and how their
-- funnel compares with the valid leads that did not. Formulas (also in _wecom__marts.yml):
--   valid_leads              = valid_leads_wecom + valid_leads_other (fct_leads.is_valid);
--   wecom_share              = valid_leads_wecom / valid_leads;
--   <stage>_wecom / _other   = valid leads of the group that reached arrival, test drive, order,
--                              delivery (their milestone time is set);
--   <stage>_rate_wecom/other = <stage>_<group> / valid_leads_<group>.
with leads as (
    select
        fct_leads.lead_key,
        fct_leads.dealer_code,
        fct_leads.region,
        fct_leads.created_date,
        fct_leads.arrived_at is not null as arrived,
        fct_leads.test_drive_at is not null as test_drove,
        fct_leads.ordered_at is not null as ordered,
        fct_leads.delivered_at is not null as delivered,
        flagged.phone_hash
    from {{ ref('fct_leads') }} as fct_leads
    inner join {{ ref('int_leads_duplicates_flagged') }} as flagged on fct_leads.lead_key = flagged.lead_key
    where fct_leads.is_valid
),

wecom_phones as (
    select distinct phone_hash from {{ ref('stg_wecom__contact_mobiles') }} where phone_hash is not null
),

dates as (
    select date_day, quarter_label from {{ ref('dim_date') }}
),

marked as (
    select
        leads.*,
        dates.quarter_label,
        wecom_phones.phone_hash is not null as is_wecom_contact
    from leads
    inner join dates on leads.created_date = dates.date_day
    left join wecom_phones on leads.phone_hash = wecom_phones.phone_hash
),

counted as (
    select
        quarter_label,
        coalesce(dealer_code, 'none') as dealer_code,
        min(region) as region,
        count(*) as valid_leads,
        {% for group, cond in [('wecom', 'is_wecom_contact'), ('other', 'not is_wecom_contact')] %}
        count(*) filter (where {{ cond }}) as valid_leads_{{ group }},
        count(*) filter (where {{ cond }} and arrived) as arrivals_{{ group }},
        count(*) filter (where {{ cond }} and test_drove) as test_drives_{{ group }},
        count(*) filter (where {{ cond }} and ordered) as orders_{{ group }},
        count(*) filter (where {{ cond }} and delivered) as deliveries_{{ group }}{{ ',' if not loop.last }}
        {% endfor %}
    from marked
    group by 1, 2
),

final as (
    select
        cast(quarter_label as varchar) as quarter_label,
        cast(dealer_code as varchar) as dealer_code,
        cast(region as varchar) as region,
        cast(valid_leads as bigint) as valid_leads,
        cast(valid_leads_wecom as bigint) as valid_leads_wecom,
        cast(valid_leads_other as bigint) as valid_leads_other,
        cast({{ safe_divide('valid_leads_wecom', 'valid_leads') }} as float8) as wecom_share,
        {% for group in ['wecom', 'other'] %}
        {% for stage in ['arrivals', 'test_drives', 'orders', 'deliveries'] %}
        cast({{ stage }}_{{ group }} as bigint) as {{ stage }}_{{ group }},
        cast({{ safe_divide(stage ~ '_' ~ group, 'valid_leads_' ~ group) }} as float8) as {{ stage }}_rate_{{ group }}{{ ',' if not (loop.last and group == 'other') }}
        {% endfor %}
        {% endfor %}
    from counted
)

select * from final
