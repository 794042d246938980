-- Duplicate leads across both CRMs: a lead is a duplicate when the same phone (HMAC hash)
-- asked about the same series within {{ var('duplicate_window_days') }} days after an earlier
-- lead (any earlier lead, itself a duplicate or not; ties broken by CRM and clue id).
-- Leads without a valid phone or series cannot be matched and are never duplicates.
-- A table, not a view: fct_leads and two data tests read it (national bench: ~90 s of tests on the view).
{{ config(materialized='table') }}
with leads as (
    select * from {{ ref('int_leads_unioned') }}
),

matchable as (
    select
        lead_key,
        created_at,
        lag(created_at) over (
            partition by phone_hash, series_code order by created_at, crm_system, clue_id
        ) as previous_created_at
    from leads
    where phone_hash is not null and series_code is not null and created_at is not null
),

flags as (
    select
        lead_key,
        previous_created_at,
        coalesce(
            created_at <= {{ dbt.dateadd('day', var('duplicate_window_days'), 'previous_created_at') }},
            false
        ) as is_duplicate
    from matchable
),

final as (
    select
        leads.*,
        flags.previous_created_at as previous_same_interest_at,
        coalesce(flags.is_duplicate, false) as is_duplicate
    from leads
    left join flags on leads.lead_key = flags.lead_key
)

select * from final
