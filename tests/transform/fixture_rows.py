"""Rows of the fixture raw layer's content and CRM sources (see fixture_warehouse.py for the story).

Kept apart from the builder so each file reads in one sitting: the posts, live sessions and
account dailies of ``content_rows()`` and the two CRMs' leads of ``crm_rows()``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from matrix_pulse.sources import SOURCES

DAYS = [date(2026, 7, 1) + timedelta(days=i) for i in range(4)]
LOADED_AT = datetime(2026, 7, 5, 5, 30)

ROSTER_V1 = [
    # platform, account_id, name, tier, dealer, opened, status
    ("抖音", "dy_official", "星驰汽车官方", "官方", None, date(2024, 1, 1), "正常"),
    ("抖音", "dy_dealer_1", "星驰上海浦东店", "经销商", "D001", date(2024, 3, 1), "正常"),
    ("抖音", "dy_koc_1", "小王看车", "KOC", None, date(2025, 5, 1), "正常"),
    ("抖音", "dy_kol_1", "车评老李", "KOL", None, date(2025, 2, 1), "正常"),
    ("抖音", "dy_exec_1", "星驰CEO张总", "高管", None, date(2025, 1, 1), "正常"),
    ("快手", "ks_official", "星驰汽车", "官方", None, date(2024, 1, 1), "正常"),
    ("快手", "ks_dealer_2", "星驰广州天河店", "经销商", "D002", date(2024, 6, 1), "正常"),
    ("小红书", "xhs_official", "星驰汽车", "官方", None, date(2024, 1, 1), "正常"),
    ("小红书", "xhs_kol_1", "奶茶爱开车", "KOL", None, date(2025, 3, 1), "正常"),
    ("微博", "wb_official", "星驰汽车", "官方", None, date(2024, 1, 1), "正常"),
    ("B站", "bili_official", "星驰汽车", "官方", None, date(2024, 1, 1), "正常"),
    ("微信公众号", "gh_official", "星驰汽车", "官方", None, date(2024, 1, 1), "正常"),
    ("视频号", "wxc_dealer_1", "星驰浦东店视频号", "经销商", "D001", date(2024, 3, 1), "正常"),
    ("视频号", "wxc_staff_1", "浦东店销售小陈", "员工", "D001", date(2025, 1, 1), "正常"),
]
ROSTER_V2 = [
    r if r[1] != "dy_koc_1" else ("抖音", "dy_koc_1", "小王看车", "员工", "D002", date(2025, 5, 1), "正常")
    for r in ROSTER_V1
]


def content_rows() -> dict[str, list[dict]]:
    """Cumulative daily rows per content source."""
    out: dict[str, list[dict]] = {k: [] for k in SOURCES}

    def cumul(base: int, day_idx: int) -> int:
        return base * (day_idx + 1) + 7 * day_idx

    specs = {
        "douyin_posts": [
            ("dy_p1", "dy_official", 0, "视频"),
            ("dy_p2", "dy_dealer_1", 0, "视频"),
            ("dy_p3", "dy_koc_1", 1, "图文"),
            ("dy_p4", "dy_kol_1", 0, "直播回放"),
            ("dy_p5", "dy_ghost", 2, "视频"),
        ],
        "kuaishou_posts": [("ks_p1", "ks_official", 0, "视频"), ("ks_p2", "ks_dealer_2", 1, "视频")],
        "xiaohongshu_notes": [("xhs_n1", "xhs_official", 0, "图文"), ("xhs_n2", "xhs_kol_1", 0, "视频")],
        "weibo_posts": [("wb_1", "wb_official", 0, None)],
        "bilibili_videos": [("BV1xx411c7mD", "bili_official", 0, None)],
        "wechat_channels_posts": [("wxc_p1", "wxc_dealer_1", 0, None), ("wxc_p2", "wxc_staff_1", 1, None)],
    }
    for source, posts in specs.items():
        for n, (post_id, account, first_day, ctype) in enumerate(posts):
            base = 1000 * (n + 1)
            for d_idx, day in enumerate(DAYS):
                if d_idx < first_day or (source == "weibo_posts" and d_idx == 2):
                    continue
                age = d_idx - first_day
                views = cumul(base, age)
                if post_id == "dy_p2" and d_idx == 2:
                    views = cumul(base, age - 1) - 500  # platform corrected the counter downwards
                row = {
                    "account_id": account,
                    "account_name": f"{account} 名称",
                    "post_id": post_id,
                    "title": f"{post_id} 新车上市",
                    "published_at": datetime.combine(DAYS[first_day], datetime.min.time())
                    + timedelta(hours=9),
                    "content_type": ctype,
                    "review_status": "已发布",
                    "views": views,
                    "impressions": views * 3,
                    "likes": views // 10,
                    "comments": views // 50,
                    "shares": views // 100,
                    "saves": views // 40,
                    "coins": views // 200,
                    "danmaku": views // 300,
                    "profile_visits": views // 20,
                    "follower_gain": views // 500,
                    "completion_rate": 0.235,
                    "avg_watch_seconds": 35.0,
                    "duration_seconds": 95.0,
                    "views_is_lower_bound": False,
                    "data_date": day,
                }
                if post_id == "ks_p1" and d_idx == 1:
                    row["views"] = None  # written '-' in the export: unknown, not zero
                if source == "weibo_posts" and d_idx == 3:
                    row["views"], row["views_is_lower_bound"] = 100000, True
                out[source].append(row)
    for d_idx, day in enumerate(DAYS):
        for msgid, first_day in (("2247483650_1", 0), ("2247483661_1", 2)):
            if d_idx < first_day:
                continue
            out["wechat_oa_articles"].append(
                {
                    "ref_date": day,
                    "account_id": "gh_official",
                    "msgid": msgid,
                    "title": "星驰新车发布会回顾",
                    "published_at": datetime.combine(DAYS[first_day], datetime.min.time())
                    + timedelta(hours=20),
                    "read_user": 800 - 100 * d_idx,
                    "views": 900 - 100 * d_idx,
                    "shares": 30,
                    "likes": 40,
                    "zaikan": 5,
                    "comments": 3,
                    "saves": 8,
                    "data_date": day,
                }
            )
        out["wechat_oa_users"].append(
            {
                "ref_date": day,
                "account_id": "gh_official",
                "new_followers": 120,
                "lost_followers": 15,
                "total_followers": 50000 + 105 * d_idx,
                "data_date": day,
            }
        )
    start = datetime(2026, 7, 2, 19, 0)
    out["live_sessions"] += [
        {
            "platform_name": "抖音",
            "account_id": "dy_dealer_1",
            "live_id": "dy_live_1",
            "started_at": start,
            "ended_at": start + timedelta(hours=2),
            "views": 5000,
            "viewers": 3200,
            "peak_online": 410,
            "avg_watch_seconds": 95.0,
            "comments": 300,
            "likes": 9000,
            "follower_gain": 55,
            "component_clicks": 120,
            "leads": 14,
            "data_date": DAYS[1],
        },
        {
            "platform_name": "快手",
            "account_id": "ks_dealer_2",
            "live_id": "ks_live_1",
            "started_at": start,
            "ended_at": start + timedelta(minutes=90),
            "views": 2000,
            "viewers": 1500,
            "peak_online": 120,
            "avg_watch_seconds": 60.0,
            "comments": 80,
            "likes": 1000,
            "follower_gain": 12,
            "component_clicks": 30,
            "leads": 4,
            "data_date": DAYS[1],
        },
    ]
    out["wechat_channels_lives"].append(
        {
            "live_id": "wxc_live_1",
            "account_id": "wxc_dealer_1",
            "started_at": datetime(2026, 7, 3, 20, 0),
            "duration_seconds": 3600.0,
            "viewers": 900,
            "peak_online": 80,
            "avg_watch_seconds": 70.0,
            "follower_gain": 9,
            "shares": 11,
            "comments": 40,
            "leads": 3,
            "data_date": DAYS[2],
        }
    )
    return out


def crm_rows() -> dict[str, list[dict]]:
    t = datetime(2026, 7, 1, 10, 0)
    ph = {
        "a": ("hash_a", "138****0001", True),
        "b": ("hash_b", "139****0002", True),
        "junk": (None, "无", False),
    }

    def lead(clue, dealer, phone, series, channel, account, content, created, status, updated, **ms):
        h, m, v = ph[phone]
        row = {
            "clue_id": clue,
            "dealer_code": dealer,
            "phone_hash": h,
            "phone_masked": m,
            "phone_is_valid": v,
            "series_code": series,
            "model_code": f"{series}-PRO",
            "channel_name": channel,
            "source_account_id": account,
            "source_content_id": content,
            "campaign_code": "CP2607",
            "created_at": created,
            "lead_status": status,
            "updated_at": updated,
            "data_date": updated.date(),
            "is_invalid": "0",
        }
        row.update(ms)
        return row

    dcc = [
        lead("C001", "D001", "a", "S7", "抖音", "dy_dealer_1", "dy_live_1", t, "101", t),
        lead(
            "C001",
            "D001",
            "a",
            "S7",
            "抖音",
            "dy_dealer_1",
            "dy_live_1",
            t,
            "501",
            t + timedelta(hours=3),
            distributed_at=t + timedelta(minutes=30),
            first_follow_at=t + timedelta(hours=3),
        ),
        lead(
            "C001",
            "D001",
            "a",
            "S7",
            "抖音",
            "dy_dealer_1",
            "dy_live_1",
            t,
            "601",
            t + timedelta(days=2),
            distributed_at=t + timedelta(minutes=30),
            first_follow_at=t + timedelta(hours=3),
            arrived_at=t + timedelta(days=1),
            test_drive_at=t + timedelta(days=1, hours=1),
            ordered_at=t + timedelta(days=2),
        ),
        lead(
            "C002",
            "D002",
            "b",
            "S7",
            "快手",
            "ks_dealer_2",
            None,
            t + timedelta(hours=5),
            "901",
            t + timedelta(days=3),
            distributed_at=t + timedelta(hours=6),
            first_follow_at=t + timedelta(days=2),
            defeat_reason="已购竞品",
        ),
        lead(
            "C003",
            "D001",
            "junk",
            "S9",
            "懂车帝",
            None,
            None,
            t + timedelta(days=1),
            "301",
            t + timedelta(days=1, hours=2),
            distributed_at=t + timedelta(days=1, hours=1),
        ),
        lead(
            "C004",
            "D002",
            "b",
            "S9",
            "小红书",
            "xhs_kol_1",
            "xhs_n2",
            t + timedelta(days=2),
            "501",
            t + timedelta(days=2, hours=1),
            is_invalid="1",
            invalid_type="空号",
        ),
        lead(
            "C005",
            "D002",
            "a",
            "S7",
            "抖音",
            "dy_koc_1",
            "dy_p3",
            t + timedelta(days=2, hours=2),
            "501",
            t + timedelta(days=2, hours=4),
            distributed_at=t + timedelta(days=2, hours=2),
            first_follow_at=t + timedelta(days=2, hours=3),
        ),
    ]
    legacy = [
        lead(
            "L001",
            "D003",
            "a",
            "S7",
            "视频号",
            "wxc_dealer_1",
            "wxc_live_1",
            t + timedelta(days=1, hours=8),
            "新线索",
            t + timedelta(days=1, hours=8),
        ),
        lead(
            "L001",
            "D003",
            "a",
            "S7",
            "视频号",
            "wxc_dealer_1",
            "wxc_live_1",
            t + timedelta(days=1, hours=8),
            "已到店",
            t + timedelta(days=3),
            first_follow_at=t + timedelta(days=2),
            arrived_at=t + timedelta(days=3),
        ),
        lead(
            "L002",
            "D003",
            "b",
            "S5",
            "微信公众号",
            "gh_official",
            "2247483650_1",
            t + timedelta(days=2),
            "无效",
            t + timedelta(days=2, hours=5),
        ),
    ]
    for r in legacy:
        r.pop("is_invalid")
    return {"crm_dcc": dcc, "crm_legacy": legacy}
