{#- Generated from include/matrix_pulse/contract.py by python -m matrix_pulse.transform.raw_layer.
    Do not edit by hand: change the contract and regenerate. -#}

{#- platform code -> how exports and CRM channels write it (matched trimmed, lower-cased) -#}
{% macro mp_platform_aliases() -%}
    {{ return({"douyin": ["抖音", "douyin", "抖音号"], "kuaishou": ["快手", "kuaishou"], "xiaohongshu": ["小红书", "xiaohongshu", "red"], "weibo": ["微博", "新浪微博", "weibo"], "bilibili": ["b站", "哔哩哔哩", "bilibili"], "wechat_oa": ["微信公众号", "公众号", "wechat_oa"], "wechat_channels": ["视频号", "微信视频号", "wechat_channels"]}) }}
{%- endmacro %}

{#- matrix tier -> matrix group -#}
{% macro mp_matrix_groups() -%}
    {{ return({"官方": "1", "经销商": "N", "KOL": "X", "KOC": "X", "高管": "全员", "员工": "全员"}) }}
{%- endmacro %}
