"""The playbook marts of `make demo` (issue 16 items 1-4) against the simulator's truth.

`truth.playbook` is computed by the simulator from what it generated and what a correct ingest
loads (include/matrix_pulse/simulator/playbook_truth.py); each mart must equal it cell by cell,
its ratios must follow the formulas in _marts__playbook.yml, and its breakdowns must add up.
"""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def marts(demo: dict):
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def playbook(demo: dict) -> dict:
    return demo["manifest"]["truth"]["playbook"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


def _mismatches(got: dict, expected: dict, cols: tuple[str, ...]) -> list:
    assert set(got) == set(expected)
    out = []
    for key, want in expected.items():
        for col in cols:
            g, w = got[key][col], want[col]
            if isinstance(w, float) and g is not None and g == pytest.approx(w):
                continue
            if g != w:
                out.append((key, col, g, w))
    return out


def test_advocacy_points_equal_the_truth(marts, playbook) -> None:
    key = ("period_type", "period_label", "platform", "account_id", "matrix_tier", "dealer_code")
    rows = _rows(marts, "select * from marts.mart_advocacy_points")
    got = {tuple(r[k] for k in key): r for r in rows}
    expected = {tuple(t[k] for k in key): t for t in playbook["advocacy_points"]}
    assert len(got) == len(rows)
    assert _mismatches(got, expected, ("region", "posts", "views", "engagements", "points")) == []
    # the rule travels with the table, and a period's board ranks by points
    assert {(r["points_per_post"], r["points_per_1000_views"], r["points_per_engagement"]) for r in rows} == {
        (10.0, 1.0, 0.1)
    }
    boards = defaultdict(list)
    for r in rows:
        boards[(r["period_type"], r["period_label"])].append(r)
    for board in boards.values():
        ranked = sorted(board, key=lambda r: r["rank_overall"])
        assert [r["points"] for r in ranked] == sorted((r["points"] for r in board), reverse=True)
    # the months of a quarter add up to the quarter
    months = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if r["period_type"] == "month":
            y, m = r["period_label"].split("-")
            q = f"{y}Q{(int(m) - 1) // 3 + 1}"
            cell = months[(q, r["platform"], r["account_id"], r["matrix_tier"], r["dealer_code"])]
            for i, col in enumerate(("posts", "views", "engagements")):
                cell[i] += r[col]
    quarters = {(r["period_label"], *k[2:]): [r["posts"], r["views"], r["engagements"]]
                for k, r in got.items() if r["period_type"] == "quarter"}  # fmt: skip
    assert dict(months) == quarters
    assert {r["matrix_tier"] for r in rows} == {"高管", "员工"}


def test_publishing_rhythm_equals_the_truth(marts, playbook) -> None:
    rows = _rows(marts, "select * from marts.mart_publishing_rhythm")
    got = {(r["quarter_label"], r["platform"], r["account_id"]): r for r in rows}
    expected = {
        (t["quarter_label"], t["platform"], t["account_id"]): t for t in playbook["publishing_rhythm"]
    }
    cols = tuple(
        c for c in playbook["publishing_rhythm"][0] if c not in ("quarter_label", "platform", "account_id")
    )
    assert _mismatches(got, expected, cols) == []
    for r in rows:  # weekday slots add up to the posts; streaks fit in the quarter
        assert sum(r[f"posts_{d}"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")) == r["posts"]
        assert r["weeks_met_target"] <= r["weeks_posted"] <= r["weeks_in_quarter"]
        assert r["longest_silent_streak_weeks"] + r["weeks_posted"] <= r["weeks_in_quarter"]
    # the simulator's habits are there to be found: silent weeks, accounts that went silent,
    # and advocacy accounts that kept the weekly rhythm
    advocacy = [r for r in rows if r["matrix_tier"] in ("高管", "员工")]
    assert any(r["went_silent"] for r in advocacy)
    assert any(r["weeks_posted"] == r["weeks_in_quarter"] for r in advocacy)
    assert any(0 < r["weeks_posted"] < r["weeks_in_quarter"] for r in advocacy)


def test_advocacy_tiers_equal_the_truth(marts, playbook) -> None:
    rows = _rows(marts, "select * from marts.mart_advocacy_tiers")
    got = {(r["quarter_label"], r["matrix_tier"]): r for r in rows}
    expected = {(t["quarter_label"], t["matrix_tier"]): t for t in playbook["advocacy_tiers"]}
    cols = (
        "accounts",
        "accounts_posting_every_week",
        "exposure",
        "total_exposure",
        "attributed_leads",
        "total_leads",
    )
    assert _mismatches(got, expected, cols) == []
    for key, r in got.items():
        t = expected[key]
        assert r["weekly_posting_share"] == pytest.approx(
            _ratio(t["accounts_posting_every_week"], t["accounts"])
        )
        assert r["exposure_share"] == pytest.approx(_ratio(t["exposure"], t["total_exposure"]))
        assert r["lead_share"] == pytest.approx(_ratio(t["attributed_leads"], t["total_leads"]))


def test_topic_days_equal_the_truth(marts, playbook) -> None:
    rows = _rows(marts, "select * from marts.mart_topic_days")
    got = {(r["quarter_label"], r["matrix_tier"], r["day_kind"]): r for r in rows}
    expected = {(t["quarter_label"], t["matrix_tier"], t["day_kind"]): t for t in playbook["topic_days"]}
    assert _mismatches(got, expected, ("posts", "views", "engagements", "leads")) == []
    for key, r in got.items():
        assert r["avg_days_loaded"] == pytest.approx(expected[key]["avg_days_loaded"]), key
    for (q, tier, _), r in got.items():
        assert r["views_per_post"] == pytest.approx(_ratio(r["views"], r["posts"]))
        assert r["leads_per_post"] == pytest.approx(_ratio(r["leads"], r["posts"]))
        ordinary = got.get((q, tier, "ordinary"))
        if ordinary and r["views_per_post"] is not None:
            assert r["views_per_post_vs_ordinary"] == pytest.approx(
                r["views_per_post"] / ordinary["views_per_post"]
            )
    # every demo quarter with a public day off has holiday content (2025Q3 has none in the calendar)
    assert {q for q, _, kind in got if kind == "holiday"} == {q for q, _, _ in got} - {"2025Q3"}


def test_campaigns_equal_the_truth(marts, playbook) -> None:
    cols = ("creator_deals", "creator_cost_yuan", "exposure", "engagements", "leads", "valid_leads", "orders")
    rows = _rows(marts, "select * from marts.mart_campaign_platforms")
    got = {(r["campaign_code"], r["platform"]): r for r in rows}
    truth = {(t["campaign_code"], t["platform"]): {**t, "tiers": ",".join(t["tiers"]) or None}
             for t in playbook["campaign_platforms"]}  # fmt: skip
    assert _mismatches(got, truth, (*cols, "tiers")) == []
    for r in rows:
        assert r["cost_per_valid_lead"] == pytest.approx(_ratio(r["creator_cost_yuan"], r["valid_leads"]))
    # per campaign: the platform rows add up; the platforms and the single-platform flag
    reach = {r["campaign_code"]: r for r in _rows(marts, "select * from marts.mart_campaign_reach")}
    by_campaign = defaultdict(list)
    for (code, _), t in truth.items():
        by_campaign[code].append(t)
    assert set(reach) == set(by_campaign)
    for code, cells in by_campaign.items():
        r = reach[code]
        platforms = sorted(t["platform"] for t in cells if t["platform"] != "other")
        assert r["platforms"] == (",".join(platforms) or None), code
        assert r["n_platforms"] == len(platforms)
        assert r["is_single_platform"] == (len(platforms) == 1)
        for col in ("creator_deals", "leads", "valid_leads", "orders"):
            assert r[col] == sum(t[col] for t in cells), (code, col)
        assert r["creator_cost_yuan"] == pytest.approx(sum(t["creator_cost_yuan"] for t in cells))
        for col in ("exposure", "engagements"):
            known = [t[col] for t in cells if t[col] is not None]
            assert r[col] == (sum(known) if known else None), (code, col)
        assert r["cost_per_valid_lead"] == pytest.approx(_ratio(r["creator_cost_yuan"], r["valid_leads"]))
    assert any(r["is_single_platform"] for r in reach.values())
    assert any(not r["is_single_platform"] for r in reach.values())


def test_top_topic_posts_equal_the_truth(marts, playbook) -> None:
    rows = _rows(marts, "select *, published_on::varchar as published_on from marts.mart_topic_posts_top")
    got = {(r["quarter_label"], r["day_kind"], r["post_rank"]): r for r in rows}
    expected = {(t["quarter_label"], t["day_kind"], t["post_rank"]): t for t in playbook["topic_posts_top"]}
    cols = (
        "platform",
        "post_id",
        "account_id",
        "matrix_tier",
        "title",
        "published_on",
        "views",
        "engagements",
        "leads",
    )
    assert _mismatches(got, expected, cols) == []
    for r in rows:
        assert r["interaction_rate"] == pytest.approx(_ratio(r["engagements"], r["views"]))
