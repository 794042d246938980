{#- Use the folder's schema as it is (raw, staging, intermediate, marts, reference) instead of
    dbt's default <target schema>_<custom schema>: the report and analysts read `marts.*`.
    MP_DBT_SCHEMA_PREFIX (unset in production) prefixes every schema, the sources' `raw`
    included, so a test build on a shared PostgreSQL database never touches the real one. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ env_var('MP_DBT_SCHEMA_PREFIX', '') }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
