{#- Domain mappings used by several models. -#}

{#- Chinese platform / channel name (抖音, 视频号 ...) or a platform code -> platform code
    (contract.Platform.aliases, via the generated macros/contract.sql);
    anything else (懂车帝, 汽车之家, 自然到店, 400电话 ...) -> 'other'. -#}
{% macro platform_code(expr) -%}
    {%- set aliases = mp_platform_aliases() -%}
    case
        {%- for code, names in aliases.items() %}
        when lower(trim({{ expr }})) in ({% for n in names %}'{{ n }}'{% if not loop.last %}, {% endif %}{% endfor %}) then '{{ code }}'
        {%- endfor %}
        else 'other'
    end
{%- endmacro %}

{#- matrix tier -> matrix group (contract.MATRIX_GROUPS): 1 (官方) / N (经销商) / X (KOL, KOC) /
    全员 (高管, 员工); 'none' (no account) stays 'none', anything else is 未登记. -#}
{% macro matrix_group(tier) -%}
    case {{ tier }}
        {%- for tier_name, group in mp_matrix_groups().items() %}
        when '{{ tier_name }}' then '{{ group }}'
        {%- endfor %}
        when 'none' then 'none'
        else '未登记'
    end
{%- endmacro %}

{#- A platform's genre label -> '视频' | '图文' | '直播' (直播回放 counts as live). -#}
{% macro content_type(expr, default='视频') -%}
    case
        when {{ expr }} like '%直播%' then '直播'
        when {{ expr }} like '%图%' or {{ expr }} like '%文%' or lower({{ expr }}) like '%note%' then '图文'
        when {{ expr }} is null or trim({{ expr }}) = '' then '{{ default }}'
        else '视频'
    end
{%- endmacro %}

{#- Yes/no codes as exported ('1', '是', 'Y', 'true' ...) -> boolean; unknown -> false. -#}
{% macro yes_no(expr) -%}
    coalesce(lower(trim(cast({{ expr }} as varchar))) in ('1', 'y', 'yes', 'true', 't', '是'), false)
{%- endmacro %}
