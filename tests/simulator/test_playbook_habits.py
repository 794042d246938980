"""The habits the playbook marts measure (issue 16) are really in the simulated data, and the
playbook truth adds up. The marts are held to this truth in tests/e2e/test_playbook_against_truth.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
from matrix_pulse.simulator.habits import advocacy_rhythm, campaign_runs_on, holidays_off, week_index
from matrix_pulse.simulator.playbook_truth import WEEKDAYS, playbook_vars


def test_holiday_seed_covers_the_demo_quarters() -> None:
    """The seed holds the official calendar of both demo years; July-September 2025 has no day off
    in it (National Day 2025 starts on 1 October), every other demo quarter has some."""
    off = holidays_off()
    names = {d.year for d in off}
    assert {2025, 2026} <= names
    with_days_off = {
        f"{d.year}Q{(d.month - 1) // 3 + 1}" for d in off if date(2025, 7, 1) <= d <= date(2026, 9, 30)
    }
    assert with_days_off == {"2025Q4", "2026Q1", "2026Q2", "2026Q3"}


def test_advocacy_accounts_have_silent_and_regular_weeks_the_others_none() -> None:
    tiers = np.array(["员工"] * 300 + ["高管"] * 50 + ["官方"] * 20 + ["经销商"] * 30, dtype=object)
    offsets = np.arange(0, 91)
    factor = advocacy_rhythm(np.random.default_rng(3), date(2026, 7, 1), offsets, tiers)
    advocacy = np.isin(tiers, ["员工", "高管"])
    assert (factor[:, ~advocacy] == 1.0).all()
    weeks = week_index(date(2026, 7, 1), offsets)
    silent_weeks = np.array(
        [[factor[weeks == w, a].max() == 0 for w in np.unique(weeks)] for a in range(len(tiers))]
    )
    assert silent_weeks[advocacy].any(axis=1).mean() > 0.3  # many have a silent week
    assert (~silent_weeks[advocacy].any(axis=1)).sum() > 0  # and some keep the rhythm
    assert silent_weeks[advocacy][:, -4:].all(axis=1).sum() > 0  # some go silent for good


def test_single_platform_campaigns() -> None:
    assert campaign_runs_on("CP2026Q305", "douyin") and not campaign_runs_on("CP2026Q305", "weibo")
    assert campaign_runs_on("CP2026Q304", "weibo")


def test_playbook_truth_adds_up(demo_quarter) -> None:
    _, manifest = demo_quarter[:2]
    pb = manifest["truth"]["playbook"]
    v = playbook_vars()
    quarters, months = defaultdict(lambda: [0, 0, 0.0]), defaultdict(lambda: [0, 0, 0.0])
    for r in pb["advocacy_points"]:
        assert r["matrix_tier"] in v["playbook_advocacy_tiers"]
        key = (r["platform"], r["account_id"], r["matrix_tier"], r["dealer_code"])
        cell = (quarters if r["period_type"] == "quarter" else months)[key]
        cell[0] += r["posts"]
        cell[1] += r["views"]
        cell[2] += r["points"]
    assert set(quarters) == set(months)
    for key, (posts, views, points) in quarters.items():
        assert (posts, views) == tuple(months[key][:2])
        assert abs(points - months[key][2]) < 1e-6 * max(points, 1)
    for r in pb["publishing_rhythm"]:
        assert sum(r[f"posts_{d}"] for d in WEEKDAYS) == r["posts"]
        assert r["weekly_target"] == v["playbook_weekly_targets"][r["matrix_tier"]]
    assert any(r["went_silent"] for r in pb["publishing_rhythm"])
    kinds = {r["day_kind"] for r in pb["topic_days"]}
    assert kinds == {"holiday", "campaign_launch", "ordinary"}
    platforms = defaultdict(set)
    for r in pb["campaign_platforms"]:
        if r["platform"] != "other":
            platforms[r["campaign_code"]].add(r["platform"])
    assert any(len(p) == 1 for p in platforms.values()) and any(len(p) > 1 for p in platforms.values())
