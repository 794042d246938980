-- SCD2 history of the matrix roster, derived from the successive roster versions kept in
-- raw (one version per roster data_date). A new record starts when an account's name, tier,
-- dealer or status changes, or when it comes back after being absent from a version.
-- valid_from is inclusive, valid_to exclusive; the first roster version is taken to hold
-- since ever (1900-01-01) and the current record runs to 9999-12-31.
-- Derived in SQL rather than with a dbt snapshot: a backfill or a late roster file
-- rebuilds the same history, which a snapshot (that only sees "now") cannot.
with roster as (
    select * from {{ ref('stg_reference__roster_accounts') }}
),

versions as (
    select
        version_date,
        lead(version_date) over (order by version_date) as next_version_date,
        row_number() over (order by version_date) as version_no
    from (select distinct version_date from roster) as distinct_versions
),

account_versions as (
    select
        roster.platform,
        roster.account_id,
        roster.account_name,
        roster.matrix_tier,
        roster.dealer_code,
        roster.account_status,
        roster.opened_on,
        roster.version_date,
        versions.version_no,
        {{ surrogate_key(['roster.account_name', 'roster.matrix_tier', 'roster.dealer_code', 'roster.account_status']) }}
            as attributes_hash
    from roster
    inner join versions on roster.version_date = versions.version_date
),

with_previous as (
    select
        *,
        lag(attributes_hash) over (
            partition by platform, account_id order by version_date
        ) as previous_attributes_hash,
        lag(version_no) over (partition by platform, account_id order by version_date) as previous_version_no
    from account_versions
),

record_starts as (
    select
        *,
        case
            when previous_attributes_hash is null then 1
            when previous_attributes_hash <> attributes_hash then 1
            when previous_version_no <> version_no - 1 then 1
            else 0
        end as starts_record
    from with_previous
),

numbered as (
    select
        *,
        sum(starts_record) over (
            partition by platform, account_id order by version_date
            rows between unbounded preceding and current row
        ) as record_no
    from record_starts
),

records as (
    select
        platform,
        account_id,
        record_no,
        max(account_name) as account_name,
        max(matrix_tier) as matrix_tier,
        max(dealer_code) as dealer_code,
        max(account_status) as account_status,
        min(opened_on) as opened_on,
        min(version_no) as first_version_no,
        min(version_date) as first_version_date,
        max(version_date) as last_version_date
    from numbered
    group by platform, account_id, record_no
),

final as (
    select
        records.platform,
        records.account_id,
        records.record_no,
        records.account_name,
        records.matrix_tier,
        records.dealer_code,
        records.account_status,
        records.opened_on,
        case
            when records.first_version_no = 1 then cast('1900-01-01' as date)
            else records.first_version_date
        end as valid_from,
        coalesce(versions.next_version_date, cast('9999-12-31' as date)) as valid_to,
        versions.next_version_date is null as is_current
    from records
    inner join versions on records.last_version_date = versions.version_date
)

select * from final
