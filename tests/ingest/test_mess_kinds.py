"""Every defect in MESS_KINDS, fed as a real file through the real loader.

Each check writes the file(s), runs the ingest, looks at the loaded values and asserts
that every file reconciles (rows read = loaded + set aside, raw and quarantine agree).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from matrix_pulse.ingest import refresh_freshness, run_ingest
from matrix_pulse.settings import Settings, get_settings
from matrix_pulse.sources import MESS_KINDS

from .conftest import assert_reconciles, query
from .fixtures import good_rows, write_csv, write_good, write_json, write_xlsx

D = dt.date(2026, 7, 1)
D2 = dt.date(2026, 7, 2)


def douyin_with(column: str, values: list[object]) -> list[dict]:
    rows = good_rows("douyin_posts", D, len(values))
    for r, v in zip(rows, values, strict=True):
        r[column] = v
    return rows


def raw_column(settings: Settings, table: str, column: str) -> list:
    return [r[0] for r in query(settings, f'SELECT "{column}" FROM raw.{table} ORDER BY source_row')]


def quarantine(settings: Settings) -> list[tuple]:
    return query(
        settings, "SELECT source_row, reason, detail FROM raw.quarantine ORDER BY source_file, source_row"
    )


def ledger(settings: Settings) -> dict[str, tuple]:
    rows = query(
        settings, "SELECT file_name, status, reason, extra_columns, replaced_by FROM meta.load_ledger"
    )
    return {r[0]: r[1:] for r in rows}


# --- counts -------------------------------------------------------------------------------


def check_counts(settings: Settings) -> None:
    write_xlsx(
        settings.landing_dir, "douyin_posts", D, douyin_with("播放量", ["1.2万", "3.4w", "1,234", "-", "", 7])
    )
    run_ingest(settings)
    assert raw_column(settings, "douyin_posts", "views") == [12000, 34000, 1234, None, None, 7]


def check_count_lower_bound(settings: Settings) -> None:
    rows = good_rows("weibo_posts", D, 3)
    rows[0]["阅读数"], rows[1]["阅读数"], rows[2]["阅读数"] = "10万+", "8,000", "-"
    write_csv(settings.landing_dir, "weibo_posts", D, rows)  # GB18030, as the contract says
    run_ingest(settings)
    got = query(settings, "SELECT views, views_is_lower_bound FROM raw.weibo_posts ORDER BY source_row")
    assert got == [(100000, True), (8000, False), (None, False)]


def check_rate_forms(settings: Settings) -> None:
    write_xlsx(
        settings.landing_dir, "douyin_posts", D, douyin_with("完播率", ["23.5%", 0.235, "23.5", "0.235"])
    )
    run_ingest(settings)
    assert [round(v, 6) for v in raw_column(settings, "douyin_posts", "completion_rate")] == [0.235] * 4


def check_duration_forms(settings: Settings) -> None:
    write_xlsx(
        settings.landing_dir,
        "douyin_posts",
        D,
        douyin_with("平均播放时长", ["00:01:35", 95, "1分35秒", "95"]),
    )
    run_ingest(settings)
    assert raw_column(settings, "douyin_posts", "avg_watch_seconds") == [95.0] * 4


def check_time_forms(settings: Settings) -> None:
    unix = int(dt.datetime(2026, 7, 1, 1, 5, tzinfo=dt.UTC).timestamp())  # 09:05 in Shanghai
    serial = (dt.datetime(2026, 7, 1, 9, 5) - dt.datetime(1899, 12, 30)).total_seconds() / 86400
    values = ["2026-07-01 09:05:00", "2026/7/1 9:05", str(unix), serial]
    write_xlsx(settings.landing_dir, "douyin_posts", D, douyin_with("发布时间", values))
    rows = good_rows("kuaishou_posts", D, 2)
    rows[0]["发布时间"], rows[1]["发布时间"] = unix, "2026-07-01T09:05:00"
    write_csv(settings.landing_dir, "kuaishou_posts", D, rows)
    run_ingest(settings)
    want = dt.datetime(2026, 7, 1, 9, 5)
    assert raw_column(settings, "douyin_posts", "published_at") == [want] * 4
    assert raw_column(settings, "kuaishou_posts", "published_at") == [want] * 2


def check_fullwidth_digits(settings: Settings) -> None:
    rows = douyin_with("播放量", ["１２３４", "５万"])
    rows[0]["作品ID"] = "ＤＹ１２３"
    rows[0]["作品ID"] = "７０００１"
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows)
    run_ingest(settings)
    assert raw_column(settings, "douyin_posts", "views") == [1234, 50000]
    assert raw_column(settings, "douyin_posts", "post_id")[0] == "70001"


def check_trailing_spaces(settings: Settings) -> None:
    rows = douyin_with("账号ID", ["acc001  ", " acc002\u3000"])
    rows[0]["作品名称"] = "新车上市 "
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows)
    run_ingest(settings)
    assert raw_column(settings, "douyin_posts", "account_id") == ["acc001", "acc002"]
    assert raw_column(settings, "douyin_posts", "title")[0] == "新车上市"


def check_phones(settings: Settings) -> None:
    rows = good_rows("crm_dcc", D, 5)
    phones = ["13812345678", "+86 138 1234 5678", "138-1234-5678", "123", "无"]
    for r, p in zip(rows, phones, strict=True):
        r["Phone"] = p
    write_csv(settings.landing_dir, "crm_dcc", D, rows)
    legacy = good_rows("crm_legacy", D, 1)
    legacy[0]["手机号"] = "+86 138-1234-5678"
    write_csv(settings.landing_dir, "crm_legacy", D, legacy)
    run_ingest(settings)
    got = query(
        settings, "SELECT phone_hash, phone_masked, phone_is_valid FROM raw.crm_dcc ORDER BY source_row"
    )
    assert len(got) == 5, "junk phones are flagged, never dropped"
    assert got[0][0] == got[1][0] == got[2][0] and len(got[0][0]) == 64
    assert [g[1] for g in got] == ["138****5678"] * 3 + [None, None]
    assert [g[2] for g in got] == [True, True, True, False, False]
    assert got[3][0] is None and got[4][0] is None
    # The same person in the other CRM gets the same key (dedup across systems).
    assert query(settings, "SELECT phone_hash FROM raw.crm_legacy")[0][0] == got[0][0]
    cols = [
        r[0]
        for r in query(
            settings, "SELECT column_name FROM information_schema.columns WHERE table_name = 'crm_dcc'"
        )
    ]
    assert "customer_name" not in cols and "phone" not in cols


def check_counter_decrease(settings: Settings) -> None:
    write_xlsx(settings.landing_dir, "douyin_posts", D, douyin_with("播放量", [500, 600]))
    day2 = douyin_with("播放量", [450, 700])  # the platform corrected post 1 downwards
    write_xlsx(settings.landing_dir, "douyin_posts", D2, day2)
    run_ingest(settings)
    got = query(
        settings, "SELECT data_date, views FROM raw.douyin_posts WHERE source_row = 1 ORDER BY data_date"
    )
    assert got == [(D, 500), (D2, 450)], "raw keeps the correction as delivered; dbt clamps and flags it"


# --- rows set aside -------------------------------------------------------------------------


def check_row_set_asides(settings: Settings) -> None:
    rows = good_rows("douyin_posts", D, 4)
    body = [rows[0], rows[1], None, rows[2], dict(rows[1]), rows[3]]  # blank row 3, duplicate of row 2 at 5
    write_xlsx(settings.landing_dir, "douyin_posts", D, body, total_row=True)  # 合计 at row 7
    csv_rows = good_rows("kuaishou_posts", D, 3)
    write_csv(
        settings.landing_dir,
        "kuaishou_posts",
        D,
        [csv_rows[0], None, csv_rows[1], csv_rows[1], csv_rows[2]],
        total_row=True,
    )
    bili = good_rows("bilibili_videos", D, 2)
    write_json(
        settings.landing_dir, "bilibili_videos", D, {"bilibili_videos": [bili[0], bili[0], None, bili[1]]}
    )
    run_ingest(settings)
    q = query(
        settings,
        "SELECT source_file, source_row, reason, detail FROM raw.quarantine ORDER BY source_file, source_row",
    )
    assert [(f.split("/")[0], r, why) for f, r, why, _ in q] == [
        ("bilibili_videos", 2, "exact_duplicate_row"),
        ("bilibili_videos", 3, "blank_row"),
        ("douyin_posts", 3, "blank_row"),
        ("douyin_posts", 5, "exact_duplicate_row"),
        ("douyin_posts", 7, "total_row"),
        ("kuaishou_posts", 2, "blank_row"),
        ("kuaishou_posts", 4, "exact_duplicate_row"),
        ("kuaishou_posts", 6, "total_row"),
    ]
    assert q[3][3] == "exact duplicate of row 2"
    assert raw_column(settings, "douyin_posts", "source_row") == [1, 2, 4, 6]
    original = json.loads(
        query(
            settings,
            "SELECT original FROM raw.quarantine WHERE reason = 'total_row' AND source LIKE 'douyin%'",
        )[0][0]
    )
    assert original["账号ID"] == "合计"


def check_required_value_rows(settings: Settings) -> None:
    rows = good_rows("douyin_posts", D, 3)
    rows[1]["作品ID"] = " "
    rows[2]["播放量"] = "很多"
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows)
    run_ingest(settings)
    q = quarantine(settings)
    assert [(r, why) for r, why, _ in q] == [(2, "missing_required_value"), (3, "unparseable_value")]
    assert "作品ID" in q[0][2] and "播放量" in q[1][2] and "很多" in q[1][2]


# --- file level -----------------------------------------------------------------------------


def check_column_reorder(settings: Settings) -> None:
    rows = douyin_with("播放量", [11, 22])
    headers = list(reversed(list(rows[0])))
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows, headers=headers)
    crm = good_rows("crm_dcc", D, 2)
    write_csv(settings.landing_dir, "crm_dcc", D, crm, headers=sorted(crm[0]))
    run_ingest(settings)
    assert raw_column(settings, "douyin_posts", "views") == [11, 22]
    assert raw_column(settings, "crm_dcc", "clue_id") == [crm[0]["ClueId"], crm[1]["ClueId"]]


def check_extra_column(settings: Settings) -> None:
    rows = good_rows("douyin_posts", D, 2)
    for r in rows:
        r["推荐量"] = 5
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows)
    bili = good_rows("wechat_oa_articles", D, 1)
    bili[0]["item_show_type"] = 0
    write_json(
        settings.landing_dir,
        "wechat_oa",
        D,
        {"wechat_oa_articles": bili, "wechat_oa_users": good_rows("wechat_oa_users", D, 1)},
    )
    run_ingest(settings)
    led = ledger(settings)
    assert led["douyin_posts/douyin_posts_20260701.xlsx"][0] == "loaded"
    assert led["douyin_posts/douyin_posts_20260701.xlsx"][2] == ["推荐量"]
    assert led["wechat_oa/wechat_oa_20260701.json"][2] == ["articles.item_show_type"]
    assert len(raw_column(settings, "douyin_posts", "views")) == 2


def check_missing_required_column(settings: Settings) -> None:
    rows = good_rows("douyin_posts", D, 2)
    for r in rows:
        del r["点赞量"]
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows, headers=list(rows[0]))
    write_good(settings.landing_dir, "kuaishou_posts", D)
    summary = run_ingest(settings)
    status, reason, *_ = ledger(settings)["douyin_posts/douyin_posts_20260701.xlsx"]
    assert status == "rejected" and "'点赞量'" in reason and "douyin_posts_20260701.xlsx" in reason
    assert [f.status for f in summary.files if f.source == "kuaishou_posts"] == ["loaded"]
    assert query(settings, "SELECT count(*) FROM raw.douyin_posts")[0][0] == 0


def check_truncated_xlsx(settings: Settings) -> None:
    path = write_good(settings.landing_dir, "xiaohongshu_notes", D)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    write_good(settings.landing_dir, "douyin_posts", D)
    run_ingest(settings)
    led = ledger(settings)
    status, reason, *_ = led["xiaohongshu_notes/xiaohongshu_notes_20260701.xlsx"]
    assert status == "rejected" and "not a readable xlsx" in reason
    assert led["douyin_posts/douyin_posts_20260701.xlsx"][0] == "loaded"


def check_invalid_json(settings: Settings) -> None:
    path = write_good(settings.landing_dir, "wechat_channels", D)
    path.write_text(path.read_text(encoding="utf-8")[:-7], encoding="utf-8")
    write_good(settings.landing_dir, "bilibili_videos", D)
    run_ingest(settings)
    led = ledger(settings)
    status, reason, *_ = led["wechat_channels/wechat_channels_20260701.json"]
    assert status == "rejected" and "invalid JSON at line 1" in reason
    assert led["bilibili_videos/bilibili_videos_20260701.json"][0] == "loaded"


def check_wrong_encoding(settings: Settings) -> None:
    write_csv(settings.landing_dir, "weibo_posts", D, good_rows("weibo_posts", D, 2), encoding="utf-8")
    write_csv(settings.landing_dir, "crm_dcc", D, good_rows("crm_dcc", D, 2), encoding="gb18030")
    legacy = good_rows("crm_legacy", D, 2)
    write_csv(settings.landing_dir, "crm_legacy", D, legacy)  # the right encoding still loads
    run_ingest(settings)
    led = ledger(settings)
    weibo = led["weibo_posts/weibo_posts_20260701.csv"]
    assert weibo[0] == "rejected" and "GB18030" in weibo[1] and "weibo_posts_20260701.csv" in weibo[1]
    dcc = led["crm_dcc/crm_dcc_20260701.csv"]
    assert dcc[0] == "rejected" and "byte offset" in dcc[1] and "UTF-8" in dcc[1]
    assert raw_column(settings, "crm_legacy", "lead_status") == ["跟进中", "跟进中"]


def check_late_file(settings: Settings) -> None:
    write_good(settings.landing_dir, "douyin_posts", D)
    run_ingest(settings)
    path = write_good(settings.landing_dir, "douyin_posts", dt.date(2026, 6, 26))  # lands 5 days late
    landed = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC).timestamp()
    os.utime(path, (landed, landed))
    write_good(settings.landing_dir, "douyin_posts", D2)
    run_ingest(settings)
    got = query(settings, "SELECT DISTINCT data_date FROM raw.douyin_posts ORDER BY 1")
    assert [g[0] for g in got] == [dt.date(2026, 6, 26), D, D2]
    refresh_freshness(settings)
    fr = query(
        settings,
        "SELECT status, is_late FROM meta.source_freshness WHERE source = 'douyin_posts' "
        "AND data_date = '2026-06-26'",
    )
    assert fr == [("loaded", True)]


def check_redelivered_file(settings: Settings) -> None:
    write_xlsx(settings.landing_dir, "douyin_posts", D, douyin_with("播放量", [1, 2, 3]))
    run_ingest(settings)
    v2 = write_xlsx(settings.landing_dir, "douyin_posts", D, douyin_with("播放量", [10, 20]), suffix="_v2")
    os.utime(v2, (v2.stat().st_mtime + 60, v2.stat().st_mtime + 60))
    run_ingest(settings)
    assert raw_column(settings, "douyin_posts", "views") == [10, 20]
    led = ledger(settings)
    assert led["douyin_posts/douyin_posts_20260701.xlsx"][0] == "replaced"
    assert led["douyin_posts/douyin_posts_20260701.xlsx"][3].startswith(
        "douyin_posts/douyin_posts_20260701_v2.xlsx@"
    )
    assert led["douyin_posts/douyin_posts_20260701_v2.xlsx"][0] == "loaded"


def check_missing_file(settings: Settings) -> None:
    for day in (D, D2 + dt.timedelta(days=1)):
        write_good(settings.landing_dir, "douyin_posts", day)
        write_good(settings.landing_dir, "kuaishou_posts", day)
    write_good(settings.landing_dir, "kuaishou_posts", D2)
    run_ingest(settings)
    refresh_freshness(settings)
    fr = query(
        settings,
        "SELECT source, status, file_name FROM meta.source_freshness WHERE data_date = ? "
        "AND source IN ('douyin_posts', 'kuaishou_posts') ORDER BY 1",
        [D2],
    )
    assert fr == [
        ("douyin_posts", "missing", None),
        ("kuaishou_posts", "loaded", "kuaishou_posts/kuaishou_posts_20260702.csv"),
    ]
    assert query(settings, "SELECT count(*) FROM raw.douyin_posts WHERE data_date = ?", [D2])[0][0] == 0


def check_junk_in_folder(settings: Settings) -> None:
    write_good(settings.landing_dir, "douyin_posts", D)
    folder = settings.landing_dir / "douyin_posts"
    (folder / "~$douyin_posts_20260701.xlsx").write_bytes(b"lock")
    (folder / "douyin_posts_20260702.xlsx.tmp").write_bytes(b"partial")
    (folder / "README.txt").write_text("交付说明")
    (folder / "douyin_posts_20261340.xlsx").write_bytes(b"bad date")
    summary = run_ingest(settings)
    assert [f.file_name for f in summary.files] == ["douyin_posts/douyin_posts_20260701.xlsx"]
    ignored = dict(query(settings, "SELECT file_name, reason FROM meta.ignored_files"))
    assert set(ignored) == {
        "douyin_posts/~$douyin_posts_20260701.xlsx",
        "douyin_posts/douyin_posts_20260702.xlsx.tmp",
        "douyin_posts/README.txt",
        "douyin_posts/douyin_posts_20261340.xlsx",
    }
    assert "not a valid YYYYMMDD" in ignored["douyin_posts/douyin_posts_20261340.xlsx"]


CHECKS: dict[str, Callable[[Settings], None]] = {
    "count_wan": check_counts,
    "count_w": check_counts,
    "count_thousands_sep": check_counts,
    "count_unknown": check_counts,
    "count_lower_bound": check_count_lower_bound,
    "rate_forms": check_rate_forms,
    "duration_forms": check_duration_forms,
    "time_forms": check_time_forms,
    "fullwidth_digits": check_fullwidth_digits,
    "trailing_spaces": check_trailing_spaces,
    "phone_forms": check_phones,
    "phone_junk": check_phones,
    "counter_decrease": check_counter_decrease,
    "exact_duplicate_row": check_row_set_asides,
    "total_row": check_row_set_asides,
    "blank_row": check_row_set_asides,
    "column_reorder": check_column_reorder,
    "extra_column": check_extra_column,
    "missing_required_column": check_missing_required_column,
    "truncated_xlsx": check_truncated_xlsx,
    "invalid_json": check_invalid_json,
    "wrong_encoding": check_wrong_encoding,
    "late_file": check_late_file,
    "redelivered_file": check_redelivered_file,
    "missing_file": check_missing_file,
    "junk_in_folder": check_junk_in_folder,
}


def test_every_mess_kind_has_a_check() -> None:
    assert set(MESS_KINDS) <= set(CHECKS), sorted(set(MESS_KINDS) - set(CHECKS))


@pytest.mark.parametrize(
    "check", sorted(set(CHECKS.values()), key=lambda f: f.__name__), ids=lambda f: f.__name__
)
def test_mess(check: Callable[[Settings], None], settings: Settings) -> None:
    check(settings)
    assert_reconciles(settings)


def test_required_values(settings: Settings) -> None:
    check_required_value_rows(settings)
    assert_reconciles(settings)


def test_file_still_being_written_waits(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setenv("MP_STABLE_SECONDS", "0.5")
    path = write_good(settings.landing_dir, "kuaishou_posts", D)
    stop = threading.Event()

    def keep_writing() -> None:
        with path.open("ab") as fh:
            while not stop.is_set():
                fh.write(b"")
                fh.flush()
                os.utime(path)
                stop.wait(0.05)

    t = threading.Thread(target=keep_writing)
    t.start()
    try:
        summary = run_ingest(get_settings())  # settings are a snapshot: taken after setenv
    finally:
        stop.set()
        t.join()
    assert summary.in_progress == ["kuaishou_posts/kuaishou_posts_20260701.csv"] and not summary.files
    monkeypatch.setenv("MP_STABLE_SECONDS", "0.01")
    Path(path).touch()
    import time

    time.sleep(0.05)
    assert [f.status for f in run_ingest(get_settings()).files] == ["loaded"]


def test_numbers_beyond_range_are_set_aside_not_fatal(settings: Settings) -> None:
    """A 20-digit count or time overflowed BIGINT inside the normalise statement and failed the
    whole chunk; such a cell is unparseable: its row is set aside, the others load."""
    rows = good_rows("douyin_posts", D, 3)
    rows[1]["播放量"] = "12345678901234567890"
    rows[2]["发布时间"] = "12345678901234567890"
    write_xlsx(settings.landing_dir, "douyin_posts", D, rows)
    run_ingest(settings)
    q = quarantine(settings)
    assert [(r, why) for r, why, _ in q] == [(2, "unparseable_value"), (3, "unparseable_value")]
    assert "播放量" in q[0][2] and "发布时间" in q[1][2]
    assert len(raw_column(settings, "douyin_posts", "views")) == 1
    assert_reconciles(settings)
