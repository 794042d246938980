"""Assemble one quarterly review pack (quarter × audience) from the published marts.

The pack is plain data (KPIs, tables with typed columns, recommendations, health) so the
HTML mail, the PDF and the XLSX all show the very same numbers; rendering lives in
``render``. Every recommendation comes from an explicit rule and cites its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from matrix_pulse.report import fmt, gate, playbook, queries
from matrix_pulse.report.advice import AdviceConfig, build_advice, load_advice_config
from matrix_pulse.report.audiences import Audience, GateConfig, PackConfig
from matrix_pulse.report.model import ROW_KIND, Column, Kpi, Recommendation, Table
from matrix_pulse.report.playbook_advice import playbook_advice
from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.wecom import reply_time_advice, wecom_summary, wecom_tables
from matrix_pulse.settings import TIMEZONE

if TYPE_CHECKING:
    import duckdb

__all__ = ["Column", "Kpi", "QuarterPack", "Recommendation", "Table", "build_pack"]


@dataclass
class QuarterPack:
    quarter: Quarter
    audience: Audience
    generated_at: datetime
    kpis: list[Kpi]
    tables: dict[str, Table]
    recommendations: list[Recommendation]
    gate: gate.GateResult
    funnel: dict
    live: dict
    highlights: list[str] = field(default_factory=list)
    creator_summary: dict = field(default_factory=dict)
    live_summary: list[str] = field(default_factory=list)
    reach: dict = field(default_factory=dict)  # the headline's content and account figures
    wecom: dict = field(default_factory=dict)  # the 私域运营 section's headline (report.wecom)

    @property
    def scope_label(self) -> str:
        return "全国" if self.audience.is_national else f"{self.audience.region}大区"

    @property
    def title(self) -> str:
        return f"新媒体矩阵季度复盘 · {self.quarter.label_cn} · {self.scope_label}"


KPI_DEFS = [
    # key, label, kind, better
    ("exposure", "总曝光", "count", "up"),
    ("interaction_rate", "互动率", "pct", "up"),
    ("valid_leads", "有效线索", "count", "up"),
    ("order_rate", "线索→订单转化率", "pct", "up"),
    ("median_response_minutes", "首次响应时长（中位数，有效线索）", "minutes", "down"),
    ("follow_up_24h_rate", "24 小时跟进率", "pct", "up"),
]
ACCOUNTS_NOTE = "账号数：每个账号每季度只计一次，按其在本季度最后一天的层级、经销商与大区归属。"
UNATTRIBUTED_NOTE = (f"“{queries.UNATTRIBUTED}”= 来源账号未知的线索；“{queries.UNREGISTERED_TIER}”= 不在花名册上的账号的内容；"
                     f"“{queries.OTHER_PLATFORM_CN}”= 懂车帝、汽车之家、400 电话、自然到店等非自有平台来源的线索。"
                     "各行相加等于总计。")  # fmt: skip


def _kpis(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, audience: Audience
) -> tuple[list[Kpi], dict, dict]:
    region = None if audience.is_national else audience.region
    cur = queries.headline(con, quarter, region)
    nat = queries.headline(con, quarter, None) if region else cur
    # A quarter the marts do not cover yields all-NULL figures: "—" and the reason, never a fake 0 % change.
    prev = (
        queries.headline(con, quarter.previous(), region)
        if queries.quarter_has_data(con, quarter.previous())
        else {}
    )
    ago = (
        queries.headline(con, quarter.year_ago(), region)
        if queries.quarter_has_data(con, quarter.year_ago())
        else {}
    )
    prev_gap = f"上季度 {quarter.previous().label} 无数据" if not prev else "上季度无该指标"
    ago_gap = f"去年同期 {quarter.year_ago().label} 无数据" if not ago else "去年同期无该指标"
    kpis = [Kpi(k, label, kind, better, cur.get(k), prev.get(k), ago.get(k), nat.get(k) if region else None,
                prev_gap, ago_gap) for k, label, kind, better in KPI_DEFS]  # fmt: skip
    return kpis, cur, nat


def _tier_table(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> Table:
    df = queries.by_tier(con, quarter, region)
    has_prev = queries.quarter_has_data(con, quarter.previous())
    prev = (
        queries.by_tier(con, quarter.previous(), region).set_index("matrix_tier")["exposure"]
        if has_prev
        else {}
    )
    df["exposure_qoq"] = [
        (e - prev.get(t)) / prev.get(t) if has_prev and prev.get(t) and not fmt.is_missing(e) else None
        for t, e in zip(df["matrix_tier"], df["exposure"], strict=True)
    ]
    cols = [Column("matrix_tier", "矩阵层级"), Column("accounts", "账号数", "count"),
            Column("active_accounts", "活跃账号", "count"), Column("posts_published", "发布数", "count"),
            Column("exposure", "曝光", "count"), Column("exposure_qoq", "曝光环比", "pct"),
            Column("engagements", "互动量", "count"), Column("interaction_rate", "互动率", "pct"),
            Column("leads", "线索", "count"), Column("valid_leads", "有效线索", "count"),
            Column("order_rate", "订单转化率", "pct")]  # fmt: skip
    if region:
        national = queries.by_tier(con, quarter, None).set_index("matrix_tier")["interaction_rate"]
        df["national_interaction_rate"] = df["matrix_tier"].map(national)
        cols.insert(8, Column("national_interaction_rate", "全国互动率", "pct"))
    note = (
        ACCOUNTS_NOTE
        + UNATTRIBUTED_NOTE
        + ("" if has_prev else f"曝光环比空白：上季度 {quarter.previous().label} 无数据。")
    )
    if region:
        note += (
            "官方、KOL、KOC、高管账号归属总部，只出现在全国视图；线索按来源账号层级、经办经销商所在大区归属。"
        )
    return Table("matrix", "矩阵视图：1 / N / X / 全员", df, cols, note, "矩阵视图")


def _platform_table(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> Table:
    df = queries.by_platform(con, quarter, region)
    costs = queries.creator_cost_by_platform(con, quarter, region).set_index("platform")
    df["creator_cost_yuan"] = df["platform"].map(costs["cost_yuan"])
    df["cost_per_valid_lead"] = df["platform"].map(costs["cost_per_valid_lead"])
    cols = [Column("platform_name_cn", "平台"), Column("exposure", "曝光", "count"),
            Column("engagements", "互动量", "count"), Column("interaction_rate", "互动率", "pct"),
            Column("leads", "线索", "count"), Column("valid_leads", "有效线索", "count"),
            Column("order_rate", "订单转化率", "pct"), Column("creator_cost_yuan", "达人投入", "yuan"),
            Column("cost_per_valid_lead", "达人每有效线索成本", "yuan")]  # fmt: skip
    note = "线索按来源平台归属。" + UNATTRIBUTED_NOTE
    note += ("达人投入为触达本大区经销商的达人合作的全部投入（预算由总部统一投放），每有效线索成本 = 投入 ÷ 本大区有效线索。"
             if region else "达人投入与每有效线索成本来自达人合作（每行一个合作）。")  # fmt: skip
    return Table("platforms", "平台对比", df, cols, note, "平台对比")


FUNNEL_COLS = [Column("leads", "线索", "count"), Column("valid_leads", "有效线索", "count"),
               Column("arrivals", "到店", "count"), Column("arrival_rate", "到店率", "pct"),
               Column("test_drives", "试驾", "count"), Column("test_drive_rate", "试驾率", "pct"),
               Column("orders", "下订", "count"), Column("order_rate", "订单转化率", "pct"),
               Column("deliveries", "交车", "count"), Column("delivery_rate", "交车率", "pct"),
               Column("median_response_minutes", "响应中位数", "minutes"),
               Column("follow_up_24h_rate", "24h 跟进率", "pct")]  # fmt: skip
FUNNEL_NOTE = "各阶段率 = 该阶段人数 ÷ 同批有效线索（按线索创建日期归入季度）；响应中位数只计有效线索。"


def _funnel_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> list[Table]:
    out = []
    for dim, title, sheet in (("platform", "线索漏斗：按来源平台", "漏斗-平台"), ("tier", "线索漏斗：按来源层级", "漏斗-层级"),
                              ("region", "线索漏斗：按大区", "漏斗-大区")):  # fmt: skip
        if dim == "region" and region:
            continue  # one region: its funnel is the headline
        df = queries.funnel_by(con, quarter, region, dim)
        label = queries.FUNNEL_DIMENSIONS[dim][1]
        out.append(Table(f"funnel_{dim}", title, df, [Column("segment_name", label), *FUNNEL_COLS],
                         FUNNEL_NOTE + (UNATTRIBUTED_NOTE if dim != "region" else
                                        f"“{queries.UNATTRIBUTED}”= 经销商未知的线索。"), sheet))  # fmt: skip
    return out


def _region_table(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> Table:
    df = queries.region_comparison(con, quarter)
    cols = [Column("region", "大区"), Column("exposure", "曝光", "count"), Column("interaction_rate", "互动率", "pct"),
            Column("valid_leads", "有效线索", "count"), Column("arrival_rate", "到店率", "pct"),
            Column("test_drive_rate", "试驾率", "pct"), Column("order_rate", "订单转化率", "pct"),
            Column("delivery_rate", "交车率", "pct"), Column("median_response_minutes", "响应中位数", "minutes")]  # fmt: skip
    note = (f"曝光与互动按账号所在大区（“{queries.HQ_REGION}”= 官方、KOL、KOC、高管等无经销商的账号）；线索按经办经销商所在大区。"
            + FUNNEL_NOTE + "各行相加等于全国总计。")  # fmt: skip
    return Table("region_comparison", "七大区对比", df, cols, note, "大区对比")


def _content_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> list[Table]:
    content_cols = [Column("title", "标题"), Column("platform_name_cn", "平台"), Column("account_name", "账号"),
                    Column("matrix_tier", "层级"), Column("content_type", "体裁"), Column("views", "播放/阅读", "count"),
                    Column("engagements", "互动量", "count"), Column("interaction_rate", "互动率", "pct")]  # fmt: skip
    return [
        Table("content_types", "体裁对比：视频 / 图文 / 直播", queries.by_content_type(con, quarter, region),
              [Column("content_type", "体裁"), Column("items", "内容数", "count"), Column("views", "播放/阅读", "count"),
               Column("views_per_item", "条均播放", "count"), Column("engagements", "互动量", "count"),
               Column("interaction_rate", "互动率", "pct")], "", "体裁对比"),
        Table("top_content", "本季度 Top 10 内容（按播放/阅读）", queries.top_content(con, quarter, region),
              content_cols, "", "Top内容"),
    ]  # fmt: skip


def _live_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> list[Table]:
    by_platform = queries.live_by_platform(con, quarter, region)
    top = queries.top_live_sessions(con, quarter, region)
    return [
        Table("live_by_platform", "直播：按平台与层级", by_platform,
              [Column("platform_name_cn", "平台"), Column("matrix_tier", "层级"), Column("sessions", "场次", "count"),
               Column("viewers", "观看人数", "count"), Column("peak_online", "最高在线", "count"),
               Column("watch_seconds", "总观看时长", "hours"), Column("leads", "留资", "count"),
               Column("leads_per_k_viewers", "千人留资", "number")],
              "千人留资 = 留资数 ÷ 观看人数 × 1000；总观看时长 = 观看人数 × 人均观看时长。", "直播"),
        Table("live_top", "Top 10 直播场次（按观看人数）", top,
              [Column("date_day", "日期", "date"), Column("platform_name_cn", "平台"), Column("account_name", "账号"),
               Column("viewers", "观看人数", "count"), Column("peak_online", "最高在线", "count"),
               Column("avg_watch_seconds", "人均观看(秒)", "number"), Column("leads", "留资", "count"),
               Column("leads_per_k_viewers", "千人留资", "number")], "", "Top直播"),
    ]  # fmt: skip


DEALER_COLS = [Column("dealer_name", "经销商"), Column("city", "城市"), Column("valid_leads", "有效线索", "count"),
               Column("order_rate", "订单转化率", "pct"), Column("median_response_minutes", "响应中位数", "minutes"),
               Column("follow_up_24h_rate", "24h 跟进率", "pct")]  # fmt: skip


def _dealer_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> list[Table]:
    sc = queries.dealer_scorecard(con, quarter, region)
    tables: list[Table] = []
    boards = [("leads", "线索量", "leads", False), ("conversion", "订单转化率", "order_rate", False),
              ("response", "响应速度", "median_response_minutes", True)]  # fmt: skip
    for key, label, col, ascending in boards:
        ranked = sc.dropna(subset=[col]).sort_values([col, "dealer_code"], ascending=[ascending, True])
        cols = [*DEALER_COLS[:2], Column("leads", "线索", "count"), *DEALER_COLS[2:]]
        tables.append(Table(f"dealers_top_{key}", f"千城万店：{label} 前 10", ranked.head(10), cols, "",
                            f"经销商{label}前10"))  # fmt: skip
        tables.append(Table(f"dealers_bottom_{key}", f"千城万店：{label} 后 10",
                            ranked.tail(10).iloc[::-1], cols, "", f"经销商{label}后10"))  # fmt: skip
    none_active = sc[sc["active_accounts"].fillna(0) == 0]
    tables.append(Table("dealers_no_active_account", "没有活跃新媒体账号的经销商", none_active,
                        [Column("dealer_name", "经销商"), Column("province", "省份"), Column("city", "城市"),
                         Column("accounts", "登记账号数", "count"), Column("valid_leads", "有效线索", "count")],
                        "活跃账号 = 本季度内至少有一天活跃的账号。", "无活跃账号经销商",
                        empty="无：每家经销商本季度都有活跃账号。"))  # fmt: skip
    full_cols = [Column("dealer_code", "经销商代码"), Column("dealer_name", "经销商"), Column("region", "大区"),
                 Column("province", "省份"), Column("city", "城市"), Column("city_tier", "城市级别"),
                 Column("accounts", "账号数", "count"), Column("active_accounts", "活跃账号", "count"),
                 Column("exposure", "曝光", "count"), Column("engagements", "互动量", "count"),
                 Column("leads", "线索", "count"), Column("valid_leads", "有效线索", "count"),
                 Column("arrivals", "到店", "count"), Column("orders", "订单", "count"),
                 Column("order_rate", "订单转化率", "pct"), Column("median_response_minutes", "响应中位数", "minutes"),
                 Column("follow_up_24h_rate", "24h 跟进率", "pct"), Column("rank_leads", "全国线索排名", "count"),
                 Column("rank_order_rate", "全国转化排名", "count"),
                 Column("rank_response", "全国响应排名", "count")]  # fmt: skip
    tables.append(Table("dealer_scorecard", "经销商记分卡（全部）", sc, full_cols,
                        "响应中位数只计有效线索；订单转化率 = 下订 ÷ 有效线索。", "经销商记分卡"))  # fmt: skip
    return tables


def _creator_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None,
                    pdf_rows: int) -> list[Table]:  # fmt: skip
    money = [Column("cost_yuan", "投入", "yuan"), Column("exposure", "曝光", "count"),
             Column("engagements", "互动量", "count"), Column("leads", "线索", "count"),
             Column("valid_leads", "有效线索", "count"), Column("orders", "下订", "count"),
             Column("cpm_yuan", "CPM", "yuan"), Column("cpe_yuan", "CPE", "yuan"),
             Column("cost_per_valid_lead", "每有效线索成本", "yuan")]  # fmt: skip
    roi = queries.creator_roi(con, quarter, region)
    creators = len(roi[["platform", "account_id"]].drop_duplicates())
    scope = ("只列出线索到达本大区经销商的达人合作；线索、有效线索、下订为本大区的，投入、曝光、互动为合作整体的"
             "（预算由总部统一投放），每有效线索成本 = 投入 ÷ 合作全部有效线索。" if region else "全国口径。")  # fmt: skip
    return [
        # Ordered by cost, highest first (queries.creator_roi): the PDF prints the largest
        # deals, good and bad value alike, where a budget decision matters.
        Table("creator_roi", "达人 ROI（KOL / KOC）", roi,
              [Column("account_name", "达人"), Column("platform_name_cn", "平台"), Column("matrix_tier", "层级"),
               Column("campaign_name", "活动"), Column("cooperation_form", "合作形式"),
               Column("published_on", "发布日期", "date"), Column("posts_matched", "合作内容", "count"),
               Column("live_sessions_matched", "合作直播", "count"), *money],
              f"每行为一个达人合作（一位达人在一个活动中的一次合作），按投入从高到低排列；本季度共 {len(roi):,} 行、"
              f"{creators:,} 位达人。CPM = 投入 ÷ 曝光 × 1000；CPE = 投入 ÷ 互动量；{scope}",
              "达人ROI", shown=pdf_rows,
              pdf_columns=("account_name", "platform_name_cn", "campaign_name", "cooperation_form", "cost_yuan",
                           "exposure", "engagements", "valid_leads", "orders", "cost_per_valid_lead")),
        Table("campaign_roi", "活动 ROI", queries.campaign_roi(con, quarter, region),
              [Column("campaign_name", "活动"), Column("campaign_code", "活动编码"),
               Column("creators", "达人数", "count"), Column("deals", "合作数", "count"), *money],
              "各活动为上表达人合作之和。", "活动ROI",
              pdf_columns=("campaign_name", "creators", "deals", "cost_yuan", "exposure", "engagements", "leads",
                           "valid_leads", "orders", "cost_per_valid_lead")),
    ]  # fmt: skip


def _health_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter) -> list[Table]:
    health = queries.source_health(con, quarter)
    return [
        Table("source_health", "数据健康：各数据源", health,
              [Column("source", "数据源"), Column("expected_days", "应到源数据日", "count"),
               Column("loaded_days", "已加载", "count"), Column("missing_days", "缺失", "count"),
               Column("rejected_days", "整文件拒收", "count"), Column("gx_failed_days", "GX 未通过", "count"),
               Column("late_days", "迟到", "count"), Column("files", "文件数", "count"),
               Column("rows_read", "读取行数", "count"), Column("rows_set_aside", "隔离行数", "count")],
              "来源：meta.source_freshness 与 meta.load_ledger（不含被更正交付替换的文件）。", "数据健康"),
        Table("missing_source_days", "缺失或拒收的源数据日", queries.missing_source_days(con, quarter),
              [Column("source", "数据源"), Column("data_date", "数据日期", "date"), Column("status", "状态")], "",
              "缺失源数据日"),
        Table("gx_failures", "GX 校验未通过项", queries.gx_failures(con, quarter),
              [Column("source", "数据源"), Column("data_date", "数据日期", "date"), Column("expectation", "校验"),
               Column("column_name", "列"), Column("severity", "级别"), Column("unexpected_count", "异常行数", "count"),
               Column("is_latest_check", "最新一次检查")], "来源：meta.gx_results。", "GX未通过",
              empty="无：本季度没有未通过的 GX 校验。"),
    ]  # fmt: skip


def _trend_table(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> Table:
    import pandas as pd

    months = quarter.previous().months() + quarter.months()
    trend = queries.monthly_trend(con, months, region)
    trend_ago = queries.monthly_trend(con, quarter.year_ago().months(), region)
    trend["valid_leads_year_ago"] = pd.Series([None] * 3 + list(trend_ago["valid_leads"]), dtype="float64")
    trend["month_year_ago"] = [None] * 3 + quarter.year_ago().months()
    gaps = [m for m, v in zip(trend["month"], trend["exposure"], strict=True) if fmt.is_missing(v)]
    gaps += [
        m
        for m, v in zip(quarter.year_ago().months(), trend_ago["exposure"], strict=True)
        if fmt.is_missing(v)
    ]
    note = (
        f"空白 = 该月不在数据范围内（{'、'.join(gaps)} 无数据），不是 0；图中对应位置留空。" if gaps else ""
    )
    return Table("monthly_trend", "月度趋势", trend,
                 [Column("month", "月份"), Column("exposure", "曝光", "count"), Column("engagements", "互动量", "count"),
                  Column("valid_leads", "有效线索", "count"), Column("month_year_ago", "去年同月"),
                  Column("valid_leads_year_ago", "去年同月有效线索", "count")],
                 note, "月度趋势")  # fmt: skip


def _kpi_table(kpis: list[Kpi]) -> Table:
    import pandas as pd

    kpi_df = pd.DataFrame([{"label": k.label, "value": k.value, "previous": k.previous, "year_ago": k.year_ago,
                            "benchmark": k.benchmark, "kind": k.kind, "qoq": k.qoq[0], "yoy": k.yoy[0]}
                           for k in kpis])  # fmt: skip
    return Table("kpis", "核心指标", kpi_df,
                 [Column("label", "指标"), Column("value", "本季度", ROW_KIND), Column("previous", "上季度", ROW_KIND),
                  Column("year_ago", "去年同期", ROW_KIND), Column("qoq", "环比"), Column("yoy", "同比"),
                  Column("benchmark", "全国基准", ROW_KIND)],
                 "空白 = 该季度无数据（不是 0）；响应时长单位为分钟。", "核心指标")  # fmt: skip


def _creator_summary(tables: dict[str, Table]) -> dict:
    roi = tables["creator_roi"].df
    cost, valid = roi["cost_yuan"].sum(), roi["valid_leads"].sum()
    best = (
        roi[roi["valid_leads"] > 0].sort_values(["valid_leads", "cost_yuan"], ascending=[False, True]).head(1)
    )
    return {"deals": len(roi), "creators": len(roi[["platform", "account_id"]].drop_duplicates()),
            "cost_yuan": cost, "exposure": roi["exposure"].sum(), "valid_leads": valid,
            "cost_per_valid_lead": cost / valid if valid else None,
            "best": best.iloc[0].to_dict() if len(best) else None}  # fmt: skip


def build_pack(con: duckdb.DuckDBPyConnection, quarter: Quarter, audience: Audience,
               gate_cfg: GateConfig | None = None, pack_cfg: PackConfig | None = None,
               advice_cfg: AdviceConfig | None = None) -> QuarterPack:  # fmt: skip
    """All numbers of one pack; ``con`` is a read-only connection to the published file."""
    pack_cfg = pack_cfg or PackConfig()
    advice_cfg = advice_cfg or load_advice_config()
    region = None if audience.is_national else audience.region
    tables: dict[str, Table] = {}

    def add(*ts: Table) -> None:
        for t in ts:
            tables[t.key] = t

    kpis, headline, network = _kpis(con, quarter, audience)
    add(_tier_table(con, quarter, region), _platform_table(con, quarter, region))
    if region is None:
        add(_region_table(con, quarter))
    add(*_funnel_tables(con, quarter, region))
    add(*_content_tables(con, quarter, region), *_live_tables(con, quarter, region))
    add(*_dealer_tables(con, quarter, region))
    add(*_creator_tables(con, quarter, region, pack_cfg.creator_rows_in_pdf))
    add(*playbook.tables(con, quarter, region))
    add(*wecom_tables(con, quarter, region))
    recs, extra = build_advice(con, quarter, region, tables, headline, network, advice_cfg)
    recs += playbook_advice(tables, advice_cfg)
    recs.append(reply_time_advice(tables, advice_cfg.wecom_max_avg_reply_minutes, advice_cfg.wecom_min_chats))
    add(*extra, *_health_tables(con, quarter))
    add(_trend_table(con, quarter, region), _kpi_table(kpis))
    gate_result = gate.evaluate(con, quarter, gate_cfg or GateConfig())
    funnel = queries.lead_funnel(con, quarter, region)
    live = queries.live_totals(con, quarter, region)
    return QuarterPack(quarter, audience, datetime.now(ZoneInfo(TIMEZONE)), kpis, tables, recs, gate_result,
                       funnel, live, _highlights(kpis, tables), _creator_summary(tables),
                       _live_summary(live, tables), headline, wecom_summary(tables))  # fmt: skip


def _live_summary(live: dict, tables: dict[str, Table]) -> list[str]:
    if not live.get("sessions"):
        return ["本季度没有直播场次。"]
    out = [f"直播 {fmt.count(live['sessions'])} 场，观看 {fmt.count(live['viewers'])} 人，留资 "
           f"{fmt.count(live['leads'])} 条，千人留资 {fmt.number(live['leads_per_k_viewers'])}。"]  # fmt: skip
    by_platform = tables["live_by_platform"].df.dropna(subset=["leads_per_k_viewers"])
    if len(by_platform):
        best = by_platform.sort_values(["leads_per_k_viewers", "viewers"], ascending=False).iloc[0]
        out.append(f"留资效率最高：{best.platform_name_cn}·{best.matrix_tier}（千人留资 {fmt.number(best.leads_per_k_viewers)}，"
                   f"{fmt.count(best.sessions)} 场）。")  # fmt: skip
    top = tables["live_top"].df
    if len(top):
        t = top.iloc[0]
        out.append(f"观看最多的一场：{t.account_name or '-'}（{t.platform_name_cn}，{fmt.text(t.date_day)}），观看 "
                   f"{fmt.count(t.viewers)}，留资 {fmt.count(t.leads)}。")  # fmt: skip
    return out


def _highlights(kpis: list[Kpi], tables: dict[str, Table]) -> list[str]:
    """Plain sentences for the top of the mail: what moved, where, and the best channel."""
    out = []
    by_key = {k.key: k for k in kpis}
    for key in ("exposure", "valid_leads", "median_response_minutes"):
        k = by_key[key]
        if not fmt.is_missing(k.previous) and not fmt.is_missing(k.value):
            out.append(f"{k.label} {k.text}，环比 {k.qoq[0]}。")
    plat = tables["platforms"].df
    plat = plat[plat["platform"] != queries.OTHER_PLATFORM]
    if len(plat) and plat["valid_leads"].max() > 0:
        best = plat.sort_values(["valid_leads", "platform"], ascending=[False, True]).iloc[0]
        out.append(f"自有平台中有效线索最多的是{best.platform_name_cn}（{fmt.count(best.valid_leads)} 条）。")
    return out
