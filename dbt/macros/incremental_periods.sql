{#- Marts incremental by period (mart_kpi_by_period): each of their rows aggregates every day of
    a week, month or quarter, and some figures are not sums of days (accounts counted once per
    period, medians), so a period is rebuilt whole or not at all. Which periods a run must
    rebuild is read from the mart's inputs themselves, not from raw's watermarks (macros/
    incremental.sql): the upstream models already turn a changed source-day into changes on
    other days (the day-over-day deltas after it, a roster version re-attributing every later
    day, a lead whose duplicate partition moved), and following each of those paths again here
    would be a second copy of their logic that could drift from it.

    So a small table (int_kpi_days_fingerprinted, rebuilt on every run: one pass over ~3.4 M
    input rows nationally, about 0.2 s) holds one fingerprint per day of dim_date over every
    input row and column the mart reads for that day, together with the day's period labels.
    The mart keeps the fingerprints it was last built from in <intermediate>.mp_period_state
    (post-hook, only after a successful build). A day whose fingerprint differs, or that is
    new or gone, touches its week, month and quarter, under the labels it has now and the ones
    it had; the pre-hook deletes those periods and the model inserts them again from all their
    days. No state for the model (first build, a table an earlier version of the project built,
    --full-refresh), or a state recorded by another version of the project (mp_project_fingerprint:
    a fixed formula must reach every period, not only the next changed ones), means every period. -#}

{% macro mp_period_state_relation() -%}
    {{ generate_schema_name('intermediate', none) }}.mp_period_state
{%- endmacro %}

{#- on-run-start: the state table exists before any model reads it -#}
{% macro mp_create_period_state() -%}
    create schema if not exists {{ generate_schema_name('intermediate', none) }};
    create table if not exists {{ mp_period_state_relation() }} (
        model_name varchar(200),
        date_day date,
        iso_week_label varchar(16),
        month_label varchar(16),
        quarter_label varchar(16),
        fingerprint varchar(400),
        project_fingerprint varchar(32)
    )
{%- endmacro %}

{#- SQL aggregate: an order-independent fingerprint of the rows of a group over `columns`, as
    text: the row count and the sum of one 64-bit hash per row (a sum, not an XOR, so that two
    equal rows do not cancel out). -#}
{% macro mp_rows_fingerprint(columns) -%}
    {{ return(adapter.dispatch('mp_rows_fingerprint', 'matrix_pulse')(columns)) }}
{%- endmacro %}

{% macro default__mp_rows_fingerprint(columns) -%}
    cast(count(*) as varchar) || ':' || cast(sum(hashtextextended(cast(row({{ columns | join(', ') }}) as text), 0)) as varchar)
{%- endmacro %}

{% macro duckdb__mp_rows_fingerprint(columns) -%}
    cast(count(*) as varchar) || ':' || cast(sum(hash({{ columns | join(', ') }})) as varchar)
{%- endmacro %}

{#- The (period_type, period_label) pairs the model being built must rebuild, read from
    `fingerprints` (a relation like int_kpi_days_fingerprinted) against the model's stored
    state; none (every period) when the model is not built incrementally or has no state of this
    version of the project. -#}
{% macro mp_touched_periods(fingerprints) -%}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set query -%}
    with stored as (
        select * from {{ mp_period_state_relation() }}
        where model_name = '{{ this.identifier }}' and project_fingerprint = '{{ mp_project_fingerprint() }}'
    ),

    changed_days as (
        select
            current_days.iso_week_label,
            current_days.month_label,
            current_days.quarter_label,
            stored.iso_week_label as stored_week_label,
            stored.month_label as stored_month_label,
            stored.quarter_label as stored_quarter_label
        from {{ fingerprints }} as current_days
        full outer join stored on current_days.date_day = stored.date_day
        where current_days.fingerprint is distinct from stored.fingerprint
    ),

    touched as (
        select 'week' as period_type, iso_week_label as period_label from changed_days
        union select 'week', stored_week_label from changed_days
        union select 'month', month_label from changed_days
        union select 'month', stored_month_label from changed_days
        union select 'quarter', quarter_label from changed_days
        union select 'quarter', stored_quarter_label from changed_days
    )

    select period_type, period_label, (select count(*) from stored) as stored_days
    from touched
    where period_label is not null
    union all
    -- one row even when nothing changed, to carry stored_days
    select null, null, (select count(*) from stored)
    order by 1, 2
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows[0][2] == 0 -%}{{ return(none) }}{%- endif -%}
    {%- set periods = [] -%}
    {%- for row in rows if row[0] is not none -%}
        {%- do periods.append((row[0], row[1])) -%}
    {%- endfor -%}
    {{ return(periods) }}
{%- endmacro %}

{#- SQL condition: (type_col, label_col) is one of `periods` (TRUE when `periods` is none: every
    period; FALSE when it is empty: nothing changed) -#}
{% macro mp_in_periods(type_col, label_col, periods) -%}
    {%- if periods is none -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- if periods | length == 0 -%}{{ return('(1 = 0)') }}{%- endif -%}
    {%- set by_type = {} -%}
    {%- for period_type, label in periods -%}
        {%- do by_type.setdefault(period_type, []).append("'" ~ label ~ "'") -%}
    {%- endfor -%}
    {%- set parts = [] -%}
    {%- for period_type, labels in by_type.items() -%}
        {%- do parts.append("(" ~ type_col ~ " = '" ~ period_type ~ "' and " ~ label_col ~ " in (" ~ labels | join(', ') ~ "))") -%}
    {%- endfor -%}
    {{ return('(' ~ parts | join(' or ') ~ ')') }}
{%- endmacro %}

{#- pre-hook: delete the touched periods (all their rows, also those the rebuild will not
    produce again); the model then appends them -#}
{% macro mp_delete_touched_periods(fingerprints) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ mp_in_periods('period_type', 'period_label', mp_touched_periods(fingerprints)) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- post-hook: the fingerprints this build read become the model's state -#}
{% macro mp_record_period_state(fingerprints) -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    delete from {{ mp_period_state_relation() }} where model_name = '{{ this.identifier }}';
    insert into {{ mp_period_state_relation() }}
        (model_name, date_day, iso_week_label, month_label, quarter_label, fingerprint, project_fingerprint)
    select
        '{{ this.identifier }}', date_day, iso_week_label, month_label, quarter_label, fingerprint,
        '{{ mp_project_fingerprint() }}'
    from {{ fingerprints }}
{%- endmacro %}
