{#- Generic test: none of the columns holds a NULL. One test per model (and per scope) instead of
    dbt's `not_null` per column: each data test is a node, and dbt spends ~30 ms on a node besides
    its query (compiling, writing, events), and a test of a view runs the view's SQL once per test.
    Here the model is read once for all its columns. The failing rows name the columns that hold
    NULLs (one row per column); the failure count is their NULL rows, as `not_null` counted them.
    Scoped like any generic test (`where`, or meta.mp_scope of macros/test_scope.sql): `model`
    arrives already wrapped by get_where_subquery. -#}
{% test not_null_columns(model, column_names) %}
    {{ config(fail_calc='coalesce(sum(null_rows), 0)') }}
    with null_counts as (
        select
        {%- for column in column_names %}
            sum(case when {{ column }} is null then 1 else 0 end) as null_rows_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
        from {{ model }}
        {#- only rows with a NULL reach the sums: a scan with this filter is all a passing test costs #}
        where {% for column in column_names %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
    )

    {%- for column in column_names %}
    select '{{ column }}' as column_name, null_rows_{{ loop.index }} as null_rows
    from null_counts
    where null_rows_{{ loop.index }} > 0
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endtest %}
