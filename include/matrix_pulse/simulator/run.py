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
import shutil
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from matrix_pulse.sources import LANDING_FOLDERS, MATRIX_TIERS, PLATFORMS, SOURCES

from .content import build_lives, build_posts
from .crm import build_leads, crm_rows
from .landing import landing_time, quarter_label, stamp_landing_time
from .playbook_truth import playbook_truth
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
from .wecom import wecom_truth
from .wecom import write_files as write_wecom
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


POST_METRICS = ("views", "impressions", "follower_gain", *ENGAGEMENT)


@dataclass
class Truth:
    """Figures accumulated from what a correct ingest loads (final deliveries only)."""

    world: World
    tiers_by_day: np.ndarray
    dealers_by_day: np.ndarray
    last: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    content: dict[str, dict[str, Counter]] = field(default_factory=dict)
    # (quarter, platform, tier, region, dealer code or '') -> exposure, views, engagements
    content_cells: dict[tuple, Counter] = field(default_factory=dict)
    post_sums: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # per post, loaded life
    post_loaded: dict[str, np.ndarray] = field(default_factory=dict)
    lives: dict[int, dict[str, float | None]] = field(default_factory=dict)  # live row -> loaded figures
    platform_days: set[tuple[str, int]] = field(default_factory=set)  # (platform, day) with loaded rows
    crm_loaded: list[np.ndarray] = field(default_factory=list)

    def _add_cells(self, d: int, platform: str, accounts: np.ndarray, figures: dict[str, np.ndarray]) -> None:
        """Add per-row figures to the (quarter, platform, tier, region, dealer) cells of day ``d``."""
        quarter = quarter_label(self.world.days[d])
        tiers = self.tiers_by_day[d, accounts].astype(np.int64)
        dealer = self.dealers_by_day[d, accounts]
        codes = np.append(self.world.column("dealers", "dealer_code"), "")
        regions = np.append(self.world.column("dealers", "region"), "总部")
        keys, inverse = np.unique(tiers * 100_000 + (dealer + 1), return_inverse=True)
        sums = {
            name: np.bincount(inverse, weights=values, minlength=len(keys))
            for name, values in figures.items()
        }
        for k, key in enumerate(keys):
            tier, dealer_i = MATRIX_TIERS[int(key // 100_000)], int(key % 100_000) - 1
            cell = self.content_cells.setdefault(
                (quarter, platform, tier, regions[dealer_i], codes[dealer_i]), Counter()
            )
            for name, total in sums.items():
                cell[name] += float(total[k])

    def add_content(
        self, raw_table: str, table: CleanTable, rendered: Rendered, d: int, n_posts: int
    ) -> None:
        platform = "wechat_oa" if raw_table == "wechat_oa_articles" else CONTENT_PLATFORM_OF[raw_table]
        tiers = self.tiers_by_day[d, table.meta["account"]]
        post = table.meta["post"]
        daily: dict[str, np.ndarray] = {}
        for metric in POST_METRICS:
            values = rendered.loaded.get(metric)
            if values is None:
                continue
            if raw_table == "wechat_oa_articles":  # daily figures as they are
                daily[metric] = np.nan_to_num(values)
                continue
            last = self.last.setdefault(raw_table, {}).setdefault(metric, np.full(n_posts, np.nan))
            prev = last[post]
            delta = np.where(
                np.isnan(values), 0.0, np.where(np.isnan(prev), values, np.maximum(values - prev, 0))
            )
            last[post] = np.where(np.isnan(values), prev, values)
            daily[metric] = delta
        sums = self.post_sums.setdefault(platform, {})
        for metric, delta in daily.items():
            np.add.at(sums.setdefault(metric, np.zeros(n_posts)), post, delta)
        self.post_loaded.setdefault(platform, np.zeros(n_posts, bool))[post] = True
        by_tier = self.content.setdefault(platform, {})
        zeros = np.zeros(table.n)
        views = daily.get("views", zeros)
        exposure = daily.get("impressions", zeros) if platform == "xiaohongshu" else views
        engagements = sum((daily[m] for m in ENGAGEMENT if m in daily), zeros)
        for code in np.unique(tiers):
            sel = tiers == code
            acc = by_tier.setdefault(MATRIX_TIERS[code], Counter())
            acc["views"] += int(round(views[sel].sum()))
            acc["engagements"] += int(round(engagements[sel].sum()))
        figures = {"exposure": exposure, "views": views, "engagements": engagements}
        figures["follower_gain"] = daily.get("follower_gain", zeros)
        self._add_cells(d, platform, table.meta["account"], figures)
        if table.n:
            self.platform_days.add((platform, d))

    def add_lives(self, table: CleanTable, rendered: Rendered, d: int, platforms: np.ndarray) -> None:
        for row, live in enumerate(table.meta["live"]):
            self.lives[int(live)] = {
                m: (None if np.isnan(v[row]) else float(v[row])) for m, v in rendered.loaded.items()
            }
            self.platform_days.add((str(platforms[live]), d))
        gain = np.nan_to_num(rendered.loaded["follower_gain"])
        for platform in np.unique(platforms[table.meta["live"]]):
            sel = platforms[table.meta["live"]] == platform
            self._add_cells(d, str(platform), table.meta["account"][sel], {"follower_gain": gain[sel]})

    def add_oa_users(self, table: CleanTable, rendered: Rendered, d: int) -> None:
        gain = np.nan_to_num(rendered.loaded["new_followers"])
        self._add_cells(d, "wechat_oa", table.meta["account"], {"follower_gain": gain})
        if table.n:
            self.platform_days.add(("wechat_oa", d))


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
    truth = Truth(world, world.tier_codes_by_day(), world.dealer_index_by_day())
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
                elif raw_table in ("live_sessions", "wechat_channels_lives"):
                    truth.add_lives(table, rendered[raw_table], d, lives.platform)
                elif raw_table == "wechat_oa_users":
                    truth.add_oa_users(table, rendered[raw_table], d)

    wecom_files, wecom_loaded = write_wecom(out, world, leads, lives, posts, seed, mess_rate)
    files += wecom_files
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
            **_sectional_truth(truth, rows, leads, world, posts, lives),
            "wecom": wecom_truth(
                wecom_loaded,
                _known_targets(truth, world, posts, lives),
                _lead_states(truth, rows, leads, world),
                leads,
                world,
            ),  # fmt: skip
        },
    }
    (out / "_manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _known_targets(truth: Truth, world: World, posts, lives) -> dict[str, set[str]]:
    """Live rooms, posts and campaigns the warehouse knows (a WeCom state naming another is unattributed)."""
    known_posts = {
        str(x) for p, loaded in truth.post_loaded.items() for x in posts[p].post_id[np.nonzero(loaded)[0]]
    }
    return {
        "live": {str(lives.live_id[i]) for i in truth.lives},
        "post": known_posts,
        "campaign": set(world.campaigns["campaign_code"].astype(str)),
    }


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
    landed_at = landing_time(landed, day, _file_rng(seed, folder, d, 10 + delivery))
    stamp_landing_time(path, landed_at)
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


def _lead_states(truth: Truth, rows, leads, world: World) -> dict[str, np.ndarray] | None:
    """Each loaded lead once, in its latest loaded state, with the warehouse's flags and times."""
    if not truth.crm_loaded:
        return None
    loaded = np.unique(np.concatenate(truth.crm_loaded))
    lead = rows.lead[loaded]
    updated = rows.updated[loaded]
    order = np.lexsort((updated, lead))
    lead, updated = lead[order], updated[order]
    last = np.ones(len(lead), bool)
    last[:-1] = lead[1:] != lead[:-1]
    lead, updated = lead[last], updated[last]
    invalid = leads.invalid_at[lead] <= updated
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
    # response: first follow-up minus distribution (DCC) or creation (legacy, which has no
    # distribution time), in minutes, once the follow-up is in the latest row
    followed = leads.first_follow[lead] <= updated
    since = np.where(leads.is_legacy[lead], created, leads.distributed[lead])
    response = np.where(followed, np.maximum(leads.first_follow[lead] - since, 0) / 60.0, np.nan)
    return {
        "lead": lead,
        "valid": valid,
        "tier": tier,
        "platform": leads.platform[lead],
        "created_day": cday,
        "dealer": leads.dealer_idx[lead],
        "arrived": leads.arrived[lead] <= updated,
        "test_drive": leads.test_drive[lead] <= updated,
        "ordered": leads.ordered[lead] <= updated,
        "delivered": leads.delivered[lead] <= updated,
        "response": response,
    }


def _lead_truth(truth: Truth, rows, leads, world: World) -> dict:
    """Each lead once, in its latest loaded state; duplicates by the 30-day same-phone same-series rule."""
    st = _lead_states(truth, rows, leads, world)
    if st is None:
        return {}
    platform, tier, valid = st["platform"], st["tier"], st["valid"]
    result: dict[str, dict[str, dict[str, int]]] = {}
    for p in sorted(set(platform)):
        for t in sorted(set(tier[platform == p])):
            sel = (platform == p) & (tier == t)
            result.setdefault(p, {})["none" if t < 0 else MATRIX_TIERS[t]] = {
                "leads": int(sel.sum()),
                "valid_leads": int((sel & valid).sum()),
                "arrivals": int((sel & valid & st["arrived"]).sum()),
                "orders": int((sel & valid & st["ordered"]).sum()),
            }
    return result


def _funnels(st: dict[str, np.ndarray], keys: list[np.ndarray]) -> dict[tuple, dict]:
    """Lead figures per group of ``keys``: counts, every funnel stage among valid leads, and the
    24-hour follow-ups and median response over valid leads."""
    valid = st["valid"]
    frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})
    frame["leads"] = 1
    frame["valid_leads"] = valid.astype(np.int64)
    for stage, column in (("arrived", "arrivals"), ("test_drive", "test_drives"), ("ordered", "orders"),
                          ("delivered", "deliveries")):  # fmt: skip
        frame[column] = (valid & st[stage]).astype(np.int64)
    response = np.where(valid, st["response"], np.nan)
    frame["followed_within_24h"] = (response <= 1440).astype(np.int64)
    frame["response"] = response
    by = [f"k{i}" for i in range(len(keys))]
    grouped = frame.groupby(by, sort=True)
    sums = grouped[list(FUNNEL_COUNTS)].sum()
    medians = grouped["response"].median()
    out = {}
    for key, row in sums.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        median = medians.loc[key if len(key) > 1 else key[0]]
        out[key] = {c: int(row[c]) for c in FUNNEL_COUNTS} | {
            "median_response_minutes": None if pd.isna(median) else float(median)
        }
    return out


