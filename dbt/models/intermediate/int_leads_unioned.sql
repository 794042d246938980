-- One row per lead of either CRM in its CURRENT state (the status row with the latest
-- update time), with the status decoded from lead_status_codes.
-- A table, not a view: int_leads_duplicates_flagged and three data tests read it; as a view each
-- of them recomputed the status dedup of ~2.8 M CRM rows (national bench: ~35 s of tests).
-- Incremental by lead (see mp_changed_leads in macros/incremental.sql): a run recomputes every
-- lead with a status row on a source-day the ingest (re-)loaded since the last build, and every
-- lead whose current row came from such a day; a lead is a function of its own rows only, so
-- this equals a full rebuild. A change of the lead_status_codes seed needs --full-refresh.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='lead_key',
    post_hook=[
        "{{ mp_delete_vanished_leads(mp_raw_leads()) }}",
        "{{ mp_record_watermark(mp_lead_sources()) }}",
    ],
) }}
{%- set columns = ['crm_system', 'clue_id', 'dealer_code', 'phone_hash', 'phone_masked', 'phone_is_valid',
                   'series_code', 'model_code', 'channel_name', 'source_platform', 'source_account_id',
                   'source_content_id', 'campaign_code', 'created_at', 'distributed_at', 'first_follow_at',
                   'arrived_at', 'test_drive_at', 'ordered_at', 'delivered_at', 'lead_status',
                   'defeat_reason', 'is_invalid_flag', 'invalid_type', 'updated_at', 'data_date'] %}
{%- if is_incremental() %}
{%- set changed_days = mp_changed_days(mp_lead_sources(), mp_watermark()) %}
{%- endif %}
with dcc as (
    select {{ columns | join(', ') }}
    from {{ ref('stg_crm__dcc_leads') }}
    where
        is_latest_status
        {%- if is_incremental() %}
        and {{ mp_changed_clue_ids('dcc', 'clue_id', changed_days, this) }}
        {%- endif %}
),

legacy as (
    select {{ columns | join(', ') }}
    from {{ ref('stg_crm__legacy_leads') }}
    where
        is_latest_status
        {%- if is_incremental() %}
        and {{ mp_changed_clue_ids('legacy', 'clue_id', changed_days, this) }}
        {%- endif %}
),

status_codes as (
    select * from {{ ref('lead_status_codes') }}
),

unioned as (
    select * from dcc
    union all
    select * from legacy
),

decoded as (
    select
        {{ surrogate_key(['unioned.crm_system', 'unioned.clue_id']) }} as lead_key,
        unioned.*,
        cast(unioned.created_at as date) as created_date,
        coalesce(status_codes.status_name, unioned.lead_status) as current_status,
        coalesce(status_codes.stage_order, 0) as stage_order,
        coalesce(status_codes.is_defeated, false) as status_is_defeated,
        coalesce(status_codes.is_invalid, false) as status_is_invalid
    from unioned
    left join status_codes
        on
            unioned.crm_system = status_codes.crm_system
            and unioned.lead_status = status_codes.status_code
)

select * from decoded
