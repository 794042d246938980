"""Leads and their life in the dealers' CRMs.

Every lead is drawn with its whole future (distribution, first follow-up, arrival, test
drive, order, delivery or defeat) and then cut into daily CRM rows: a lead appears in the
file of every day on which its status changed, carrying its state at the last change of
that day. Leads come from live rooms (their SourceContentId is the room ID), from posts,
from accounts without a post, and from channels outside the matrix. Some people leave a
second lead for the same series within 30 days (a duplicate by the contract's rule); a
few come back after more than 30 days (not a duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matrix_pulse.sources import DCC_STATUS, LEGACY_STATUS, PLATFORMS

from .content import LiveBook, PostBook, day_seconds, weekday_factor
from .habits import campaign_runs_on
from .scale import Scale
from .world import SERIES, World, chinese_names, person_phones

OTHER_CHANNELS = ("懂车帝", "汽车之家", "易车", "自然到店", "400电话")
NEVER = np.iinfo(np.int64).max // 4
DCC_CODES = np.array(list(DCC_STATUS), dtype=object)
LEGACY_NAMES = np.array(LEGACY_STATUS, dtype=object)
DEFEAT_REASONS = np.array(["已购竞品", "预算不足", "暂不购车", "联系不上", "价格原因"], dtype=object)
INVALID_TYPES = np.array(["空号", "错号", "无购车意向", "同行咨询"], dtype=object)
PHONE_JUNK = np.array(["123", "无", "0000", "1381234"], dtype=object)


@dataclass
class LeadBook:
    """One entry per lead; milestone times are local naive seconds (NEVER when not reached)."""

    is_legacy: np.ndarray
    clue_id: np.ndarray
    dealer_idx: np.ndarray
    person: np.ndarray
    customer_name: np.ndarray
    phone: np.ndarray
    phone_is_junk: np.ndarray
    series: np.ndarray
    model: np.ndarray
    channel_name: np.ndarray
    platform: np.ndarray  # platform code, or 'other'
    source_account_idx: np.ndarray  # -1: no matrix account
    source_content_id: np.ndarray
    campaign_code: np.ndarray
    created: np.ndarray
    distributed: np.ndarray
    first_follow: np.ndarray
    arrived: np.ndarray
    test_drive: np.ndarray
    ordered: np.ndarray
    delivered: np.ndarray
    invalid_at: np.ndarray
    invalid_type: np.ndarray
    defeat_reason: np.ndarray
    defeat_request_at: np.ndarray
    defeated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.created)


@dataclass
class CrmRows:
    """Daily CRM rows: the state of a lead at its last change on that day."""

    lead: np.ndarray
    day: np.ndarray  # day offset of the update
    updated: np.ndarray
    dcc_status: np.ndarray
    legacy_status: np.ndarray


def build_leads(
    rng: np.random.Generator,
    world: World,
    scale: Scale,
    posts: dict[str, PostBook],
    lives: LiveBook,
    mess_rate: float,
    seed: int,
) -> LeadBook:
    """Draw every lead of the period with its full life."""
    n_days = len(world.days)
    start_sec = day_seconds(world.start)
    n_dealers = len(world.dealers)
    dealer_by_day = world.dealer_index_by_day()
    acc_platform = world.accounts["platform"].to_numpy()

    parts: list[dict[str, np.ndarray]] = []

    # 1. live-room leads: created while the room was live, content ID = room ID
    rep = np.repeat(np.arange(len(lives.day)), lives.metrics["leads"])
    if len(rep):
        created = lives.start_sec[rep] + (rng.random(len(rep)) * (lives.end_sec[rep] - lives.start_sec[rep]))
        parts.append(
            {
                "day": lives.day[rep],
                "created": created.astype(np.int64),
                "account": lives.account_idx[rep],
                "content": lives.live_id[rep],
                "campaign": np.full(len(rep), "", dtype=object),
            }
        )

    # 2. leads from posts and accounts, weighted by the post's fresh reach
    campaign_rows = list(world.campaigns.itertuples())  # once, not once per day
    campaign_days = [[c for c in campaign_rows if c.starts_on <= day <= c.ends_on] for day in world.days]
    factor = weekday_factor(np.arange(n_days), world.start) * np.array(
        [1.5 if c else 1.0 for c in campaign_days]
    )
    n_matrix = rng.poisson(scale.leads_per_dealer_day * n_dealers * factor)
    platforms = [p for p in PLATFORMS if p in posts]
    for d in range(n_days):
        idx_by_platform = [posts[p].on_day(d) for p in platforms]
        weights = np.concatenate(
            [
                np.sqrt(posts[p].totals["views"][i]) * np.exp(-(d - posts[p].pub_day[i]) / 4.0)
                for p, i in zip(platforms, idx_by_platform, strict=True)
            ]
        )
        if weights.sum() <= 0:
            continue
        owner = np.concatenate([np.full(len(i), k) for k, i in enumerate(idx_by_platform)])
        local = np.concatenate(idx_by_platform)
        pick = rng.choice(len(weights), size=n_matrix[d], p=weights / weights.sum())
        book_of = owner[pick]
        post_idx = local[pick]
        account = np.empty(len(pick), dtype=np.int64)
        content = np.empty(len(pick), dtype=object)
        campaign = np.empty(len(pick), dtype=object)
        for k, p in enumerate(platforms):
            sel = book_of == k
            account[sel] = posts[p].account_idx[post_idx[sel]]
            content[sel] = posts[p].post_id[post_idx[sel]]
            campaign[sel] = posts[p].campaign_code[post_idx[sel]]
        no_content = rng.random(len(pick)) < 0.35  # private message / profile form: account only
        content[no_content] = ""
        minute = np.clip(rng.normal(15 * 60, 240, len(pick)), 7 * 60, 23 * 60 + 50).astype(np.int64)
        parts.append(
            {
                "day": np.full(len(pick), d),
                "created": start_sec + d * 86_400 + minute * 60,
                "account": account,
                "content": content,
                "campaign": campaign,
            }
        )

    # 3. leads from outside the matrix (and matrix platforms' ads with no account)
    n_other = rng.poisson(scale.other_leads_per_dealer_day * n_dealers * factor)
    for d in range(n_days):
        n = n_other[d]
        minute = np.clip(rng.normal(14 * 60, 200, n), 8 * 60, 22 * 60).astype(np.int64)
        parts.append(
            {
                "day": np.full(n, d),
                "created": start_sec + d * 86_400 + minute * 60,
                "account": np.full(n, -1),
                "content": np.full(n, "", dtype=object),
                "campaign": np.full(n, "", dtype=object),
            }
        )

    day = np.concatenate([p["day"] for p in parts]).astype(np.int64)
    created = (np.concatenate([p["created"] for p in parts]) // 60 * 60).astype(np.int64)
    account = np.concatenate([p["account"] for p in parts]).astype(np.int64)
    content = np.concatenate([p["content"] for p in parts]).astype(object)
    campaign = np.concatenate([p["campaign"] for p in parts]).astype(object)
    n = len(day)

    has_acc = account >= 0
    platform = np.full(n, "other", dtype=object)
    platform[has_acc] = acc_platform[account[has_acc]]
    channel = np.array(OTHER_CHANNELS, dtype=object)[
        rng.choice(len(OTHER_CHANNELS), n, p=[0.3, 0.25, 0.15, 0.2, 0.1])
    ]
    ads = (~has_acc) & (rng.random(n) < 0.15)  # 抖音信息流 etc.: a matrix platform, no account
    ads_platform = np.array(["douyin", "kuaishou", "xiaohongshu"], dtype=object)[rng.integers(0, 3, n)]
    platform[ads] = ads_platform[ads]
    matrix = platform != "other"
    channel[matrix] = np.array([PLATFORMS[p] for p in platform[matrix]], dtype=object)

    dealer = rng.integers(0, n_dealers, n)
    own = np.zeros(n, dtype=np.int64) - 1
    own[has_acc] = dealer_by_day[np.clip(day[has_acc], 0, n_days - 1), account[has_acc]]
    dealer = np.where(own >= 0, own, dealer)

    # campaign: a post's campaign, else one running that day for some matrix leads
    # Compared once: a day's assignments only touch that day's leads, which no later day selects.
    open_matrix = (campaign == "") & matrix
    for d in range(n_days):
        running = campaign_days[d]
        if not running:
            continue
        sel = np.nonzero((day == d) & open_matrix & (rng.random(n) < 0.25))[0]
        campaign[sel] = np.array([c.campaign_code for c in running], dtype=object)[
            rng.integers(0, len(running), len(sel))
        ]
        # a single-platform campaign's leads come from its platform only
        off = np.array(
            [not campaign_runs_on(c, p) for c, p in zip(campaign[sel], platform[sel], strict=True)], bool
        )
        campaign[sel[off]] = ""
    camp_series = dict(zip(world.campaigns["campaign_code"], world.campaigns["series_code"], strict=True))
    series = np.array(SERIES, dtype=object)[rng.choice(len(SERIES), n, p=[0.3, 0.2, 0.25, 0.15, 0.1])]
    in_camp = campaign != ""
    series[in_camp] = np.array([camp_series[c] for c in campaign[in_camp]], dtype=object)
    person = np.arange(n, dtype=np.int64)

    # repeat leads by the same person for the same series: most within 30 days (duplicates)
    base = np.nonzero(rng.random(n) < 0.08)[0]
    gap_days = np.where(
        rng.random(len(base)) < 0.8, rng.uniform(0.05, 25, len(base)), rng.uniform(31, 45, len(base))
    )
    rep_created = (created[base] + (gap_days * 86_400).astype(np.int64)) // 60 * 60
    rep_day = (rep_created - start_sec) // 86_400
    keep = rep_day < n_days
    base, rep_created, rep_day = base[keep], rep_created[keep], rep_day[keep]
    m = len(base)
    rep_platform = np.array(list(PLATFORMS) + ["other"], dtype=object)[rng.integers(0, len(PLATFORMS) + 1, m)]
    rep_channel = np.array([PLATFORMS.get(p, "汽车之家") for p in rep_platform], dtype=object)
    rep_dealer = np.where(rng.random(m) < 0.5, dealer[base], rng.integers(0, n_dealers, m))

    day = np.concatenate([day, rep_day])
    created = np.concatenate([created, rep_created])
    account = np.concatenate([account, np.full(m, -1)])
    content = np.concatenate([content, np.full(m, "", dtype=object)])
    campaign = np.concatenate([campaign, np.full(m, "", dtype=object)])
    platform = np.concatenate([platform, rep_platform])
    channel = np.concatenate([channel, rep_channel])
    dealer = np.concatenate([dealer, rep_dealer])
    series = np.concatenate([series, series[base]])
    person = np.concatenate([person, person[base]])
    is_repeat = np.concatenate([np.zeros(n, bool), np.ones(m, bool)])
    n = len(day)

    order = np.argsort(created, kind="stable")
    day, created, account, content, campaign = (a[order] for a in (day, created, account, content, campaign))
    platform, channel, dealer, series, person, is_repeat = (
        a[order] for a in (platform, channel, dealer, series, person, is_repeat)
    )

    names_by_person = chinese_names(rng, int(person.max()) + 1 if n else 0)
    phone = person_phones(person, seed)
    junk_person = rng.random(int(person.max()) + 1 if n else 0) < mess_rate * 0.5
    phone_is_junk = junk_person[person] if n else np.zeros(0, bool)
    phone[phone_is_junk] = PHONE_JUNK[person[phone_is_junk] % len(PHONE_JUNK)]

    is_legacy = world.dealer_is_legacy[dealer]
    seq = np.arange(n)
    created_str = np.datetime_as_string((created * 1_000_000_000).astype("datetime64[ns]"), unit="D")
    ymd = np.char.replace(created_str.astype(str), "-", "")
    clue_id = np.where(
        is_legacy,
        np.char.add(np.char.add("XS", ymd), np.char.zfill((seq % 1_000_000).astype(str), 6)),
        np.char.add("CL", np.char.zfill((seq + 880_000_000).astype(str), 12)),
    ).astype(object)
    model = np.char.add(
        series.astype(str), np.array(["-标准版", "-长续航版", "-四驱性能版"])[rng.integers(0, 3, n)]
    )

    # the lead's life, in minutes
    minute = 60
    distributed = created + rng.integers(1, 90, n) * minute
    response = world.dealer_response_minutes[dealer] * rng.lognormal(0, 0.8, n)
    followed = (rng.random(n) > 0.05) | phone_is_junk
    first_follow = np.where(followed, distributed + np.maximum(response, 1).astype(np.int64) * minute, NEVER)
    invalid = followed & ((rng.random(n) < 0.07) | phone_is_junk)
    invalid_at = np.where(invalid, first_follow + rng.integers(5, 60, n) * minute, NEVER)
    invalid_type = np.where(invalid, INVALID_TYPES[rng.integers(0, len(INVALID_TYPES), n)], "").astype(object)
    invalid_type[phone_is_junk] = "空号"
    dup_like = is_repeat & followed & ~invalid  # the dealer spots the repeat and closes it
    progressing = followed & ~invalid & ~dup_like
    arrives = progressing & (rng.random(n) < 0.28)
    arrived = np.where(
        arrives, first_follow + (rng.lognormal(np.log(3 * 1440), 0.7, n)).astype(np.int64) * minute, NEVER
    )
    drives = arrives & (rng.random(n) < 0.62)
    same_visit = rng.random(n) < 0.7
    test_drive = np.where(
        drives,
        arrived + np.where(same_visit, rng.integers(20, 90, n), rng.integers(1440, 7 * 1440, n)) * minute,
        NEVER,
    )
    orders = arrives & (rng.random(n) < np.where(drives, 0.38, 0.08))
    ordered = np.where(
        orders, np.where(drives, test_drive, arrived) + rng.integers(60, 10 * 1440, n) * minute, NEVER
    )
    delivers = orders & (rng.random(n) < 0.85)
    delivered = np.where(delivers, ordered + rng.integers(7 * 1440, 30 * 1440, n) * minute, NEVER)
    defeats = (progressing & ~orders & (rng.random(n) < 0.6)) | dup_like
    last_step = np.where(arrives, np.where(drives, test_drive, arrived), first_follow)
    defeat_request_at = np.where(
        defeats,
        last_step
        + np.where(dup_like, rng.integers(60, 3 * 1440, n), rng.integers(5 * 1440, 25 * 1440, n)) * minute,
        NEVER,
    )
    defeated_at = np.where(defeats, defeat_request_at + rng.integers(600, 3 * 1440, n) * minute, NEVER)
    defeat_reason = np.where(defeats, DEFEAT_REASONS[rng.integers(0, len(DEFEAT_REASONS), n)], "").astype(
        object
    )
    defeat_reason[dup_like] = "重复线索"
    defeat_reason[invalid] = "无效线索"

    return LeadBook(
        is_legacy=is_legacy,
        clue_id=clue_id,
        dealer_idx=dealer,
        person=person,
        customer_name=names_by_person[person],
        phone=phone,
        phone_is_junk=phone_is_junk,
        series=series,
        model=model.astype(object),
        channel_name=channel,
        platform=platform,
        source_account_idx=account,
        source_content_id=content,
        campaign_code=campaign,
        created=created,
        distributed=distributed,
        first_follow=first_follow,
        arrived=arrived,
        test_drive=test_drive,
        ordered=ordered,
        delivered=delivered,
        invalid_at=invalid_at,
        invalid_type=invalid_type,
        defeat_reason=defeat_reason,
        defeat_request_at=defeat_request_at,
        defeated_at=defeated_at,
    )


def crm_rows(leads: LeadBook, world: World) -> CrmRows:
    """Cut the leads' lives into daily rows (one per lead and day with a change, in the period)."""
    n = len(leads)
    idx = np.arange(n)
    legacy = leads.is_legacy
    # (time, dcc status index, legacy status index or -1 for no legacy change)
    steps = [
        (leads.created, 0, 0, np.ones(n, bool)),
        (leads.distributed, 1, -1, ~legacy),
        (leads.first_follow, 2, 1, leads.first_follow < NEVER),
        (
            np.maximum(leads.arrived - 1440 * 60, leads.first_follow + 600),
            3,
            -1,
            (leads.arrived < NEVER) & ~legacy,
        ),
        (leads.arrived, 4, 2, leads.arrived < NEVER),
        (leads.test_drive, 4, 3, leads.test_drive < NEVER),
        (leads.ordered, 5, 4, leads.ordered < NEVER),
        (leads.delivered, 6, 5, leads.delivered < NEVER),
        (leads.defeat_request_at, 7, -1, (leads.defeat_request_at < NEVER) & ~legacy),
        (leads.defeated_at, 8, 6, leads.defeated_at < NEVER),
        (leads.invalid_at, 8, 7, leads.invalid_at < NEVER),
    ]
    ev_lead, ev_time, ev_dcc, ev_leg, ev_seq = [], [], [], [], []
    for seq, (times, dcc, leg, mask) in enumerate(steps):
        sel = idx[mask]
        ev_lead.append(sel)
        ev_time.append(times[sel])
        ev_dcc.append(np.full(len(sel), dcc))
        ev_leg.append(np.full(len(sel), leg))
        ev_seq.append(np.full(len(sel), seq))
    lead = np.concatenate(ev_lead)
    time = np.concatenate(ev_time)
    dcc = np.concatenate(ev_dcc)
    leg = np.concatenate(ev_leg)
    seq = np.concatenate(ev_seq)
    start_sec = day_seconds(world.start)
    day = (time - start_sec) // 86_400
    inside = day < len(world.days)
    lead, time, dcc, leg, seq, day = (a[inside] for a in (lead, time, dcc, leg, seq, day))
    order = np.lexsort((seq, time, lead))
    lead, time, dcc, leg, day = (a[order] for a in (lead, time, dcc, leg, day))
    # legacy state carries forward over events that do not change the legacy status
    leg_state = leg.copy()
    if len(leg_state):
        pos = np.where(leg_state >= 0, np.arange(len(leg_state)), 0)
        np.maximum.accumulate(pos, out=pos)
        leg_state = leg_state[pos]
    last = np.ones(len(lead), bool)
    if len(lead) > 1:
        last[:-1] = (lead[1:] != lead[:-1]) | (day[1:] != day[:-1])
    rows = CrmRows(lead[last], day[last], time[last], DCC_CODES[dcc[last]], LEGACY_NAMES[leg_state[last]])
    by_day = np.lexsort((rows.updated, rows.day))
    return CrmRows(
        *(getattr(rows, f)[by_day] for f in ("lead", "day", "updated", "dcc_status", "legacy_status"))
    )