FUNNEL_COUNTS = (
    "leads",
    "valid_leads",
    "arrivals",
    "test_drives",
    "orders",
    "deliveries",
    "followed_within_24h",
)


def _sectional_truth(truth: Truth, rows, leads, world: World, posts, lives) -> dict:
    """Per-quarter truth by platform/tier, region and dealer, per live session and per creator deal."""
    out: dict = {}
    # content: exposure / views / engagements by the account's tier, region and dealer of the day
    content: dict = {"by_tier": {}, "by_region": {}, "by_dealer": {}}
    for (q, platform, tier, region, dealer), c in sorted(truth.content_cells.items()):
        figures = {k: int(round(c[k])) for k in ("exposure", "views", "engagements", "follower_gain")}
        for section, key in (
            ("by_tier", (platform, tier)),
            ("by_region", (region,)),
            ("by_dealer", (dealer,)),
        ):
            if section == "by_dealer" and not dealer:
                continue
            node = content[section].setdefault(q, {})
            for k in key[:-1]:
                node = node.setdefault(k, {})
            cell = node.setdefault(key[-1], Counter())
            cell.update(figures)
    out["content_by_quarter"] = _plain(content)
    out["accounts_by_quarter"] = _account_truth(truth, world, posts, lives)

    st = _lead_states(truth, rows, leads, world)
    dealer_codes = world.dealers["dealer_code"].to_numpy(object)
    dealer_regions = world.dealers["region"].to_numpy(object)
    if st is not None:
        quarters = np.array([quarter_label(world.days[d]) for d in range(len(world.days))], dtype=object)
        q = quarters[st["created_day"]]
        tier = np.array(["none", *MATRIX_TIERS], dtype=object)[st["tier"] + 1]
        lead_cells: dict = {"by_tier": {}, "by_region": {}, "by_dealer": {}}
        for (quarter, p, t), figures in _funnels(st, [q, st["platform"], tier]).items():
            lead_cells["by_tier"].setdefault(quarter, {}).setdefault(p, {})[t] = figures
        for (quarter, region), figures in _funnels(st, [q, dealer_regions[st["dealer"]]]).items():
            lead_cells["by_region"].setdefault(quarter, {})[region] = figures
        for (quarter, dealer), figures in _funnels(st, [q, dealer_codes[st["dealer"]]]).items():
            lead_cells["by_dealer"].setdefault(quarter, {})[dealer] = figures
        out["leads_by_quarter"] = lead_cells

    # live sessions as loaded, by live id
    acc_ids = world.accounts["account_id"].to_numpy(object)
    out["live_sessions"] = {
        str(lives.live_id[i]): {
            "platform": str(lives.platform[i]),
            "account_id": str(acc_ids[lives.account_idx[i]]),
            **figures,
        }
        for i, figures in sorted(truth.lives.items())
    }
    out["creator_deals"] = _deal_truth(truth, world, posts, lives, leads, st)
    out["playbook"] = playbook_truth(truth, world, posts, leads, st, out["creator_deals"], out)
    return out


