-- Accumulating snapshot of leads: one row per lead of either CRM (dcc | legacy) in its
-- latest state, with its milestones, duplicate and validity flags and response time.
--   source_platform     = platform code of ChannelName / 线索来源, 'other' for the rest;
--   source_matrix_tier  = tier of the source account on the lead's creation day
--                         ('none' without a source account, '未登记' when not on the roster);
--   is_invalid          = flagged invalid by the CRM (IsInvalid, status 无效);
--   is_valid            = not invalid, not a duplicate and the phone is a real mobile number;
--   response_minutes    = first follow-up minus distribution (DCC) or creation (legacy), >= 0;
--   followed_within_24h = response_minutes <= 1440.
-- Incremental by lead: a run rewrites the leads int_leads_duplicates_flagged rewrote since this
-- model's last build (its rows carry mp_built_at) and the stored leads whose dealer region, live
-- flag or source-account tier and group the current dimensions now give otherwise (a new dealer
-- list, live session or roster version), and deletes the leads that are gone. A full rebuild
-- wrote ~1.2 M rows every national day for the ~30 k leads a day's dumps change (stop 55).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='lead_key',
    post_hook=[
        "{{ mp_delete_vanished_keys('lead_key', ref('int_leads_duplicates_flagged')) }}",
        "{{ mp_record_watermark(mp_lead_sources()) }}",
    ],
) }}
{%- if is_incremental() %}
{%- set since = mp_watermark() %}
{%- endif %}
with dealers as (
    select * from {{ ref('dim_dealer') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

live_rooms as (
    select distinct live_id from {{ ref('fct_live_sessions') }}
),
{%- if is_incremental() %}

recomputed_keys as (
    select lead_key from {{ ref('int_leads_duplicates_flagged') }}
    {%- if since is not none %}
    where mp_built_at > cast('{{ since.built }}' as timestamp)
    {%- endif %}
    union
    select stored.lead_key
    from {{ this }} as stored
    left join dealers on stored.dealer_code = dealers.dealer_code
    where stored.region is distinct from coalesce(dealers.region, '总部')
    union
    select stored.lead_key
    from {{ this }} as stored
    left join live_rooms on stored.source_content_id = live_rooms.live_id
    where stored.is_from_live is distinct from (live_rooms.live_id is not null)
    union
    select stored.lead_key
    from {{ this }} as stored
    left join accounts
        on
            stored.source_platform = accounts.platform
            and stored.source_account_id = accounts.account_id
            and stored.created_date >= accounts.valid_from
            and stored.created_date < accounts.valid_to
    where stored.source_account_id is not null
        and (
            stored.source_matrix_tier is distinct from coalesce(accounts.matrix_tier, '未登记')
            or stored.source_matrix_group is distinct from coalesce(accounts.matrix_group, '未登记')
        )
),
{%- endif %}

leads as (
    select * from {{ ref('int_leads_duplicates_flagged') }}
    {%- if is_incremental() %}
    where lead_key in (select lead_key from recomputed_keys)
    {%- endif %}
),

enriched as (
    select
        leads.*,
        dealers.region as dealer_region,
        accounts.matrix_tier as account_tier,
        accounts.matrix_group as account_group,
        live_rooms.live_id is not null as content_is_live,
        case
            when leads.first_follow_at is not null
                then greatest(
                    {{ seconds_between('coalesce(leads.distributed_at, leads.created_at)', 'leads.first_follow_at') }}
                    / 60.0,
                    0
                )
        end as response_minutes
    from leads
    left join dealers on leads.dealer_code = dealers.dealer_code
    left join accounts
        on
            leads.source_platform = accounts.platform
            and leads.source_account_id = accounts.account_id
            and leads.created_date >= accounts.valid_from
            and leads.created_date < accounts.valid_to
    left join live_rooms on leads.source_content_id = live_rooms.live_id
),

final as (
    select
        cast(lead_key as varchar) as lead_key,
        cast(crm_system as varchar) as crm_system,
        cast(clue_id as varchar) as clue_id,
        cast(dealer_code as varchar) as dealer_code,
        cast(coalesce(dealer_region, '总部') as varchar) as region,
        cast(series_code as varchar) as series_code,
        cast(source_platform as varchar) as source_platform,
        cast(channel_name as varchar) as channel_name,
        cast(source_account_id as varchar) as source_account_id,
        cast(
            case when source_account_id is null then 'none' else coalesce(account_tier, '未登记') end as varchar
        ) as source_matrix_tier,
        cast(
            case when source_account_id is null then 'none' else coalesce(account_group, '未登记') end as varchar
        ) as source_matrix_group,
        cast(source_content_id as varchar) as source_content_id,
        cast(content_is_live as boolean) as is_from_live,
        cast(campaign_code as varchar) as campaign_code,
        cast(created_at as timestamp) as created_at,
        cast(created_date as date) as created_date,
        cast(distributed_at as timestamp) as distributed_at,
        cast(first_follow_at as timestamp) as first_follow_at,
        cast(arrived_at as timestamp) as arrived_at,
        cast(test_drive_at as timestamp) as test_drive_at,
        cast(ordered_at as timestamp) as ordered_at,
        cast(delivered_at as timestamp) as delivered_at,
        cast(status_is_defeated as boolean) as is_defeated,
        cast(current_status as varchar) as current_status,
        cast(is_invalid_flag or status_is_invalid as boolean) as is_invalid,
        cast(is_duplicate as boolean) as is_duplicate,
        cast(not (is_invalid_flag or status_is_invalid) and not is_duplicate and phone_is_valid as boolean)
            as is_valid,
        cast(response_minutes as float8) as response_minutes,
        cast(coalesce(response_minutes <= 1440, false) as boolean) as followed_within_24h
    from enriched
)

select * from final
