"""Rule P3 (holiday content) judges holiday posts only once they have had time to collect views.

Views are each post's loaded life, so a holiday at the end of the data (中秋 on 2026-09-25 for a
2026Q3 pack) compared with ordinary posts of the whole quarter would blame the calendar, not the
content: the demo's 2026Q3 pack told four tiers their holiday content lost to ordinary days.
"""

from __future__ import annotations

import pandas as pd
from matrix_pulse.report.advice import AdviceConfig
from matrix_pulse.report.model import Table
from matrix_pulse.report.playbook_advice import playbook_advice


def _tables(topics: list[dict]) -> dict[str, Table]:
    rhythm = pd.DataFrame(
        [{"matrix_tier": "员工", "accounts": 10, "silent_accounts": 0, "went_silent_accounts": 0,
          "target_week_share": 0.9, "weekly_target": 1, "accounts_always_on_target": 8}]
    )  # fmt: skip
    return {
        "playbook_rhythm": Table("playbook_rhythm", "", rhythm, []),
        "playbook_topic_days": Table("playbook_topic_days", "", pd.DataFrame(topics), []),
    }


def _holiday(tier: str, vs_ordinary: float, days: float) -> dict:
    return {"matrix_tier": tier, "day_kind": "holiday", "posts": 40, "views_per_post": 1000.0,
            "views_per_post_vs_ordinary": vs_ordinary, "interaction_rate": 0.05, "avg_days_loaded": days}  # fmt: skip


def _p3(topics: list[dict], cfg: AdviceConfig) -> object:
    return next(r for r in playbook_advice(_tables(topics), cfg) if "P3" in r.rule)


def test_young_holiday_posts_are_not_judged_and_say_why() -> None:
    cfg = AdviceConfig()
    rec = _p3([_holiday("员工", 0.6, 5.0), _holiday("官方", 0.7, 60.0)], cfg)
    assert rec.triggered and "官方" in rec.title and "员工" not in rec.title
    young = next(e for e in rec.evidence if e.startswith("员工"))
    assert "平均已加载 5.0 天" in young and "暂不评判" in young
    assert f"≥ {cfg.holiday_min_days_loaded:g} 天" in rec.rule


def test_holiday_rows_old_enough_are_judged_against_ordinary_days() -> None:
    cfg = AdviceConfig()
    assert not _p3([_holiday("员工", 0.6, 5.0)], cfg).triggered
    assert _p3([_holiday("员工", 0.6, cfg.holiday_min_days_loaded)], cfg).triggered
    assert not _p3([_holiday("员工", 1.2, 60.0)], cfg).triggered
