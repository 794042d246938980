"""The marts of `make demo`, cell by cell, against the simulator's ground truth.

The pack reads its numbers from these marts (tests/e2e/test_pack_against_marts.py holds the
pack to the marts); this module closes the chain: every mart column the pack shows equals
the truth the simulator wrote in `_manifest.json`, per creator deal, per deal and region, per
live session, and per quarter by platform and tier, by region and by dealer, through every
funnel stage. Ratios are checked against the truth through the formula the yml states.
"""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

pytestmark = pytest.mark.slow

DEAL_KEY = ("platform", "account_id", "campaign_code", "published_on")
DEAL_FIGURES = ("quarter_label", "cooperation_form", "matrix_tier", "cost_yuan", "posts_matched",
                "live_sessions_matched", "exposure", "views", "engagements", "follower_gain", "leads",
                "valid_leads", "orders")  # fmt: skip
FUNNEL = ("leads", "valid_leads", "arrivals", "test_drives", "orders", "deliveries", "followed_within_24h")


@pytest.fixture(scope="module")
def marts(demo: dict):
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def truth(demo: dict) -> dict:
    return demo["manifest"]["truth"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


def _close(got: float | None, want: float | None) -> bool:
    return (
        got is None and want is None or (got is not None and want is not None and got == pytest.approx(want))
    )


def test_every_creator_deal_equals_its_truth(marts, truth) -> None:
    rows = _rows(marts, "select *, published_on::varchar as published_on from marts.mart_creator_roi")
    got = {tuple(r[k] for k in DEAL_KEY): r for r in rows}
    expected = {tuple(d[k] for k in DEAL_KEY): d for d in truth["creator_deals"]}
    assert set(got) == set(expected)
    mismatches = []
    for key, deal in expected.items():
        row = got[key]
        for col in DEAL_FIGURES:
            if row[col] != deal[col]:
                mismatches.append((key, col, row[col], deal[col]))
        for col, num, den in (("cpm_yuan", deal["cost_yuan"] * 1000, deal["exposure"]),
                              ("cpe_yuan", deal["cost_yuan"], deal["engagements"]),
                              ("cost_per_valid_lead", deal["cost_yuan"], deal["valid_leads"])):  # fmt: skip
            assert _close(row[col], _ratio(num, den)), (key, col)
    assert mismatches == []


def test_no_published_deal_shows_zero_exposure(marts, truth) -> None:
    zero, unknown = marts.execute(
        "select count(*) filter (where exposure = 0), count(*) filter (where exposure is null) "
        "from marts.mart_creator_roi"
    ).fetchone()
    assert zero == 0
    # unknown only where nothing the creator published reached the warehouse (its one live
    # session fell on a day whose file was missing or rejected): shown as unknown, never as 0
    unloaded = [d for d in truth["creator_deals"] if d["posts_matched"] + d["live_sessions_matched"] == 0]
    assert unknown == len(unloaded) <= 0.05 * len(truth["creator_deals"])
    assert all(d["deliverables_published"] == 1 for d in truth["creator_deals"])


def test_deal_regions_equal_the_truth(marts, truth) -> None:
    got = {
        (r["platform"], r["account_id"], r["campaign_code"], r["published_on"], r["region"]): (
            r["quarter_label"], r["leads"], r["valid_leads"], r["orders"])
        for r in _rows(marts, "select roi.platform, roi.account_id, roi.campaign_code, "
                              "roi.published_on::varchar as published_on, reg.* "
                              "from marts.mart_creator_deal_regions as reg "
                              "join marts.mart_creator_roi as roi using (deal_key)")
    }  # fmt: skip
    expected = {
        (*(d[k] for k in DEAL_KEY), region): (d["quarter_label"], f["leads"], f["valid_leads"], f["orders"])
        for d in truth["creator_deals"]
        for region, f in d["regions"].items()
    }
    assert got == expected


def test_live_sessions_equal_the_truth(marts, truth) -> None:
    cols = ("views", "viewers", "peak_online", "comments", "likes", "follower_gain", "leads")
    rows = _rows(
        marts, f"select platform, live_id, account_id, {', '.join(cols)} from marts.fct_live_sessions"
    )
    got = {r["live_id"]: r for r in rows}
    expected = truth["live_sessions"]
    assert set(got) == set(expected)
    mismatches = []
    for live_id, t in expected.items():
        for col in ("platform", "account_id", *cols):
            want = t.get(col)
            if col not in ("platform", "account_id") and want is not None:
                want = int(want)
            if got[live_id][col] != want:
                mismatches.append((live_id, col, got[live_id][col], want))
    assert mismatches == []


def _content_sql(group: str) -> str:
    return (
        f"select d.quarter_label, {group}, sum(f.exposure) as exposure, sum(f.views) as views, "
        "sum(f.engagements) as engagements from marts.fct_content_daily as f "
        f"join marts.dim_date as d using (date_day) group by all"
    )


def _kpi_sql(group: str, measures: tuple[str, ...]) -> str:
    # the mart holds the 24-hour rate per cell; rate x valid leads gives the cell's count back
    expr = {"followed_within_24h": "round(coalesce(follow_up_24h_rate, 0) * valid_leads)"}
    sums = ", ".join(f"cast(sum({expr.get(m, m)}) as bigint) as {m}" for m in measures)
    return (
        f"select period_label as quarter_label, {group}, {sums} from marts.mart_kpi_by_period "
        f"where period_type = 'quarter' group by all"
    )


def _flatten(tree: dict, depth: int) -> dict[tuple, dict]:
    """{q: {a: {b: figures}}} -> {(q, a, b): figures}."""
    if depth == 0:
        return {(): tree}
    return {(k, *rest): v for k, sub in tree.items() for rest, v in _flatten(sub, depth - 1).items()}


CONTENT = ("exposure", "views", "engagements")


@pytest.mark.parametrize(
    ("section", "group", "kpi_group", "depth"),
    [
        ("by_tier", "f.platform, f.matrix_tier", "platform, matrix_tier", 3),
        ("by_region", "f.region", "region", 2),
        ("by_dealer", "f.dealer_code", "dealer_code", 2),
    ],
)
def test_content_per_quarter_equals_the_truth(marts, truth, section, group, kpi_group, depth) -> None:
    expected = {
        k: tuple(v[m] for m in CONTENT)
        for k, v in _flatten(truth["content_by_quarter"][section], depth).items()
    }
    fact = {tuple(r[:depth]): tuple(r[depth:]) for r in marts.execute(_content_sql(group)).fetchall()
            if r[depth - 1] is not None}  # fmt: skip
    kpi = {tuple(r[:depth]): tuple(r[depth:]) for r in marts.execute(_kpi_sql(kpi_group, CONTENT)).fetchall()
           if r[depth - 1] is not None and any(r[depth:])}  # fmt: skip
    assert fact == expected
    assert kpi == expected


@pytest.mark.parametrize(
    ("section", "group", "depth"),
    [("by_tier", "platform, matrix_tier", 3), ("by_region", "region", 2), ("by_dealer", "dealer_code", 2)],
)
def test_follower_gain_per_quarter_equals_the_truth(marts, truth, section, group, depth) -> None:
    cells = _flatten(truth["content_by_quarter"][section], depth)
    expected = {k: v["follower_gain"] for k, v in cells.items() if v["follower_gain"]}
    got = {tuple(r[:depth]): r[depth] for r in marts.execute(_kpi_sql(group, ("follower_gain",))).fetchall()
           if r[depth] and r[depth - 1] is not None}  # fmt: skip
    assert got == expected


def _lead_truth(truth: dict, section: str, depth: int) -> dict[tuple, dict]:
    return _flatten(truth["leads_by_quarter"][section], depth)


@pytest.mark.parametrize(
    ("section", "group", "depth"),
    [
        ("by_tier", "platform, matrix_tier", 3),
        ("by_region", "region", 2),
        ("by_dealer", "dealer_code", 2),
    ],
)
def test_kpi_lead_funnel_per_quarter_equals_the_truth(marts, truth, section, group, depth) -> None:
    expected = {k: tuple(v[m] for m in FUNNEL) for k, v in _lead_truth(truth, section, depth).items()}
    got = {tuple(r[:depth]): tuple(r[depth:]) for r in marts.execute(_kpi_sql(group, FUNNEL)).fetchall()
           if any(r[depth:])}  # fmt: skip
    assert got == expected


def test_fct_leads_funnel_and_response_per_quarter(marts, truth) -> None:
    rows = marts.execute(
        "select d.quarter_label, l.source_platform, l.source_matrix_tier, count(*), "
        "count(*) filter (where is_valid), "
        "count(*) filter (where is_valid and arrived_at is not null), "
        "count(*) filter (where is_valid and test_drive_at is not null), "
        "count(*) filter (where is_valid and ordered_at is not null), "
        "count(*) filter (where is_valid and delivered_at is not null), "
        "count(*) filter (where is_valid and followed_within_24h), "
        "median(response_minutes) filter (where is_valid) "
        "from marts.fct_leads as l join marts.dim_date as d on l.created_date = d.date_day group by all"
    ).fetchall()
    got = {tuple(r[:3]): r[3:] for r in rows}
    expected = _lead_truth(truth, "by_tier", 3)
    assert set(got) == set(expected)
    # unattributed leads are a group of their own, not dropped
    assert any(p == "other" for _, p, _ in got) and any(t == "none" for *_, t in got)
    for key, t in expected.items():
        assert tuple(got[key][:7]) == tuple(t[m] for m in FUNNEL), key
        assert _close(got[key][7], t["median_response_minutes"]), key


def test_dealer_scorecard_equals_the_truth(marts, truth) -> None:
    rows = _rows(marts, "select * from marts.mart_dealer_scorecard")
    got = {(r["quarter_label"], r["dealer_code"]): r for r in rows}
    leads = _lead_truth(truth, "by_dealer", 2)
    content = _flatten(truth["content_by_quarter"]["by_dealer"], 2)
    mismatches = []
    for key, row in got.items():
        t = leads.get(key, dict.fromkeys(FUNNEL, 0) | {"median_response_minutes": None})
        c = content.get(key, dict.fromkeys(CONTENT, 0))
        want = {
            "leads": t["leads"], "valid_leads": t["valid_leads"], "arrivals": t["arrivals"],
            "orders": t["orders"], "exposure": c["exposure"], "engagements": c["engagements"],
        }  # fmt: skip
        for col, value in want.items():
            if row[col] != value:
                mismatches.append((key, col, row[col], value))
        assert row["order_rate"] == pytest.approx(_ratio(t["orders"], t["valid_leads"])), key
        assert row["follow_up_24h_rate"] == pytest.approx(
            _ratio(t["followed_within_24h"], t["valid_leads"])
        ), key
        assert row["median_response_minutes"] == pytest.approx(t["median_response_minutes"]), key
    assert mismatches == []
    assert set(leads) <= set(got)


def test_dealer_accounts_counted_once_by_their_dealer_on_the_quarters_last_day(marts, truth) -> None:
    expected = {k: (v["accounts"], v["active_accounts"])
                for k, v in _flatten(truth["accounts_by_quarter"]["by_dealer"], 2).items()}  # fmt: skip
    got = {(q, d): (a, act) for q, d, a, act in marts.execute(
        "select quarter_label, dealer_code, accounts, active_accounts from marts.mart_dealer_scorecard "
        "where accounts > 0").fetchall()}  # fmt: skip
    assert got == expected


def test_creator_cost_per_quarter_equals_the_deals(marts, truth) -> None:
    expected: dict[tuple, float] = defaultdict(float)
    for d in truth["creator_deals"]:
        expected[(d["quarter_label"], d["platform"], d["matrix_tier"])] += d["cost_yuan"]
    got = {tuple(r[:3]): r[3] for r in marts.execute(_kpi_sql("platform, matrix_tier", ("creator_cost_yuan",))).fetchall()
           if r[3]}  # fmt: skip
    assert got == pytest.approx(dict(expected))


def test_history_quarters_are_there(marts) -> None:
    quarters = [q for (q,) in marts.execute(
        "select distinct period_label from marts.mart_kpi_by_period where period_type = 'quarter' and leads > 0 "
        "order by 1").fetchall()]  # fmt: skip
    assert quarters == ["2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
