{#- What every staging model does the same way. -#}

{#- The one de-duplication rule of staging: of the rows of `relation` sharing `key` (a list of
    columns), keep the one from the latest delivery: the latest data day, then the latest
    load, then the last row of the file. Rows without `required` (the entity's id) are dropped.
    Where `key` holds data_date, "latest data day" is the same day, so it is the latest load.
    CRM models keep every status row and call this with the status time in the key. -#}
{% macro latest_delivery(relation, key, required) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ key | join(', ') }}
                order by data_date desc, loaded_at desc, source_row desc
            ) as delivery_rank
        from {{ relation }}
        where {{ required }} is not null
    ) as ranked
    where delivery_rank = 1
{%- endmacro %}

{#- The columns every content (post) staging model starts with: its platform code and the
    post's identity. -#}
{% macro content_identity_columns(platform, with_account_name=true) -%}
        '{{ platform }}' as platform,
        post_id,
        account_id,
        {% if with_account_name -%} account_name, {%- endif %}
        title,
        published_at
{%- endmacro %}

{#- The lineage every staging model ends with: which day, file and row a value came from. -#}
{% macro lineage_columns() -%}
        data_date,
        source_file,
        source_row,
        loaded_at
{%- endmacro %}