def _account_truth(truth: Truth, world: World, posts, lives) -> dict:
    """Accounts and active accounts per quarter, each account once, by its tier and dealer on the
    quarter's last day. Active = a loaded post published on a day its platform delivered data,
    or a loaded live session, on some day of the quarter."""
    active: set[tuple[int, int]] = set()
    for platform, book in posts.items():
        delivered = np.zeros(len(world.days), bool)
        delivered[[d for p, d in truth.platform_days if p == platform]] = True
        loaded = truth.post_loaded.get(platform, np.zeros(len(book.pub_day), bool))
        day = np.clip(book.pub_day, 0, len(world.days) - 1)
        sel = loaded & (book.pub_day >= 0) & delivered[day]
        active.update(zip(book.account_idx[sel].tolist(), book.pub_day[sel].tolist(), strict=True))
    for live in truth.lives:
        active.add((int(lives.account_idx[live]), int(lives.day[live])))
    quarters = [quarter_label(day) for day in world.days]
    active_by_quarter: dict[str, set[int]] = {}
    for account, d in active:
        active_by_quarter.setdefault(quarters[d], set()).add(account)
    platform = world.accounts["platform"].to_numpy(object)
    codes = world.dealers["dealer_code"].to_numpy(object)
    regions = world.dealers["region"].to_numpy(object)
    out: dict = {"by_tier": {}, "by_region": {}, "by_dealer": {}}
    for q in sorted(set(quarters)):
        last = max(d for d, label in enumerate(quarters) if label == q)
        tier = truth.tiers_by_day[last]
        dealer = truth.dealers_by_day[last]
        for a in range(len(platform)):
            is_active = int(a in active_by_quarter.get(q, set()))
            cells = [out["by_tier"].setdefault(q, {}).setdefault(platform[a], {}).setdefault(
                MATRIX_TIERS[tier[a]], Counter())]  # fmt: skip
            region = regions[dealer[a]] if dealer[a] >= 0 else "总部"
            cells.append(out["by_region"].setdefault(q, {}).setdefault(region, Counter()))
            if dealer[a] >= 0:
                cells.append(out["by_dealer"].setdefault(q, {}).setdefault(codes[dealer[a]], Counter()))
            for cell in cells:
                cell["accounts"] += 1
                cell["active_accounts"] += is_active
    return _plain(out)


