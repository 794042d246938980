{#- Generic test: the combination of columns is unique (NULLs compare equal: GROUP BY puts
    NULLs in one group on every engine). Grouped by the columns as they are: casting each to
    varchar first (as this test once did, to merge NULLs with coalesce) cost ~7 s a build on the
    ~10 M content snapshots, and it also merged a NULL with the text '_null_'. A check of the
    whole table unless the test opts in to macros/test_scope.sql, which limits it to the days
    changed since the last build whose tests ALL passed (not merely to the rows this run wrote,
    which would miss a duplicate an earlier failed run left behind). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ return(adapter.dispatch('test_unique_combination_of_columns', 'matrix_pulse')(model, combination_of_columns)) }}
{% endtest %}

{% macro default__test_unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endmacro %}

{#- DuckDB: group by one 64-bit hash of the columns first, then by the columns themselves only
    for the rows whose hash occurs twice. The same rows come out (a hash shared by two different
    combinations is only a candidate; the second GROUP BY keeps true duplicates, and NULLs hash
    alike so they still compare equal), but the big aggregate holds a fixed-size key instead of
    the strings: on the ~10 M national content rows 3.1–4.6 s instead of 5.5–8.3 s (load ~5).
    When no hash repeats (the normal case) the semi-join's build side is empty and DuckDB never
    scans the model a second time. -#}
{% macro duckdb__test_unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns = combination_of_columns | join(', ') %}
    with repeated_hashes as (
        select hash({{ columns }}) as key_hash
        from {{ model }}
        group by 1
        having count(*) > 1
    )

    select
        {{ columns }},
        count(*) as n_rows
    from {{ model }}
    where hash({{ columns }}) in (select key_hash from repeated_hashes)
    group by {{ columns }}
    having count(*) > 1
{% endmacro %}

{#- Generic test: no value below min_value. -#}
{% test not_negative(model, column_name) %}
    select {{ column_name }} from {{ model }} where {{ column_name }} < 0
{% endtest %}

{#- Generic test: valid_from < valid_to and at most one open row per natural key;
    versions of one key never overlap. -#}
{% test scd2_no_overlap(model, key_columns, valid_from='valid_from', valid_to='valid_to') %}
    with versions as (
        select
            {{ key_columns | join(', ') }},
            {{ valid_from }} as valid_from,
            {{ valid_to }} as valid_to,
            lead({{ valid_from }}) over (
                partition by {{ key_columns | join(', ') }} order by {{ valid_from }}
            ) as next_valid_from
        from {{ model }}
    )

    select *
    from versions
    where valid_from >= valid_to or (next_valid_from is not null and next_valid_from < valid_to)
{% endtest %}
