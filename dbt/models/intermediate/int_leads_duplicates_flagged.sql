-- Duplicate leads across both CRMs: a lead is a duplicate when the same phone (HMAC hash)
-- asked about the same series within {{ var('duplicate_window_days') }} days after an earlier
-- lead (any earlier lead, itself a duplicate or not; ties broken by CRM and clue id).
-- Leads without a valid phone or series cannot be matched and are never duplicates.
-- A table, not a view: fct_leads and two data tests read it (national bench: ~90 s of tests on the view).
-- Incremental by (phone hash, series): the flag of a lead depends only on the leads of its
-- (phone_hash, series_code) partition, so a run recomputes every partition a changed lead (see
-- mp_changed_leads in macros/incremental.sql) is in now or was in at the last build, whole;
-- that equals a full rebuild whatever the dates (a late lead can make a later one a duplicate
-- or stop being one itself). Each row carries when it was written (mp_built_at; NULL in the rows of
-- a table an earlier version built, hence append_new_columns), for fct_leads.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='lead_key',
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ mp_delete_vanished_leads(ref('int_leads_unioned')) }}",
        "{{ mp_record_watermark(mp_lead_sources()) }}",
    ],
) }}
{%- if is_incremental() %}
{%- set changed_days = mp_changed_days(mp_lead_sources(), mp_watermark()) %}
{%- endif %}
with
{%- if is_incremental() %}
changed_leads as (
    {{ mp_changed_leads(changed_days, this) }}
),

-- joins, not IN subqueries under an OR (which DuckDB runs as mark joins over every lead)
touched_partitions as (
    select leads.phone_hash, leads.series_code
    from {{ ref('int_leads_unioned') }} as leads
    inner join changed_leads on leads.crm_system = changed_leads.crm_system and leads.clue_id = changed_leads.clue_id
    union
    select leads.phone_hash, leads.series_code
    from {{ this }} as leads
    inner join changed_leads on leads.crm_system = changed_leads.crm_system and leads.clue_id = changed_leads.clue_id
),

recomputed_keys as (
    select leads.lead_key
    from {{ ref('int_leads_unioned') }} as leads
    inner join changed_leads on leads.crm_system = changed_leads.crm_system and leads.clue_id = changed_leads.clue_id
    union
    select leads.lead_key
    from {{ ref('int_leads_unioned') }} as leads
    inner join touched_partitions
        on leads.phone_hash = touched_partitions.phone_hash and leads.series_code = touched_partitions.series_code
),
{%- endif %}

leads as (
    select * from {{ ref('int_leads_unioned') }}
    {%- if is_incremental() %}
    where lead_key in (select lead_key from recomputed_keys)
    {%- endif %}
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
        coalesce(flags.is_duplicate, false) as is_duplicate,
        -- when this row was (re)written: fct_leads recomputes the rows written since its own build
        cast(current_timestamp as timestamp) as mp_built_at
    from leads
    left join flags on leads.lead_key = flags.lead_key
)

select * from final
