"""Posting habits the playbook measures (issue 16): advocacy accounts' silent weeks, holiday bumps.

Kept apart from content.py so that the generator there only multiplies its daily posting
rates and views by what these functions return.

- 高管 and 员工 accounts keep a weekly rhythm with silent weeks: a two-state chain per account
  (active -> silent with ADVOCACY_SILENCE_ODDS[0], silent -> active with [1]), and a few of them
  stop for good from a random week on (the accounts that "went silent"). Without this every
  employee would post in most weeks and the rhythm sections would have nothing to find.
- Every SINGLE_PLATFORM_EVERY-th campaign runs on SINGLE_PLATFORM only (its creator deals, tagged
  posts and leads), so the cross-platform section has single-platform campaigns to flag.
- Public days off (the dbt holiday seed, the one calendar of the project) carry more posts and
  more views per post, so the holiday section has a real uplift to measure.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import cache

import numpy as np

from matrix_pulse.settings import REPO_ROOT

ADVOCACY_TIERS = ("高管", "员工")
ADVOCACY_SILENCE_ODDS = (0.18, 0.45)  # P(active -> silent), P(silent -> active) per week
ADVOCACY_QUIT_SHARE = 0.08  # accounts that stop posting for good from a random week
ADVOCACY_REGULAR_SHARE = 0.35  # accounts that keep the weekly rhythm: never silent, posting more
ADVOCACY_REGULAR_RATE = 3.0  # their posting rate over their tier's
SINGLE_PLATFORM_EVERY = 5
SINGLE_PLATFORM = "douyin"
HOLIDAY_POST_FACTOR = 1.4  # posting rate on a public day off
HOLIDAY_VIEW_BOOST = 1.5  # views of a post published on a public day off


@cache
def holidays_off() -> frozenset[date]:
    """Public days off from the dbt seed cn_public_holidays.csv (is_day_off = true)."""
    path = REPO_ROOT / "dbt" / "seeds" / "cn_public_holidays.csv"
    with path.open(encoding="utf-8") as f:
        return frozenset(
            date.fromisoformat(r["holiday_date"]) for r in csv.DictReader(f) if r["is_day_off"] == "true"
        )


def holiday_mask(start: date, offsets: np.ndarray) -> np.ndarray:
    """True for each day offset from ``start`` that is a public day off."""
    off = holidays_off()
    return np.array([start + timedelta(days=int(o)) in off for o in offsets], dtype=bool)


def week_index(start: date, offsets: np.ndarray) -> np.ndarray:
    """Monday-based week number of each day offset, 0 = the week holding ``start``."""
    return (np.asarray(offsets) + start.weekday()) // 7


def advocacy_rhythm(
    rng: np.random.Generator, start: date, offsets: np.ndarray, tiers: np.ndarray
) -> np.ndarray:
    """[day, account] factor on the posting rate: 0 in an advocacy account's silent weeks,
    ADVOCACY_REGULAR_RATE for the regular ones, 1 elsewhere."""
    weeks = week_index(start, offsets)
    weeks = weeks - weeks.min()
    n_weeks = int(weeks.max()) + 1
    advocacy = np.isin(tiers, ADVOCACY_TIERS)
    n = len(tiers)
    silent = np.zeros((n_weeks, n), bool)
    state = rng.random(n) < 0.15
    to_silent, to_active = ADVOCACY_SILENCE_ODDS
    for w in range(n_weeks):
        silent[w] = state
        u = rng.random(n)
        state = np.where(state, u >= to_active, u < to_silent)
    quits = rng.random(n) < ADVOCACY_QUIT_SHARE
    quit_week = rng.integers(n_weeks // 3, n_weeks, n)
    silent |= quits[None, :] & (np.arange(n_weeks)[:, None] >= quit_week[None, :])
    regular = advocacy & (rng.random(n) < ADVOCACY_REGULAR_SHARE)
    silent &= advocacy[None, :] & ~regular[None, :]
    return np.where(silent[weeks], 0.0, np.where(regular, ADVOCACY_REGULAR_RATE, 1.0)[None, :])


def campaign_runs_on(campaign_code: str, platform: str) -> bool:
    """Whether the campaign runs on ``platform`` (campaign codes end in their running number)."""
    return int(campaign_code[-2:]) % SINGLE_PLATFORM_EVERY != 0 or platform == SINGLE_PLATFORM
