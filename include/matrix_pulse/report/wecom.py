"""The pack's 私域运营 (WeCom private domain) section and its reply-time rule.

Reads the two WeCom marts (formulas in dbt/models/marts/_wecom__marts.yml). Dealer figures
are re-aggregated from the consultant rows: counts add up, and the two averages are
weighted by ``chats_with_reply_figures`` exactly as the mart weights days, so a dealer's
reply rate is the same formula one level up. The HQ pack shows every dealer; a regional
pack its own region's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrix_pulse.report import fmt
from matrix_pulse.report.model import Column, Recommendation, Table
from matrix_pulse.report.quarters import Quarter

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

ATTRIBUTION = (
    ("contacts_from_live", "直播间活码"),
    ("contacts_from_post", "作品活码"),
    ("contacts_from_campaign", "活动活码"),
    ("contacts_unattributed", "未归因"),
)
STAGES = (("arrivals", "到店"), ("test_drives", "试驾"), ("orders", "下订"), ("deliveries", "交车"))


def _region(region: str | None, column: str = "region") -> tuple[str, list]:
    return (f" and {column} = ?", [region]) if region else ("", [])


def dealer_figures(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """One row per dealer (HQ staff as 'HQ'): the consultants' figures added up."""
    where, params = _region(region, "c.region")
    sums = ", ".join(f"sum({c}) as {c}" for c, _ in ATTRIBUTION)
    return con.execute(
        f"""
        select c.dealer_code, coalesce(d.dealer_name, c.dealer_code) as dealer_name, c.region,
            count(distinct c.userid) as consultants, sum(c.new_contacts) as new_contacts, {sums},
            sum(c.chats) as chats, sum(c.negative_feedback) as negative_feedback,
            sum(c.reply_rate * c.chats_with_reply_figures) / nullif(sum(c.chats_with_reply_figures), 0)
                as reply_rate,
            sum(c.avg_reply_minutes * c.chats_with_reply_figures) / nullif(sum(c.chats_with_reply_figures), 0)
                as avg_reply_minutes
        from marts.mart_wecom_consultant_period c
        left join marts.dim_dealer d on c.dealer_code = d.dealer_code
        where c.quarter_label = ? {where}
        group by all
        order by new_contacts desc, c.dealer_code
        """,
        [quarter.label, *params],
    ).df()


