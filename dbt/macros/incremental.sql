{#- Incremental builds driven by what the ingest changed since a model's last build.

    The ingest replaces a whole source-day on every (re-)delivery and stamps the new rows with
    a fresh loaded_at; one writer at a time means every row loaded after a build has a loaded_at
    later than every row that build saw. But raw rows alone miss changes that leave NO new row:
    a re-delivery whose rows all go to quarantine (the day is deleted, nothing inserted) or a GX
    failure that moves an already loaded file's rows out. Every such change writes or stamps a
    row of meta.load_ledger (matrix_pulse.ingest.loader / quality), so the changed source-days
    are those holding raw rows loaded after the model's raw watermark PLUS those of ledger rows
    changed after its ledger watermark. Each incremental model records both (the highest raw
    loaded_at and the latest ledger change it has processed, in
    <intermediate>.mp_increment_state, written by a post-hook only when the model built
    successfully). Two watermarks, not one, so each side is only compared with its own clock.
    Models recompute everything those days can change (the content facts: each affected post's
    days from its platform's first changed day on, its earlier snapshots read for the
    day-over-day deltas; the leads: whole leads), so a late or re-delivered old day gives the
    same rows as a full rebuild. `dbt build --full-refresh` rebuilds everything and resets the
    watermarks. -#}

{% macro mp_state_relation() -%}
    {{ generate_schema_name('intermediate', none) }}.mp_increment_state
{%- endmacro %}

{#- on-run-start: the watermark table exists before any model reads it (a table of an earlier
    version of the project gets the ledger column; its models' first run is then a full one). -#}
{% macro mp_create_increment_state() -%}
    create schema if not exists {{ generate_schema_name('intermediate', none) }};
    create table if not exists {{ mp_state_relation() }} (
        model_name varchar(200),
        raw_loaded_at timestamp,
        built_at timestamp,
        ledger_changed_at timestamp
    );
    alter table {{ mp_state_relation() }} add column if not exists ledger_changed_at timestamp
{%- endmacro %}

{#- The ledger's statuses whose rows changed raw: 'loaded' (a delivery inserted, and deleted
    the earlier delivery of the day; also when every row went to quarantine), 'replaced' (a
    delivery loaded and displaced within one run) and 'gx_failed' (rows moved out of raw after
    the load). 'rejected' and 'duplicate_delivery' never touch raw (a rejected file does not
    displace the day's delivery). The earlier delivery's row that a re-delivery marks
    'replaced' keeps its old timestamps: the new delivery's row carries the change. -#}
{% macro mp_ledger_raw_statuses() -%}
    {{ return(['loaded', 'replaced', 'gx_failed']) }}
{%- endmacro %}

{#- meta.load_ledger next to the raw tables of `sources` (a dict: relation, and the SQL of the
    moment a row last changed raw), or none where there is no ledger (e.g. a raw layer loaded
    by other means): then only raw rows count. The moment is the latest of first_seen_at (a
    new delivery: the run's clock, the same as its raw rows' loaded_at), loaded_at and
    gx_checked_at (a GX failure, possibly after the delivery's load), whichever exist. -#}
{% macro mp_ledger(sources) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set relation = adapter.get_relation(
        database=sources[0][1].database,
        schema=env_var('MP_DBT_SCHEMA_PREFIX', '') ~ 'meta',
        identifier='load_ledger',
    ) -%}
    {%- if relation is none -%}{{ return(none) }}{%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set moments = [] -%}
    {%- for column in ['first_seen_at', 'loaded_at', 'gx_checked_at'] if column in names -%}
        {%- do moments.append("coalesce(" ~ column ~ ", cast('1900-01-01' as timestamp))") -%}
    {%- endfor -%}
    {{ return({'relation': relation, 'changed_at': 'greatest(' ~ moments | join(', ') ~ ')'}) }}
{%- endmacro %}

{#- The raw tables of the posts of every platform whose content lands in the content facts,
    as (platform code, relation, ledger source = landing folder, sources.landing_folder).
    Calling source() here records them as the model's parents. -#}
{% macro mp_content_sources(include_wechat_oa=false) -%}
    {%- set sources = [
        ('douyin', source('douyin', 'douyin_posts'), 'douyin_posts'),
        ('kuaishou', source('kuaishou', 'kuaishou_posts'), 'kuaishou_posts'),
        ('xiaohongshu', source('xiaohongshu', 'xiaohongshu_notes'), 'xiaohongshu_notes'),
        ('weibo', source('weibo', 'weibo_posts'), 'weibo_posts'),
        ('bilibili', source('bilibili', 'bilibili_videos'), 'bilibili_videos'),
        ('wechat_channels', source('wechat', 'wechat_channels_posts'), 'wechat_channels'),
    ] -%}
    {%- if include_wechat_oa -%}
        {%- do sources.append(('wechat_oa', source('wechat', 'wechat_oa_articles'), 'wechat_oa')) -%}
    {%- endif -%}
    {{ return(sources) }}
{%- endmacro %}

{#- mp_content_sources (WeChat OA included) plus the roster and the dealer list: the raw tables
    whose changes a model of attributed content recomputes (mp_attribution_change_start), whose
    high-water its post-hook records. -#}
{% macro mp_attributed_content_sources() -%}
    {{ return(mp_content_sources(include_wechat_oa=true) + [
        ('roster', source('reference', 'matrix_roster'), 'matrix_roster'),
        ('dealers', source('reference', 'dealers'), 'dealers'),
    ]) }}
{%- endmacro %}

{#- The watermarks of the model being built, {'raw': timestamp text, 'ledger': timestamp text,
    'built': timestamp text}, or none when there are none (first build, or a table an earlier
    version of the project built, which recorded no ledger watermark): then EVERY day counts as
    changed, including days no longer in raw, so the run equals a full rebuild. 'built' is when
    that build ran (the post-hook's clock): a model that recomputes the rows an upstream model
    rewrote since then compares it with their mp_built_at (int_leads_duplicates_flagged ->
    fct_leads), both from one database clock. -#}
{% macro mp_watermark() -%}
    {%- set since = none -%}
    {%- if execute and is_incremental() -%}
        {%- set result = run_query(
            "select cast(max(raw_loaded_at) as varchar), cast(max(ledger_changed_at) as varchar), "
            ~ "cast(max(built_at) as varchar) from "
            ~ mp_state_relation() ~ " where model_name = '" ~ this.identifier ~ "'"
        ) -%}
        {%- set raw, ledger = result.columns[0].values()[0], result.columns[1].values()[0] -%}
        {%- if raw is not none and ledger is not none -%}
            {%- set since = {'raw': raw, 'ledger': ledger, 'built': result.columns[2].values()[0]} -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(since) }}
{%- endmacro %}

{#- SQL: the (ledger source, data_date) of the ledger rows of `folders` that changed raw after
    `since`, or none without a ledger. -#}
{% macro mp_ledger_changes(ledger, folders, since) -%}
    {%- if ledger is none -%}{{ return(none) }}{%- endif -%}
    {{ return(
        "select source, data_date from " ~ ledger.relation
        ~ " where source in ('" ~ folders | join("', '") ~ "')"
        ~ " and status in ('" ~ mp_ledger_raw_statuses() | join("', '") ~ "')"
        ~ " and " ~ ledger.changed_at ~ " > cast('" ~ since.ledger ~ "' as timestamp)"
    ) }}
{%- endmacro %}

{#- The (platform, 'YYYY-MM-DD') source-days of `sources` holding rows loaded after the raw
    watermark or named by ledger rows changed after the ledger watermark; none (meaning every
    day, see mp_in_days) when `since` is none. -#}
{% macro mp_changed_days(sources, since) -%}
    {%- if since is none -%}{{ return(none) }}{%- endif -%}
    {%- set days = [] -%}
    {%- if execute -%}
        {%- set parts = [] -%}
        {%- for platform, relation, _folder in sources -%}
            {%- do parts.append(
                "select distinct '" ~ platform ~ "' as platform, cast(data_date as varchar) as day from "
                ~ relation ~ " where loaded_at > cast('" ~ since.raw ~ "' as timestamp)"
            ) -%}
        {%- endfor -%}
        {%- set ledger_changes = mp_ledger_changes(mp_ledger(sources), sources | map(attribute=2) | list, since) -%}
        {%- if ledger_changes is not none -%}
            {%- set platform_of = [] -%}
            {%- for platform, _relation, folder in sources -%}
                {%- do platform_of.append("when '" ~ folder ~ "' then '" ~ platform ~ "'") -%}
            {%- endfor -%}
            {%- do parts.append(
                "select distinct case source " ~ platform_of | join(' ') ~ " end as platform,"
                ~ " cast(data_date as varchar) as day from (" ~ ledger_changes ~ ") as ledger_changes"
            ) -%}
        {%- endif -%}
        {%- for row in run_query(parts | join(' union ') ~ ' order by 1, 2') -%}
            {%- do days.append((row[0], row[1])) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(days) }}
{%- endmacro %}

{#- SQL condition: (platform_col, date_col) is one of `days` (FALSE when there are none, TRUE
    when `days` is none: every day), one
    plain `date in (...)` per platform so DuckDB can push it into scans and day-partitioned windows. -#}
{% macro mp_in_days(platform_col, date_col, days) -%}
    {%- if days is none -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- set by_platform = {} -%}
    {%- for platform, day in days -%}
        {%- do by_platform.setdefault(platform, []).append(day) -%}
    {%- endfor -%}
    {%- if by_platform | length == 0 -%}
        (1 = 0)
    {%- else -%}
        (
        {%- for platform, platform_days in by_platform.items() %}
            ({{ platform_col }} = '{{ platform }}' and {{ date_col }} in (
                {%- for day in platform_days %}cast('{{ day }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
            )){% if not loop.last %} or{% endif %}
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- First day whose account attribution (roster SCD2, dealer regions) may have changed since
    `since`, as 'YYYY-MM-DD', or none. The roster version in force on a day is the latest one
    on or before it (the first version also holds before it), so a new or replaced version V
    changes days >= V only, unless it is (now) the first version; a new dealer list can change
    any day. -#}
{% macro mp_attribution_change_start(since) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- if since is none -%}{{ return('1900-01-01') }}{%- endif -%}
    {%- set roster = source('reference', 'matrix_roster') -%}
    {%- set dealers = source('reference', 'dealers') -%}
    {#- a roster version or dealer list emptied without a new raw row shows in the ledger only -#}
    {%- set ledger_changes = mp_ledger_changes(
        mp_ledger([('roster', roster, 'matrix_roster')]), ['matrix_roster', 'dealers'], since
    ) -%}
    {%- set roster_days = [
        "select data_date from " ~ roster ~ " where loaded_at > cast('" ~ since.raw ~ "' as timestamp)"
    ] -%}
    {%- set dealer_rows = [
        "select 1 as changed from " ~ dealers ~ " where loaded_at > cast('" ~ since.raw ~ "' as timestamp)"
    ] -%}
    {%- if ledger_changes is not none -%}
        {%- do roster_days.append(
            "select data_date from (" ~ ledger_changes ~ ") as ledger_changes where source = 'matrix_roster'"
        ) -%}
        {%- do dealer_rows.append(
            "select 1 as changed from (" ~ ledger_changes ~ ") as ledger_changes where source = 'dealers'"
        ) -%}
    {%- endif -%}
    {%- set result = run_query(
        "select cast(min(data_date) as varchar), (select cast(min(data_date) as varchar) from " ~ roster ~ ")"
        ~ " from (" ~ roster_days | join(' union all ') ~ ") as changed_versions"
    ) -%}
    {%- set changed_from, first_version = result.columns[0].values()[0], result.columns[1].values()[0] -%}
    {%- set dealers_changed = run_query(
        "select count(*) from (" ~ dealer_rows | join(' union all ') ~ ") as changed_dealers"
    ).columns[0].values()[0] -%}
    {#- no roster left: every day loses its attribution -#}
    {%- if dealers_changed > 0 or (changed_from is not none and (first_version is none or changed_from <= first_version)) -%}
        {{ return('1900-01-01') }}
    {%- endif -%}
    {{ return(changed_from) }}
{%- endmacro %}

{#- post-hooks: record the highest raw loaded_at of `sources` and the latest change of the
    whole ledger (1900-01-01 when it is empty or missing: every later row counts) as the
    model's watermarks. Raw and the ledger cannot change during the build (one writer), so
    this is what the build saw. -#}
{% macro mp_record_watermark(sources) -%}
    {%- set ledger = mp_ledger(sources) -%}
    delete from {{ mp_state_relation() }} where model_name = '{{ this.identifier }}';
    insert into {{ mp_state_relation() }} (model_name, raw_loaded_at, built_at, ledger_changed_at)
    select
        '{{ this.identifier }}',
        max(loaded_at),
        current_timestamp,
        {% if ledger is not none -%}
        (select coalesce(max({{ ledger.changed_at }}), cast('1900-01-01' as timestamp)) from {{ ledger.relation }})
        {%- else -%}
        cast('1900-01-01' as timestamp)
        {%- endif %}
    from (
        {%- for source in sources %}
        select max(loaded_at) as loaded_at from {{ source[1] }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as high_water
{%- endmacro %}

{#- pre-hook of a model incremental by source-day: delete the changed days (all their rows,
    also those a re-delivery no longer has); the model then appends them again. -#}
{% macro mp_delete_changed_days(platform_col, date_col, sources) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ mp_in_days(platform_col, date_col, mp_changed_days(sources, mp_watermark())) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- post-hook of a content model incremental by post-day (platform, post_id, date): delete its
    rows on the changed days that `upstream` no longer has for the same post and day (a
    re-delivery that dropped a post; without a watermark, every day no longer in raw). Rows
    still present were already replaced by delete+insert. -#}
{% macro mp_delete_vanished_rows(date_col, upstream, upstream_date_col, sources) -%}
    {%- if is_incremental() -%}
        {%- set days = mp_changed_days(sources, mp_watermark()) -%}
        delete from {{ this }} as target_rows
        where {{ mp_in_days('target_rows.platform', 'target_rows.' ~ date_col, days) }}
            and not exists (
                select 1 from {{ upstream }} as upstream_rows
                where upstream_rows.platform = target_rows.platform
                    and upstream_rows.post_id = target_rows.post_id
                    and upstream_rows.{{ upstream_date_col }} = target_rows.{{ date_col }}
                    -- implied by the line above; lets the day filter reach upstream's scans
                    and {{ mp_in_days('upstream_rows.platform', 'upstream_rows.' ~ upstream_date_col, days) }}
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- (platform, post_id, date_day) of every row fct_content_daily should hold, for its post-hook. -#}
{% macro mp_content_daily_keys() -%}
    (
        select platform, post_id, date_day from {{ ref('int_content_deltas_computed') }}
        union all
        select platform, post_id, data_date as date_day from {{ ref('stg_wechat__oa_articles') }}
    )
{%- endmacro %}

{#- The raw tables of both CRMs, as (crm_system, relation, ledger source = landing folder), in
    the shape of mp_content_sources: mp_changed_days then yields (crm_system, day). -#}
{% macro mp_lead_sources() -%}
    {{ return([
        ('dcc', source('crm', 'crm_dcc'), 'crm_dcc'),
        ('legacy', source('crm', 'crm_legacy'), 'crm_legacy'),
    ]) }}
{%- endmacro %}

{#- SQL: (crm_system, clue_id) of every lead a run must recompute: those with a raw status row
    on a changed source-day, plus those whose current row in `relation` (a lead table with
    crm_system, clue_id, data_date) came from a changed day, so a re-delivery that dropped a
    lead's latest status row (or the whole lead) recomputes it too. A lead's current row is the
    latest of its status rows (then the latest delivery): removing or adding rows of other days
    can only change it through a row of a changed day, which one of the two sides names. -#}
{% macro mp_changed_leads(changed_days, relation) -%}
    {%- for crm_system, raw_relation, _folder in mp_lead_sources() %}
    select '{{ crm_system }}' as crm_system, clue_id from {{ raw_relation }}
    where {{ mp_in_days("'" ~ crm_system ~ "'", 'data_date', changed_days) }}
    union
    {%- endfor %}
    select crm_system, clue_id from {{ relation }}
    where {{ mp_in_days('crm_system', 'data_date', changed_days) }}
{%- endmacro %}

{#- post-hook of a lead model incremental by lead: delete its leads of changed days that
    `upstream` (a lead relation with crm_system, clue_id) no longer has at all. A lead that
    still exists was replaced by delete+insert; one that vanished kept its old row, whose
    data_date is a changed day (its only rows were there). -#}
{% macro mp_delete_vanished_leads(upstream) -%}
    {%- if is_incremental() -%}
        {%- set days = mp_changed_days(mp_lead_sources(), mp_watermark()) -%}
        delete from {{ this }} as target_rows
        where {{ mp_in_days('target_rows.crm_system', 'target_rows.data_date', days) }}
            and not exists (
                select 1 from {{ upstream }} as upstream_rows
                where upstream_rows.crm_system = target_rows.crm_system
                    and upstream_rows.clue_id = target_rows.clue_id
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- (crm_system, clue_id) of every raw CRM row that staging keeps (it drops rows without a
    clue id): the leads int_leads_unioned holds. -#}
{% macro mp_raw_leads() -%}
    (
        {%- for crm_system, raw_relation, _folder in mp_lead_sources() %}
        select '{{ crm_system }}' as crm_system, clue_id from {{ raw_relation }} where clue_id is not null
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- (platform, post_id, data_date) of every snapshot int_content_latest_snapshots reads, for its
    post-hook. -#}
{% macro mp_content_snapshot_keys() -%}
    (
        select platform, post_id, data_date from {{ ref('int_content_snapshots_unioned') }}
        union all
        select platform, post_id, data_date from {{ ref('stg_wechat__oa_articles') }}
    )
{%- endmacro %}

{#- SQL condition on `clue_id_col` for the leads of `crm_system` among mp_changed_leads: the
    clue ids as literals, which DuckDB pushes below staging's per-lead windows (a semi-join
    on a subquery is not pushed and recomputes staging in full), or, above `max_literals`
    leads (a backfill), the subquery itself: slower, the same leads. The limit is the var
    mp_inline_leads_limit so a test can force the subquery path on a small fixture. -#}
{% macro mp_changed_clue_ids(crm_system, clue_id_col, changed_days, relation) -%}
    {%- set max_literals = var('mp_inline_leads_limit') | int -%}
    {%- set changed = "select clue_id from (" ~ mp_changed_leads(changed_days, relation)
        ~ ") as changed_leads where crm_system = '" ~ crm_system ~ "' and clue_id is not null" -%}
    {%- if not execute -%}{{ return(clue_id_col ~ " in (" ~ changed ~ ")") }}{%- endif -%}
    {#- one fetch, at most one row past the limit: it tells "none", "few enough to inline" and
        "too many" apart without a separate count of the same query -#}
    {%- set rows = run_query(changed ~ " order by 1 limit " ~ (max_literals + 1)).rows -%}
    {%- if rows | length == 0 -%}{{ return('(1 = 0)') }}{%- endif -%}
    {%- if rows | length > max_literals -%}{{ return(clue_id_col ~ " in (" ~ changed ~ ")") }}{%- endif -%}
    {%- set ids = [] -%}
    {%- for row in rows -%}
        {%- do ids.append("'" ~ (row[0] | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return(clue_id_col ~ " in (" ~ ids | join(", ") ~ ")") }}
{%- endmacro %}

{#- SQL condition: (platform_col, date_col) on or after the first changed day of its platform in
    `days` (see mp_changed_days), or on or after `from_day` on any platform: the days a model
    keyed by day must recompute when a changed day also changes the days after it (the
    day-over-day deltas of its posts) and `from_day` re-attributes every day after it. TRUE when
    `days` is none (every day), FALSE when nothing changed. -#}
{% macro mp_from_first_changed_day(platform_col, date_col, days, from_day=none) -%}
    {%- if days is none -%}{{ return('(1 = 1)') }}{%- endif -%}
    {%- set first_of = {} -%}
    {%- for platform, day in days -%}
        {%- if platform not in first_of or day < first_of[platform] -%}
            {%- do first_of.update({platform: day}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set parts = [] -%}
    {%- for platform, day in first_of.items() -%}
        {%- do parts.append("(" ~ platform_col ~ " = '" ~ platform ~ "' and " ~ date_col ~ " >= cast('" ~ day ~ "' as date))") -%}
    {%- endfor -%}
    {%- if from_day is not none -%}
        {%- do parts.append("(" ~ date_col ~ " >= cast('" ~ from_day ~ "' as date))") -%}
    {%- endif -%}
    {%- if parts | length == 0 -%}{{ return('(1 = 0)') }}{%- endif -%}
    {{ return('(' ~ parts | join(' or ') ~ ')') }}
{%- endmacro %}

{#- The days int_content_summed_by_account_day recomputes: per platform from its first changed
    content day on (a changed day changes the deltas of its posts' later days), and every day
    from the first re-attributed one (roster, dealers). Its pre-hook deletes them and its body
    inserts them again; both see the same watermark (the post-hook moves it). -#}
{% macro mp_account_day_changes(platform_col, date_col) -%}
    {%- set since = mp_watermark() -%}
    {{ return(mp_from_first_changed_day(
        platform_col, date_col,
        mp_changed_days(mp_content_sources(include_wechat_oa=true), since),
        mp_attribution_change_start(since),
    )) }}
{%- endmacro %}

{#- pre-hook of int_content_summed_by_account_day: delete the days the run recomputes -#}
{% macro mp_delete_account_day_changes() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ mp_account_day_changes('platform', 'date_day') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- post-hook of a model incremental by `key`: delete its rows whose key `upstream` no longer
    holds (a lead a re-delivery dropped); the rows still there were replaced by delete+insert. -#}
{% macro mp_delete_vanished_keys(key, upstream) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as target_rows
        where not exists (
            select 1 from {{ upstream }} as upstream_rows where upstream_rows.{{ key }} = target_rows.{{ key }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
