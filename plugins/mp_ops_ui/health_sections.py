"""The sections of the health page: problems first (rejected, missing, GX-failed,
set-aside-heavy, late, each with its reason), freshness per source, then the whole load
ledger, each paginated. HTML from render.py; every source value escaped there."""

from __future__ import annotations

from pathlib import Path

from matrix_pulse.settings import get_settings

from . import render as r
from .published import _query, _table_columns

# What the ledger table shows, in this order (docs/interfaces.md); ids and paths stay out.
LEDGER_COLUMNS = (
    "data_date",
    "source",
    "file_name",
    "status",
    "rows_read",
    "rows_loaded",
    "rows_set_aside",
    "reason",
    "extra_columns",
    "landed_at",
    "loaded_at",
    "size_bytes",
    "file_mtime",
    "sha256",
)
FRESHNESS_STATUSES = ("loaded", "missing", "rejected", "gx_failed")
PAGE_SIZE = 100
# A loaded file is listed among the problems when at least this share of its rows was set aside.
SET_ASIDE_HEAVY_SHARE = 0.10


def _pager(total: int, page: int, per_page: int, param: str, filters: dict, other: tuple[str, int]) -> str:
    """'rows a-b of n' and links to the other pages, keeping the filters."""
    from urllib.parse import urlencode

    pages = max(1, -(-total // per_page))
    first, last = (page - 1) * per_page + 1, min(page * per_page, total)
    shown = f"rows {first:,}–{last:,} of {total:,}" if total else "no rows"
    if total > last:
        shown += f" ({total - last:,} more on later pages)"

    def link(n: int, label: str) -> str:
        query = {k: v for k, v in filters.items() if v not in (None, "")}
        query.update({param: n, other[0]: other[1]})
        return f'<a href="?{r.esc(urlencode(query))}">{r.esc(label)}</a>'

    nav = []
    if page > 1:
        nav.append(link(page - 1, "‹ previous 上一页"))
    if page < pages:
        nav.append(link(page + 1, "next 下一页 ›"))
    return f'<p class="pager">{shown} · page {page} of {pages} {" · ".join(nav)}</p>'


def _problems_section(
    path: Path,
    kind: str | None,
    source: str | None,
    page: int,
    per_page: int,
    filters: dict,
    ledger_page: int,
) -> str:
    ledger_cols = set(_table_columns(path, "meta", "load_ledger"))
    fresh_cols = set(_table_columns(path, "meta", "source_freshness"))
    landed = "landed_at" if "landed_at" in ledger_cols else "first_seen_at"
    deadline = "deadline" if "deadline" in fresh_cols else "NULL::TIMESTAMP"
    problems_sql = f"""
        with problems as (
            select 1 as severity,
                   status as kind, source, data_date, file_name, {landed} as landed_at,
                   rows_read, rows_set_aside, reason
            from meta.load_ledger where status in ('rejected', 'gx_failed')
            union all
            select 1, 'missing', source, data_date, null, null, null, null,
                   'no file landed' || coalesce(' by the deadline ' || strftime({deadline}, '%Y-%m-%d %H:%M'), '')
            from meta.source_freshness where status = 'missing'
            union all
            select 2, 'set_aside_heavy', source, data_date, file_name, {landed}, rows_read, rows_set_aside,
                   format('{{:,}} of {{:,}} rows set aside ({{:.1f}}%); the rows and their reasons are in '
                          || 'raw.quarantine', rows_set_aside, rows_read, 100.0 * rows_set_aside / rows_read)
            from meta.load_ledger
            where status = 'loaded' and rows_read > 0 and rows_set_aside >= ? * rows_read
            union all
            select 3, 'late', source, data_date, file_name, landed_at, null, null,
                   'landed ' || strftime(landed_at, '%Y-%m-%d %H:%M')
                   || coalesce(format(', {{:.0f}} h after the deadline ', date_diff('minute', {deadline}, landed_at) / 60.0)
                               || strftime({deadline}, '%Y-%m-%d %H:%M'), '')
            from meta.source_freshness where status = 'loaded' and is_late
        )
        select * from problems
    """
    where, params = [], [SET_ASIDE_HEAVY_SHARE]
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if source:
        where.append("source = ?")
        params.append(source)
    where_sql = f" where {' and '.join(where)}" if where else ""
    _, kind_counts = _query(path, f"select kind, min(severity), count(*) from ({problems_sql}) group by kind "
                            "order by 2", params[:1])  # fmt: skip
    _, total = _query(path, f"select count(*) from ({problems_sql}){where_sql}", params)
    total_n = total[0][0]
    all_n = sum(n for _, _, n in kind_counts)
    cols, rows = _query(
        path,
        f"select kind, data_date, source, file_name, reason, landed_at, rows_read, rows_set_aside "
        f"from ({problems_sql}){where_sql} order by severity, data_date desc, source, kind limit ? offset ?",
        (*params, per_page, (page - 1) * per_page),
    )
    rows = [
        (k, d, src, r.file_label(f), r.reason_text(reason, f), lt, rr, sa)
        for k, d, src, f, reason, lt, rr, sa in rows
    ]
    headers = ["problem 问题", "data date", "source", "file", "reason 原因", f"landed ({r.TZ_SHORT})",
               "rows read", "set aside"]  # fmt: skip
    chips = (
        " ".join(f'<a href="?kind={r.esc(k)}">{r.badge(k)} {n:,}</a>' for k, _, n in kind_counts)
        or '<span class="badge ok">no problems 无问题</span>'
    )
    hidden = all_n - total_n
    filter_note = (
        f' · <b>{hidden:,} hidden by the filter</b> (<a href="?">show all 显示全部</a>)' if hidden else ""
    )
    form = (
        '<form class="filters" method="get">problem <select name="kind"><option value="">all</option>'
        + "".join(
            f'<option value="{r.esc(k)}"{" selected" if k == kind else ""}>{r.esc(k)}</option>'
            for k, _, _ in kind_counts
        )
        + f'</select> source <input name="source" value="{r.esc(source or "")}" size="16"> '
        "<button>filter 筛选</button></form>"
    )
    return (
        "<h2>Problems 问题 (rejected, missing, failed, set-aside-heavy, late)</h2>"
        f"<p>{chips}{filter_note}</p>{form}"
        + _pager(total_n, page, per_page, "page", filters, ("ledger_page", ledger_page))
        + r.table(
            headers,
            rows,
            status_columns=("problem 问题",),
            wide_columns=("reason 原因",),
            nowrap_columns=("source",),
        )
    )


def _freshness_section(path: Path) -> str:
    status_counts = ", ".join(f"count(*) filter (where status = '{st}') as {st}" for st in FRESHNESS_STATUSES)
    cols, rows = _query(
        path,
        f"select source, min(data_date) as first_day, max(data_date) as last_day, {status_counts}, "
        "count(*) filter (where is_late) as late, max(landed_at) as last_landed_at "
        "from meta.source_freshness group by source order by source",
    )
    cols = [f"last landed ({r.TZ_SHORT})" if c == "last_landed_at" else c for c in cols]
    return (
        "<h2>Source freshness 数据源及时性</h2>"
        '<p class="muted">One row per daily source; counts of expected source-days in the loaded range. '
        "Late: landed (or still missing) after the deadline, "
        f"{get_settings().late_after_hours} h after D+1 00:00 {r.TZ_LABEL}.</p>"
        f"{r.table(cols, rows)}"
    )


def _ledger_section(
    path: Path,
    status: str | None,
    source: str | None,
    page: int,
    per_page: int,
    filters: dict,
    problems_page: int,
) -> str:
    available = _table_columns(path, "meta", "load_ledger")
    columns = [c for c in LEDGER_COLUMNS if c in available]
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if source:
        where.append("source = ?")
        params.append(source)
    order = "first_seen_at desc nulls last, file_name" if "first_seen_at" in available else "1"
    select_list = ", ".join(f'"{c}"' for c in columns)
    where_sql = f"where {' and '.join(where)}" if where else ""
    _, total = _query(path, f"select count(*) from meta.load_ledger {where_sql}", params)
    cols, rows = _query(
        path,
        f"select {select_list} from meta.load_ledger {where_sql} order by {order} limit ? offset ?",
        (*params, per_page, (page - 1) * per_page),
    )
    _, counts = _query(path, "select status, count(*) from meta.load_ledger group by status order by 1")
    count_html = " ".join(f"{r.badge(st)} {n:,}" for st, n in counts)
    form = (
        '<form class="filters" method="get">'
        f'status <input name="status" value="{r.esc(status or "")}" size="12"> '
        f'source <input name="source" value="{r.esc(source or "")}" size="16"> '
        "<button>filter 筛选</button></form>"
    )
    shown_rows = [tuple(r.ledger_cell(c, v) for c, v in zip(cols, row, strict=True)) for row in rows]
    if "reason" in cols and "file_name" in cols:
        ri, fi = cols.index("reason"), cols.index("file_name")
        shown_rows = [
            (*shown[:ri], r.reason_text(raw[ri], raw[fi]), *shown[ri + 1 :])
            for shown, raw in zip(shown_rows, rows, strict=True)
        ]
    headers = [r.LEDGER_HEADERS.get(c, c) for c in cols]
    return (
        "<h2>Load ledger 加载台账</h2>"
        f"<p>{count_html}</p>{form}"
        + _pager(total[0][0], page, per_page, "ledger_page", filters, ("page", problems_page))
        + r.table(headers, shown_rows, status_columns=("status",), wide_columns=("reason",))
    )
