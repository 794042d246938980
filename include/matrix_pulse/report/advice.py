"""Advice (下季度建议): stated rules, thresholds from config/advice.yaml, the numbers that fired them.

Every rule compares a unit (a post, a content type, a tier, a platform, a live account, a
region or dealer) with an absolute threshold or with the network as a whole (全国, all
units together), never with "the median", which flags half of any group by definition.
A regional pack runs the same rules over its own region, against the national network.
Each rule yields one Recommendation, also when it does not fire ("未触发", with the
figures that show why), so the reader sees what was checked.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matrix_pulse.report import content_length, fmt, queries
from matrix_pulse.report.model import Column, Recommendation, Table
from matrix_pulse.settings import get_settings

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from matrix_pulse.report.quarters import Quarter


@dataclass(frozen=True)
class AdviceConfig:
    high_views_quantile: float = 0.9
    low_interaction_factor: float = 0.5
    content_type_factor: float = 0.7
    content_type_min_items: int = 10
    title_short_max_chars: int = 15
    title_medium_max_chars: int = 30
    title_length_factor: float = 0.7
    title_length_min_items: int = 10
    tier_factor: float = 0.7
    tier_min_views: int = 10_000
    cost_factor: float = 1.5
    min_valid_leads: int = 5
    deal_cost_factor: float = 3.0
    deal_min_cost_yuan: float = 20_000
    leads_per_k_factor: float = 0.5
    min_viewers: int = 2_000
    stage_factor: float = 0.7
    funnel_min_valid_leads: int = 30
    min_24h_rate: float = 0.8
    max_median_response_minutes: float = 120
    follow_up_min_valid_leads: int = 10
    inactive_days: int = 30
    playbook_min_accounts: int = 5
    silent_tier_max_share: float = 0.2
    rhythm_min_target_week_share: float = 0.6
    holiday_min_posts: int = 10
    holiday_min_uplift: float = 1.0
    holiday_min_days_loaded: float = 14
    wecom_max_avg_reply_minutes: float = 30
    wecom_min_chats: int = 20


# yaml section.key -> AdviceConfig field
_YAML_KEYS = {
    ("content", "high_views_quantile"): "high_views_quantile",
    ("content", "low_interaction_factor"): "low_interaction_factor",
    ("content", "content_type_factor"): "content_type_factor",
    ("content", "content_type_min_items"): "content_type_min_items",
    ("content", "title_short_max_chars"): "title_short_max_chars",
    ("content", "title_medium_max_chars"): "title_medium_max_chars",
    ("content", "title_length_factor"): "title_length_factor",
    ("content", "title_length_min_items"): "title_length_min_items",
    ("interaction", "tier_factor"): "tier_factor",
    ("interaction", "tier_min_views"): "tier_min_views",
    ("channel", "cost_factor"): "cost_factor",
    ("channel", "min_valid_leads"): "min_valid_leads",
    ("channel", "deal_cost_factor"): "deal_cost_factor",
    ("channel", "deal_min_cost_yuan"): "deal_min_cost_yuan",
    ("live", "leads_per_k_factor"): "leads_per_k_factor",
    ("live", "min_viewers"): "min_viewers",
    ("funnel", "stage_factor"): "stage_factor",
    ("funnel", "min_valid_leads"): "funnel_min_valid_leads",
    ("follow_up", "min_24h_rate"): "min_24h_rate",
    ("follow_up", "max_median_response_minutes"): "max_median_response_minutes",
    ("follow_up", "min_valid_leads"): "follow_up_min_valid_leads",
    ("accounts", "inactive_days"): "inactive_days",
    ("playbook", "min_accounts"): "playbook_min_accounts",
    ("playbook", "silent_tier_max_share"): "silent_tier_max_share",
    ("playbook", "rhythm_min_target_week_share"): "rhythm_min_target_week_share",
    ("playbook", "holiday_min_posts"): "holiday_min_posts",
    ("playbook", "holiday_min_uplift"): "holiday_min_uplift",
    ("playbook", "holiday_min_days_loaded"): "holiday_min_days_loaded",
    ("wecom", "max_avg_reply_minutes"): "wecom_max_avg_reply_minutes",
    ("wecom", "min_chats"): "wecom_min_chats",
}


def advice_path() -> Path:
    return get_settings().advice_file


def load_advice_config(path: Path | None = None) -> AdviceConfig:
    """Read the thresholds; an unknown key or a non-number names the file and the key."""
    import yaml

    path = path or advice_path()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    types = {f.name: f.type for f in fields(AdviceConfig)}
    values: dict[str, Any] = {}
    for section, entries in raw.items():
        for key, value in (entries or {}).items():
            name = _YAML_KEYS.get((section, key))
            if name is None:
                raise ValueError(f"{path}: unknown advice setting {section}.{key}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{path}: {section}.{key} must be a number >= 0, found {value!r}")
            values[name] = int(value) if types[name] == "int" else float(value)
    return AdviceConfig(**values)


def _rate(num: Any, den: Any) -> float | None:
    return float(num) / float(den) if not fmt.is_missing(den) and den and not fmt.is_missing(num) else None


def _names(df: pd.DataFrame, render, n: int = 5) -> list[str]:
    out = [render(r) for r in df.head(n).itertuples()]
    if len(df) > n:
        out.append(f"……共 {len(df)} 项，完整名单见附件 Excel")
    return out


def _rec(category: str, rule: str, hits: pd.DataFrame, fired_title: str, quiet_title: str,
         evidence: list[str], action: str) -> Recommendation:  # fmt: skip
    fired = len(hits) > 0
    return Recommendation(rule, fired_title if fired else f"未触发：{quiet_title}", evidence,
                          action if fired else "保持现有做法，下季度继续按本规则复查。", category, fired)  # fmt: skip


def build_advice(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None, tables: dict[str, Table],
                 headline: dict, network: dict, cfg: AdviceConfig) -> tuple[list[Recommendation], list[Table]]:  # fmt: skip
    """The rules, in the order a marketing director reads them; ``network`` = national headline."""
    recs: list[Recommendation] = []
    extra: list[Table] = []
    net_ir = network.get("interaction_rate")

    # 1 内容: high views, low interaction.
    low, cut = queries.low_interaction_content(con, quarter, region, cfg.high_views_quantile,
                                               cfg.low_interaction_factor, net_ir)  # fmt: skip
    rule = (f"规则 1（内容）：播放量位于本季度内容前 {(1 - cfg.high_views_quantile):.0%}（≥ {fmt.count(cut['views_cut'])}）"
            f"且互动率低于全国互动率 {fmt.pct(net_ir)} 的 {cfg.low_interaction_factor:.0%}"
            f"（< {fmt.pct(cut['rate_cut'])}）的内容需复盘选题与互动引导。")  # fmt: skip
    ev = [f"本季度内容 {fmt.count(cut['items'])} 条，命中 {cut['matches']} 条"]
    ev += _names(low, lambda r: f"《{r.title}》（{r.platform_name_cn}·{r.account_name or '-'}）：播放 "
                 f"{fmt.count(r.views)}，互动率 {fmt.pct(r.interaction_rate)}", 3)  # fmt: skip
    recs.append(_rec("内容", rule, low, f"{cut['matches']} 条高播放内容互动偏低", "高播放内容互动率均达标", ev,
                     "对命中内容逐条复盘：标题与前 3 秒是否承诺了内容给不出的东西，结尾是否有提问/投票等互动引导；"
                     "下季度同类选题加互动钩子。"))  # fmt: skip
    tables["low_interaction"] = Table(
        "low_interaction", "高播放、低互动内容", low, _CONTENT_COLS, rule, "高播放低互动"
    )

    # 2 内容: content types.
    types = tables["content_types"].df
    weak = types[(types["items"] >= cfg.content_type_min_items)
                 & (types["interaction_rate"] < (net_ir or 0) * cfg.content_type_factor)]  # fmt: skip
    rule = (
        f"规则 2（内容）：内容数 ≥ {cfg.content_type_min_items} 条的体裁，互动率低于全国互动率的 "
        f"{cfg.content_type_factor:.0%}（< {fmt.pct((net_ir or 0) * cfg.content_type_factor)}）时调整内容结构。"
    )
    ev = [f"{r.content_type}：{fmt.count(r.items)} 条，互动率 {fmt.pct(r.interaction_rate)}，条均播放 "
          f"{fmt.count(r.views_per_item)}" for r in types.itertuples()]  # fmt: skip
    best = types.dropna(subset=["interaction_rate"]).sort_values("interaction_rate", ascending=False)
    recs.append(_rec("内容", rule, weak, "、".join(weak["content_type"]) + " 互动率偏低", "各体裁互动率均达标", ev,
                     f"减少{'、'.join(weak['content_type'])}的排期占比，向互动率最高的"
                     f"{best.iloc[0].content_type if len(best) else '体裁'}倾斜，并按月复查。"))  # fmt: skip

    # 3 互动: tiers.
    tiers = tables["matrix"].df
    weak = tiers[(tiers["views"] >= cfg.tier_min_views)
                 & (tiers["interaction_rate"] < (net_ir or 0) * cfg.tier_factor)]  # fmt: skip
    rule = (
        f"规则 3（互动）：播放 ≥ {fmt.count(cfg.tier_min_views)} 的矩阵层级，互动率低于全国互动率的 "
        f"{cfg.tier_factor:.0%}（< {fmt.pct((net_ir or 0) * cfg.tier_factor)}）时需提升互动。"
    )
    ev = [f"{r.matrix_tier}：播放 {fmt.count(r.views)}，互动率 {fmt.pct(r.interaction_rate)}"
          for r in tiers[tiers["views"] > 0].itertuples()] or ["本季度无内容数据"]  # fmt: skip
    recs.append(_rec("互动", rule, weak, "、".join(weak["matrix_tier"]) + " 层级互动率偏低", "各层级互动率均达标", ev,
                     "为命中层级的账号安排评论区运营（置顶问题、24 小时内回复评论），并在内容中加入明确的互动引导。"))  # fmt: skip

    # 4 渠道: creator cost per valid lead by platform.
    costs = queries.creator_cost_by_platform(con, quarter, region)
    total_cost, total_valid = costs["cost_yuan"].sum(), costs["valid_leads"].sum()
    avg = _rate(total_cost, total_valid)
    eligible = costs[costs["valid_leads"] >= cfg.min_valid_leads].dropna(subset=["cost_per_valid_lead"])
    dear = eligible[eligible["cost_per_valid_lead"] > (avg or float("inf")) * cfg.cost_factor]
    cheap = eligible.sort_values("cost_per_valid_lead").head(1)
    rule = (
        f"规则 4（渠道）：有效线索 ≥ {cfg.min_valid_leads} 条的平台，达人每有效线索成本高于全部达人平均 "
        f"{fmt.yuan(avg)} 的 {cfg.cost_factor:g} 倍（> {fmt.yuan((avg or 0) * cfg.cost_factor)}）时调减该平台达人预算。"
    )
    ev = [f"{r.platform_name_cn}：投入 {fmt.yuan(r.cost_yuan)}，有效线索 {fmt.count(r.valid_leads)} 条，每有效线索成本 "
          f"{fmt.yuan(r.cost_per_valid_lead)}" for r in costs.itertuples()] or ["本季度无达人合作"]  # fmt: skip
    to = cheap.iloc[0].platform_name_cn if len(cheap) else "成本最低的平台"
    recs.append(_rec("渠道", rule, dear, f"达人预算从{'、'.join(dear['platform_name_cn'])}调往{to}",
                     "各平台达人成本均在阈值内", ev,
                     f"下季度{'、'.join(dear['platform_name_cn'])}的达人预算按超出比例调减，调往{to}，并按月复核。"))  # fmt: skip

    # 5 渠道: creator deals that did not pay back.
    deals = tables["creator_roi"].df
    deal_hits = deals[((deals["cost_per_valid_lead"] > (avg or float("inf")) * cfg.deal_cost_factor)
                       | ((deals["valid_leads"].fillna(0) == 0) & (deals["cost_yuan"] >= cfg.deal_min_cost_yuan)))]  # fmt: skip
    rule = (
        f"规则 5（渠道）：每有效线索成本高于全部达人平均的 {cfg.deal_cost_factor:g} 倍（> "
        f"{fmt.yuan((avg or 0) * cfg.deal_cost_factor)}），或投入 ≥ {fmt.yuan(cfg.deal_min_cost_yuan)} "
        "却没有带来有效线索的达人合作，下季度不续约或改为按效果付费。"
    )
    ev = [
        f"本季度达人合作 {len(deals)} 个，命中 {len(deal_hits)} 个，投入合计 {fmt.yuan(deal_hits['cost_yuan'].sum())}"
    ]
    ev += _names(deal_hits, lambda r: f"{r.account_name or r.account_id}（{r.platform_name_cn}，{r.cooperation_form or '-'}）："
                 f"投入 {fmt.yuan(r.cost_yuan)}，曝光 {fmt.count(r.exposure)}，有效线索 {fmt.count(r.valid_leads)}", 3)  # fmt: skip
    recs.append(_rec("渠道", rule, deal_hits, f"{len(deal_hits)} 个达人合作投入产出偏低", "达人合作投入产出均在阈值内",
                     ev, "命中的达人合作下季度不续约，或改为 CPL（按有效线索）结算。"))  # fmt: skip
    extra.append(
        Table(
            "creator_deals_flagged",
            "投入产出偏低的达人合作",
            deal_hits,
            _DEAL_FLAG_COLS,
            rule,
            "低效达人合作",
        )
    )

    # 6 直播: live accounts with few leads per 1,000 viewers.
    live = queries.live_by_account(con, quarter, region)
    net_live = _rate(network.get("live_leads"), network.get("live_viewers"))
    net_k = net_live * 1000 if net_live is not None else None
    live_hits = live[(live["viewers"] >= cfg.min_viewers)
                     & (live["leads_per_k_viewers"] < (net_k or 0) * cfg.leads_per_k_factor)]  # fmt: skip
    rule = (f"规则 6（直播）：观看人数 ≥ {fmt.count(cfg.min_viewers)} 的直播账号，千人留资低于全国 "
            f"{fmt.number(net_k)} 的 {cfg.leads_per_k_factor:.0%}（< {fmt.number((net_k or 0) * cfg.leads_per_k_factor)}）"
            "时需优化留资组件与话术。")  # fmt: skip
    ev = [f"本季度直播账号 {len(live)} 个，命中 {len(live_hits)} 个"]
    ev += _names(live_hits.sort_values("viewers", ascending=False),
                 lambda r: f"{r.account_name or r.account_id}（{r.platform_name_cn}）：{r.sessions} 场，观看 "
                 f"{fmt.count(r.viewers)}，留资 {fmt.count(r.leads)}，千人留资 {fmt.number(r.leads_per_k_viewers)}", 3)  # fmt: skip
    recs.append(_rec("直播", rule, live_hits, f"{len(live_hits)} 个直播账号留资效率偏低", "直播账号留资效率均达标", ev,
                     "命中账号每场直播固定挂载留资组件、每 15 分钟口播一次到店/试驾权益，由大区督导抽查回放。"))  # fmt: skip
    extra.append(Table("live_laggards", "留资效率偏低的直播账号", live_hits,
                       [Column("account_name", "账号"), Column("platform_name_cn", "平台"), Column("matrix_tier", "层级"),
                        Column("sessions", "场次", "count"), Column("viewers", "观看人数", "count"),
                        Column("leads", "留资", "count"), Column("leads_per_k_viewers", "千人留资", "number")],
                       rule, "直播留资偏低"))  # fmt: skip

    # 7 漏斗: regions (HQ) or dealers (regional pack) far below the network's arrival / order rate.
    net_arr, net_ord = network.get("arrival_rate"), network.get("order_rate")
    if region is None:
        units = tables["region_comparison"].df.rename(columns={"region": "unit"})
        units = units[units["unit"].isin(queries.REGIONS)]
        unit_word = "大区"
    else:
        sc = tables["dealer_scorecard"].df
        units = sc.assign(
            unit=sc["dealer_name"],
            arrival_rate=sc["arrivals"] / sc["valid_leads"].where(sc["valid_leads"] > 0),
        )
        unit_word = "经销商"
    units = units[units["valid_leads"] >= cfg.funnel_min_valid_leads]
    arr_cut, ord_cut = (net_arr or 0) * cfg.stage_factor, (net_ord or 0) * cfg.stage_factor
    arr_hits = units[units["arrival_rate"] < arr_cut]
    ord_hits = units[units["order_rate"] < ord_cut]
    rule = (
        f"规则 7（漏斗·到店）：有效线索 ≥ {cfg.funnel_min_valid_leads} 条的{unit_word}，到店率低于全国 "
        f"{fmt.pct(net_arr)} 的 {cfg.stage_factor:.0%}（< {fmt.pct(arr_cut)}）时需加强邀约。"
    )
    ev = _names(arr_hits.sort_values("arrival_rate"), lambda r: f"{r.unit}：有效线索 {fmt.count(r.valid_leads)}，"
                f"到店率 {fmt.pct(r.arrival_rate)}") or [f"全部{unit_word}到店率 ≥ {fmt.pct(arr_cut)}"]  # fmt: skip
    recs.append(_rec("漏斗", rule, arr_hits, f"{len(arr_hits)} 个{unit_word}到店率偏低", f"各{unit_word}到店率均达标", ev,
                     "命中单位复盘邀约话术与到店权益，线索分配后 48 小时内完成首次邀约，下季度复查到店率。"))  # fmt: skip
    rule = (
        f"规则 8（漏斗·成交）：有效线索 ≥ {cfg.funnel_min_valid_leads} 条的{unit_word}，订单转化率低于全国 "
        f"{fmt.pct(net_ord)} 的 {cfg.stage_factor:.0%}（< {fmt.pct(ord_cut)}）时需复盘试驾与报价环节。"
    )
    ev = _names(ord_hits.sort_values("order_rate"), lambda r: f"{r.unit}：有效线索 {fmt.count(r.valid_leads)}，"
                f"订单转化率 {fmt.pct(r.order_rate)}") or [f"全部{unit_word}订单转化率 ≥ {fmt.pct(ord_cut)}"]  # fmt: skip
    recs.append(_rec("漏斗", rule, ord_hits, f"{len(ord_hits)} 个{unit_word}订单转化率偏低",
                     f"各{unit_word}订单转化率均达标", ev,
                     "命中单位抽查试驾后 24 小时回访与报价记录，必要时由厂家区域经理驻店辅导。"))  # fmt: skip

    # 9 经销商跟进: 24-hour follow-up (absolute standard).
    sc = tables["dealer_scorecard"].df
    sc_ok = sc[sc["valid_leads"] >= cfg.follow_up_min_valid_leads]
    slow24 = sc_ok[sc_ok["follow_up_24h_rate"] < cfg.min_24h_rate].sort_values(
        ["follow_up_24h_rate", "dealer_code"]
    )
    rule = (
        f"规则 9（经销商跟进）：有效线索 ≥ {cfg.follow_up_min_valid_leads} 条的经销商，24 小时跟进率低于 "
        f"{fmt.pct(cfg.min_24h_rate)}（厂家服务标准）需整改。"
    )
    ev = [f"{len(sc_ok)} 家经销商参与考核，{len(slow24)} 家低于标准"]
    ev += _names(slow24, lambda r: f"{r.dealer_name}：{fmt.pct(r.follow_up_24h_rate)}（有效线索 "
                 f"{fmt.count(r.valid_leads)} 条，响应中位数 {fmt.minutes(r.median_response_minutes)}）")  # fmt: skip
    recs.append(_rec("经销商跟进", rule, slow24, f"{len(slow24)} 家经销商 24 小时跟进率低于 {fmt.pct(cfg.min_24h_rate)}",
                     "全部经销商 24 小时跟进率达标", ev,
                     "由大区督导约谈，要求新线索 24 小时内完成首次跟进，下季度复盘时复查。"))  # fmt: skip
    extra.append(Table("follow_up_laggards", f"24 小时跟进率低于 {fmt.pct(cfg.min_24h_rate)} 的经销商", slow24,
                       _DEALER_COLS, rule, "跟进率偏低经销商"))  # fmt: skip

    # 10 经销商跟进: median first response (absolute).
    slow = sc_ok[sc_ok["median_response_minutes"] > cfg.max_median_response_minutes].sort_values(
        ["median_response_minutes", "dealer_code"], ascending=[False, True]
    )
    rule = (
        f"规则 10（经销商跟进）：有效线索 ≥ {cfg.follow_up_min_valid_leads} 条的经销商，首次响应时长中位数超过 "
        f"{fmt.minutes(cfg.max_median_response_minutes)} 需整改。"
    )
    ev = _names(slow, lambda r: f"{r.dealer_name}：响应中位数 {fmt.minutes(r.median_response_minutes)}"
                f"（有效线索 {fmt.count(r.valid_leads)} 条）") or ["全部经销商响应中位数达标"]  # fmt: skip
    recs.append(_rec("经销商跟进", rule, slow, f"{len(slow)} 家经销商首次响应过慢", "全部经销商首次响应及时", ev,
                     "命中经销商开通线索到达即时提醒（企业微信），并指定专人值守线上线索。"))  # fmt: skip

    # 11 账号: silent roster accounts.
    inactive = queries.inactive_accounts(con, quarter, region, cfg.inactive_days)
    rule = f"规则 11（账号）：季度末前 {cfg.inactive_days} 天内没有任何活跃日的在册账号需跟进（激活或停用）。"
    ev = [f"截至 {quarter.end:%Y-%m-%d}，{len(inactive)} 个在册账号超过 {cfg.inactive_days} 天无活跃"]
    ev += _names(
        inactive,
        lambda r: (
            f"{r.account_name}（{r.platform_name_cn}，"
            + ("从未活跃" if fmt.is_missing(r.last_active_day) else f"最后活跃 {r.last_active_day:%m-%d}")
            + "）"
        ),
    )
    recs.append(
        _rec(
            "账号",
            rule,
            inactive,
            f"{len(inactive)} 个账号已连续 {cfg.inactive_days} 天以上未活跃",
            "没有沉默账号",
            ev,
            "由账号负责人在两周内恢复更新，或在花名册中标记停用；完整名单见附件“沉默账号”。",
        )
    )
    extra.append(Table("inactive_accounts", f"连续 {cfg.inactive_days} 天以上未活跃的账号", inactive,
                       [Column("account_name", "账号"), Column("platform_name_cn", "平台"), Column("matrix_tier", "层级"),
                        Column("dealer_code", "经销商代码"), Column("region", "大区"),
                        Column("last_active_day", "最后活跃日", "date"), Column("days_inactive", "未活跃天数", "count")],
                       rule, "沉默账号"))  # fmt: skip
    # 12 内容·长度: title-length bands (last, so the earlier rules keep their numbers).
    bounds = (cfg.title_short_max_chars, cfg.title_medium_max_chars)
    bands = content_length.by_title_length(con, quarter, region, bounds)
    cut = (net_ir or 0) * cfg.title_length_factor
    weak = bands[(bands["items"] >= cfg.title_length_min_items) & (bands["interaction_rate"] < cut)]
    rule = (
        f"规则 12（内容·长度）：按标题字数分档（≤{bounds[0]} / {bounds[0] + 1}–{bounds[1]} / >{bounds[1]} 字），"
        f"内容数 ≥ {cfg.title_length_min_items} 条的档位，互动率低于全国互动率的 {cfg.title_length_factor:.0%}"
        f"（< {fmt.pct(cut)}）时调整标题长度。"
    )
    ev = [f"{r.title_band}：{fmt.count(r.items)} 条，播放 {fmt.count(r.views)}，互动率 {fmt.pct(r.interaction_rate)}"
          for r in bands.itertuples()]  # fmt: skip
    best = bands[bands["items"] >= cfg.title_length_min_items].dropna(subset=["interaction_rate"])
    best = best.sort_values("interaction_rate", ascending=False)
    recs.append(_rec("内容", rule, weak, "、".join(weak["title_band"]) + " 标题的内容互动率偏低",
                     "各标题长度档互动率均达标", ev,
                     f"下季度把{'、'.join(weak['title_band'])}的标题改写到"
                     f"{best.iloc[0].title_band if len(best) else '互动率最高的档位'}，发布前按本规则抽查。"))  # fmt: skip
    extra.append(Table("title_length", "标题字数与互动", bands, content_length.COLUMNS, rule, "标题字数"))
    return recs, extra


_CONTENT_COLS = [Column("title", "标题"), Column("platform_name_cn", "平台"), Column("account_name", "账号"),
                 Column("matrix_tier", "层级"), Column("content_type", "体裁"), Column("views", "播放/阅读", "count"),
                 Column("engagements", "互动量", "count"), Column("interaction_rate", "互动率", "pct")]  # fmt: skip
_DEALER_COLS = [Column("dealer_name", "经销商"), Column("city", "城市"), Column("valid_leads", "有效线索", "count"),
                Column("order_rate", "订单转化率", "pct"), Column("median_response_minutes", "响应中位数", "minutes"),
                Column("follow_up_24h_rate", "24h 跟进率", "pct")]  # fmt: skip
_DEAL_FLAG_COLS = [Column("account_name", "达人"), Column("platform_name_cn", "平台"),
                   Column("cooperation_form", "合作形式"), Column("campaign_name", "活动"),
                   Column("cost_yuan", "投入", "yuan"), Column("exposure", "曝光", "count"),
                   Column("valid_leads", "有效线索", "count"), Column("cost_per_valid_lead", "每有效线索成本", "yuan")]  # fmt: skip
