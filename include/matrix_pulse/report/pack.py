"""Assemble one quarterly review pack (quarter × audience) from the published marts.

The pack is plain data (KPIs, tables with typed columns, recommendations, health) so the
HTML mail, the PDF and the XLSX all show the very same numbers; rendering lives in
``render``. Every recommendation comes from an explicit rule and cites its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from matrix_pulse.report import fmt, gate, queries
from matrix_pulse.report.audiences import Audience, GateConfig, PackConfig
from matrix_pulse.report.quarters import Quarter
from matrix_pulse.settings import TIMEZONE

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # a key of fmt.FORMATTERS; also sets the XLSX number format


@dataclass
class Table:
    key: str
    title: str
    df: pd.DataFrame
    columns: list[Column]
    note: str = ""
    sheet: str = ""  # XLSX sheet name (<= 31 chars); defaults to the title
    # Rows the PDF prints (the first ones, in the DataFrame's order; None = all). The XLSX
    # always holds every row, and the PDF says how many there are and in which sheet.
    shown: int | None = None

    def rows(self, limit: int | None = None) -> list[list[str]]:
        """Formatted cells, in column order (what mail and PDF show); the first ``limit`` rows."""
        df = self.df if limit is None else self.df.head(limit)
        return [[fmt.value(rec.get(c.key), c.kind) for c in self.columns] for rec in df.to_dict("records")]


@dataclass
class Kpi:
    key: str
    label: str
    kind: str
    better: str  # "up" | "down": which direction is good news
    value: Any
    previous: Any  # same audience, previous quarter
    year_ago: Any  # same audience, same quarter a year earlier
    benchmark: Any = None  # national value (regional packs only)

    @property
    def text(self) -> str:
        return fmt.value(self.value, self.kind)

    @property
    def qoq(self) -> tuple[str, str]:
        return fmt.change(self.value, self.previous, self.kind, self.better)

    @property
    def yoy(self) -> tuple[str, str]:
        return fmt.change(self.value, self.year_ago, self.kind, self.better)

    @property
    def benchmark_text(self) -> str:
        return fmt.value(self.benchmark, self.kind)


@dataclass
class Recommendation:
    rule: str  # the stated rule, so a reader can check it
    title: str
    evidence: list[str]
    action: str


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
    low_interaction_rule: dict
    highlights: list[str] = field(default_factory=list)

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
    ("median_response_minutes", "首次响应时长（中位数）", "minutes", "down"),
    ("follow_up_24h_rate", "24 小时跟进率", "pct", "up"),
]


def _kpis(con: duckdb.DuckDBPyConnection, quarter: Quarter, audience: Audience) -> list[Kpi]:
    region = None if audience.is_national else audience.region
    cur = queries.headline(con, quarter, region)
    prev = queries.headline(con, quarter.previous(), region)
    ago = queries.headline(con, quarter.year_ago(), region)
    nat = queries.headline(con, quarter, None) if region else {}
    # A quarter without any rows yields all-NULL figures: show "—", never a fake 0 % change.
    prev = prev if prev.get("views") else {}
    ago = ago if ago.get("views") else {}
    return [Kpi(k, label, kind, better, cur.get(k), prev.get(k), ago.get(k), nat.get(k))
            for k, label, kind, better in KPI_DEFS]  # fmt: skip


def _tier_table(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> Table:
    df = queries.by_tier(con, quarter, region)
    prev = queries.by_tier(con, quarter.previous(), region).set_index("matrix_tier")["exposure"]
    df["exposure_qoq"] = [
        (e - prev.get(t)) / prev.get(t) if prev.get(t) and e == e and e is not None else None
        for t, e in zip(df["matrix_tier"], df["exposure"], strict=True)
    ]
    cols = [Column("matrix_tier", "矩阵层级"), Column("accounts", "账号数", "count"),
            Column("active_accounts", "活跃账号", "count"), Column("posts_published", "发布数", "count"),
            Column("exposure", "曝光", "count"), Column("exposure_qoq", "曝光环比", "pct"),
            Column("engagements", "互动量", "count"), Column("interaction_rate", "互动率", "pct"),
            Column("valid_leads", "有效线索", "count"), Column("order_rate", "订单转化率", "pct")]  # fmt: skip
    if region:
        national = queries.by_tier(con, quarter, None).set_index("matrix_tier")["interaction_rate"]
        df["national_interaction_rate"] = df["matrix_tier"].map(national)
        cols.insert(8, Column("national_interaction_rate", "全国互动率", "pct"))
    note = "官方、KOL、KOC、高管账号归属总部，只出现在全国视图；线索按来源账号层级归属。" if region else ""
    return Table("matrix", "矩阵视图：1 / N / X / 全员", df, cols, note, "矩阵视图")


def _platform_table(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> Table:
    df = queries.by_platform(con, quarter, region)
    costs = queries.creator_cost_by_platform(con, quarter).set_index("platform")
    df["creator_cost_yuan"] = df["platform"].map(costs["cost_yuan"])
    df["cost_per_valid_lead"] = df["platform"].map(costs["cost_per_valid_lead"])
    cols = [Column("platform_name_cn", "平台"), Column("exposure", "曝光", "count"),
            Column("engagements", "互动量", "count"), Column("interaction_rate", "互动率", "pct"),
            Column("leads", "线索", "count"), Column("valid_leads", "有效线索", "count"),
            Column("order_rate", "订单转化率", "pct"), Column("creator_cost_yuan", "达人投入", "yuan"),
            Column("cost_per_valid_lead", "达人每有效线索成本", "yuan")]  # fmt: skip
    note = "线索按来源平台归属；达人投入与每有效线索成本为全国口径（达人预算由总部统一投放）。"
    return Table("platforms", "平台对比", df, cols, note, "平台对比")


def _content_tables(
    con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None
) -> tuple[list[Table], dict]:
    content_cols = [Column("title", "标题"), Column("platform_name_cn", "平台"), Column("account_name", "账号"),
                    Column("matrix_tier", "层级"), Column("content_type", "体裁"), Column("views", "播放/阅读", "count"),
                    Column("engagements", "互动量", "count"), Column("interaction_rate", "互动率", "pct")]  # fmt: skip
    types = queries.by_content_type(con, quarter, region)
    low, rule = queries.low_interaction_content(con, quarter, region)
    rule_text = (
        f"规则：播放量位于本季度前 25%（≥ {fmt.count(rule['views_cut'])}）且互动率低于中位数的一半"
        f"（< {fmt.pct(rule['rate_cut'])}，中位数 {fmt.pct(rule['median_rate'])}）。"
        if rule["views_cut"] is not None
        else "本季度无内容数据。"
    )
    tables = [
        Table("content_types", "体裁对比：视频 / 图文 / 直播", types,
              [Column("content_type", "体裁"), Column("items", "内容数", "count"), Column("views", "播放/阅读", "count"),
               Column("views_per_item", "条均播放", "count"), Column("engagements", "互动量", "count"),
               Column("interaction_rate", "互动率", "pct")], "", "体裁对比"),
        Table("top_content", "本季度 Top 10 内容（按播放/阅读）", queries.top_content(con, quarter, region),
              content_cols, "", "Top内容"),
        Table("low_interaction", "高播放、低互动内容", low, content_cols, rule_text, "高播放低互动"),
    ]  # fmt: skip
    return tables, rule


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
              [Column("date_day", "日期"), Column("platform_name_cn", "平台"), Column("account_name", "账号"),
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
        tables.append(
            Table(
                f"dealers_top_{key}",
                f"千城万店：{label} 前 10",
                ranked.head(10),
                cols,
                "",
                f"经销商{label}前10",
            )
        )
        tables.append(Table(f"dealers_bottom_{key}", f"千城万店：{label} 后 10",
                            ranked.tail(10).iloc[::-1], cols, "", f"经销商{label}后10"))  # fmt: skip
    none_active = sc[sc["active_accounts"].fillna(0) == 0]
    tables.append(Table("dealers_no_active_account", "没有活跃新媒体账号的经销商", none_active,
                        [Column("dealer_name", "经销商"), Column("province", "省份"), Column("city", "城市"),
                         Column("accounts", "登记账号数", "count"), Column("valid_leads", "有效线索", "count")],
                        "活跃账号 = 本季度内至少有一天活跃的账号。", "无活跃账号经销商"))  # fmt: skip
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
    tables.append(Table("dealer_scorecard", "经销商记分卡（全部）", sc, full_cols, "", "经销商记分卡"))
    return tables


def _creator_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, pdf_rows: int) -> list[Table]:
    money = [Column("cost_yuan", "投入", "yuan"), Column("exposure", "曝光", "count"),
             Column("engagements", "互动量", "count"), Column("valid_leads", "有效线索", "count"),
             Column("cpm_yuan", "CPM", "yuan"), Column("cpe_yuan", "CPE", "yuan"),
             Column("cost_per_valid_lead", "每有效线索成本", "yuan")]  # fmt: skip
    roi = queries.creator_roi(con, quarter)
    creators = len(roi[["platform", "account_id"]].drop_duplicates())
    return [
        # Ordered by cost, highest first (queries.creator_roi): the PDF prints the largest
        # deals, good and bad value alike, where a budget decision matters.
        Table("creator_roi", "达人 ROI（KOL / KOC）", roi,
              [Column("account_name", "达人"), Column("platform_name_cn", "平台"), Column("matrix_tier", "层级"),
               Column("campaign_name", "活动"), *money],
              f"每行为一位达人在一个活动中的合作，按投入从高到低排列；本季度共 {len(roi):,} 行、"
              f"{creators:,} 位达人。CPM = 投入 ÷ 曝光 × 1000；CPE = 投入 ÷ 互动量；全国口径。",
              "达人ROI", shown=pdf_rows),
        Table("campaign_roi", "活动 ROI", queries.campaign_roi(con, quarter),
              [Column("campaign_name", "活动"), Column("campaign_code", "活动编码"),
               Column("creators", "达人数", "count"), *money], "", "活动ROI"),
    ]  # fmt: skip


def _recommendations(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None,
                     tables: dict[str, Table]) -> tuple[list[Recommendation], list[Table]]:  # fmt: skip
    recs: list[Recommendation] = []
    extra: list[Table] = []
    # Rule 1: budget toward the platform with the lowest creator cost per valid lead.
    costs = queries.creator_cost_by_platform(con, quarter)
    ranked = costs[costs["valid_leads"] >= queries.MIN_VALID_LEADS_FOR_COST_RANKING].dropna(
        subset=["cost_per_valid_lead"]
    )
    rule1 = (f"规则 1：下季度达人预算向每有效线索成本最低的平台倾斜（仅比较有效线索 ≥ "
             f"{queries.MIN_VALID_LEADS_FOR_COST_RANKING} 条的平台）。")  # fmt: skip
    if len(ranked) >= 2:
        best, worst = ranked.iloc[0], ranked.iloc[-1]
        total = costs["cost_yuan"].sum() / max(costs["valid_leads"].sum(), 1)
        recs.append(Recommendation(
            rule1, f"预算向{best.platform_name_cn}倾斜",
            [f"{best.platform_name_cn}：投入 {fmt.yuan(best.cost_yuan)}，有效线索 {fmt.count(best.valid_leads)} 条，"
             f"每有效线索成本 {fmt.yuan(best.cost_per_valid_lead)}（全平台最低）",
             f"{worst.platform_name_cn}：投入 {fmt.yuan(worst.cost_yuan)}，有效线索 {fmt.count(worst.valid_leads)} 条，"
             f"每有效线索成本 {fmt.yuan(worst.cost_per_valid_lead)}"
             f"（为{best.platform_name_cn}的 {worst.cost_per_valid_lead / best.cost_per_valid_lead:.1f} 倍）",
             f"全部达人平均每有效线索成本 {fmt.yuan(total)}"],
            f"下季度新增或调减的达人预算优先从{worst.platform_name_cn}调往{best.platform_name_cn}，并按月复核该指标。"))  # fmt: skip
    else:
        recs.append(Recommendation(rule1, "达人数据不足，暂不调整预算",
                                   [f"满足条件的平台只有 {len(ranked)} 个"], "维持现有分配。"))  # fmt: skip
    # Rule 2: accounts with no active day in the last 30 days of the quarter.
    inactive = queries.inactive_accounts(con, quarter, region)
    rule2 = f"规则 2：季度末前 {queries.INACTIVE_DAYS} 天内没有任何活跃日的在册账号需跟进（激活或停用）。"
    names = "、".join(f"{r.account_name}（{r.platform_name_cn}，"
                     f"{'从未活跃' if r.last_active_day is None or r.last_active_day != r.last_active_day else f'最后活跃 {r.last_active_day:%m-%d}'}）"
                     for r in inactive.head(5).itertuples())  # fmt: skip
    recs.append(Recommendation(
        rule2, f"{len(inactive)} 个账号已连续 {queries.INACTIVE_DAYS} 天以上未活跃" if len(inactive) else "没有沉默账号",
        [f"截至 {quarter.end:%Y-%m-%d}，在册账号中 {len(inactive)} 个超过 {queries.INACTIVE_DAYS} 天无活跃"
         + (f"：{names}" + ("等" if len(inactive) > 5 else "") if len(inactive) else "")],
        "由账号负责人在两周内恢复更新，或在花名册中标记停用；完整名单见附件“沉默账号”。" if len(inactive) else "保持。"))  # fmt: skip
    extra.append(Table("inactive_accounts", f"连续 {queries.INACTIVE_DAYS} 天以上未活跃的账号", inactive,
                       [Column("account_name", "账号"), Column("platform_name_cn", "平台"), Column("matrix_tier", "层级"),
                        Column("dealer_code", "经销商代码"), Column("region", "大区"),
                        Column("last_active_day", "最后活跃日"), Column("days_inactive", "未活跃天数", "count")],
                       rule2, "沉默账号"))  # fmt: skip
    # Rule 3: dealers whose 24-hour follow-up rate is below the national network median.
    median = queries.network_follow_up_median(con, quarter)
    sc = tables["dealer_scorecard"].df
    laggards = (
        sc[sc["follow_up_24h_rate"] < median].sort_values("follow_up_24h_rate")
        if median is not None
        else sc.head(0)
    )
    rule3 = "规则 3：24 小时跟进率低于全国经销商网络中位数的经销商需整改。"
    recs.append(Recommendation(
        rule3, f"{len(laggards)} 家经销商 24 小时跟进率低于网络中位数 {fmt.pct(median)}",
        [f"{r.dealer_name}：{fmt.pct(r.follow_up_24h_rate)}（有效线索 {fmt.count(r.valid_leads)} 条，"
         f"响应中位数 {fmt.minutes(r.median_response_minutes)}）" for r in laggards.head(6).itertuples()]
        or ["全部经销商均不低于中位数"],
        "由大区督导约谈，要求新线索 24 小时内完成首次跟进，下季度复盘时复查。"))  # fmt: skip
    extra.append(Table("follow_up_laggards", "24 小时跟进率低于网络中位数的经销商", laggards, DEALER_COLS,
                       f"全国网络中位数 {fmt.pct(median)}。", "跟进率偏低经销商"))  # fmt: skip
    return recs, extra


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
              [Column("source", "数据源"), Column("data_date", "数据日期"), Column("status", "状态")], "", "缺失源数据日"),
        Table("gx_failures", "GX 校验未通过项", queries.gx_failures(con, quarter),
              [Column("source", "数据源"), Column("data_date", "数据日期"), Column("expectation", "校验"),
               Column("column_name", "列"), Column("severity", "级别"), Column("unexpected_count", "异常行数", "count"),
               Column("is_latest_check", "最新一次检查")], "来源：meta.gx_results。", "GX未通过"),
    ]  # fmt: skip


def build_pack(con: duckdb.DuckDBPyConnection, quarter: Quarter, audience: Audience,
               gate_cfg: GateConfig | None = None, pack_cfg: PackConfig | None = None) -> QuarterPack:  # fmt: skip
    """All numbers of one pack; ``con`` is a read-only connection to the published file."""
    pack_cfg = pack_cfg or PackConfig()
    region = None if audience.is_national else audience.region
    tables: dict[str, Table] = {}

    def add(*ts: Table) -> None:
        for t in ts:
            tables[t.key] = t

    kpis = _kpis(con, quarter, audience)
    add(_tier_table(con, quarter, region), _platform_table(con, quarter, region))
    content, low_rule = _content_tables(con, quarter, region)
    add(*content, *_live_tables(con, quarter, region), *_dealer_tables(con, quarter, region))
    add(*_creator_tables(con, quarter, pack_cfg.creator_rows_in_pdf))
    recs, extra = _recommendations(con, quarter, region, tables)
    add(*extra, *_health_tables(con, quarter))
    months = quarter.previous().months() + quarter.months()
    import pandas as pd

    trend = queries.monthly_trend(con, months, region)
    trend_ago = queries.monthly_trend(con, quarter.year_ago().months(), region)
    trend["valid_leads_year_ago"] = pd.Series([None] * 3 + list(trend_ago["valid_leads"]), dtype="float64")
    add(Table("monthly_trend", "月度趋势", trend,
              [Column("month", "月份"), Column("exposure", "曝光", "count"), Column("engagements", "互动量", "count"),
               Column("valid_leads", "有效线索", "count"), Column("valid_leads_year_ago", "去年同月有效线索", "count")],
              "", "月度趋势"))  # fmt: skip
    kpi_df = pd.DataFrame([{"label": k.label, "value": k.value, "previous": k.previous, "year_ago": k.year_ago,
                            "benchmark": k.benchmark, "kind": k.kind} for k in kpis])  # fmt: skip
    add(Table("kpis", "核心指标", kpi_df,
              [Column("label", "指标"), Column("value", "本季度", "number"), Column("previous", "上季度", "number"),
               Column("year_ago", "去年同期", "number"), Column("benchmark", "全国基准", "number")],
              "比率为小数（0.035 = 3.5%），响应时长单位为分钟。", "核心指标"))  # fmt: skip
    gate_result = gate.evaluate(con, quarter, gate_cfg or GateConfig())
    funnel = queries.lead_funnel(con, quarter, region)
    live = queries.live_totals(con, quarter, region)
    return QuarterPack(quarter, audience, datetime.now(ZoneInfo(TIMEZONE)), kpis, tables, recs, gate_result,
                       funnel, live, low_rule, _highlights(kpis, tables))  # fmt: skip


def _highlights(kpis: list[Kpi], tables: dict[str, Table]) -> list[str]:
    """Three plain sentences for the top of the mail: what moved, where, and the best channel."""
    out = []
    by_key = {k.key: k for k in kpis}
    for key in ("exposure", "valid_leads", "median_response_minutes"):
        k = by_key[key]
        qoq, _ = k.qoq
        if qoq != fmt.DASH:
            out.append(f"{k.label} {k.text}，环比 {qoq}。")
    plat = tables["platforms"].df.dropna(subset=["interaction_rate"])
    if len(plat):
        best = plat.sort_values("valid_leads", ascending=False).iloc[0]
        out.append(f"有效线索最多的平台是{best.platform_name_cn}（{fmt.count(best.valid_leads)} 条）。")
    return out
