{#- Small cross-database helpers: every mart builds on DuckDB and on PostgreSQL 15. -#}

{#- Stable text key from several columns (NULL-safe), like dbt_utils.generate_surrogate_key. -#}
{% macro surrogate_key(columns) -%}
    md5(
        {%- for col in columns %}
        coalesce(cast({{ col }} as varchar), '_null_'){% if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- numerator / denominator as float8, NULL when the denominator is 0 or NULL
    (PostgreSQL would otherwise do integer division). -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as float8) / nullif(cast({{ denominator }} as float8), 0))
{%- endmacro %}

{#- Seconds from start_ts to end_ts as float8. -#}
{% macro seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('seconds_between', 'matrix_pulse')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
    cast(extract(epoch from ({{ end_ts }} - {{ start_ts }})) as float8)
{%- endmacro %}

{% macro duckdb__seconds_between(start_ts, end_ts) -%}
    cast(epoch({{ end_ts }}) - epoch({{ start_ts }}) as float8)
{%- endmacro %}

{#- Median as float8 (an ordered-set aggregate on PostgreSQL). -#}
{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'matrix_pulse')(expr)) }}
{%- endmacro %}

{% macro default__median(expr) -%}
    cast(percentile_cont(0.5) within group (order by {{ expr }}) as float8)
{%- endmacro %}

{% macro duckdb__median(expr) -%}
    cast(median({{ expr }}) as float8)
{%- endmacro %}

{#- Add a number of whole days (an integer expression) to a date or timestamp. -#}
{% macro add_days(expr, days) -%}
    {{ dbt.dateadd('day', days, expr) }}
{%- endmacro %}
