"""The static world the daily files describe: dealers, matrix accounts, campaigns, deals.

Everything here is drawn once from the master random generator, before any file is
written, so a day's file never depends on which other days were generated. The roster
is kept as a list of dated versions because tiers change mid-quarter (a KOC becomes an
employee, a dealer account moves dealer) and every day's numbers belong to the tier the
account had that day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from matrix_pulse.sources import MATRIX_TIERS, PLATFORMS

from .habits import campaign_runs_on
from .scale import Scale

# (province, city, city tier, region)
CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("上海", "上海", "一线", "华东"),
    ("北京", "北京", "一线", "华北"),
    ("广东", "广州", "一线", "华南"),
    ("广东", "深圳", "一线", "华南"),
    ("四川", "成都", "新一线", "西南"),
    ("浙江", "杭州", "新一线", "华东"),
    ("重庆", "重庆", "新一线", "西南"),
    ("湖北", "武汉", "新一线", "华中"),
    ("陕西", "西安", "新一线", "西北"),
    ("江苏", "苏州", "新一线", "华东"),
    ("江苏", "南京", "新一线", "华东"),
    ("天津", "天津", "新一线", "华北"),
    ("河南", "郑州", "新一线", "华中"),
    ("湖南", "长沙", "新一线", "华中"),
    ("广东", "东莞", "新一线", "华南"),
    ("山东", "青岛", "新一线", "华东"),
    ("辽宁", "沈阳", "新一线", "东北"),
    ("浙江", "宁波", "新一线", "华东"),
    ("云南", "昆明", "新一线", "西南"),
    ("山东", "济南", "二线", "华东"),
    ("福建", "厦门", "二线", "华东"),
    ("福建", "福州", "二线", "华东"),
    ("黑龙江", "哈尔滨", "二线", "东北"),
    ("吉林", "长春", "二线", "东北"),
    ("江西", "南昌", "二线", "华中"),
    ("广西", "南宁", "二线", "华南"),
    ("山西", "太原", "二线", "华北"),
    ("河北", "石家庄", "二线", "华北"),
    ("贵州", "贵阳", "二线", "西南"),
    ("甘肃", "兰州", "二线", "西北"),
    ("新疆", "乌鲁木齐", "二线", "西北"),
    ("江苏", "徐州", "三线及以下", "华东"),
    ("河南", "洛阳", "三线及以下", "华中"),
    ("湖南", "岳阳", "三线及以下", "华中"),
    ("四川", "绵阳", "三线及以下", "西南"),
    ("广东", "湛江", "三线及以下", "华南"),
    ("内蒙古", "包头", "三线及以下", "华北"),
    ("宁夏", "银川", "三线及以下", "西北"),
    ("辽宁", "鞍山", "三线及以下", "东北"),
    ("安徽", "芜湖", "三线及以下", "华东"),
)
DEALER_GROUPS = ("广汇汽车", "永达汽车", "中升集团", "庞大集团", "利星行", "物产中大", "独立经销商")
SERIES = ("S7", "S9", "E5", "M8", "X3")
SURNAMES = np.array(
    list(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    )
)
GIVEN_CHARS = np.array(
    list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉婷健俊帅欣宇浩然子轩梓涵一诺思远佳怡")
)
MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159]
    + [166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199]
)

# platforms on which each non-official tier keeps accounts, with their weights
TIER_PLATFORMS: dict[str, dict[str, float]] = {
    "KOL": {"douyin": 0.35, "xiaohongshu": 0.25, "bilibili": 0.15, "weibo": 0.1, "kuaishou": 0.15},
    "KOC": {"xiaohongshu": 0.5, "douyin": 0.4, "kuaishou": 0.1},
    "高管": {"weibo": 0.4, "douyin": 0.35, "wechat_channels": 0.25},
    "员工": {"douyin": 0.45, "wechat_channels": 0.3, "xiaohongshu": 0.25},
}
DEALER_PLATFORMS = ("douyin", "xiaohongshu", "wechat_channels")
# platforms whose live rooms the exports cover (live_sessions CSV, WeChat Channels lives)
LIVE_PLATFORMS = ("douyin", "kuaishou", "wechat_channels")

# A creator brief names a publication date (发布日期); the creator publishes the deliverable
# within this many days of it, inside the campaign's dates. Equal to the dbt var
# creator_deal_window_days (tests/simulator checks they agree). During a deal's window the
# creator publishes nothing else on that platform (the brief's exclusivity clause), and one
# creator's deals are at least 2 * window + 1 days apart, so a deliverable is never ambiguous.
DEAL_WINDOW_DAYS = 3
DELIVERY_OFFSETS = np.array([-1, 0, 0, 0, 1, 2])  # days from 发布日期 the creator actually publishes

# (posts per day, median final views) by tier; platform multipliers below
TIER_ACTIVITY: dict[str, tuple[float, float]] = {
    "官方": (1.6, 60_000),
    "经销商": (0.45, 2_500),
    "KOL": (0.5, 80_000),
    "KOC": (0.35, 4_000),
    "高管": (0.4, 40_000),
    "员工": (0.25, 700),
}
PLATFORM_REACH = {
    "douyin": 2.5,
    "kuaishou": 1.2,
    "xiaohongshu": 0.6,
    "weibo": 1.6,
    "bilibili": 1.0,
    "wechat_oa": 0.4,
    "wechat_channels": 0.6,
}


@dataclass
class RosterChange:
    effective_on: date
    account_idx: int
    tier: str
    dealer_code: str


@dataclass
class World:
    """The matrix as generated: reference frames plus per-account arrays used by the generators."""

    start: date
    end: date
    dealers: pd.DataFrame
    accounts: pd.DataFrame  # one row per account, initial roster state
    campaigns: pd.DataFrame
    creator_deals: pd.DataFrame
    roster_changes: list[RosterChange] = field(default_factory=list)
    dealer_response_minutes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dealer_is_legacy: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _days: tuple[tuple[date, date], tuple[date, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _columns: dict[tuple[str, str, int], np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def column(self, frame: str, name: str) -> np.ndarray:
        """``getattr(self, frame)[name].to_numpy(object)``, built once and read-only.

        The per-file table builders and truth cells asked pandas for the same few string
        columns ~20,000 times a demo run (arrow-backed strings: ~0.2 ms a call). Keyed on the
        frame object too, so a frame replaced as a whole is read afresh.
        """
        df = getattr(self, frame)
        key = (frame, name, id(df))
        values = self._columns.get(key)
        if values is None:
            values = df[name].to_numpy(object)
            values.flags.writeable = False
            self._columns[key] = values
        return values

    @property
    def days(self) -> tuple[date, ...]:
        """Every day of the period. Built once per (start, end): the truth loops ask for it per
        post and per lead (~226,000 times in a demo run), and rebuilding the list each time was
        about half of the simulator's CPU time. A tuple, so no caller can change the shared copy."""
        key = (self.start, self.end)
        if self._days is None or self._days[0] != key:
            n = (self.end - self.start).days + 1
            self._days = (key, tuple(self.start + timedelta(days=i) for i in range(n)))
        return self._days[1]

    def roster_version_dates(self) -> list[date]:
        """The days a new full roster is delivered: the first day and every change day."""
        return sorted({self.start} | {c.effective_on for c in self.roster_changes})

    def roster_on(self, day: date) -> pd.DataFrame:
        """The roster as it stands on ``day`` (changes effective on or before it applied)."""
        roster = self.accounts.copy()
        for change in self.roster_changes:
            if change.effective_on <= day:
                roster.loc[change.account_idx, "tier"] = change.tier
                roster.loc[change.account_idx, "dealer_code"] = change.dealer_code
        return roster

    def tier_codes_by_day(self) -> np.ndarray:
        """[day, account] -> index into MATRIX_TIERS, for truth by tier of the day."""
        base = self.accounts["tier"].map({t: i for i, t in enumerate(MATRIX_TIERS)}).to_numpy(np.int8)
        out = np.tile(base, (len(self.days), 1))
        for change in self.roster_changes:
            first = (change.effective_on - self.start).days
            out[max(first, 0) :, change.account_idx] = MATRIX_TIERS.index(change.tier)
        return out

    def dealer_index_by_day(self) -> np.ndarray:
        """[day, account] -> dealer row index (-1 for accounts with no dealer)."""
        code_to_idx = {c: i for i, c in enumerate(self.dealers["dealer_code"])}
        base = self.accounts["dealer_code"].map(lambda c: code_to_idx.get(c, -1)).to_numpy(np.int32)
        out = np.tile(base, (len(self.days), 1))
        for change in self.roster_changes:
            first = (change.effective_on - self.start).days
            out[max(first, 0) :, change.account_idx] = code_to_idx.get(change.dealer_code, -1)
        return out


