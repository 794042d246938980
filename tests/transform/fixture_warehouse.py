"""A small, realistic raw layer for developing and testing the dbt project.

``build_fixture_warehouse(path)`` creates ``raw.*`` (typed from the source registry, the
same way the ingest writes them) and a minimal ``meta`` schema, with four data days
(2026-07-01..04) that exercise what the marts must get right:

- cumulative counters growing day over day, one that goes DOWN (douyin post dy_p2 on
  07-03), one unknown value (NULL views on kuaishou ks_p1 on 07-02), a missing day
  (weibo 07-03 never delivered);
- a roster change: dy_koc_1 is a KOC until 07-02 and an employee of dealer D002 from the
  07-03 roster version on; dy_ghost posts but is not on the roster;
- leads in both CRMs, re-appearing on status changes, with a duplicate (same phone and
  series within 30 days), a junk phone, an invalid lead and a defeat;
- WeCom: two dealer consultants and one HQ member, a day without chats (no reply
  figures), contacts from a live room, a post, a campaign, unknown text and an empty
  state, and a noted phone that matches lead phone ``a`` (plus a junk one).

Run as a script to write one: ``python tests/transform/fixture_warehouse.py /tmp/wh.duckdb``.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
from matrix_pulse.sources import SOURCES
from matrix_pulse.transform.raw_layer import raw_columns, raw_ddl

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


def _posts() -> dict[str, list[dict]]:
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


def _crm() -> dict[str, list[dict]]:
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


def _reference() -> dict[str, list[dict]]:
    roster = []
    for version_day, rows in ((DAYS[0], ROSTER_V1), (DAYS[2], ROSTER_V2)):
        for p, acc, name, tier, dealer, opened, status in rows:
            roster.append(
                {
                    "platform_name": p,
                    "account_id": acc,
                    "account_name": name,
                    "matrix_tier": tier,
                    "dealer_code": dealer,
                    "opened_on": opened,
                    "account_status": status,
                    "data_date": version_day,
                }
            )
    dealers = [
        {
            "dealer_code": "D001",
            "dealer_name": "星驰上海浦东店",
            "dealer_group": "永达",
            "province": "上海",
            "city": "上海",
            "city_tier": "一线",
            "region": "华东",
            "data_date": DAYS[0],
        },
        {
            "dealer_code": "D002",
            "dealer_name": "星驰广州天河店",
            "dealer_group": "广汇",
            "province": "广东",
            "city": "广州",
            "city_tier": "一线",
            "region": "华南",
            "data_date": DAYS[0],
        },
        {
            "dealer_code": "D003",
            "dealer_name": "星驰成都高新店",
            "dealer_group": "中升",
            "province": "四川",
            "city": "成都",
            "city_tier": "新一线",
            "region": "西南",
            "data_date": DAYS[0],
        },
    ]
    campaigns = [
        {
            "campaign_code": "CP2607",
            "campaign_name": "S7 夏季上市",
            "series_code": "S7",
            "starts_on": date(2026, 7, 1),
            "ends_on": date(2026, 7, 31),
            "budget_yuan": 500000.0,
            "data_date": DAYS[0],
        }
    ]
    costs = [
        {
            "platform_name": "抖音",
            "account_id": "dy_kol_1",
            "campaign_code": "CP2607",
            "deal_type": "视频定制",
            "cost_yuan": 30000.0,
            "published_on": DAYS[0],
            "data_date": DAYS[0],
        },
        {
            "platform_name": "小红书",
            "account_id": "xhs_kol_1",
            "campaign_code": "CP2607",
            "deal_type": "图文",
            "cost_yuan": 8000.0,
            "published_on": DAYS[0],
            "data_date": DAYS[0],
        },
    ]
    return {"matrix_roster": roster, "dealers": dealers, "campaigns": campaigns, "creator_costs": costs}


def _wecom() -> dict[str, list[dict]]:
    members, behavior, contacts, mobiles = [], [], [], []
    consultants = [("wc_d001_1", "D001"), ("wc_d002_1", "D002"), ("wc_hq_1", "HQ")]
    for d_idx, d in enumerate(DAYS):
        for userid, dept in consultants:
            members.append({"userid": userid, "department": dept, "member_status": "1", "data_date": d})
            quiet = userid == "wc_d002_1" and d_idx == 1  # no chat that day: no reply figures
            behavior.append(
                {
                    "userid": userid,
                    "stat_time": datetime(d.year, d.month, d.day),
                    "new_apply_cnt": 3 + d_idx,
                    "new_contact_cnt": 2 + d_idx,
                    "chat_cnt": 0 if quiet else 5 + d_idx,
                    "message_cnt": 0 if quiet else 20 + 3 * d_idx,
                    "reply_percentage": None if quiet else 80.0 + d_idx,
                    "avg_reply_minutes": None if quiet else 12.5 - d_idx,
                    "negative_feedback_cnt": 1 if d_idx == 3 else 0,
                    "data_date": d,
                }
            )
    states = ["live_dy_live_1", "post_dy_p1", "cmp_CP2607", "海报二维码", "", "post_no_such_post"]
    for n, state in enumerate(states):
        d = DAYS[n % len(DAYS)]
        userid = consultants[n % 2][0]
        ext = f"ext_hash_{n}"
        contacts.append(
            {
                "external_userid_hash": ext,
                "userid": userid,
                "added_at": datetime(d.year, d.month, d.day, 11, n),
                "add_way": "1",
                "state": state,
                "data_date": d,
            }
        )
        if n == 0:  # the consultant noted lead a's phone: that lead counts as a WeCom contact
            mobiles.append(
                {
                    "external_userid_hash": ext,
                    "userid": userid,
                    "remark_mobile_hash": "hash_a",
                    "remark_mobile_masked": "138****0001",
                    "remark_mobile_is_valid": True,
                    "data_date": d,
                }
            )
        if n == 3:
            mobiles.append(
                {
                    "external_userid_hash": ext,
                    "userid": userid,
                    "remark_mobile_hash": None,
                    "remark_mobile_masked": "无",
                    "remark_mobile_is_valid": False,
                    "data_date": d,
                }
            )
    return {
        "wecom_members": members,
        "wecom_behavior": behavior,
        "wecom_contacts": contacts,
        "wecom_contact_mobiles": mobiles,
    }


META_DDL = [
    "create schema if not exists meta",
    """create table if not exists meta.load_ledger (file_id varchar, source varchar, data_date date,
       file_name varchar, archive_path varchar, size_bytes bigint, sha256 varchar, rows_read bigint,
       rows_loaded bigint, rows_set_aside bigint, status varchar, reason varchar, extra_columns varchar,
       first_seen_at timestamp, loaded_at timestamp, replaced_by varchar)""",
    """create table if not exists meta.source_freshness (source varchar, data_date date, status varchar,
       file_name varchar, landed_at timestamp, is_late boolean)""",
]


def build_fixture_warehouse(path: Path | str) -> Path:
    """Create (or replace) the raw and meta schemas of a DuckDB file with the fixture rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = {**_posts(), **_crm(), **_reference(), **_wecom()}
    con = duckdb.connect(str(path))
    try:
        con.execute("drop schema if exists raw cascade")
        con.execute("create schema raw")
        for name, src in SOURCES.items():
            con.execute(raw_ddl(src))
            cols = [c for c, _, _ in raw_columns(src)]
            data = []
            per_file_row: dict[date, int] = {}
            for r in rows.get(name, []):
                d = r["data_date"]
                per_file_row[d] = per_file_row.get(d, 0) + 1
                r = {
                    **r,
                    "source_file": f"{name}_{d:%Y%m%d}.{src.fmt}",
                    "file_sha256": f"sha-{name}-{d:%Y%m%d}",
                    "source_row": per_file_row[d],
                    "loaded_at": LOADED_AT,
                }
                data.append([r.get(c) for c in cols])
            if data:
                placeholders = ", ".join("?" for _ in cols)
                con.executemany(
                    f"insert into raw.{src.raw_table} ({', '.join(cols)}) values ({placeholders})", data
                )
        for ddl in META_DDL:
            con.execute(ddl)
        con.execute("delete from meta.source_freshness")
        for name in SOURCES:
            for d in DAYS:
                status = "missing" if (name == "weibo_posts" and d == DAYS[2]) else "loaded"
                con.execute(
                    "insert into meta.source_freshness values (?, ?, ?, ?, ?, ?)",
                    [name, d, status, None, LOADED_AT, False],
                )
        con.execute("checkpoint")
    finally:
        con.close()
    return path


