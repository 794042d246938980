"""Real landed files built by code: xlsx via xlsxwriter, GB18030/BOM/UTF-8 CSV, JSON.

Each test writes the files it needs into its own landing folder, with rows given as
``{source column name: value}``; ``good_rows`` makes plausible clean rows to start from.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import xlsxwriter
from matrix_pulse.sources import SOURCES, Source, landing_folder

PHONES = ["13812345678", "+86 139 8765 4321", "137-1111-2222"]
NAMES = ["张伟", "李娜", "王芳"]


def _value(source: Source, col_name: str, kind: str, date: dt.date, i: int) -> object:
    ts = dt.datetime.combine(date, dt.time(9, 5)) - dt.timedelta(days=i % 3)
    if kind == "id":
        if col_name in ("account_id",):
            return f"acc{i % 3:03d}"
        if col_name == "dealer_code":
            return f"D{100 + i % 2}"
        return f"{source.name[:2].upper()}{date:%m%d}{i:04d}"
    if kind == "text":
        return f"标题{i}" if col_name != "account_name" else f"账号{i % 3}"
    if kind == "code":
        return {
            "content_type": "视频",
            "review_status": "已发布",
            "lead_status": "501" if source.name == "crm_dcc" else "跟进中",
            "matrix_tier": "KOC",
            "account_status": "正常",
            "platform_name": "抖音",
            "is_invalid": "0",
            "city_tier": "二线",
            "region": "华东",
            "series_code": "S7",
        }.get(col_name, "X1")
    if kind in ("count", "count_lb"):
        return 100 * (i + 1)
    if kind == "rate":
        return 0.25
    if kind == "duration":
        return 30 + i
    if kind == "time":
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "unix":
        return int((ts - dt.timedelta(hours=8)).replace(tzinfo=dt.UTC).timestamp())
    if kind == "date":
        return date.isoformat()
    if kind == "money":
        return 5000
    if kind == "phone":
        return PHONES[i % len(PHONES)]
    if kind == "hashed_id":
        return f"wmEXT{date:%m%d}{i:04d}"
    if kind == "number":
        return 50.5 + i
    if kind == "pii_drop":
        return NAMES[i % len(NAMES)]
    raise ValueError(kind)


def good_rows(source_name: str, date: dt.date, n: int = 3) -> list[dict[str, object]]:
    src = SOURCES[source_name]
    rows = [{c.source_name: _value(src, c.name, c.kind, date, i) for c in src.columns} for i in range(n)]
    if explode := src.extra.get("explode"):  # a list of values in one key (WeCom's remark_mobiles)
        for r in rows:
            r[explode] = [r[explode]]
    for c in src.columns:
        # Reference keys (dealer, campaign, ...) must be unique per file, as the real files are.
        if c.name in src.key and c.kind in ("id", "code") and len({r[c.source_name] for r in rows}) < n:
            for i, r in enumerate(rows):
                r[c.source_name] = f"{r[c.source_name]}{i:03d}"
    return rows


def file_path(landing: Path, folder: str, date: dt.date, suffix: str = "") -> Path:
    fmt = next(s.fmt for s in SOURCES.values() if landing_folder(s) == folder)
    path = landing / folder / f"{folder}_{date:%Y%m%d}{suffix}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _headers(src: Source, rows: list[dict], headers: list[str] | None) -> list[str]:
    if headers is not None:
        return headers
    out = [c.source_name for c in src.columns]
    for r in rows:
        out += [k for k in r if k not in out]
    return out


def write_xlsx(
    landing: Path,
    source_name: str,
    date: dt.date,
    rows: list[dict | None],
    headers: list[str] | None = None,
    suffix: str = "",
    total_row: bool = False,
) -> Path:
    """rows: dicts (None = a blank row); numbers stay numbers as Excel would store them."""
    src = SOURCES[source_name]
    path = file_path(landing, landing_folder(src), date, suffix)
    hdr = _headers(src, [r for r in rows if r], headers)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(src.sheet or "Sheet1")
    r0 = 0
    if src.header_row == 2:
        ws.write_string(0, 0, f"抖音矩阵作品数据 {date.isoformat()}")
        r0 = 1
    for j, h in enumerate(hdr):
        ws.write_string(r0, j, h)
    body = list(rows)
    for i, row in enumerate(body, start=r0 + 1):
        if row is None:
            continue
        for j, h in enumerate(hdr):
            v = row.get(h)
            if v is None:
                continue
            if isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    if total_row:
        i = r0 + 1 + len(body)
        ws.write_string(i, 0, "合计")
        for j, h in enumerate(hdr):
            vals = [r.get(h) for r in body if r]
            if all(isinstance(v, int) for v in vals) and vals and j > 0:
                ws.write_number(i, j, sum(vals))
    # A trailing cell far below would make blank rows at the end visible; not needed here.
    wb.close()
    return path


def csv_text(
    src: Source, rows: list[dict | None], headers: list[str] | None = None, total_row: bool = False
) -> str:
    hdr = _headers(src, [r for r in rows if r], headers)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(hdr)
    for row in rows:
        w.writerow(
            ["" for _ in hdr] if row is None else ["" if row.get(h) is None else row.get(h) for h in hdr]
        )
    if total_row:
        w.writerow(["合计"] + ["" for _ in hdr[1:]])
    return buf.getvalue()


def write_csv(
    landing: Path,
    source_name: str,
    date: dt.date,
    rows: list[dict | None],
    headers: list[str] | None = None,
    suffix: str = "",
    encoding: str | None = None,
    total_row: bool = False,
) -> Path:
    src = SOURCES[source_name]
    path = file_path(landing, landing_folder(src), date, suffix)
    path.write_bytes(csv_text(src, rows, headers, total_row).encode(encoding or src.encoding or "utf-8"))
    return path


def _nest(row: dict) -> dict:
    out: dict = {}
    for k, v in row.items():
        parts = k.split(".")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return out


def write_json(
    landing: Path, folder: str, date: dt.date, rows_by_source: dict[str, list[dict | None]], suffix: str = ""
) -> Path:
    """rows_by_source: raw source name -> records (None = an empty object {})."""
    path = file_path(landing, folder, date, suffix)
    srcs = [s for s in SOURCES.values() if landing_folder(s) == folder]
    if srcs[0].json_path is None:
        doc: object = [_nest(r) if r else {} for r in rows_by_source[srcs[0].name]]
    else:
        doc = {"errcode": 0}
        for s in srcs:
            records = [_nest(r) if r else {} for r in rows_by_source.get(s.name, [])]
            if s.json_path in doc:  # a second table of the same array (WeCom's contact mobiles)
                for record, extra in zip(doc[s.json_path], records, strict=False):
                    if record and extra:
                        record.update({k: v for k, v in extra.items() if k not in record})
                continue
            doc[s.json_path] = records
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def write_good(landing: Path, source_name: str, date: dt.date, n: int = 3, suffix: str = "") -> Path:
    """One clean file for a source or landing folder (both arrays for the wrapped JSON files)."""
    src = SOURCES.get(source_name) or next(s for s in SOURCES.values() if landing_folder(s) == source_name)
    folder = landing_folder(src)
    if src.fmt == "xlsx":
        return write_xlsx(landing, source_name, date, good_rows(source_name, date, n), suffix=suffix)
    if src.fmt == "csv":
        return write_csv(landing, source_name, date, good_rows(source_name, date, n), suffix=suffix)
    rows = {s.name: good_rows(s.name, date, n) for s in SOURCES.values() if landing_folder(s) == folder}
    return write_json(landing, folder, date, rows, suffix=suffix)


def write_all_good(landing: Path, date: dt.date, n: int = 3) -> list[Path]:
    """A clean file for every landing folder on ``date``."""
    done: set[str] = set()
    paths = []
    for s in SOURCES.values():
        folder = landing_folder(s)
        if folder in done:
            continue
        done.add(folder)
        paths.append(write_good(landing, s.name, date, n))
    return paths