def chinese_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two- or three-character Chinese personal names."""
    surname = SURNAMES[rng.integers(0, len(SURNAMES), n)]
    g1 = GIVEN_CHARS[rng.integers(0, len(GIVEN_CHARS), n)]
    g2 = GIVEN_CHARS[rng.integers(0, len(GIVEN_CHARS), n)]
    three = rng.random(n) < 0.6
    names = np.char.add(surname, g1)
    names = np.where(three, np.char.add(names, g2), names)
    return names.astype(object)


def _numeric_ids(rng: np.random.Generator, n: int, digits: int) -> np.ndarray:
    """Distinct numeric ID strings of a fixed width (platform UIDs), up to 12 digits."""
    low = 10 ** (digits - 1)
    return (rng.choice(9 * low, size=n, replace=False) + low).astype(str).astype(object)


def _account_ids(rng: np.random.Generator, platform: str, n: int) -> np.ndarray:
    """IDs in the shape each platform uses (globally unique by construction of the shapes)."""
    if platform == "douyin":
        return _numeric_ids(rng, n, 11)
    if platform == "weibo":
        return _numeric_ids(rng, n, 10)
    if platform == "bilibili":
        return _numeric_ids(rng, n, 9)
    if platform == "kuaishou":
        return np.char.add("3x", np.char.zfill(_numeric_ids(rng, n, 9).astype(str), 11)).astype(object)
    hexes = np.array([f"{v:012x}" for v in rng.choice(16**12 - 16**11, n, replace=False) + 16**11])
    if platform == "xiaohongshu":
        return np.char.add("5f", np.char.add(hexes, "0000a1b2c3")).astype(object)
    if platform == "wechat_oa":
        return np.char.add("gh_", hexes).astype(object)
    return np.char.add("sph", hexes).astype(object)  # wechat_channels finder id


def build_world(rng: np.random.Generator, scale: Scale, start: date, end: date) -> World:
    """Draw dealers, accounts, campaigns and creator deals for one simulated period."""
    n_dealers = scale.dealers
    city_idx = rng.integers(0, len(CITIES), n_dealers)
    cities = [CITIES[i] for i in city_idx]
    dealer_codes = np.array([f"D{31000 + i:05d}" for i in range(n_dealers)], dtype=object)
    group_idx = rng.integers(0, len(DEALER_GROUPS), n_dealers)
    dealers = pd.DataFrame(
        {
            "dealer_code": dealer_codes,
            "dealer_name": [
                f"{c[1]}星驰{['汽车销售服务', '汽车4S店', '新能源体验中心'][i % 3]}有限公司#{i + 1}"
                for i, c in enumerate(cities)
            ],
            "dealer_group": [DEALER_GROUPS[g] for g in group_idx],
            "province": [c[0] for c in cities],
            "city": [c[1] for c in cities],
            "city_tier": [c[2] for c in cities],
            "region": [c[3] for c in cities],
        }
    )
    dealers["dealer_name"] = dealers["dealer_name"].str.replace(r"#(\d+)$", r"\1店", regex=True)
    # response speed: most dealers are quick, some take hours, a few take days
    speed_class = rng.choice(3, n_dealers, p=[0.7, 0.2, 0.1])
    response = np.where(
        speed_class == 0,
        rng.uniform(10, 60, n_dealers),
        np.where(speed_class == 1, rng.uniform(180, 600, n_dealers), rng.uniform(1440, 4320, n_dealers)),
    )
    is_legacy = rng.random(n_dealers) < scale.legacy_crm_share

    rows: list[dict] = []

    def add(platform: str, tier: str, n: int, dealer_for: np.ndarray | None = None) -> None:
        ids = _account_ids(rng, platform, n)
        for i in range(n):
            dealer_code = "" if dealer_for is None else dealer_codes[dealer_for[i]]
            rows.append(
                {"platform": platform, "tier": tier, "account_id": ids[i], "dealer_code": dealer_code}
            )

    for platform, n in scale.official_by_platform.items():
        add(platform, "官方", n)
    for platform in DEALER_PLATFORMS:
        add(platform, "经销商", n_dealers, np.arange(n_dealers))
    for tier, count in (
        ("KOL", scale.kol),
        ("KOC", scale.koc),
        ("高管", scale.executives),
        ("员工", scale.employees),
    ):
        plats = list(TIER_PLATFORMS[tier])
        weights = np.array(list(TIER_PLATFORMS[tier].values()))
        counts = rng.multinomial(count, weights / weights.sum())
        for platform, n in zip(plats, counts, strict=True):
            if n:
                add(platform, tier, int(n), rng.integers(0, n_dealers, n) if tier == "员工" else None)
    accounts = pd.DataFrame(rows)
    n_acc = len(accounts)
    owners = chinese_names(rng, n_acc)
    accounts["owner_name"] = owners
    accounts["account_name"] = _account_names(accounts, dealers, owners)
    opened = pd.Timestamp(start) - pd.to_timedelta(rng.integers(30, 1500, n_acc), unit="D")
    accounts["opened_on"] = opened.strftime("%Y-%m-%d")
    accounts["status"] = "正常"
    rate, reach = zip(*(TIER_ACTIVITY[t] for t in accounts["tier"]), strict=True)
    accounts["post_rate"] = np.array(rate) * scale.post_rate_factor * rng.lognormal(0, 0.4, n_acc)
    accounts["reach"] = (
        np.array(reach) * accounts["platform"].map(PLATFORM_REACH).to_numpy() * rng.lognormal(0, 0.6, n_acc)
    )

    campaigns = _campaigns(rng, start, end)
    deals = _creator_deals(rng, accounts, campaigns, end)
    world = World(start, end, dealers, accounts, campaigns, deals)
    world.dealer_response_minutes = response
    world.dealer_is_legacy = is_legacy
    world.roster_changes = _roster_changes(rng, accounts, dealer_codes, start, end)
    return world


def _account_names(accounts: pd.DataFrame, dealers: pd.DataFrame, owners: np.ndarray) -> list[str]:
    city_of = dict(zip(dealers["dealer_code"], dealers["city"], strict=True))
    names = []
    for i, (platform, tier, dealer) in enumerate(
        zip(accounts["platform"], accounts["tier"], accounts["dealer_code"], strict=True)
    ):
        if tier == "官方":
            names.append(f"星驰汽车{PLATFORMS[platform]}官方{i % 7 + 1}号")
        elif tier == "经销商":
            names.append(f"星驰{city_of[dealer]}{dealer[-3:]}店")
        elif tier == "员工":
            names.append(f"星驰顾问{owners[i]}")
        elif tier == "高管":
            names.append(f"星驰{owners[i]}")
        else:
            names.append(f"{owners[i]}说车{i % 97}")
    return names


def _campaigns(rng: np.random.Generator, start: date, end: date) -> pd.DataFrame:
    """A handful of series campaigns of two to three weeks; they drive the content spikes."""
    n_days = (end - start).days + 1
    n = max(2, n_days // 15)
    starts = np.sort(rng.integers(0, max(n_days - 14, 1), n))
    rows = []
    for i, offset in enumerate(starts):
        s = start + timedelta(days=int(offset))
        e = s + timedelta(days=int(rng.integers(14, 22)))
        series = SERIES[i % len(SERIES)]
        quarter = f"{s.year}Q{(s.month - 1) // 3 + 1}"
        rows.append(
            {
                "campaign_code": f"CP{quarter}{i + 1:02d}",
                "campaign_name": f"星驰{series}{['上市季', '试驾节', '金秋购车节', '暑期团购', '车主故事'][i % 5]}",
                "series_code": series,
                "starts_on": s,
                "ends_on": e,
                "budget_yuan": float(rng.integers(20, 300) * 10_000),
            }
        )
    return pd.DataFrame(rows)


def _creator_deals(
    rng: np.random.Generator, accounts: pd.DataFrame, campaigns: pd.DataFrame, end: date
) -> pd.DataFrame:
    """Paid KOL/KOC deals per campaign (the cost side of creator ROI) and when each is delivered.

    ``deliver_on`` is the day the creator publishes the sponsored post (or holds the sponsored
    live session, for 直播口播): within DEAL_WINDOW_DAYS of 发布日期 and inside the campaign.
    """
    creators = accounts.index[accounts["tier"].isin(["KOL", "KOC"])].to_numpy()
    booked: dict[int, list[date]] = {}
    rows = []
    for c in campaigns.itertuples():
        n = max(1, len(creators) // 4)
        chosen = rng.choice(creators, size=min(n, len(creators)), replace=False)
        last_day = min(c.ends_on, end)
        span = (last_day - c.starts_on).days
        for a in chosen:
            tier = accounts.at[a, "tier"]
            platform = accounts.at[a, "platform"]
            cost = rng.integers(20, 150) * 1000 if tier == "KOL" else rng.integers(5, 30) * 100
            forms = ["视频定制", "图文种草"] + (["直播口播"] if platform in LIVE_PLATFORMS else [])
            deal_type = forms[int(rng.integers(0, len(forms)))]
            published_on = c.starts_on + timedelta(days=int(rng.integers(0, max(span, 0) + 1)))
            offset = int(DELIVERY_OFFSETS[rng.integers(0, len(DELIVERY_OFFSETS))])
            if (
                span < 0
                or not campaign_runs_on(c.campaign_code, platform)
                or any(abs((published_on - b).days) <= 2 * DEAL_WINDOW_DAYS for b in booked.get(a, []))
            ):
                continue  # the creator is already booked around that date
            booked.setdefault(a, []).append(published_on)
            deliver_on = min(max(published_on + timedelta(days=offset), c.starts_on), last_day)
            rows.append(
                {
                    "account_idx": int(a),
                    "platform": platform,
                    "platform_name": PLATFORMS[platform],
                    "account_id": accounts.at[a, "account_id"],
                    "campaign_code": c.campaign_code,
                    "deal_type": deal_type,
                    "cost_yuan": float(cost),
                    "published_on": published_on,
                    "deliver_on": deliver_on,
                }
            )
    columns = ["account_idx", "platform", "platform_name", "account_id", "campaign_code", "deal_type",
               "cost_yuan", "published_on", "deliver_on"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _roster_changes(
    rng: np.random.Generator, accounts: pd.DataFrame, dealer_codes: np.ndarray, start: date, end: date
) -> list[RosterChange]:
    """Mid-period roster moves: KOCs hired as dealer staff, dealer accounts changing dealer."""
    n_days = (end - start).days + 1
    if n_days < 10:
        return []
    change_days = sorted({start + timedelta(days=int(n_days * f)) for f in (0.4, 0.7)})
    changes: list[RosterChange] = []
    koc = accounts.index[accounts["tier"] == "KOC"].to_numpy()
    dealer_accts = accounts.index[accounts["tier"] == "经销商"].to_numpy()
    for day in change_days:
        n_koc = max(1, len(koc) // 25)
        for a in rng.choice(koc, size=min(n_koc, len(koc)), replace=False):
            changes.append(RosterChange(day, int(a), "员工", str(rng.choice(dealer_codes))))
        n_move = max(1, len(dealer_accts) // 200)
        for a in rng.choice(dealer_accts, size=min(n_move, len(dealer_accts)), replace=False):
            changes.append(RosterChange(day, int(a), "经销商", str(rng.choice(dealer_codes))))
        koc = np.setdiff1d(koc, [c.account_idx for c in changes])
    return changes


def person_phones(person_idx: np.ndarray, seed: int) -> np.ndarray:
    """11-digit mobiles, distinct per person: an affine bijection on the last eight digits."""
    suffix = (person_idx.astype(np.int64) * 7_919 + 1_234_567 + seed * 104_729) % 100_000_000
    prefix = MOBILE_PREFIXES[(person_idx * 31 + seed) % len(MOBILE_PREFIXES)]
    return np.char.add(prefix.astype(str), np.char.zfill(suffix.astype(str), 8)).astype(object)
