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
from datetime import date, datetime
from pathlib import Path

import duckdb
from matrix_pulse.sources import SOURCES
from matrix_pulse.transform.raw_layer import raw_columns, raw_ddl

if __package__:
    from .fixture_rows import DAYS, LOADED_AT, ROSTER_V1, ROSTER_V2, content_rows, crm_rows
else:  # run as a script (below): tests/transform is on sys.path
    from fixture_rows import DAYS, LOADED_AT, ROSTER_V1, ROSTER_V2, content_rows, crm_rows


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
    rows = {**content_rows(), **crm_rows(), **_reference(), **_wecom()}
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


def load_fixture_into_postgres(
    dsn: str, scratch: Path | str, schema: str = "raw", meta_schema: str | None = None
) -> None:
    """The same raw layer in PostgreSQL (``schema``, replaced), for building the project on the
    `postgres` target: built in DuckDB at ``scratch`` first, then copied row by row. With
    ``meta_schema``, the fixture's meta tables too (replaced), as the ingest writes them beside raw."""
    import psycopg2

    duck = duckdb.connect(str(build_fixture_warehouse(scratch)), read_only=True)
    pg = psycopg2.connect(dsn)
    try:
        with pg, pg.cursor() as cur:
            tables = [
                (schema, "raw", src.raw_table, [(c, t) for c, t, _ in raw_columns(src)])
                for src in SOURCES.values()
            ]
            if meta_schema is not None:
                for (table,) in duck.execute(
                    "select table_name from duckdb_tables() where schema_name = 'meta' order by 1"
                ).fetchall():
                    cols = duck.execute(
                        "select column_name, data_type from information_schema.columns "
                        "where table_schema = 'meta' and table_name = ? order by ordinal_position",
                        [table],
                    ).fetchall()
                    tables.append((meta_schema, "meta", table, cols))
            for target in dict.fromkeys(t[0] for t in tables):
                cur.execute(f'drop schema if exists "{target}" cascade; create schema "{target}"')
            for target, source, table, cols in tables:
                body = ", ".join(f"{c} {PG_TYPES.get(t, t.lower())}" for c, t in cols)
                cur.execute(f'create table "{target}".{table} ({body})')
                names = ", ".join(c for c, _ in cols)
                rows = duck.execute(f"select {names} from {source}.{table}").fetchall()
                if rows:
                    marks = ", ".join(["%s"] * len(cols))
                    cur.executemany(f'insert into "{target}".{table} ({names}) values ({marks})', rows)
    finally:
        pg.close()
        duck.close()
