-- Matrix accounts as SCD2: one row per account and period during which its name, tier,
-- dealer and status stayed the same (valid_from inclusive, valid_to exclusive).
with versions as (
    select * from {{ ref('int_account_versions_derived') }}
),

dealers as (
    select * from {{ ref('dim_dealer') }}
),

final as (
    select
        cast({{ surrogate_key(['versions.platform', 'versions.account_id', 'versions.valid_from']) }} as varchar)
            as account_key,
        cast(versions.platform as varchar) as platform,
        cast(versions.account_id as varchar) as account_id,
        cast(versions.account_name as varchar) as account_name,
        cast(versions.matrix_tier as varchar) as matrix_tier,
        cast({{ matrix_group('versions.matrix_tier') }} as varchar) as matrix_group,
        cast(versions.dealer_code as varchar) as dealer_code,
        cast(
            case
                when versions.dealer_code is null then '总部'
                else coalesce(dealers.region, '未知')
            end as varchar
        ) as region,
        cast(versions.valid_from as date) as valid_from,
        cast(versions.valid_to as date) as valid_to,
        cast(versions.is_current as boolean) as is_current
    from versions
    left join dealers on versions.dealer_code = dealers.dealer_code
)

select * from final
