"""Write a landing folder for a period and the ground-truth manifest that goes with it.

The order of work keeps files independent of each other: the world, posts, lives and
leads are drawn once from the master generator; every file then gets its own generator
seeded by (seed, folder, day, delivery), so a file's bytes depend only on the seed and
the arguments. Truth is accumulated from what a correct ingest would load from the final
deliveries, in data-date order.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from matrix_pulse.sources import LANDING_FOLDERS, MATRIX_TIERS, PLATFORMS, SOURCES

from .content import build_lives, build_posts
from .crm import build_leads, crm_rows
from .render import (
    COUNT_KINDS,
    CleanTable,
    Col,
    Rendered,
    dumps_json,
    render_json,
    render_tabular,
    write_csv,
    write_xlsx,
)
from .scale import SCALES
from .tables import content_table, crm_table, live_tables, oa_followers, oa_tables
from .world import World, build_world

# daily folders, their format and the raw tables each file feeds
DAILY_FOLDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "douyin_posts": ("xlsx", ("douyin_posts",)),
    "kuaishou_posts": ("csv", ("kuaishou_posts",)),
    "xiaohongshu_notes": ("xlsx", ("xiaohongshu_notes",)),
    "weibo_posts": ("csv", ("weibo_posts",)),
    "bilibili_videos": ("json", ("bilibili_videos",)),
    "wechat_oa": ("json", ("wechat_oa_articles", "wechat_oa_users")),
    "wechat_channels": ("json", ("wechat_channels_posts", "wechat_channels_lives")),
    "live_sessions": ("csv", ("live_sessions",)),
    "crm_dcc": ("csv", ("crm_dcc",)),
    "crm_legacy": ("csv", ("crm_legacy",)),
}
SHANGHAI = ZoneInfo("Asia/Shanghai")  # every time in the input contract
CONTENT_PLATFORM_OF = {
    "douyin_posts": "douyin",
    "kuaishou_posts": "kuaishou",
    "xiaohongshu_notes": "xiaohongshu",
    "weibo_posts": "weibo",
    "bilibili_videos": "bilibili",
    "wechat_channels_posts": "wechat_channels",
}
XLSX_SHEETS = {"douyin_posts": "作品数据", "xiaohongshu_notes": "笔记列表", "matrix_roster": "矩阵账号"}
CSV_LINE_END = {"gb18030": "\r\n"}  # the GB18030 files are Excel exports from Chinese-locale PCs
REJECTING = ("missing_required_column", "truncated_xlsx", "invalid_json", "wrong_encoding")
FILE_KINDS = (
    "missing_file",
    "late_file",
    "redelivered_file",
    *REJECTING,
    "column_reorder",
    "extra_column",
    "junk_in_folder",
)
ENGAGEMENT = ("likes", "comments", "shares", "saves")


def _eligible(kind: str, fmt: str) -> bool:
    return {
        "truncated_xlsx": fmt == "xlsx",
        "invalid_json": fmt == "json",
        "wrong_encoding": fmt == "csv",
        "column_reorder": fmt in ("csv", "xlsx"),
    }.get(kind, True)


def plan_file_defects(seed: int, n_days: int, rate: float) -> dict[tuple[str, int], set[str]]:
    """File-level mess per (folder, day); every applicable kind occurs at least once when rate > 0."""
    rng = np.random.default_rng([seed, 4242])
    plan: dict[tuple[str, int], set[str]] = {}
    for d in range(n_days):
        for folder, (fmt, _) in DAILY_FOLDERS.items():
            kinds = {k for k in FILE_KINDS if _eligible(k, fmt) and rng.random() < rate}
            if "missing_file" in kinds:
                kinds = {"missing_file"} | (kinds & {"junk_in_folder"})
            if "redelivered_file" in kinds:
                kinds -= set(REJECTING)
            rejecting = [k for k in REJECTING if k in kinds]
            kinds -= set(rejecting[1:])
            plan[(folder, d)] = kinds
    if rate <= 0 or n_days == 0:
        return plan
    for kind in FILE_KINDS:
        if any(kind in k for k in plan.values()):
            continue
        candidates = [
            key
            for key, kinds in sorted(plan.items())
            if _eligible(kind, DAILY_FOLDERS[key[0]][0])
            and "missing_file" not in kinds
            and not (kind in REJECTING and (kinds & {*REJECTING, "redelivered_file"}))
            and not (
                kind in ("missing_file", "redelivered_file") and kinds & {*REJECTING, "redelivered_file"}
            )
            and not (kind == "missing_file" and kinds)
        ]
        if candidates:
            key = candidates[int(rng.integers(0, len(candidates)))]
            plan[key].add(kind)
    return plan


def _file_rng(seed: int, folder: str, d: int, delivery: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(folder.encode()), d, delivery])


@dataclass
class Truth:
    """Quarter figures accumulated from what a correct ingest loads (final deliveries only)."""

    tiers_by_day: np.ndarray
    last: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    content: dict[str, dict[str, Counter]] = field(default_factory=dict)
    crm_loaded: list[np.ndarray] = field(default_factory=list)

    def add_content(
        self, raw_table: str, table: CleanTable, rendered: Rendered, d: int, n_posts: int
    ) -> None:
        platform = "wechat_oa" if raw_table == "wechat_oa_articles" else CONTENT_PLATFORM_OF[raw_table]
        tiers = self.tiers_by_day[d, table.meta["account"]]
        daily: dict[str, np.ndarray] = {}
        for metric in ("views", *ENGAGEMENT):
            values = rendered.loaded.get(metric)
            if values is None:
                continue
            if raw_table == "wechat_oa_articles":  # daily figures as they are
                daily[metric] = np.nan_to_num(values)
                continue
            last = self.last.setdefault(raw_table, {}).setdefault(metric, np.full(n_posts, np.nan))
            post = table.meta["post"]
            prev = last[post]
            delta = np.where(
                np.isnan(values), 0.0, np.where(np.isnan(prev), values, np.maximum(values - prev, 0))
            )
            last[post] = np.where(np.isnan(values), prev, values)
            daily[metric] = delta
        by_tier = self.content.setdefault(platform, {})
        engagements = sum((daily[m] for m in ENGAGEMENT if m in daily), np.zeros(table.n))
        for code in np.unique(tiers):
            sel = tiers == code
            acc = by_tier.setdefault(MATRIX_TIERS[code], Counter())
            acc["views"] += int(round(daily.get("views", np.zeros(table.n))[sel].sum()))
            acc["engagements"] += int(round(engagements[sel].sum()))


def simulate(
    out: Path,
    scale: str = "demo",
    start: date = date(2026, 7, 1),
    end: date = date(2026, 9, 30),
    seed: int = 7,
    mess_rate: float = 0.02,
) -> dict:
    """Generate the landing folder ``out`` and return the manifest (also written to ``_manifest.json``)."""
    out = Path(out)
    _clear(out)
    sc = SCALES[scale]
    rng = np.random.default_rng(seed)
    world = build_world(rng, sc, start, end)
    posts = {p: build_posts(rng, world, p) for p in PLATFORMS}
    lives = build_lives(rng, world)
    leads = build_leads(
        rng, world, sc, {p: b for p, b in posts.items() if p != "wechat_oa"}, lives, mess_rate, seed
    )
    rows = crm_rows(leads, world)
    followers = oa_followers(rng, world)
    n_days = len(world.days)
    plan = plan_file_defects(seed, n_days, mess_rate)
    truth = Truth(world.tier_codes_by_day())
    files: list[dict] = []
    missing: list[dict] = []
    junk: list[str] = []

    _write_reference(out, world, files)
    for d, day in enumerate(world.days):
        for folder, (fmt, _tables) in DAILY_FOLDERS.items():
            kinds = plan[(folder, d)]
            if "junk_in_folder" in kinds:
                junk.append(_write_junk(out, folder, fmt, day, d))
            if "missing_file" in kinds:
                missing.append({"source": folder, "data_date": day.isoformat()})
                continue
            tables = _clean_tables(folder, world, posts, lives, rows, leads, followers, d, seed, mess_rate)
            landed = day + timedelta(days=1)
            if "late_file" in kinds:
                landed = day + timedelta(days=int(_file_rng(seed, folder, d, 9).integers(2, 7)))
            delivery = 1
            if "redelivered_file" in kinds:
                first = _wrong_numbers(tables, _file_rng(seed, folder, d, 8))
                entry, _ = _write_file(
                    out,
                    folder,
                    fmt,
                    first,
                    day,
                    d,
                    seed,
                    mess_rate,
                    set(),
                    delivery=1,
                    final=False,
                    landed=landed,
                    subdir=Path("_redeliveries") / "1",
                )
                entry["file_defects"] = ["redelivered_file"] + (["late_file"] if "late_file" in kinds else [])
                files.append(entry)
                landed = landed + timedelta(days=int(_file_rng(seed, folder, d, 7).integers(1, 4)))
                delivery = 2
            entry, rendered = _write_file(
                out,
                folder,
                fmt,
                tables,
                day,
                d,
                seed,
                mess_rate,
                kinds,
                delivery=delivery,
                final=True,
                landed=landed,
            )
            files.append(entry)
            if entry["rejected"]:
                continue
            for raw_table, table in tables.items():
                if raw_table in CONTENT_PLATFORM_OF or raw_table == "wechat_oa_articles":
                    n_posts = len(
                        posts[
                            "wechat_oa"
                            if raw_table == "wechat_oa_articles"
                            else CONTENT_PLATFORM_OF[raw_table]
                        ].post_id
                    )
                    truth.add_content(raw_table, table, rendered[raw_table], d, n_posts)
                elif raw_table in ("crm_dcc", "crm_legacy"):
                    truth.crm_loaded.append(table.meta["crm_row"])

    manifest = {
        "scale": scale,
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "mess_rate": mess_rate,
        "files": sorted(files, key=lambda e: (e["data_date"], e["source"], e["delivery"])),
        "missing": missing,
        "junk": sorted(set(junk)),
        "truth": {
            "content": {
                p: {t: dict(c) for t, c in sorted(v.items())} for p, v in sorted(truth.content.items())
            },
            "leads": _lead_truth(truth, rows, leads, world),
        },
    }
    (out / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _clear(out: Path) -> None:
    """Remove what an earlier run wrote (only the simulator's own folders and manifest)."""
    for folder in (*LANDING_FOLDERS, "_redeliveries"):
        shutil.rmtree(out / folder, ignore_errors=True)
    (out / "_manifest.json").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _clean_tables(
    folder, world, posts, lives, rows, leads, followers, d, seed, rate
) -> dict[str, CleanTable]:
    rng = _file_rng(seed, folder, d, 0)
    if folder in CONTENT_PLATFORM_OF:
        return {folder: content_table(folder, posts[CONTENT_PLATFORM_OF[folder]], world, d, rng, rate)}
    if folder == "wechat_oa":
        articles, users = oa_tables(posts["wechat_oa"], world, d, followers)
        return {"wechat_oa_articles": articles, "wechat_oa_users": users}
    if folder == "wechat_channels":
        posts_table = content_table("wechat_channels_posts", posts["wechat_channels"], world, d, rng, rate)
        return {
            "wechat_channels_posts": posts_table,
            "wechat_channels_lives": live_tables(lives, world, d)[1],
        }
    if folder == "live_sessions":
        return {"live_sessions": live_tables(lives, world, d)[0]}
    return {folder: crm_table(folder, rows, leads, world, d)}


def _wrong_numbers(tables: dict[str, CleanTable], rng: np.random.Generator) -> dict[str, CleanTable]:
    """A first delivery that the platform later corrects: some counts off, some rows missing."""
    wrong: dict[str, CleanTable] = {}
    for name, table in tables.items():
        keep = np.nonzero(rng.random(table.n) >= 0.05)[0]
        cols = []
        for col in table.cols:
            values = col.values[keep].copy()
            if col.kind in COUNT_KINDS:
                off = rng.random(len(keep)) < 0.2
                values[off] = (values[off] * rng.uniform(0.5, 0.9, int(off.sum()))).astype(values.dtype)
            cols.append(Col(col.name, col.kind, col.raw, values, col.required))
        wrong[name] = CleanTable(table.source, cols, len(keep), {k: v[keep] for k, v in table.meta.items()})
    return wrong


def _write_file(
    out: Path,
    folder: str,
    fmt: str,
    tables: dict[str, CleanTable],
    day: date,
    d: int,
    seed: int,
    rate: float,
    kinds: set[str],
    *,
    delivery: int,
    final: bool,
    landed: date,
    subdir: Path | None = None,
) -> tuple[dict, dict[str, Rendered]]:
    """Render and write one delivery; return its manifest entry and the rendered tables."""
    rng = _file_rng(seed, folder, d, delivery)
    name = f"{folder}_{day:%Y%m%d}.{fmt}"
    rel = (subdir / folder / name) if subdir else Path(folder) / name
    path = out / rel
    rendered: dict[str, Rendered] = {}
    reject_reason = None
    if fmt == "json":
        payload: object
        missing_table = None
        non_empty = [t for t, table in tables.items() if table.n]  # a key can only be missing from objects
        if "missing_required_column" in kinds and non_empty:
            missing_table = non_empty[int(rng.integers(0, len(non_empty)))]
        arrays = {}
        for raw_table, table in tables.items():
            objects, r = render_json(table, rng, rate, kinds, raw_table == missing_table)
            arrays[raw_table] = objects
            rendered[raw_table] = r
        if len(tables) == 1:
            payload = next(iter(arrays.values()))
        else:
            payload = {SOURCES[t].json_path: arrays[t] for t in tables}
        data = dumps_json(payload)
        if "invalid_json" in kinds:
            data = data[: max(1, int(len(data) * 0.6))]
            reject_reason = "invalid_json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        ((raw_table, table),) = tables.items()
        total_p = (
            min(1.0, rate * (10 if folder == "douyin_posts" else 3)) if table.source.group == "content" else 0
        )
        r = render_tabular(table, fmt, rng, rate, kinds, total_p)
        rendered[raw_table] = r
        if fmt == "xlsx":
            title = f"抖音矩阵作品数据 {day.isoformat()}" if folder == "douyin_posts" else None
            data = write_xlsx(path, r, XLSX_SHEETS.get(folder, "Sheet1"), title)
            if "truncated_xlsx" in kinds:
                data = data[: int(len(data) * 0.55)]
                path.write_bytes(data)
                reject_reason = "truncated_xlsx"
        else:
            declared = table.source.encoding or "utf-8"
            data = write_csv(path, r, declared, CSV_LINE_END.get(declared, "\n"))
            if "wrong_encoding" in kinds:
                wrong = "gb18030" if declared.startswith("utf-8") else "utf-8"
                candidate = data.decode(declared).encode(wrong)
                try:
                    candidate.decode(declared)
                except UnicodeDecodeError:
                    data = candidate
                    path.write_bytes(data)
                    reject_reason = f"wrong_encoding: written as {wrong}, declared {declared}"
                else:  # nothing non-ASCII to trip over: the defect cannot be made to fail
                    kinds = kinds - {"wrong_encoding"}
    landed_at = _landing_time(landed, day, _file_rng(seed, folder, d, 10 + delivery))
    _stamp_landing_time(path, landed_at)
    missing_col = next((r.missing_column for r in rendered.values() if r.missing_column), None)
    if missing_col and reject_reason is None:
        reject_reason = f"missing_required_column: {missing_col}"
    rejected = reject_reason is not None
    readable = not rejected or reject_reason.startswith("missing_required_column")

    row_defects: Counter = Counter()
    tables_entry: dict[str, dict] = {}
    set_aside: list[dict] = []
    for raw_table, r in rendered.items():
        row_defects.update(r.defects)
        source = SOURCES[raw_table]
        count_cols = [c.name for c in source.columns if c.kind in COUNT_KINDS]
        sums = {c: (0 if rejected else int(np.nansum(r.loaded[c]))) for c in count_cols}
        tables_entry[raw_table] = {
            "rows_read": r.rows_read if readable else 0,
            "rows_loaded": 0 if rejected else r.rows_read - len(r.set_aside),
            "sums": sums,
        }
        if not rejected:
            set_aside.extend({"table": raw_table, **s} for s in r.set_aside)
    file_defects = sorted(k for k in kinds if k not in ("junk_in_folder", "missing_file"))
    entry = {
        "source": folder,
        "path": rel.as_posix(),
        "data_date": day.isoformat(),
        "delivery": delivery,
        "final": final,
        "landed_on": landed.isoformat(),
        "landed_at": landed_at.isoformat(),
        "file_defects": file_defects,
        "rejected": rejected,
        "reject_reason": reject_reason,
        "rows_read": sum(t["rows_read"] for t in tables_entry.values()),
        "rows_set_aside": set_aside,
        "row_defects": {k: v for k, v in sorted(row_defects.items()) if v},
        "extra_columns": sorted({c for r in rendered.values() for c in r.extra_columns}),
        "tables": tables_entry,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
    }
    return entry, rendered


def _landing_time(landed: date, day: date, rng: np.random.Generator) -> datetime:
    """When the file reached the landing folder (Asia/Shanghai), as the contract describes it.

    A file landing on D+1 arrives in the night export window (00:30-05:59), before the
    deadline; one landing later was sent by hand during office hours (08:00-21:59), so
    it is late by any deadline up to D+2 08:00.
    """
    if landed == day + timedelta(days=1):
        minute = int(rng.integers(30, 6 * 60))
    else:
        minute = int(rng.integers(8 * 60, 22 * 60))
    return datetime.combine(landed, time(), tzinfo=SHANGHAI) + timedelta(minutes=minute)


def _stamp_landing_time(path: Path, landed_at: datetime) -> None:
    """Set the file's mtime to its simulated landing time: the ingest reads landing times from mtimes."""
    stamp = landed_at.timestamp()
    os.utime(path, (stamp, stamp))


def _write_junk(out: Path, folder: str, fmt: str, day: date, d: int) -> str:
    """Things people leave in a landing folder: an Excel lock file, a half-copied .tmp, a README."""
    name = f"{folder}_{day:%Y%m%d}.{fmt}"
    choice = d % 3
    if choice == 0 and fmt == "xlsx":
        junk_name, data = f"~${name}", b"\x0bmatrix tool" + b"\x00" * 150
    elif choice == 1 or (choice == 0 and fmt != "xlsx"):
        junk_name, data = f"{name}.tmp", b"partial upload"
    else:
        junk_name, data = "README.txt", "此目录由矩阵工具每日自动推送，请勿手工修改。\n".encode()
    path = out / folder / junk_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{folder}/{junk_name}"


def _reference_tables(world: World, day: date) -> dict[str, CleanTable]:
    from .tables import _table

    roster = world.roster_on(day)
    n = len(roster)
    tables = {
        "matrix_roster": _table(
            "matrix_roster",
            {
                "平台": roster["platform"].map(PLATFORMS).to_numpy(object),
                "账号ID": roster["account_id"].to_numpy(object),
                "账号名称": roster["account_name"].to_numpy(object),
                "矩阵层级": roster["tier"].to_numpy(object),
                "经销商代码": roster["dealer_code"].to_numpy(object),
                "负责人": roster["owner_name"].to_numpy(object),
                "开通日期": roster["opened_on"].to_numpy(object),
                "状态": roster["status"].to_numpy(object),
            },
            n,
        ),
    }
    if day == world.start:
        dl = world.dealers
        tables["dealers"] = _table(
            "dealers",
            {
                "经销商代码": dl["dealer_code"].to_numpy(object),
                "经销商名称": dl["dealer_name"].to_numpy(object),
                "集团": dl["dealer_group"].to_numpy(object),
                "省份": dl["province"].to_numpy(object),
                "城市": dl["city"].to_numpy(object),
                "城市级别": dl["city_tier"].to_numpy(object),
                "大区": dl["region"].to_numpy(object),
            },
            len(dl),
        )
        cp = world.campaigns
        tables["campaigns"] = _table(
            "campaigns",
            {
                "活动编码": cp["campaign_code"].to_numpy(object),
                "活动名称": cp["campaign_name"].to_numpy(object),
                "车系": cp["series_code"].to_numpy(object),
                "开始日期": np.array([str(x) for x in cp["starts_on"]], dtype=object),
                "结束日期": np.array([str(x) for x in cp["ends_on"]], dtype=object),
                "预算": cp["budget_yuan"].to_numpy(float),
            },
            len(cp),
        )
    if day == world.start or day.day == 1:  # creator deals are booked monthly: a new full version
        horizon = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        deals = world.creator_deals
        deals = deals[deals["published_on"] < horizon] if len(deals) else deals
        tables["creator_costs"] = _table(
            "creator_costs",
            {
                "平台": deals["platform_name"].to_numpy(object),
                "账号ID": deals["account_id"].to_numpy(object),
                "活动编码": deals["campaign_code"].to_numpy(object),
                "合作形式": deals["deal_type"].to_numpy(object),
                "合作费用": deals["cost_yuan"].to_numpy(float),
                "发布日期": np.array([str(x) for x in deals["published_on"]], dtype=object),
            },
            len(deals),
        )
    return tables


def _write_reference(out: Path, world: World, files: list[dict]) -> None:
    """Reference files are written clean, on the first day and whenever a new version exists."""
    roster_days = set(world.roster_version_dates())
    for d, day in enumerate(world.days):
        if day not in roster_days and day != world.start and day.day != 1:
            continue
        tables = _reference_tables(world, day)
        if day not in roster_days:
            tables.pop("matrix_roster")
        for name, table in tables.items():
            fmt = SOURCES[name].fmt
            entry, _ = _write_file(
                out,
                name,
                fmt,
                {name: table},
                day,
                d,
                0,
                0.0,
                set(),
                delivery=1,
                final=True,
                landed=day + timedelta(days=1),
            )
            files.append(entry)


def _lead_truth(truth: Truth, rows, leads, world: World) -> dict:
    """Each lead once, in its latest loaded state; duplicates by the 30-day same-phone same-series rule."""
    if not truth.crm_loaded:
        return {}
    loaded = np.unique(np.concatenate(truth.crm_loaded))
    lead = rows.lead[loaded]
    updated = rows.updated[loaded]
    order = np.lexsort((updated, lead))
    lead, updated = lead[order], updated[order]
    last = np.ones(len(lead), bool)
    last[:-1] = lead[1:] != lead[:-1]
    lead, updated = lead[last], updated[last]
    invalid = leads.invalid_at[lead] <= updated
    arrived = leads.arrived[lead] <= updated
    ordered = leads.ordered[lead] <= updated
    # duplicates among the leads the warehouse sees
    person = leads.person[lead]
    series = leads.series[lead]
    created = leads.created[lead]
    hashable = ~leads.phone_is_junk[lead]
    series_code = np.unique(series, return_inverse=True)[1]
    # "Earlier" is the order (created time, CRM system, clue id), as the warehouse breaks ties:
    # two leads of one person for one series in the same minute are one lead and a duplicate.
    clue_rank = np.unique(leads.clue_id[lead].astype(str), return_inverse=True)[1]
    o = np.lexsort((clue_rank, leads.is_legacy[lead], created, series_code, person))
    dup_sorted = np.zeros(len(o), bool)
    same = (person[o][1:] == person[o][:-1]) & (series_code[o][1:] == series_code[o][:-1])
    close = (created[o][1:] - created[o][:-1]) <= 30 * 86_400
    dup_sorted[1:] = same & close & hashable[o][1:]
    duplicate = np.zeros(len(o), bool)
    duplicate[o] = dup_sorted
    # A lead whose phone is not a real mobile number cannot be called back: not a valid lead,
    # even before its CRM marks it invalid (the warehouse's rule too).
    valid = ~invalid & ~duplicate & hashable
    start_day = (world.start - date(1970, 1, 1)).days
    cday = np.clip(created // 86_400 - start_day, 0, len(world.days) - 1)
    acc = leads.source_account_idx[lead]
    tier = np.where(acc >= 0, truth.tiers_by_day[cday, np.maximum(acc, 0)], -1)
    platform = leads.platform[lead]
    result: dict[str, dict[str, dict[str, int]]] = {}
    for p in sorted(set(platform)):
        for t in sorted(set(tier[platform == p])):
            sel = (platform == p) & (tier == t)
            result.setdefault(p, {})["none" if t < 0 else MATRIX_TIERS[t]] = {
                "leads": int(sel.sum()),
                "valid_leads": int((sel & valid).sum()),
                "arrivals": int((sel & valid & arrived).sum()),
                "orders": int((sel & valid & ordered).sum()),
            }
    return result
