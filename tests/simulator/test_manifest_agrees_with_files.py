"""The manifest must say what a correct ingest loads: checked by reading every file back independently."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from matrix_pulse.sources import PLATFORMS, SOURCES, landing_folder

from .reader import count_sums, missing_required, normalise_phone, parse_count, parse_time, read_file

PLATFORM_BY_NAME = {v: k for k, v in PLATFORMS.items()}
CONTENT_TABLES = {
    "douyin_posts": "douyin",
    "kuaishou_posts": "kuaishou",
    "xiaohongshu_notes": "xiaohongshu",
    "weibo_posts": "weibo",
    "bilibili_videos": "bilibili",
    "wechat_channels_posts": "wechat_channels",
    "wechat_oa_articles": "wechat_oa",
}


def _check_files(root: Path, manifest: dict) -> None:
    for entry in manifest["files"]:
        path = root / entry["path"]
        assert path.exists(), entry["path"]
        folder = entry["source"]
        if entry["rejected"]:
            reason = entry["reject_reason"]
            if reason.startswith("missing_required_column"):
                tables = read_file(path, folder)
                missing = [c for t, tr in tables.items() for c in missing_required(SOURCES[t], tr)]
                assert missing == [reason.split(": ", 1)[1]], entry["path"]
            else:
                with pytest.raises(Exception):  # noqa: B017 - any parse failure is the point
                    read_file(path, folder)
            assert all(t["rows_loaded"] == 0 for t in entry["tables"].values())
            continue
        tables = read_file(path, folder)
        assert set(tables) == set(entry["tables"]), entry["path"]
        set_aside = sorted((s["table"], s["row"], s["reason"]) for s in entry["rows_set_aside"])
        seen = sorted((t, row, reason) for t, tr in tables.items() for row, reason in tr.set_aside)
        assert seen == set_aside, entry["path"]
        for raw_table, tr in tables.items():
            expected = entry["tables"][raw_table]
            assert len(tr.rows) == expected["rows_read"], (entry["path"], raw_table)
            assert len(tr.loaded) == expected["rows_loaded"], (entry["path"], raw_table)
            assert not missing_required(SOURCES[raw_table], tr)
            assert count_sums(SOURCES[raw_table], tr) == expected["sums"], (entry["path"], raw_table)
        assert entry["rows_read"] == sum(len(t.rows) for t in tables.values())


def _roster_tiers(root: Path, manifest: dict) -> list[tuple[date, dict[str, str]]]:
    versions = []
    for entry in manifest["files"]:
        if entry["source"] == "matrix_roster":
            table = read_file(root / entry["path"], "matrix_roster")["matrix_roster"]
            tiers = {str(r["账号ID"]).strip(): str(r["矩阵层级"]).strip() for r in table.loaded}
            versions.append((date.fromisoformat(entry["data_date"]), tiers))
    return sorted(versions, key=lambda v: v[0])


def _tier_on(versions: list[tuple[date, dict[str, str]]], day: date, account: str) -> str:
    current = [t for d, t in versions if d <= day][-1]
    return current.get(account, "未登记")


def _id(cell: object) -> str:
    return (
        str(cell if cell is not None else "")
        .strip()
        .translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    )


def recompute_truth(root: Path, manifest: dict) -> dict:
    """Content and lead truth from the final, accepted files only, with the interface rules."""
    versions = _roster_tiers(root, manifest)
    finals = sorted(
        (e for e in manifest["files"] if e["final"] and not e["rejected"]), key=lambda e: e["data_date"]
    )
    content: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    last: dict[tuple, int] = {}
    crm_rows = []
    for entry in finals:
        folder = entry["source"]
        if folder in ("matrix_roster", "dealers", "campaigns", "creator_costs", "live_sessions"):
            continue
        day = date.fromisoformat(entry["data_date"])
        for raw_table, table in read_file(root / entry["path"], folder).items():
            source = SOURCES[raw_table]
            by_raw = {c.name: c.source_name for c in source.columns}
            if raw_table in CONTENT_TABLES:
                platform = CONTENT_TABLES[raw_table]
                for row in table.loaded:
                    post = _id(row[by_raw.get("post_id", by_raw.get("msgid"))])
                    tier = _tier_on(versions, day, _id(row[by_raw["account_id"]]))
                    daily = {}
                    for metric in ("views", "likes", "comments", "shares", "saves"):
                        if metric not in by_raw:
                            continue
                        value, _ = parse_count(row.get(by_raw[metric]))
                        if raw_table == "wechat_oa_articles":
                            daily[metric] = value or 0
                            continue
                        key = (raw_table, post, metric)
                        if value is None:
                            daily[metric] = 0
                            continue
                        prev = last.get(key)
                        daily[metric] = value if prev is None else max(value - prev, 0)
                        last[key] = value
                    content[platform][tier]["views"] += daily.get("views", 0)
                    content[platform][tier]["engagements"] += sum(
                        daily.get(m, 0) for m in ("likes", "comments", "shares", "saves")
                    )
            elif raw_table in ("crm_dcc", "crm_legacy"):
                for row in table.loaded:
                    norm = {c.name: row.get(c.source_name) for c in source.columns}
                    invalid = (
                        (_id(norm.get("is_invalid")) == "1")
                        if raw_table == "crm_dcc"
                        else (str(norm["lead_status"]).strip() == "无效")
                    )
                    crm_rows.append(
                        {
                            "key": (raw_table, _id(norm["clue_id"])),
                            "updated": parse_time(norm["updated_at"]),
                            "created": parse_time(norm["created_at"]),
                            "phone": normalise_phone(norm["phone"]),
                            "series": _id(norm["series_code"]),
                            "channel": str(norm["channel_name"]).strip(),
                            "account": _id(norm["source_account_id"]),
                            "invalid": invalid,
                            "arrived": parse_time(norm["arrived_at"]) is not None,
                            "ordered": parse_time(norm["ordered_at"]) is not None,
                        }
                    )
    latest: dict[tuple, dict] = {}
    for row in crm_rows:
        if row["key"] not in latest or row["updated"] >= latest[row["key"]]["updated"]:
            latest[row["key"]] = row
    # "Earlier" is (created, CRM system, clue id): a same-minute repeat is a duplicate too.
    leads = sorted(latest.values(), key=lambda r: (r["phone"] or "", r["series"], r["created"], r["key"]))
    previous: dict[tuple, datetime] = {}
    result: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for lead in leads:
        dup = False
        if lead["phone"]:
            key = (lead["phone"], lead["series"])
            before = previous.get(key)
            dup = before is not None and lead["created"] - before <= timedelta(days=30)
            previous[key] = lead["created"]
        platform = PLATFORM_BY_NAME.get(lead["channel"], "other")
        tier = _tier_on(versions, lead["created"].date(), lead["account"]) if lead["account"] else "none"
        valid = not lead["invalid"] and not dup and bool(lead["phone"])  # a junk phone is never valid
        counter = result[platform][tier]
        counter["leads"] += 1
        counter["valid_leads"] += valid
        counter["arrivals"] += valid and lead["arrived"]
        counter["orders"] += valid and lead["ordered"]
    as_dict = lambda d: {p: {t: dict(c) for t, c in v.items()} for p, v in d.items()}  # noqa: E731
    return {"content": as_dict(content), "leads": as_dict(result)}


def _assert_truth(root: Path, manifest: dict) -> None:
    truth = recompute_truth(root, manifest)
    assert truth["content"] == manifest["truth"]["content"]
    assert truth["leads"] == manifest["truth"]["leads"]


def test_clean_run_files_match_manifest(clean_run):
    root, manifest = clean_run
    assert manifest["missing"] == [] and manifest["junk"] == []
    for entry in manifest["files"]:
        assert entry["rows_set_aside"] == [] and entry["file_defects"] == [] and not entry["rejected"]
        assert entry["row_defects"] == {} and entry["landed_on"] == str(
            date.fromisoformat(entry["data_date"]) + timedelta(days=1)
        )
    _check_files(root, manifest)


def test_clean_run_truth_recomputed_from_files(clean_run):
    _assert_truth(*clean_run)


def test_messy_run_files_match_manifest(messy_run):
    _check_files(*messy_run)


def test_messy_run_truth_recomputed_from_files(messy_run):
    _assert_truth(*messy_run)


def test_manifest_shape(messy_run):
    root, manifest = messy_run
    assert set(manifest) >= {
        "scale",
        "seed",
        "start",
        "end",
        "mess_rate",
        "files",
        "missing",
        "junk",
        "truth",
    }
    folders = {landing_folder(s) for s in SOURCES.values()}
    for entry in manifest["files"]:
        assert entry["source"] in folders
        assert entry["delivery"] >= 1 and isinstance(entry["final"], bool)
        assert entry["landed_on"] > entry["data_date"]
    for item in manifest["missing"]:
        name = f"{item['source']}_{item['data_date'].replace('-', '')}"
        assert not list((root / item["source"]).glob(name + ".*")) or all(
            p.name.endswith(".tmp") or p.name.startswith("~$")
            for p in (root / item["source"]).glob(name + ".*")
        )
    for junk in manifest["junk"]:
        assert (root / junk).exists()
    # a re-delivered day: first delivery under _redeliveries, final in place, same file name
    redelivered = [e for e in manifest["files"] if "redelivered_file" in e["file_defects"]]
    assert redelivered
    by_day = defaultdict(list)
    for e in redelivered:
        by_day[(e["source"], e["data_date"])].append(e)
    for entries in by_day.values():
        first, final = sorted(entries, key=lambda e: e["delivery"])
        assert first["path"].startswith("_redeliveries/1/") and not first["final"] and final["final"]
        assert (
            Path(first["path"]).name == Path(final["path"]).name and final["landed_on"] > first["landed_on"]
        )
    json.dumps(manifest)  # serialisable as is


@pytest.mark.slow
def test_demo_quarter_files_and_truth_match_manifest(demo_quarter):
    """The whole default quarter: roster changes, re-deliveries and every kind of mess together."""
    root, manifest, _ = demo_quarter
    _check_files(root, manifest)
    _assert_truth(root, manifest)
