"""The playbook's advice rules (issue 16 item 6: silent tier, rhythm, holiday content).

Same shape as report.advice: each rule states its threshold (config/advice.yaml, section
``playbook``), cites the numbers that fired it, and is listed also when it does not fire. The
rules read the pack's playbook tables (report.playbook), so the advice and the tables agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matrix_pulse.report import fmt
from matrix_pulse.report.advice import AdviceConfig, _rec
from matrix_pulse.report.model import Recommendation, Table

if TYPE_CHECKING:
    import pandas as pd


def _silent_share(df: pd.DataFrame) -> pd.Series:
    return (df["silent_accounts"] + df["went_silent_accounts"]) / df["accounts"].where(df["accounts"] > 0)


def playbook_advice(tables: dict[str, Table], cfg: AdviceConfig) -> list[Recommendation]:
    recs: list[Recommendation] = []
    if "playbook_rhythm" not in tables:
        return recs
    rhythm = tables["playbook_rhythm"].df.assign(silent_share=lambda d: _silent_share(d))
    sized = rhythm[rhythm["accounts"] >= cfg.playbook_min_accounts]

    # P1 账号: a tier with too many silent accounts.
    hits = sized[sized["silent_share"] > cfg.silent_tier_max_share]
    rule = (f"规则 P1（全员矩阵）：账号数 ≥ {cfg.playbook_min_accounts} 的层级，整季未发与已停更（最后 4 周未发）账号合计"
            f"占比超过 {fmt.pct(cfg.silent_tier_max_share)} 时，该层级需重启内容激励。")  # fmt: skip
    ev = [f"{r.matrix_tier}：{fmt.count(r.accounts)} 个账号，整季未发 {fmt.count(r.silent_accounts)} 个，已停更 "
          f"{fmt.count(r.went_silent_accounts)} 个，占比 {fmt.pct(r.silent_share)}" for r in rhythm.itertuples()]  # fmt: skip
    recs.append(_rec("账号", rule, hits, "、".join(hits["matrix_tier"]) + " 层级沉默账号偏多", "各层级沉默账号占比均在阈值内",
                     ev or ["本季度无账号数据"], f"{'、'.join(hits['matrix_tier'])}层级：由区域/部门负责人点名跟进沉默账号，"
                     "积分榜按月公示，并为其提供可直接发布的素材包。"))  # fmt: skip

    # P2 节奏: a tier missing its weekly target too often.
    hits = sized[sized["target_week_share"] < cfg.rhythm_min_target_week_share]
    rule = (f"规则 P2（周更计划）：账号数 ≥ {cfg.playbook_min_accounts} 的层级，达到每周发布目标的账号周占比低于 "
            f"{fmt.pct(cfg.rhythm_min_target_week_share)} 时，调整排期或目标。")  # fmt: skip
    ev = [f"{r.matrix_tier}：目标每周 {r.weekly_target} 条，达标周占比 {fmt.pct(r.target_week_share)}，每周都达标的账号 "
          f"{fmt.count(r.accounts_always_on_target)} / {fmt.count(r.accounts)}" for r in rhythm.itertuples()]  # fmt: skip
    recs.append(_rec("账号", rule, hits, "、".join(hits["matrix_tier"]) + " 层级周更达标率偏低", "各层级周更达标率均在阈值内",
                     ev or ["本季度无账号数据"], "为命中层级建立固定发布日（参考官方账号的时段表），内容中台每周一下发选题，"
                     "周五复盘未达标账号。"))  # fmt: skip

    # P3 内容: holiday content that does not beat ordinary days.
    topics = tables["playbook_topic_days"].df
    holiday = topics[(topics["day_kind"] == "holiday") & (topics["posts"] >= cfg.holiday_min_posts)]
    holiday = holiday.assign(judged=holiday["avg_days_loaded"] >= cfg.holiday_min_days_loaded)
    hits = holiday[holiday["judged"] & (holiday["views_per_post_vs_ordinary"] < cfg.holiday_min_uplift)]
    rule = (f"规则 P3（节假日专题）：节假日发布 ≥ {cfg.holiday_min_posts} 条、作品平均已加载 ≥ "
            f"{cfg.holiday_min_days_loaded:g} 天的层级，节假日条均播放低于同层级普通日的 {cfg.holiday_min_uplift:g} 倍时，"
            "节假日选题需重新策划（全国口径）。")  # fmt: skip
    ev = [f"{r.matrix_tier}：节假日 {fmt.count(r.posts)} 条，条均播放 {fmt.count(r.views_per_post)}，为普通日的 "
          f"{fmt.number(r.views_per_post_vs_ordinary)} 倍，互动率 {fmt.pct(r.interaction_rate)}，平均已加载 "
          f"{fmt.number(r.avg_days_loaded)} 天" + ("" if r.judged else "（加载天数不足，暂不评判）")
          for r in holiday.itertuples()]  # fmt: skip
    recs.append(_rec("内容", rule, hits, "、".join(hits["matrix_tier"]) + " 层级节假日内容未跑赢普通日",
                     "各层级节假日内容均跑赢普通日", ev or ["本季度无达到条数门槛的节假日内容"],
                     "节前两周确定节日话题与素材，节假日当天集中发布并配合直播预告；复盘表现最好的节日内容作为模板。"))  # fmt: skip
    return recs
