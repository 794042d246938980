"""Truth of the playbook marts (issue 16): advocacy points, publishing rhythm, holiday and launch
content, cross-platform campaigns. Written under ``truth.playbook`` in the manifest.

Same conventions as the other truth sections (README.md): a post counts when a final delivery
loaded it and it was published on a day of the simulated period; its figures are its loaded
life (``Truth.post_sums``); tiers and dealers are the roster's on the day that matters (the
publication day for points and topics, the quarter's last day for the rhythm's accounts).
The rules' numbers come from dbt_project.yml vars, the one place the marts read them too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from functools import cache

import numpy as np
import yaml

from matrix_pulse.settings import REPO_ROOT
from matrix_pulse.sources import MATRIX_TIERS

from .habits import holidays_off

ENGAGEMENT = ("likes", "comments", "shares", "saves")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def playbook_vars() -> dict:
    """The playbook_* vars of dbt_project.yml."""
    text = (REPO_ROOT / "dbt" / "dbt_project.yml").read_text(encoding="utf-8")
    return {k: v for k, v in yaml.safe_load(text)["vars"].items() if k.startswith("playbook_")}


def _quarter(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def _posts(truth, world, posts) -> list[dict]:
    """Every loaded post published in the period with its loaded-life figures."""
    out = []
    n_days = len(world.days)
    acc_ids = world.accounts["account_id"].to_numpy(object)
    for platform, book in posts.items():
        loaded = truth.post_loaded.get(platform, np.zeros(len(book.post_id), bool))
        sums = truth.post_sums.get(platform, {})
        zeros = np.zeros(len(book.post_id))
        views = sums.get("views", zeros)
        exposure = sums.get("impressions", zeros) if platform == "xiaohongshu" else views
        engagements = sum((sums[m] for m in ENGAGEMENT if m in sums), zeros)
        for i in np.nonzero(loaded & (book.pub_day >= 0) & (book.pub_day < n_days))[0]:
            a = int(book.account_idx[i])
            out.append({"platform": platform, "post_id": str(book.post_id[i]), "account": a,
                        "title": str(book.title[i]).strip(),
                        "account_id": str(acc_ids[a]), "day": int(book.pub_day[i]),
                        "views": float(views[i]), "exposure": float(exposure[i]),
                        "engagements": float(engagements[i])})  # fmt: skip
    return out


def playbook_truth(truth, world, posts, leads, st, deals: list[dict], sections: dict) -> dict:
    """The ``playbook`` truth section; ``sections`` holds content_by_quarter and leads_by_quarter."""
    v = playbook_vars()
    all_posts = _posts(truth, world, posts)
    codes = np.append(world.dealers["dealer_code"].to_numpy(object), None)
    regions = np.append(world.dealers["region"].to_numpy(object), "总部")
    tiers, dealers = truth.tiers_by_day, truth.dealers_by_day
    for p in all_posts:
        p["tier"] = MATRIX_TIERS[tiers[p["day"], p["account"]]]
        p["dealer"] = int(dealers[p["day"], p["account"]])
    lead_count: Counter = Counter()
    if st is not None:
        content = leads.source_content_id[st["lead"]]
        lead_count.update(zip(st["platform"].tolist(), [str(c) for c in content], strict=True))
    rhythm = _rhythm(truth, world, all_posts, codes, regions, v)
    return {
        "advocacy_points": _points(world, all_posts, codes, regions, v),
        "publishing_rhythm": rhythm,
        "advocacy_tiers": _advocacy_tiers(rhythm, sections, v),
        "topic_days": _topic_days(world, all_posts, lead_count, v),
        "topic_posts_top": _topic_posts_top(world, all_posts, lead_count, v),
        "campaign_platforms": _campaigns(world, leads, st, deals),
    }


def _points(world, all_posts, codes, regions, v) -> list[dict]:
    cells: dict[tuple, Counter] = defaultdict(Counter)
    for p in all_posts:
        if p["tier"] not in v["playbook_advocacy_tiers"]:
            continue
        day = world.days[p["day"]]
        for period_type, label in (("month", f"{day.year}-{day.month:02d}"), ("quarter", _quarter(day))):
            key = (period_type, label, p["platform"], p["account_id"], p["tier"], codes[p["dealer"]],
                   regions[p["dealer"]])  # fmt: skip
            cells[key].update(posts=1, views=p["views"], engagements=p["engagements"])
    out = []
    for key, c in sorted(cells.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        points = (c["posts"] * v["playbook_points_per_post"] + c["views"] / 1000 * v["playbook_points_per_1000_views"]
                  + c["engagements"] * v["playbook_points_per_engagement"])  # fmt: skip
        out.append(dict(zip(("period_type", "period_label", "platform", "account_id", "matrix_tier", "dealer_code",
                             "region"), key, strict=True),
                        posts=int(c["posts"]), views=int(round(c["views"])),
                        engagements=int(round(c["engagements"])), points=points))  # fmt: skip
    return out


def _quarters(world) -> dict[str, list[int]]:
    days: dict[str, list[int]] = {}
    for d, day in enumerate(world.days):
        days.setdefault(_quarter(day), []).append(d)
    return days


def _rhythm(truth, world, all_posts, codes, regions, v) -> list[dict]:
    targets = v["playbook_weekly_targets"]
    per_day: Counter = Counter((p["account"], p["day"]) for p in all_posts)
    platform = world.accounts["platform"].to_numpy(object)
    acc_ids = world.accounts["account_id"].to_numpy(object)
    out = []
    for q, days in _quarters(world).items():
        week_of = {d: world.days[d] - timedelta(days=world.days[d].weekday()) for d in days}
        weeks = sorted(set(week_of.values()))
        last = days[-1]
        for a in range(len(acc_ids)):
            tier = MATRIX_TIERS[truth.tiers_by_day[last, a]]
            dealer = int(truth.dealers_by_day[last, a])
            by_week: Counter = Counter()
            by_weekday: Counter = Counter()
            for d in days:
                n = per_day.get((a, d), 0)
                by_week[week_of[d]] += n
                by_weekday[world.days[d].weekday()] += n
            counts = [by_week[w] for w in weeks]
            longest = run = 0
            for n in counts:
                run = run + 1 if n == 0 else 0
                longest = max(longest, run)
            trailing = len(counts) - max((i + 1 for i, n in enumerate(counts) if n), default=0)
            posts = sum(counts)
            out.append({
                "quarter_label": q, "platform": str(platform[a]), "account_id": str(acc_ids[a]),
                "matrix_tier": tier, "dealer_code": codes[dealer], "region": regions[dealer],
                "weekly_target": targets[tier], "weeks_in_quarter": len(weeks), "posts": posts,
                "weeks_posted": sum(1 for n in counts if n), "weeks_met_target": sum(1 for n in counts if n >= targets[tier]),
                "longest_silent_streak_weeks": longest, "trailing_silent_weeks": trailing,
                "is_silent": posts == 0, "went_silent": posts > 0 and trailing >= v["playbook_went_silent_weeks"],
                **{f"posts_{WEEKDAYS[k]}": by_weekday[k] for k in range(7)},
            })  # fmt: skip
    return out


def _advocacy_tiers(rhythm, sections, v) -> list[dict]:
    content = sections["content_by_quarter"]["by_tier"]
    leads = sections.get("leads_by_quarter", {}).get("by_tier", {})
    out = []
    for q in sorted(content):
        exposure_all = sum(c["exposure"] for by_t in content[q].values() for c in by_t.values())
        leads_all = sum(c["leads"] for by_t in leads.get(q, {}).values() for c in by_t.values())
        for tier in v["playbook_advocacy_tiers"]:
            accounts = [r for r in rhythm if r["quarter_label"] == q and r["matrix_tier"] == tier]
            weekly = sum(1 for r in accounts if r["weeks_posted"] == r["weeks_in_quarter"])
            exposure = sum(by_t.get(tier, {}).get("exposure", 0) for by_t in content[q].values())
            tier_leads = sum(by_t.get(tier, {}).get("leads", 0) for by_t in leads.get(q, {}).values())
            out.append({"quarter_label": q, "matrix_tier": tier, "accounts": len(accounts),
                        "accounts_posting_every_week": weekly, "exposure": exposure,
                        "total_exposure": exposure_all, "attributed_leads": tier_leads,
                        "total_leads": leads_all})  # fmt: skip
    return out


def _day_kinds(world, v: dict) -> list[str]:
    """The kind of every day of the world by day offset: a public day off is a 'holiday', else a
    day inside a campaign's launch window is a 'campaign_launch', else 'ordinary'. Once per
    world: asked per post, it scanned every campaign once per post of the quarter."""
    off = holidays_off()
    launch: set[date] = set()
    for c in world.campaigns.itertuples():
        launch.update(c.starts_on + timedelta(days=k) for k in range(v["playbook_launch_window_days"]))
    return [
        "holiday" if day in off else "campaign_launch" if day in launch else "ordinary" for day in world.days
    ]


def _topic_days(world, all_posts, lead_count, v) -> list[dict]:
    kinds = _day_kinds(world, v)
    cells: dict[tuple, Counter] = defaultdict(Counter)
    for p in all_posts:
        day = world.days[p["day"]]
        kind = kinds[p["day"]]
        cells[(_quarter(day), p["tier"], kind)].update(
            posts=1,
            views=p["views"],
            engagements=p["engagements"],
            leads=lead_count.get((p["platform"], p["post_id"]), 0),
            days_loaded=len(world.days) - p["day"],  # publication day to the period's last day, both included
        )
    return [
        {"quarter_label": q, "matrix_tier": t, "day_kind": k, "posts": int(c["posts"]), "views": int(round(c["views"])),
         "engagements": int(round(c["engagements"])), "leads": int(c["leads"]),
         "avg_days_loaded": c["days_loaded"] / c["posts"]}
        for (q, t, k), c in sorted(cells.items())
    ]  # fmt: skip


def _topic_posts_top(world, all_posts, lead_count, v) -> list[dict]:
    """The most viewed holiday and launch-day posts per quarter (ties: platform, post id)."""
    kinds = _day_kinds(world, v)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in all_posts:
        kind = kinds[p["day"]]
        if kind != "ordinary":
            groups[(_quarter(world.days[p["day"]]), kind)].append(p)
    out = []
    for (q, kind), posts in sorted(groups.items()):
        posts.sort(key=lambda p: (-round(p["views"]), p["platform"], p["post_id"]))
        for rank, p in enumerate(posts[: v["playbook_top_topic_posts"]], start=1):
            out.append({"quarter_label": q, "day_kind": kind, "post_rank": rank, "platform": p["platform"],
                        "post_id": p["post_id"], "account_id": p["account_id"], "matrix_tier": p["tier"],
                        "title": p["title"], "published_on": world.days[p["day"]].isoformat(),
                        "views": int(round(p["views"])), "engagements": int(round(p["engagements"])),
                        "leads": int(lead_count.get((p["platform"], p["post_id"]), 0))})  # fmt: skip
    return out


def _campaigns(world, leads, st, deals: list[dict]) -> list[dict]:
    cells: dict[tuple, dict] = {}

    def cell(code: str, platform: str) -> dict:
        return cells.setdefault((code, platform), {
            "campaign_code": code, "platform": platform, "creator_deals": 0, "creator_cost_yuan": 0.0,
            "exposure": None, "engagements": None, "leads": 0, "valid_leads": 0, "orders": 0, "tiers": set()})  # fmt: skip

    for d in deals:
        c = cell(d["campaign_code"], d["platform"])
        c["creator_deals"] += 1
        c["creator_cost_yuan"] += d["cost_yuan"]
        c["tiers"].add(d["matrix_tier"])
        for m in ("exposure", "engagements"):
            if d[m] is not None:
                c[m] = (c[m] or 0) + d[m]
    if st is not None:
        campaign = leads.campaign_code[st["lead"]]
        for j in np.nonzero(np.array([bool(x) for x in campaign]))[0]:
            c = cell(str(campaign[j]), str(st["platform"][j]))
            c["leads"] += 1
            c["valid_leads"] += int(st["valid"][j])
            c["orders"] += int(st["valid"][j] and st["ordered"][j])
            if st["tier"][j] >= 0:
                c["tiers"].add(MATRIX_TIERS[st["tier"][j]])
    return [{**c, "tiers": sorted(c["tiers"])} for _, c in sorted(cells.items())]