def consultant_figures(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    where, params = _region(region)
    return con.execute(
        f"select * from marts.mart_wecom_consultant_period where quarter_label = ? {where} "
        "order by avg_reply_minutes desc nulls last, dealer_code, userid",
        [quarter.label, *params],
    ).df()


def lead_funnel(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> pd.DataFrame:
    """Valid leads that became a WeCom contact vs the rest, as two rows (the network or region)."""
    where, params = _region(region)
    row = con.execute(
        f"select {', '.join(f'sum({s}_{g}) as {s}_{g}' for g in ('wecom', 'other') for s in ('valid_leads', *dict(STAGES)))} "
        f"from marts.mart_wecom_lead_funnel where quarter_label = ? {where}",
        [quarter.label, *params],
    ).df()
    import pandas as pd

    records = []
    for group, label in (("wecom", "加企微的有效线索"), ("other", "未加企微的有效线索")):
        valid = row[f"valid_leads_{group}"].iloc[0]
        rec = {"group": label, "valid_leads": valid}
        for stage, _ in STAGES:
            n = row[f"{stage}_{group}"].iloc[0]
            rec[stage] = n
            rec[f"{stage}_rate"] = (n / valid) if not fmt.is_missing(valid) and valid else None
        records.append(rec)
    return pd.DataFrame(records)


def wecom_tables(con: duckdb.DuckDBPyConnection, quarter: Quarter, region: str | None) -> list[Table]:
    dealers = dealer_figures(con, quarter, region)
    consultants = consultant_figures(con, quarter, region)
    funnel = lead_funnel(con, quarter, region)
    attribution_cols = [Column(c, label, "count") for c, label in ATTRIBUTION]
    rates = [Column("reply_rate", "回复率", "pct"), Column("avg_reply_minutes", "平均回复时长", "minutes")]
    return [
        Table("wecom_dealers", "私域运营：按经销商", dealers,
              [Column("dealer_name", "经销商"), Column("consultants", "顾问数", "count"),
               Column("new_contacts", "新增客户", "count"), *attribution_cols, Column("chats", "会话数", "count"),
               *rates, Column("negative_feedback", "被拒/删除", "count")],
              "新增客户 = 直播间活码 + 作品活码 + 活动活码 + 未归因（活码 state 指向的直播间、作品或活动不在数据中时计为未归因）；"
              "回复率、平均回复时长按会话数加权。", "私域-经销商", shown=15),
        Table("wecom_consultants", "私域运营：顾问明细（按平均回复时长，慢者在前）", consultants,
              [Column("dealer_code", "经销商代码"), Column("userid", "顾问"), Column("new_contacts", "新增客户", "count"),
               *attribution_cols, Column("chats", "会话数", "count"), *rates,
               Column("negative_feedback", "被拒/删除", "count")],
              "完整名单见 Excel。", "私域-顾问", shown=10),
        Table("wecom_lead_funnel", "有效线索加企微与否的漏斗对比", funnel,
              [Column("group", "分组"), Column("valid_leads", "有效线索", "count"),
               *[c for s, label in STAGES for c in (Column(s, label, "count"), Column(f"{s}_rate", f"{label}率", "pct"))]],
              "加企微 = 该线索手机号（同一密钥哈希）出现在某位顾问添加的企业微信客户备注手机号中；两行相加等于全部有效线索。",
              "私域-线索漏斗"),
    ]  # fmt: skip


def wecom_summary(tables: dict[str, Table]) -> dict:
    """The section's headline: new contacts, how they were attributed, reply figures, WeCom share of valid leads."""
    d = tables["wecom_dealers"].df
    f = tables["wecom_lead_funnel"].df
    weights = d["chats"].sum()
    valid = f["valid_leads"].sum()
    out = {
        "new_contacts": d["new_contacts"].sum(),
        "chats": weights,
        "attributed": {label: d[c].sum() for c, label in ATTRIBUTION},
        "wecom_share": (f["valid_leads"].iloc[0] / valid) if valid else None,
    }
    # Plain sentences for the mail (the PDF has the tables).
    parts = "，".join(f"{label} {fmt.count(n)}" for label, n in out["attributed"].items())
    out["lines"] = [
        f"顾问新增企微客户 {fmt.count(out['new_contacts'])} 人（{parts}），会话 {fmt.count(weights)} 次。"
    ]
    if valid:
        w, o = f.iloc[0], f.iloc[1]
        out["lines"].append(
            f"有效线索中 {fmt.pct(out['wecom_share'])} 加了企微；下订率 加企微 {fmt.pct(w['orders_rate'])}，"
            f"未加企微 {fmt.pct(o['orders_rate'])}。"
        )
    return out


def reply_time_advice(tables: dict[str, Table], max_minutes: float, min_chats: int) -> Recommendation:
    """WeCom reply-time rule: dealers whose chat-weighted average reply time exceeds the threshold."""
    d = tables["wecom_dealers"].df
    hits = d[(d["chats"] >= min_chats) & (d["avg_reply_minutes"] > max_minutes)].sort_values(
        "avg_reply_minutes", ascending=False
    )
    rule = (f"规则（私域）：企业微信平均回复时长（按会话数加权）超过 {fmt.minutes(max_minutes)} 的经销商"
            f"（本季度会话数 ≥ {min_chats}）需督促顾问及时回复。")  # fmt: skip
    evidence = [f"{r.dealer_name}：平均回复 {fmt.minutes(r.avg_reply_minutes)}，会话 {fmt.count(r.chats)}，"
                f"回复率 {fmt.pct(r.reply_rate)}" for r in hits.head(5).itertuples()]  # fmt: skip
    if len(hits) > 5:
        evidence.append(f"……共 {len(hits)} 家，完整名单见附件 Excel（私域-经销商）")
    if not len(hits):
        evidence = [
            f"检查了 {int((d['chats'] >= min_chats).sum())} 家经销商，平均回复时长均未超过 {fmt.minutes(max_minutes)}。"
        ]
    fired = len(hits) > 0
    return Recommendation(
        rule,
        f"{len(hits)} 家经销商企微回复偏慢" if fired else "未触发：企微回复时长达标",
        evidence,
        "为慢回复顾问设置企微会话提醒与 SLA，经销商每周复盘超时会话。"
        if fired
        else "保持现有做法，下季度继续按本规则复查。",
        "私域",
        fired,
    )
