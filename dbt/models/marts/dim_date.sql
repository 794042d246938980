-- One row per calendar day {{ var('date_spine_start') }} .. {{ var('date_spine_end') }} (exclusive)
-- with ISO week, month and quarter labels and Chinese public holidays (seed).
with spine as (
    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('date_spine_start') ~ "' as date)",
        "cast('" ~ var('date_spine_end') ~ "' as date)"
    ) }}
),

days as (
    select cast(date_day as date) as date_day from spine
),

holidays as (
    select * from {{ ref('cn_public_holidays') }}
),

parts as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year,
        cast(extract(quarter from date_day) as integer) as quarter_no,
        cast(extract(month from date_day) as integer) as month_no,
        cast(extract(isoyear from date_day) as integer) as iso_year,
        cast(extract(week from date_day) as integer) as iso_week_no,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week
    from days
),

final as (
    select
        parts.date_day,
        parts.year,
        cast(parts.year as varchar) || 'Q' || cast(parts.quarter_no as varchar) as quarter_label,
        cast(parts.year as varchar) || '-' || lpad(cast(parts.month_no as varchar), 2, '0') as month_label,
        cast(parts.iso_year as varchar) || '-W' || lpad(cast(parts.iso_week_no as varchar), 2, '0')
            as iso_week_label,
        parts.iso_day_of_week in (6, 7) as is_weekend,
        coalesce(holidays.is_day_off, false) as is_holiday,
        case when holidays.is_day_off then holidays.holiday_name end as holiday_name
    from parts
    left join holidays on parts.date_day = holidays.holiday_date
)

select * from final
