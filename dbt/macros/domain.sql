{#- Domain mappings used by several models. -#}

{#- Chinese platform / channel name (抖音, 视频号 ...) or a platform code -> platform code;
    anything else (懂车帝, 汽车之家, 自然到店, 400电话 ...) -> 'other'. -#}
{% macro platform_code(expr) -%}
    {%- set aliases = {
        'douyin': ['抖音', 'douyin', '抖音号'],
        'kuaishou': ['快手', 'kuaishou'],
        'xiaohongshu': ['小红书', 'xiaohongshu', 'red'],
        'weibo': ['微博', '新浪微博', 'weibo'],
        'bilibili': ['b站', '哔哩哔哩', 'bilibili'],
        'wechat_oa': ['微信公众号', '公众号', 'wechat_oa'],
        'wechat_channels': ['视频号', '微信视频号', 'wechat_channels'],
    } -%}
    case
        {%- for code, names in aliases.items() %}
        when lower(trim({{ expr }})) in ({% for n in names %}'{{ n }}'{% if not loop.last %}, {% endif %}{% endfor %}) then '{{ code }}'
        {%- endfor %}
        else 'other'
    end
{%- endmacro %}

{#- matrix tier -> matrix group: 1 (官方) / N (经销商) / X (KOL, KOC) / 全员 (高管, 员工). -#}
{% macro matrix_group(tier) -%}
    case {{ tier }}
        when '官方' then '1'
        when '经销商' then 'N'
        when 'KOL' then 'X'
        when 'KOC' then 'X'
        when '高管' then '全员'
        when '员工' then '全员'
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
