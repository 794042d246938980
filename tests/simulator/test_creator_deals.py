"""Creator deals and their deliverables, as the simulator draws them and as its truth reports them.

The dbt attribution (int_creator_deals_matched_to_deliverables) finds a deal's deliverable by
a rule: the nearest post within the window of 发布日期, inside the campaign. These tests hold
the simulated world to the brief's terms that make that rule exact, and the truth to its own
sums; tests/e2e/test_marts_against_truth.py then holds the marts to the truth.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
import yaml
from matrix_pulse.settings import REPO_ROOT
from matrix_pulse.simulator.content import build_lives, build_posts
from matrix_pulse.simulator.scale import SCALES
from matrix_pulse.simulator.world import DEAL_WINDOW_DAYS, LIVE_PLATFORMS, build_world
from matrix_pulse.sources import PLATFORMS


def test_window_is_the_one_dbt_uses() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt" / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["vars"]["creator_deal_window_days"] == DEAL_WINDOW_DAYS


@pytest.fixture(scope="module")
def quarter_world():
    """The world, posts and lives of the demo quarter, drawn as simulate() draws them."""
    start, end = date(2026, 7, 1), date(2026, 9, 30)
    rng = np.random.default_rng(7)
    world = build_world(rng, SCALES["demo"], start, end)
    posts = {p: build_posts(rng, world, p) for p in PLATFORMS}
    lives = build_lives(rng, world)
    return world, posts, lives


def test_each_deal_is_delivered_once_inside_its_window(quarter_world) -> None:
    world, posts, lives = quarter_world
    deals = world.creator_deals
    campaigns = world.campaigns.set_index("campaign_code")
    assert len(deals) > 20
    for k, deal in enumerate(deals.itertuples()):
        camp = campaigns.loc[deal.campaign_code]
        lo = max(deal.published_on - timedelta(days=DEAL_WINDOW_DAYS), camp.starts_on)
        hi = min(deal.published_on + timedelta(days=DEAL_WINDOW_DAYS), camp.ends_on)
        live = deal.deal_type == "直播口播"
        book_day = lives.day if live else posts[deal.platform].pub_day
        book_acc = lives.account_idx if live else posts[deal.platform].account_idx
        book_deal = lives.deal_idx if live else posts[deal.platform].deal_idx
        own = np.nonzero(book_deal == k)[0]
        assert len(own) == 1, deal
        day = world.start + timedelta(days=int(book_day[own[0]]))
        assert lo <= day <= hi, (deal, day)
        # exclusivity: nothing else of the creator's on that platform within the window
        near = np.abs(book_day - (deal.published_on - world.start).days) <= DEAL_WINDOW_DAYS
        assert set(np.nonzero((book_acc == deal.account_idx) & near)[0]) == set(own), deal
        if live:
            assert deal.platform in LIVE_PLATFORMS
        else:
            book = posts[deal.platform]
            assert book.campaign_code[own[0]] == deal.campaign_code
            assert not book.rejected[own[0]]


def test_one_creators_deals_never_share_a_window(quarter_world) -> None:
    world, _, _ = quarter_world
    for _, group in world.creator_deals.groupby("account_idx"):
        days = sorted(group["published_on"])
        assert all((b - a).days > 2 * DEAL_WINDOW_DAYS for a, b in zip(days, days[1:], strict=False))


def test_deal_truth_adds_up(demo_quarter) -> None:
    _, manifest, _ = demo_quarter
    deals = manifest["truth"]["creator_deals"]
    assert deals
    for deal in deals:
        matched = deal["posts_matched"] + deal["live_sessions_matched"]
        assert matched <= deal["deliverables_published"] == 1
        if matched:  # what was loaded of a deliverable always has an audience
            assert deal["exposure"] > 0 and deal["views"] > 0, deal
        else:  # nothing loaded: unknown, not 0
            assert deal["exposure"] is None and deal["views"] is None, deal
        for col in ("leads", "valid_leads", "orders"):
            assert sum(r[col] for r in deal["regions"].values()) == deal[col]
        assert deal["orders"] <= deal["valid_leads"] <= deal["leads"]
    # most deliverables are loaded: only a missing or rejected file hides a live session
    assert sum(d["posts_matched"] + d["live_sessions_matched"] for d in deals) >= 0.9 * len(deals)
