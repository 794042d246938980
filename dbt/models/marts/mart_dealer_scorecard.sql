-- One row per quarter and dealer: the dealer's own matrix accounts (counted once, by the dealer
-- their roster entry names on the quarter's last day), the content of the accounts the
-- dealer had that day, and the leads the CRMs assigned to the dealer, created in the quarter
-- (median response over VALID leads, as the headline), ranked within the quarter.
-- Formulas in _marts__models.yml.
with dates as (
    select
        date_day,
        quarter_label
    from {{ ref('dim_date') }}
),

dealers as (
    select * from {{ ref('dim_dealer') }}
),

-- an account counts once per quarter, for the dealer its roster entry names on the quarter's
-- last day (its last roster version of the quarter when it left the roster earlier), so a dealer
-- account that moved dealer counts for the new dealer only; active = published or streamed on
-- any day of the quarter
quarter_ends as (
    select
        quarter_label,
        max(date_day) as quarter_end
    from dates
    group by quarter_label
),

account_quarters as (
    select
        dates.quarter_label,
        facts.platform,
        facts.account_id,
        max(case when facts.is_active then 1 else 0 end) as was_active
    from {{ ref('fct_account_daily') }} as facts
    inner join dates on facts.date_day = dates.date_day
    group by dates.quarter_label, facts.platform, facts.account_id
),

account_versions as (
    select
        account_quarters.quarter_label,
        account_quarters.platform,
        account_quarters.account_id,
        account_quarters.was_active,
        accounts.dealer_code,
        row_number() over (
            partition by account_quarters.quarter_label, account_quarters.platform, account_quarters.account_id
            order by accounts.valid_from desc
        ) as version_rank
    from account_quarters
    inner join quarter_ends on account_quarters.quarter_label = quarter_ends.quarter_label
    inner join {{ ref('dim_account') }} as accounts
        on
            account_quarters.platform = accounts.platform
            and account_quarters.account_id = accounts.account_id
            and accounts.valid_from <= quarter_ends.quarter_end
),

account_days as (
    select
        quarter_label,
        dealer_code,
        count(*) as accounts,
        sum(was_active) as active_accounts
    from account_versions
    where version_rank = 1 and dealer_code is not null
    group by quarter_label, dealer_code
),

content as (
    select
        dates.quarter_label,
        facts.dealer_code,
        sum(facts.exposure) as exposure,
        sum(facts.engagements) as engagements
    from {{ ref('int_content_summed_by_account_day') }} as facts
    inner join dates on facts.date_day = dates.date_day
    where facts.dealer_code is not null
    group by dates.quarter_label, facts.dealer_code
),

leads as (
    select
        dates.quarter_label,
        facts.dealer_code,
        count(*) as leads,
        sum(case when facts.is_valid then 1 else 0 end) as valid_leads,
        sum(case when facts.arrived_at is not null then 1 else 0 end) as arrivals,
        sum(case when facts.ordered_at is not null then 1 else 0 end) as orders,
        sum(case when facts.is_valid and facts.followed_within_24h then 1 else 0 end) as followed_within_24h,
        {{ median('case when facts.is_valid then facts.response_minutes end') }} as median_response_minutes
    from {{ ref('fct_leads') }} as facts
    inner join dates on facts.created_date = dates.date_day
    where facts.dealer_code is not null
    group by dates.quarter_label, facts.dealer_code
),

quarters as (
    select quarter_label from account_days
    union
    select quarter_label from content
    union
    select quarter_label from leads
),

scored as (
    select
        quarters.quarter_label,
        dealers.dealer_code,
        dealers.dealer_name,
        dealers.region,
        dealers.province,
        dealers.city,
        dealers.city_tier,
        cast(coalesce(account_days.accounts, 0) as bigint) as accounts,
        cast(coalesce(account_days.active_accounts, 0) as bigint) as active_accounts,
        cast(coalesce(content.exposure, 0) as bigint) as exposure,
        cast(coalesce(content.engagements, 0) as bigint) as engagements,
        cast(coalesce(leads.leads, 0) as bigint) as leads,
        cast(coalesce(leads.valid_leads, 0) as bigint) as valid_leads,
        cast(coalesce(leads.arrivals, 0) as bigint) as arrivals,
        cast(coalesce(leads.orders, 0) as bigint) as orders,
        {{ safe_divide('leads.orders', 'leads.valid_leads') }} as order_rate,
        cast(leads.median_response_minutes as float8) as median_response_minutes,
        {{ safe_divide('leads.followed_within_24h', 'leads.valid_leads') }} as follow_up_24h_rate
    from quarters
    cross join dealers
    left join account_days
        on quarters.quarter_label = account_days.quarter_label and dealers.dealer_code = account_days.dealer_code
    left join content
        on quarters.quarter_label = content.quarter_label and dealers.dealer_code = content.dealer_code
    left join leads
        on quarters.quarter_label = leads.quarter_label and dealers.dealer_code = leads.dealer_code
),

final as (
    select
        cast(quarter_label as varchar) as quarter_label,
        cast(dealer_code as varchar) as dealer_code,
        cast(dealer_name as varchar) as dealer_name,
        cast(region as varchar) as region,
        cast(province as varchar) as province,
        cast(city as varchar) as city,
        cast(city_tier as varchar) as city_tier,
        accounts,
        active_accounts,
        exposure,
        engagements,
        leads,
        valid_leads,
        arrivals,
        orders,
        order_rate,
        median_response_minutes,
        follow_up_24h_rate,
        cast(rank() over (partition by quarter_label order by leads desc) as bigint) as rank_leads,
        cast(
            rank() over (partition by quarter_label order by coalesce(order_rate, -1) desc) as bigint
        ) as rank_order_rate,
        cast(
            rank() over (
                partition by quarter_label order by coalesce(median_response_minutes, 1e12) asc
            ) as bigint
        ) as rank_response
    from scored
)

select * from final
