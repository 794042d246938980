"""Posts, live rooms and their counters, generated once for the whole period.

A post's counters are cumulative since publication: each post gets a final total per
metric and a 30-day curve (fast early growth with decay, bumped on weekends), so the
value in the file for day D is ``floor(total * curve[age])`` and never goes down unless
the platform corrects it (a mess kind, injected when the day's file is rendered).
Posts published up to 29 days before the first day exist too, because they still
appear in the first files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .habits import HOLIDAY_POST_FACTOR, HOLIDAY_VIEW_BOOST, advocacy_rhythm, campaign_runs_on, holiday_mask
from .world import DEAL_WINDOW_DAYS, SERIES, World

POST_WINDOW_DAYS = 30  # a post appears in every daily file while younger than this
OA_WINDOW_DAYS = 7  # WeChat OA datacube reports an article's daily figures for a week
EPOCH = date(1970, 1, 1)

TOPICS = (
    "试驾体验",
    "续航实测",
    "到店探秘",
    "车主故事",
    "限时优惠",
    "智能座舱",
    "新车上市",
    "保养小课堂",
    "露营自驾",
    "城市通勤",
    "安全测试",
    "直播预告",
    "金融方案",
    "置换补贴",
)
HOOKS = ("真实记录", "一分钟看懂", "别再错过", "老司机说", "全网首发", "干货", "实拍", "值不值")

# median ratio of each metric to views, per platform (cumulative metrics)
METRIC_RATIOS: dict[str, dict[str, float]] = {
    "douyin": {
        "likes": 0.04,
        "comments": 0.004,
        "shares": 0.003,
        "saves": 0.005,
        "profile_visits": 0.012,
        "follower_gain": 0.002,
    },
    "kuaishou": {"likes": 0.035, "comments": 0.004, "shares": 0.003, "saves": 0.004, "follower_gain": 0.002},
    "xiaohongshu": {
        "impressions": 5.0,
        "likes": 0.06,
        "saves": 0.03,
        "comments": 0.008,
        "shares": 0.004,
        "follower_gain": 0.003,
    },
    "weibo": {"shares": 0.002, "comments": 0.003, "likes": 0.012},
    "bilibili": {
        "danmaku": 0.004,
        "comments": 0.004,
        "saves": 0.02,
        "coins": 0.015,
        "shares": 0.003,
        "likes": 0.05,
    },
    "wechat_channels": {
        "likes": 0.03,
        "comments": 0.003,
        "shares": 0.006,
        "saves": 0.004,
        "follower_gain": 0.002,
    },
    "wechat_oa": {
        "read_user": 0.85,
        "shares": 0.02,
        "likes": 0.015,
        "zaikan": 0.008,
        "comments": 0.002,
        "saves": 0.006,
    },
}
CONTENT_TYPES = {
    "douyin": (("视频", "图文", "直播回放"), (0.8, 0.12, 0.08)),
    "kuaishou": (("视频", "图文", "直播回放"), (0.85, 0.05, 0.1)),
    "xiaohongshu": (("图文", "视频"), (0.6, 0.4)),
}


def day_seconds(day: date) -> int:
    """Local (Asia/Shanghai) midnight of ``day`` as naive seconds since 1970-01-01."""
    return (day - EPOCH).days * 86_400


def weekday_factor(days: np.ndarray, start: date) -> np.ndarray:
    """Weekend peak: Saturday and Sunday carry a quarter more activity."""
    wd = (np.asarray(days) + start.weekday()) % 7
    return np.where(wd >= 5, 1.25, 1.0)


@dataclass
class PostBook:
    """Every post of one platform, sorted by publication day."""

    platform: str
    account_idx: np.ndarray
    post_id: np.ndarray
    title: np.ndarray
    pub_day: np.ndarray  # day offset from the period start (negative: before it)
    pub_sec: np.ndarray  # local naive seconds, minute resolution
    content_type: np.ndarray
    campaign_code: np.ndarray
    deal_idx: np.ndarray  # row of world.creator_deals this post delivers, -1 for the others
    totals: dict[str, np.ndarray]  # final cumulative totals per metric
    curve: np.ndarray  # [post, age] cumulative fraction, float32
    review_pending: np.ndarray  # 审核中 on its first day
    rejected: np.ndarray  # 未通过: counters stay 0
    deleted_age: np.ndarray  # age from which the post is 已删除 (frozen); POST_WINDOW_DAYS = never
    completion: np.ndarray
    avg_watch: np.ndarray
    duration: np.ndarray

    def on_day(self, d: int, window: int = POST_WINDOW_DAYS) -> np.ndarray:
        """Indices of posts younger than ``window`` days on day offset ``d``."""
        lo = np.searchsorted(self.pub_day, d - window + 1, side="left")
        hi = np.searchsorted(self.pub_day, d, side="right")
        return np.arange(lo, hi)

    def cumulative(self, metric: str, idx: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Cumulative value of ``metric`` for posts ``idx`` at ``age`` days (frozen once deleted)."""
        eff = np.minimum(age, self.deleted_age[idx])
        values = np.floor(self.totals[metric][idx] * self.curve[idx, eff]).astype(np.int64)
        values[self.rejected[idx]] = 0
        return values


