{#- Data tests of an incremental build scoped to the source-days it could have changed.

    A data test whose key holds the data day (e.g. unique (post_id, data_date) of a staging
    model) can only fail on rows of a day whose raw rows changed: its rows of other days are
    the same rows it passed on before. Such a test opts in with
        config: {meta: {mp_scope: {sources: content, platform: <column>, date: <column>}}}
    and then tests only the rows whose (platform, date) is a source-day changed since the last
    build whose data tests ALL passed (mp_changed_days of macros/incremental.sql, with that
    build's watermarks). `whole: [columns]` widens the scope to every row of an entity with a
    row on such a day, for a model that rewrites more than the changed days of an entity
    (int_content_deltas_computed replaces an affected post's days from the first changed one on);
    `attribution: true` adds the days from the first one a roster version or dealer list changed
    since then can re-attribute (mp_attribution_change_start), for fct_content_daily. sources:
    content (the post sources of mp_content_sources, platform codes).
    `by_construction: true` marks a test of what the model's SQL guarantees on ANY input (a key
    its own dedup window partitions by, a CASE whose every branch is an accepted value): no
    delivery can break it, only a change to the project can, so it checks every row when there
    is no watermark for the current project (below) and no row otherwise. The national daily
    spent ~3 s of its dbt build on three such tests (stop 55, README Measured).

    The tests' watermark is not the models': a model's moves on when it BUILT, so a day whose
    test failed would never be tested again. <intermediate>.mp_test_state holds one 'tested'
    row: the high-water a build saw when it started, promoted by the on-run-end hook only after
    a run in which every data test of the project ran and passed, keyed by a fingerprint of the project (its models, tests, sources and macros):
    a changed model or test can break a key on days no run reloads, so then everything is
    tested. Without a row for the current fingerprint, or on --full-refresh, every test
    checks every row. -#}

{% macro mp_test_state_relation() -%}
    {{ generate_schema_name('intermediate', none) }}.mp_test_state
{%- endmacro %}

{#- on-run-start. A row is a 'candidate' (what a build saw when it started, keyed by its
    invocation) until that build's on-run-end promotes it to the one 'tested' row. -#}
{% macro mp_create_test_state() -%}
    create schema if not exists {{ generate_schema_name('intermediate', none) }};
    create table if not exists {{ mp_test_state_relation() }} (
        project_fingerprint varchar(32),
        raw_loaded_at timestamp,
        ledger_changed_at timestamp,
        tested_at timestamp,
        status varchar(16),
        invocation_id varchar(64),
        recorded_at timestamp
    )
{%- endmacro %}

{#- on-run-start, after mp_create_test_state: the highest raw loaded_at of the scoped sources
    and the ledger's latest change as the build STARTS, kept as this invocation's candidate.
    Taken before any model or test reads raw: on PostgreSQL an ingest may commit while the
    build runs (any worker may write there), and rows it commits then carry a later loaded_at,
    so they stay above the watermark and are tested by the next build. Candidates a crashed
    run left behind are dropped after a day. -#}
{% macro mp_capture_tested_candidate() -%}
    {%- if not execute or flags.WHICH not in ['build', 'test'] -%}{{ return('select 1') }}{%- endif -%}
    {%- set sources = mp_content_sources(include_wechat_oa=true) + mp_lead_sources() -%}
    {%- set ledger = mp_ledger(sources) -%}
    {%- set capture -%}
    delete from {{ mp_test_state_relation() }}
    where status = 'candidate'
      and (invocation_id = '{{ invocation_id }}' or recorded_at < cast(current_timestamp as timestamp) - interval '1 day');
    insert into {{ mp_test_state_relation() }}
        (project_fingerprint, raw_loaded_at, ledger_changed_at, tested_at, status, invocation_id, recorded_at)
    select
        '{{ mp_project_fingerprint() }}',
        max(loaded_at),
        {% if ledger is not none -%}
        (select coalesce(max({{ ledger.changed_at }}), cast('1900-01-01' as timestamp)) from {{ ledger.relation }}),
        {%- else -%}
        cast('1900-01-01' as timestamp),
        {%- endif %}
        null,
        'candidate',
        '{{ invocation_id }}',
        cast(current_timestamp as timestamp)
    from (
        {%- for source in sources %}
        select max(loaded_at) as loaded_at from {{ source[1] }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as high_water
    {%- endset -%}
    {%- do mp_run_committed(capture) -%}
    {{ return('select 1') }}
{%- endmacro %}

{#- md5 of what decides the project's rows and tests: every node of the project (its file's
    checksum, config and test arguments), every source's relation, every macro of the project
    and the --vars of the invocation. Not the vars of dbt_project.yml (dbt's Jinja cannot read
    them as a whole): a change there that can break a scoped key needs a --full-refresh. -#}
{% macro mp_project_fingerprint() -%}
    {%- set parts = [] -%}
    {%- for unique_id, node in graph.nodes.items() | sort if node.package_name == project_name -%}
        {%- do parts.append(
            unique_id ~ '|' ~ node.checksum.checksum ~ '|' ~ tojson(node.config, sort_keys=true)
            ~ '|' ~ tojson(node.get('test_metadata'), sort_keys=true)
        ) -%}
    {%- endfor -%}
    {%- for unique_id, source_node in graph.sources.items() | sort -%}
        {%- do parts.append(unique_id ~ '|' ~ source_node.relation_name) -%}
    {%- endfor -%}
    {%- for name, macro in context_project_macros() | sort -%}
        {%- do parts.append(name ~ '|' ~ macro.macro.macro_sql) -%}
    {%- endfor -%}
    {%- do parts.append(tojson(invocation_args_dict.get('vars'), sort_keys=true)) -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}

{#- (name, macro) of every macro of this project -#}
{% macro context_project_macros() -%}
    {{ return(matrix_pulse.items() | list) }}
{%- endmacro %}

{#- The sources a scope names, in the shape of mp_content_sources. -#}
{% macro mp_scope_sources(name) -%}
    {%- if name == 'content' -%}{{ return(mp_content_sources(include_wechat_oa=true)) }}{%- endif -%}
    {{ exceptions.raise_compiler_error("mp_scope: unknown sources '" ~ name ~ "' (content)") }}
{%- endmacro %}

{#- The watermarks ({'raw', 'ledger'}, as mp_watermark) of the last build whose data tests all
    passed with this project, or none (test every row). -#}
{% macro mp_tested_watermark() -%}
    {%- if not execute or flags.FULL_REFRESH -%}{{ return(none) }}{%- endif -%}
    {%- set result = run_query(
        "select cast(max(raw_loaded_at) as varchar), cast(max(ledger_changed_at) as varchar) from "
        ~ mp_test_state_relation() ~ " where status = 'tested' and project_fingerprint = '"
        ~ mp_project_fingerprint() ~ "'"
    ) -%}
    {%- set raw, ledger = result.columns[0].values()[0], result.columns[1].values()[0] -%}
    {%- if raw is none or ledger is none -%}{{ return(none) }}{%- endif -%}
    {{ return({'raw': raw, 'ledger': ledger}) }}
{%- endmacro %}

{#- SQL condition on the tested relation's rows for the test's mp_scope, or none: every row. -#}
{% macro mp_test_scope_condition(scope, relation) -%}
    {%- set since = mp_tested_watermark() -%}
    {%- if since is none -%}{{ return(none) }}{%- endif -%}
    {%- if scope.get('by_construction') -%}{{ return('(1 = 0)') }}{%- endif -%}
    {%- set days = mp_changed_days(mp_scope_sources(scope['sources']), since) -%}
    {%- set on_changed_days = mp_in_days(scope['platform'], scope['date'], days) -%}
    {%- if scope.get('attribution') -%}
        {#- a new roster version or dealer list re-attributes every day from its first day on -#}
        {%- set attribution_from = mp_attribution_change_start(since) -%}
        {%- if attribution_from is not none -%}
            {%- set on_changed_days = "(" ~ on_changed_days ~ " or " ~ scope['date']
                ~ " >= cast('" ~ attribution_from ~ "' as date))" -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not scope.get('whole') -%}{{ return(on_changed_days) }}{%- endif -%}
    {%- set key = scope['whole'] | join(', ') -%}
    {{ return(
        "(" ~ key ~ ") in (select " ~ key ~ " from " ~ relation ~ " where " ~ on_changed_days ~ ")"
    ) }}
{%- endmacro %}

{#- dbt wraps the relation of every generic test in this macro at EXECUTION time (the global
    default applies the `where` config): a test with meta.mp_scope gets the changed days too. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- set scope = (config.get('meta') or {}).get('mp_scope') if execute else none -%}
    {%- if scope -%}
        {%- set scope_condition = mp_test_scope_condition(scope, relation) -%}
        {%- if scope_condition is not none -%}{%- do conditions.append(scope_condition) -%}{%- endif -%}
    {%- endif -%}
    {%- if conditions | length == 0 -%}{{ return(relation) }}{%- endif -%}
    {{ return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') }}
{%- endmacro %}

{#- on-run-end: after a run of `dbt build` or `dbt test` in which every data test of the project
    ran and passed (a retry of one node, `dbt run` or a failure leaves the watermark where it
    was, so its days are tested again), the high-water the build took when it started
    (mp_capture_tested_candidate) becomes what the tests have covered; otherwise that candidate
    is dropped. A --full-refresh that did not pass everything forgets the watermark (it rewrote
    every day). Run and committed here (mp_run_committed), not returned as the hook's SQL: a
    metadata lookup can leave a transaction open on the hook's connection that dbt would not
    commit. -#}
{% macro mp_record_tested_watermark(results) -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set passed = [] -%}
    {%- set not_passed = [] -%}
    {%- for result in results -%}
        {%- if result.status in ['pass', 'success'] -%}
            {%- if result.node.resource_type == 'test' -%}{%- do passed.append(result.node.unique_id) -%}{%- endif -%}
        {%- else -%}
            {%- do not_passed.append(result.node.unique_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set untested = [] -%}
    {%- for unique_id, node in graph.nodes.items()
        if node.resource_type == 'test' and node.package_name == project_name and unique_id not in passed -%}
        {%- do untested.append(unique_id) -%}
    {%- endfor -%}
    {%- set state = mp_test_state_relation() -%}
    {%- if flags.WHICH in ['build', 'test'] and not not_passed and not untested -%}
        {#- promote the candidate this build took when it started (mp_capture_tested_candidate) -#}
        {%- set record -%}
        delete from {{ state }} where status = 'tested'
            and exists (select 1 from {{ state }} where status = 'candidate' and invocation_id = '{{ invocation_id }}');
        update {{ state }} set status = 'tested', tested_at = cast(current_timestamp as timestamp)
        where status = 'candidate' and invocation_id = '{{ invocation_id }}'
        {%- endset -%}
    {%- elif flags.FULL_REFRESH -%}
        {%- set record = "delete from " ~ state ~ " where status = 'tested' or invocation_id = '" ~ invocation_id ~ "'" -%}
    {%- else -%}
        {%- set record = "delete from " ~ state ~ " where status = 'candidate' and invocation_id = '" ~ invocation_id ~ "'" -%}
    {%- endif -%}
    {%- do mp_run_committed(record) -%}
    {{ return('select 1') }}
{%- endmacro %}

{#- Run `sql` in a transaction of its own and commit it. run_query opens none (auto_begin=false),
    so a commit after it fails on PostgreSQL ("does not have one open") unless a metadata
    lookup happened to open one; a statement with auto_begin always has one to commit, on
    DuckDB and PostgreSQL alike. -#}
{% macro mp_run_committed(sql) -%}
    {%- call statement('mp_test_state', auto_begin=true) -%}{{ sql }}{%- endcall -%}
    {%- do adapter.commit() -%}
{%- endmacro %}