if __name__ == "__main__":
    print(build_fixture_warehouse(sys.argv[1] if len(sys.argv) > 1 else "/tmp/mp_fixture.duckdb"))


PG_TYPES = {"VARCHAR": "text", "DOUBLE": "double precision"}


def load_fixture_into_postgres(dsn: str, scratch: Path | str, schema: str = "raw") -> None:
    """The same raw layer in PostgreSQL (``schema``, replaced), for building the project on the
    `postgres` target: built in DuckDB at ``scratch`` first, then copied row by row."""
    import psycopg2

    duck = duckdb.connect(str(build_fixture_warehouse(scratch)), read_only=True)
    pg = psycopg2.connect(dsn)
    try:
        with pg, pg.cursor() as cur:
            cur.execute(f'drop schema if exists "{schema}" cascade; create schema "{schema}"')
            for src in SOURCES.values():
                cols = raw_columns(src)
                body = ", ".join(f"{c} {PG_TYPES.get(t, t.lower())}" for c, t, _ in cols)
                cur.execute(f'create table "{schema}".{src.raw_table} ({body})')
                names = ", ".join(c for c, _, _ in cols)
                rows = duck.execute(f"select {names} from raw.{src.raw_table}").fetchall()
                if rows:
                    marks = ", ".join(["%s"] * len(cols))
                    cur.executemany(
                        f'insert into "{schema}".{src.raw_table} ({names}) values ({marks})', rows
                    )
    finally:
        pg.close()
        duck.close()
