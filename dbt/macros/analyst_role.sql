{#- The analysts' read-only role on the postgres target (Settings.pg_analyst_role, passed as
    MP_PG_ANALYST_ROLE): a NOLOGIN group with USAGE on the marts schema and nothing else, so a
    login that is a member reads the marts (SELECT comes from the `grants` config of the marts
    folder, dbt_project.yml) and gets "permission denied" on raw, meta, staging and
    intermediate, whose schemas grant it nothing.

    An on-run-start hook, not a Python step of the DAG: dbt applies the grants inside every
    invocation that builds a mart (the DAG's build, a consumer's fallback run of one model,
    a build by hand, the tests), and a GRANT to a missing role fails the model. The hook runs
    on dbt's own connection before any model, in all of them. Creating the role needs
    CREATEROLE (scripts/postgres_up.sh gives it to the project's user); when a DBA created the
    role beforehand the hook only grants USAGE, which the owner of the schema may always do.
    Two dbt runs at once may both find the role missing: the loser's CREATE ROLE fails with
    duplicate_object (or unique_violation on pg_authid) and is ignored. On DuckDB: nothing. -#}
{% macro mp_ensure_analyst_role() -%}
    {%- if target.type == 'postgres' -%}
        {%- set role = env_var('MP_PG_ANALYST_ROLE', 'mp_analysts') -%}
        {%- set role_ident = '"' ~ (role | replace('"', '""')) ~ '"' -%}
        {%- set role_literal = "'" ~ (role | replace("'", "''")) ~ "'" -%}
        {%- set marts = generate_schema_name('marts', none) -%}
        do $mp_role$
        begin
            if not exists (select from pg_catalog.pg_roles where rolname = {{ role_literal }}) then
                begin
                    create role {{ role_ident }} nologin;
                exception when duplicate_object or unique_violation then
                    null;  -- created meanwhile by another run
                end;
            end if;
        end
        $mp_role$;
        create schema if not exists "{{ marts }}";
        grant usage on schema "{{ marts }}" to {{ role_ident }}
    {%- endif -%}
{%- endmacro %}