@dataclass
class LiveBook:
    """Every live room of the period (Douyin/Kuaishou rooms, WeChat Channels lives)."""

    platform: np.ndarray  # platform code per live
    account_idx: np.ndarray
    live_id: np.ndarray
    day: np.ndarray
    start_sec: np.ndarray
    end_sec: np.ndarray
    metrics: dict[str, np.ndarray]
    deal_idx: np.ndarray  # row of world.creator_deals this session delivers (直播口播), -1 for the others


def _deal_days(world: World, platform: str, live: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deal row, account, delivery day offset) of the platform's post deals, or of its 直播口播 deals."""
    deals = world.creator_deals
    if not len(deals):
        return (np.zeros(0, np.int64),) * 3
    sel = (deals["platform"] == platform) & ((deals["deal_type"] == "直播口播") == live)
    rows = np.nonzero(sel.to_numpy())[0]
    account = deals["account_idx"].to_numpy(np.int64)[rows]
    published = np.array([(d - world.start).days for d in deals["published_on"]], dtype=np.int64)[rows]
    deliver = np.array([(d - world.start).days for d in deals["deliver_on"]], dtype=np.int64)[rows]
    return rows, account, np.stack([published, deliver]) if len(rows) else np.zeros((2, 0), np.int64)


def _with_deliverables(
    world: World, platform: str, live: bool, day: np.ndarray, account_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop the creator's other items in each deal's window and add the deal's own deliverable.

    Returns (day, account, deal row or -1) for the organic items kept plus one per deal.
    """
    rows, account, days = _deal_days(world, platform, live)
    keep = np.ones(len(day), bool)
    for a, published in zip(account, days[0] if len(rows) else [], strict=True):
        keep &= ~((account_idx == a) & (np.abs(day - published) <= DEAL_WINDOW_DAYS))
    deliver = days[1] if len(rows) else np.zeros(0, np.int64)
    return (
        np.concatenate([day[keep], deliver]).astype(np.int64),
        np.concatenate([account_idx[keep], account]).astype(np.int64),
        np.concatenate([np.full(int(keep.sum()), -1), rows]).astype(np.int64),
    )


def _campaign_on_day(world: World, n_days: int, first: int) -> list[list[str]]:
    """Campaign codes active on each day offset from ``first``."""
    active: list[list[str]] = []
    # itertuples once, not once per day (it was half of build_posts)
    spans = [(c.campaign_code, c.starts_on, c.ends_on) for c in world.campaigns.itertuples()]
    for d in range(first, n_days):
        day = world.start + timedelta(days=d)
        active.append([code for code, starts, ends in spans if starts <= day <= ends])
    return active


def build_posts(rng: np.random.Generator, world: World, platform: str) -> PostBook:
    """Draw every post of ``platform`` from its accounts' posting rates, weekly rhythm and campaigns."""
    acc = world.accounts
    members = acc.index[acc["platform"] == platform].to_numpy()
    n_days = len(world.days)
    first = -(POST_WINDOW_DAYS - 1) if platform != "wechat_oa" else -(OA_WINDOW_DAYS - 1)
    offsets = np.arange(first, n_days)
    active = _campaign_on_day(world, n_days, first)
    day_factor = weekday_factor(offsets, world.start) * np.array([1.3 if a else 1.0 for a in active])
    rates = acc.loc[members, "post_rate"].to_numpy()
    if platform == "wechat_oa":  # one push a day, one to three articles
        rates = np.full(len(members), 2.0)
    holiday = holiday_mask(world.start, offsets)
    day_factor = day_factor * np.where(holiday, HOLIDAY_POST_FACTOR, 1.0)
    rhythm = advocacy_rhythm(rng, world.start, offsets, acc.loc[members, "tier"].to_numpy(object))
    counts = rng.poisson(np.outer(day_factor, rates) * rhythm)  # [day, account]
    day_rep, acc_rep = np.nonzero(counts)
    reps = counts[day_rep, acc_rep]
    pub_day = np.repeat(offsets[day_rep], reps)
    account_idx = members[np.repeat(acc_rep, reps)]
    pub_day, account_idx, deal_idx = _with_deliverables(world, platform, False, pub_day, account_idx)
    sponsored = deal_idx >= 0
    n = len(pub_day)
    minute = (
        (rng.normal(19 * 60, 200, n).astype(np.int64) % 1440)
        if platform != "wechat_oa"
        else np.full(n, 20 * 60 + 30)
    )
    start_sec = day_seconds(world.start)
    pub_sec = start_sec + pub_day * 86_400 + minute * 60

    campaign = np.full(n, "", dtype=object)
    for d_i, codes in enumerate(active):
        codes = [c for c in codes if campaign_runs_on(c, platform)]
        if not codes:
            continue
        sel = np.nonzero((pub_day == offsets[d_i]) & (rng.random(n) < 0.45))[0]
        campaign[sel] = np.array(codes, dtype=object)[rng.integers(0, len(codes), len(sel))]
    campaign[sponsored] = world.creator_deals["campaign_code"].to_numpy(object)[deal_idx[sponsored]]
    boost = np.where(campaign != "", 1.8, 1.0) * np.where(holiday[pub_day - first], HOLIDAY_VIEW_BOOST, 1.0)
    views = acc.loc[account_idx, "reach"].to_numpy() * rng.lognormal(0, 1.0, n) * boost
    totals = {"views": np.maximum(views, 5.0)}
    for metric, ratio in METRIC_RATIOS[platform].items():
        totals[metric] = totals["views"] * ratio * rng.lognormal(0, 0.35, n)

    window = POST_WINDOW_DAYS if platform != "wechat_oa" else OA_WINDOW_DAYS
    tau = rng.lognormal(np.log(2.2), 0.4, n)
    ages = np.arange(window)
    growth = np.exp(-ages[None, :] / tau[:, None])
    growth *= weekday_factor(pub_day[:, None] + ages[None, :], world.start)
    if platform == "wechat_oa":  # daily values: keep the per-day share, not its running sum
        curve = (growth / growth.sum(axis=1, keepdims=True)).astype(np.float32)
    else:
        curve = (np.cumsum(growth, axis=1) / growth.sum(axis=1, keepdims=True)).astype(np.float32)

    order = np.argsort(pub_sec, kind="stable")
    series = np.array(SERIES, dtype=object)[rng.integers(0, len(SERIES), n)]
    topic = np.array(TOPICS, dtype=object)[rng.integers(0, len(TOPICS), n)]
    hook = np.array(HOOKS, dtype=object)[rng.integers(0, len(HOOKS), n)]
    title = "星驰" + series + topic + "｜" + hook
    if platform in CONTENT_TYPES:
        kinds, p = CONTENT_TYPES[platform]
        content_type = np.array(kinds, dtype=object)[rng.choice(len(kinds), n, p=p)]
    else:
        content_type = np.full(
            n, "视频" if platform in ("bilibili", "wechat_channels") else "图文", dtype=object
        )
    deleted_age = np.where(rng.random(n) < 0.01, rng.integers(2, POST_WINDOW_DAYS, n), POST_WINDOW_DAYS)
    rejected = rng.random(n) < 0.005
    deleted_age[sponsored] = POST_WINDOW_DAYS  # a sponsored post stays up and passed review
    rejected[sponsored] = False
    if platform == "wechat_oa":  # articles are neither deleted nor rejected in the datacube
        deleted_age[:] = window
        rejected[:] = False
    book = PostBook(
        platform=platform,
        account_idx=account_idx,
        post_id=_post_ids(rng, platform, n),
        title=title,
        pub_day=pub_day,
        pub_sec=pub_sec,
        content_type=content_type,
        campaign_code=campaign,
        deal_idx=deal_idx,
        totals=totals,
        curve=curve,
        review_pending=rng.random(n) < 0.04,
        rejected=rejected,
        deleted_age=deleted_age,
        completion=np.round(rng.beta(2, 6, n), 3),
        avg_watch=rng.integers(6, 95, n),
        duration=rng.integers(45, 1200, n),
    )
    return _take(book, order)


def _take(book: PostBook, order: np.ndarray) -> PostBook:
    fields = {}
    for name, value in book.__dict__.items():
        if isinstance(value, np.ndarray):
            fields[name] = value[order]
        elif isinstance(value, dict):
            fields[name] = {k: v[order] for k, v in value.items()}
        else:
            fields[name] = value
    return PostBook(**fields)


def _post_ids(rng: np.random.Generator, platform: str, n: int) -> np.ndarray:
    """Item IDs in each platform's shape; unique by drawing without replacement."""
    raw = rng.choice(10**12, size=n, replace=False)
    digits = np.char.zfill(raw.astype(str), 12)
    if platform == "douyin":
        return np.char.add("7398", np.char.add(digits, "115")).astype(object)
    if platform == "kuaishou":
        return np.char.add("3xks", digits).astype(object)
    if platform == "xiaohongshu":
        return np.char.add("66a", np.char.add(np.array([f"{v:x}" for v in raw]), "e7f")).astype(object)
    if platform == "weibo":
        return np.char.add("5041", digits).astype(object)
    if platform == "bilibili":
        alphabet = np.array(list("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"))
        chars = alphabet[rng.integers(0, len(alphabet), (n, 6))]
        tail = np.array(["".join(r) for r in chars], dtype=object)
        return ("BV1" + tail + np.char.zfill((raw % 10**4).astype(str), 4).astype(object)).astype(object)
    if platform == "wechat_oa":
        return np.char.add("2650", digits).astype(object)
    return np.char.add("export/UzFfAgtgekIEAQAAAAAA", digits).astype(object)


def build_lives(rng: np.random.Generator, world: World) -> LiveBook:
    """Live rooms of Douyin, Kuaishou and WeChat Channels accounts (officials and dealers stream)."""
    acc = world.accounts
    streams = {
        ("douyin", "官方"): 0.6,
        ("douyin", "经销商"): 0.3,
        ("kuaishou", "官方"): 0.4,
        ("kuaishou", "KOL"): 0.15,
        ("wechat_channels", "官方"): 0.3,
        ("wechat_channels", "经销商"): 0.15,
    }
    rate = np.array([streams.get((p, t), 0.0) for p, t in zip(acc["platform"], acc["tier"], strict=True)])
    members = np.nonzero(rate)[0]
    n_days = len(world.days)
    counts = rng.poisson(np.outer(weekday_factor(np.arange(n_days), world.start) * 1.0, rate[members]) * 0.9)
    counts = np.minimum(counts, 1)  # one room per account and day
    day, a = np.nonzero(counts)
    account_idx = members[a]
    day_parts, acc_parts, deal_parts = [], [], []
    for platform in sorted(set(acc["platform"])):
        on = acc["platform"].to_numpy()[account_idx] == platform
        d_p, a_p, k_p = _with_deliverables(world, platform, True, day[on], account_idx[on])
        day_parts.append(d_p)
        acc_parts.append(a_p)
        deal_parts.append(k_p)
    day = np.concatenate(day_parts).astype(np.int64)
    account_idx = np.concatenate(acc_parts).astype(np.int64)
    deal_idx = np.concatenate(deal_parts).astype(np.int64)
    order = np.lexsort((account_idx, day))
    day, account_idx, deal_idx = day[order], account_idx[order], deal_idx[order]
    n = len(day)
    start_min = rng.integers(9 * 60, 20 * 60, n)
    duration_min = rng.integers(45, 200, n)
    base = day_seconds(world.start) + day * 86_400
    start_sec = base + start_min * 60
    end_sec = np.minimum(start_sec + duration_min * 60, base + 86_340)
    reach = acc.loc[account_idx, "reach"].to_numpy()
    viewers = np.maximum((reach * 0.08 * rng.lognormal(0, 0.7, n)).astype(np.int64), 20)
    clicks = (viewers * rng.uniform(0.005, 0.03, n)).astype(np.int64)
    metrics = {
        "viewers": viewers,
        "views": (viewers * rng.uniform(1.2, 2.2, n)).astype(np.int64),
        "peak_online": np.maximum((viewers * rng.uniform(0.03, 0.15, n)).astype(np.int64), 1),
        "avg_watch": rng.integers(40, 400, n),
        "comments": (viewers * rng.uniform(0.02, 0.1, n)).astype(np.int64),
        "likes": (viewers * rng.uniform(0.5, 3.0, n)).astype(np.int64),
        "follower_gain": (viewers * rng.uniform(0.002, 0.02, n)).astype(np.int64),
        "shares": (viewers * rng.uniform(0.002, 0.01, n)).astype(np.int64),
        "component_clicks": clicks,
        "leads": rng.binomial(np.maximum(clicks, 0), 0.05),
        "duration": (end_sec - start_sec),
    }
    platform = acc.loc[account_idx, "platform"].to_numpy().astype(object)
    raw = rng.choice(10**12, size=n, replace=False)
    digits = np.char.zfill(raw.astype(str), 12)
    live_id = np.where(
        platform == "douyin",
        np.char.add("7401", np.char.add(digits, "888")),
        np.where(platform == "kuaishou", np.char.add("ksl", digits), np.char.add("live/finder", digits)),
    ).astype(object)
    return LiveBook(platform, account_idx, live_id, day, start_sec, end_sec, metrics, deal_idx)
