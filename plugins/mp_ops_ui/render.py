"""HTML for the plugin pages: one layout, one table helper, inline CSS and no external assets.

The pages are shown inside the Airflow UI (an iframe) and on air-gapped servers, so
everything a page needs is in the page itself.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# Every time on these pages is Asia/Shanghai, the zone of the input contract and of the ledger's
# timestamps (naive Shanghai wall-clock in meta.*), and said so next to it.
SHANGHAI = ZoneInfo("Asia/Shanghai")
TZ_LABEL = "Asia/Shanghai (UTC+8)"
TZ_SHORT = "UTC+8"

CSS = """
:root { --fg:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#fff; --head:#f5f7fa; --accent:#0b6bcb; }
* { box-sizing: border-box; }
body { margin:0; padding:16px 20px; font:14px/1.45 -apple-system, "Segoe UI", "Noto Sans CJK SC",
  "Microsoft YaHei", sans-serif; color:var(--fg); background:var(--bg); }
h1 { font-size:20px; margin:0 0 4px; } h2 { font-size:16px; margin:22px 0 8px; }
p.sub, .muted { color:var(--muted); } a { color:var(--accent); text-decoration:none; }
a:hover { text-decoration:underline; }
nav { margin:0 0 14px; padding-bottom:8px; border-bottom:1px solid var(--line); }
nav a { margin-right:16px; }
table { border-collapse:collapse; width:100%; margin:6px 0 12px; font-size:13px; }
th, td { border-bottom:1px solid var(--line); padding:4px 8px; text-align:left; vertical-align:top; }
th { background:var(--head); position:sticky; top:0; font-weight:600; white-space:nowrap; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.badge { display:inline-block; padding:0 6px; border-radius:8px; font-size:12px; background:#e4e7eb; }
.ok { background:#d9f2e3; color:#0e6245; } .warn { background:#fff1c2; color:#8a5a00; }
.bad { background:#fde2e1; color:#a61b1b; }
.notice { padding:12px 14px; border:1px solid #f0d68a; background:#fffbea; border-radius:6px; margin:10px 0; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:10px 0; }
.card { border:1px solid var(--line); border-radius:6px; padding:10px 14px; min-width:220px; flex:1; }
.card h3 { margin:0 0 4px; font-size:15px; }
table { table-layout:auto; } td { overflow-wrap:anywhere; }
td.wide { min-width:22em; max-width:40em; white-space:normal; }
td.nowrap, td.num { white-space:nowrap; }
.scroll { max-width:100%; overflow-x:auto; }
p.pager { margin:4px 0; color:var(--muted); } p.pager a { margin-left:8px; }
form.filters { margin:6px 0; } form.filters input, form.filters select { font:inherit; padding:2px 4px; }
"""

# Status words the ledger and freshness tables use, and how alarming each one is.
STATUS_CLASS = {
    "loaded": "ok",
    "replaced": "",
    "duplicate_delivery": "",
    "missing": "bad",
    "rejected": "bad",
    "gx_failed": "bad",
    "late": "warn",
    "set_aside_heavy": "warn",
    "sent": "ok",
    "unconfirmed": "warn",
    "failed": "bad",
    "attempted": "warn",
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt_cell(value: Any) -> str:
    """One value as table-cell text: blanks for NULL, seconds precision for timestamps."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # aware: shown in Shanghai like every other time here
            value = value.astimezone(SHANGHAI)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float | Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def badge(status: str) -> str:
    return f'<span class="badge {STATUS_CLASS.get(status, "")}">{esc(status)}</span>'


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    status_columns: Iterable[str] = (),
    wide_columns: Iterable[str] = (),
    raw_html_columns: Iterable[str] = (),
    nowrap_columns: Iterable[str] = (),
) -> str:
    """An HTML table in a scrolling box (never wider than the frame); numbers right-aligned,
    status columns as coloured badges, wide columns (reasons) wrapped. Every value is escaped
    except in ``raw_html_columns``, which the caller builds from escaped parts (links)."""
    status_idx = {i for i, c in enumerate(columns) if c in set(status_columns)}
    wide_idx = {i for i, c in enumerate(columns) if c in set(wide_columns)}
    raw_idx = {i for i, c in enumerate(columns) if c in set(raw_html_columns)}
    nowrap_idx = {i for i, c in enumerate(columns) if c in set(nowrap_columns)}
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i in status_idx and value is not None:
                cells.append(f"<td>{badge(str(value))}</td>")
            elif i in raw_idx:
                css = ' class="nowrap"' if i in nowrap_idx else ""
                cells.append(f"<td{css}>{value or ''}</td>")
            elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                cells.append(f'<td class="num">{esc(fmt_cell(value))}</td>')
            elif i in wide_idx:
                cells.append(f'<td class="wide">{esc(fmt_cell(value))}</td>')
            elif isinstance(value, datetime | date) or i in nowrap_idx:
                cells.append(f'<td class="nowrap">{esc(fmt_cell(value))}</td>')
            else:
                cells.append(f"<td>{esc(fmt_cell(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}" class="muted">no rows 无记录</td></tr>')
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def notice(text_html: str) -> str:
    return f'<div class="notice">{text_html}</div>'


def page(title: str, body_html: str, root: str, subtitle: str = "") -> str:
    """A whole page. ``root`` is the app's mount path, so links work under any base URL."""
    links = [
        ("", "Overview 总览"),
        ("/health", "Load ledger & freshness 加载与及时性"),
        ("/packs", "Sent packs 报告归档"),
        ("/dbt-docs/", "dbt docs"),
        ("/gx-docs/", "GX Data Docs 数据质量"),
    ]
    nav = "".join(f'<a href="{esc(root + href) or "/"}">{esc(label)}</a>' for href, label in links)
    sub = f'<p class="sub">{subtitle}</p>' if subtitle else ""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Matrix Pulse</title><style>{CSS}</style></head>"
        f"<body><nav>{nav}</nav><h1>{esc(title)}</h1>{sub}{body_html}</body></html>"
    )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def shanghai_from_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def shanghai_from_iso(text: str | None) -> str:
    """An ISO time with its zone (the send ledger writes UTC) as Shanghai wall-clock."""
    if not text:
        return ""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def file_label(file_name: str | None) -> str | None:
    """The file's own name: the ledger's <source>/<file> repeats the source column."""
    return file_name.rsplit("/", 1)[-1] if file_name else file_name


LEDGER_HEADERS = {
    "landed_at": f"landed ({TZ_SHORT})",
    "loaded_at": f"loaded ({TZ_SHORT})",
    "first_seen_at": f"first seen ({TZ_SHORT})",
    "file_mtime": f"file mtime ({TZ_SHORT})",
    "size_bytes": "size",
    "sha256": "sha256 (prefix)",
    "extra_columns": "extra columns",
}


def ledger_cell(column: str, value: Any) -> Any:
    """A load-ledger value as a reader wants it: sizes and mtimes human, hashes short."""
    if value is None:
        return None
    if column == "size_bytes":
        return human_size(int(value))
    if column == "file_mtime":
        return shanghai_from_epoch(float(value))
    if column == "sha256":
        return str(value)[:12]
    if column == "file_name":
        return file_label(value)
    if column == "extra_columns" and isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return value


def reason_text(reason: str | None, file_name: str | None) -> str | None:
    """A ledger reason without the leading '<file>: ' that the file column already shows."""
    if not reason or not file_name:
        return reason
    for prefix in (f"{file_name}: ", f"{file_label(file_name)}: "):
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason
