{#- Generic test: the combination of columns is unique (NULLs compare equal). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {% for col in combination_of_columns %}coalesce(cast({{ col }} as varchar), '_null_') as {{ col }}{% if not loop.last %}, {% endif %}{% endfor %},
        count(*) as n_rows
    from {{ model }}
    group by {% for col in combination_of_columns %}{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
    having count(*) > 1
{% endtest %}

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