def _plain(node):
    if isinstance(node, Counter):
        return dict(node)
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    return node


def _deal_truth(truth: Truth, world: World, posts, lives, leads, st) -> list[dict]:
    """Per creator deal: what its deliverables did as loaded and the leads attributed to it.

    Leads by the documented rule: a lead whose source content is a loaded deliverable of the
    deal; otherwise a lead of the deal's platform, account and campaign (one deal per creator
    and campaign in the simulation, so no tie to break).
    """
    deals = world.creator_deals
    tier_codes = world.tier_codes_by_day()
    by_content: dict[tuple[str, str], int] = {}
    figures = []
    for k, deal in enumerate(deals.itertuples()):
        f = Counter(
            posts_matched=0, live_sessions_matched=0, exposure=0, views=0, engagements=0, follower_gain=0
        )
        if deal.deal_type == "直播口播":
            for i in np.nonzero(lives.deal_idx == k)[0]:
                got = truth.lives.get(int(i))
                if got is None:
                    continue
                by_content[(deal.platform, str(lives.live_id[i]))] = k
                f["live_sessions_matched"] += 1
                f["exposure"] += got.get("views") or 0
                f["views"] += got.get("views") or 0
                f["engagements"] += (got.get("likes") or 0) + (got.get("comments") or 0)
                f["follower_gain"] += got.get("follower_gain") or 0
        else:
            book = posts[deal.platform]
            loaded = truth.post_loaded.get(deal.platform, np.zeros(len(book.post_id), bool))
            sums = truth.post_sums.get(deal.platform, {})
            for i in np.nonzero((book.deal_idx == k) & loaded)[0]:
                by_content[(deal.platform, str(book.post_id[i]))] = k
                life = {m: float(v[i]) for m, v in sums.items()}  # the post's loaded life
                f["posts_matched"] += 1
                f["views"] += life.get("views", 0.0)
                f["exposure"] += life.get("impressions" if deal.platform == "xiaohongshu" else "views", 0.0)
                f["engagements"] += sum(life.get(m, 0.0) for m in ENGAGEMENT)
                f["follower_gain"] += life.get("follower_gain", 0.0)
        figures.append(f)
    by_campaign = {
        (d.platform, int(d.account_idx), d.campaign_code): k for k, d in enumerate(deals.itertuples())
    }
    attributed = [[] for _ in range(len(deals))]
    if st is not None:
        lead = st["lead"]
        content = leads.source_content_id[lead]
        account = leads.source_account_idx[lead]
        campaign = leads.campaign_code[lead]
        for j in range(len(lead)):
            p = st["platform"][j]
            k = by_content.get((p, str(content[j])))
            if k is None and account[j] >= 0:
                k = by_campaign.get((p, int(account[j]), campaign[j]))
            if k is not None:
                attributed[k].append(j)
    regions = world.dealers["region"].to_numpy(object)
    out = []
    for k, deal in enumerate(deals.itertuples()):
        day = (deal.published_on - world.start).days
        js = np.array(attributed[k], dtype=np.int64)
        valid = st["valid"][js] if len(js) else np.zeros(0, bool)
        ordered = st["ordered"][js] if len(js) else np.zeros(0, bool)
        lead_regions = regions[st["dealer"][js]] if len(js) else np.zeros(0, object)
        f = figures[k]
        out.append(
            {
                "platform": deal.platform,
                "account_id": deal.account_id,
                "campaign_code": deal.campaign_code,
                "published_on": deal.published_on.isoformat(),
                "quarter_label": quarter_label(deal.published_on),
                "cooperation_form": deal.deal_type,
                "matrix_tier": MATRIX_TIERS[tier_codes[day, deal.account_idx]],
                "cost_yuan": deal.cost_yuan,
                # what the creator published for the deal; *_matched counts what was loaded of it
                "deliverables_published": int(
                    (lives.deal_idx == k).sum()
                    if deal.deal_type == "直播口播"
                    else (posts[deal.platform].deal_idx == k).sum()
                ),
                **{m: int(round(v)) for m, v in f.items()},
                # nothing of the deal's deliverables loaded: its audience is unknown, not 0
                **(
                    {}
                    if f["posts_matched"] + f["live_sessions_matched"]
                    else dict.fromkeys(("exposure", "views", "engagements", "follower_gain"))
                ),
                "leads": len(js),
                "valid_leads": int(valid.sum()),
                "orders": int((valid & ordered).sum()),
                "regions": {
                    r: {
                        "leads": int((lead_regions == r).sum()),
                        "valid_leads": int((valid & (lead_regions == r)).sum()),
                        "orders": int((valid & ordered & (lead_regions == r)).sum()),
                    }
                    for r in sorted(set(lead_regions))
                },
            }
        )
    return out
