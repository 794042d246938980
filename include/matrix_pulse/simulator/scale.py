"""How big the simulated matrix is.

Two sizes only: ``demo`` (a regional slice small enough for CI and a laptop demo) and
``national`` (the real network: 3,000 dealers, about 1.2 million leads a quarter). Posting
rates are tuned so a national platform-day file stays in the tens of thousands of rows,
which keeps a quarter of xlsx writing in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    dealers: int
    official_by_platform: dict[str, int]
    kol: int
    koc: int
    executives: int
    employees: int
    post_rate_factor: float  # multiplies every account's posting rate
    leads_per_dealer_day: float  # matrix-attributed (content/account) leads, before live leads
    other_leads_per_dealer_day: float  # 懂车帝/汽车之家/自然到店 ... (not the matrix)
    legacy_crm_share: float  # dealers still on the legacy DMS


SCALES: dict[str, Scale] = {
    "demo": Scale(
        name="demo",
        dealers=30,
        official_by_platform={
            "douyin": 2,
            "kuaishou": 1,
            "xiaohongshu": 2,
            "weibo": 2,
            "bilibili": 1,
            "wechat_oa": 2,
            "wechat_channels": 1,
        },
        kol=12,
        koc=40,
        executives=3,
        employees=45,
        post_rate_factor=0.4,
        leads_per_dealer_day=1.3,
        other_leads_per_dealer_day=1.0,
        legacy_crm_share=0.3,
    ),
    "national": Scale(
        name="national",
        dealers=3000,
        official_by_platform={
            "douyin": 6,
            "kuaishou": 3,
            "xiaohongshu": 5,
            "weibo": 5,
            "bilibili": 3,
            "wechat_oa": 5,
            "wechat_channels": 3,
        },
        kol=300,
        koc=1000,
        executives=20,
        employees=2000,
        post_rate_factor=0.55,
        leads_per_dealer_day=1.7,
        other_leads_per_dealer_day=1.1,
        legacy_crm_share=0.25,
    ),
}
