"""The FastAPI app behind the Matrix Pulse pages in the Airflow UI.

- ``/``            overview: what exists (published DB, dbt docs, Data Docs, packs)
- ``/health``      meta.load_ledger and meta.source_freshness from the published DuckDB
- ``/packs``       the archive of sent packs, downloadable
- ``/dbt-docs/``   dbt's static docs site (index.html, manifest.json, catalog.json) as-is
- ``/gx-docs/``    Great Expectations Data Docs (local_site) as-is

The published DuckDB is opened read-only for each request and closed again: the pipeline
replaces that file atomically after every build, and a connection held across requests
would keep reading the old, unlinked copy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from matrix_pulse.settings import Settings, get_settings

from . import render as r

DBT_DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
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
    "first_seen_at",
    "loaded_at",
    "replaced_by",
    "size_bytes",
    "sha256",
)
FRESHNESS_STATUSES = ("loaded", "missing", "rejected", "gx_failed")


def gx_site_dir(settings: Settings) -> Path:
    """Where the ingest's GX file context renders Data Docs (one definition, in settings)."""
    return settings.gx_data_docs_dir


def packs_dir(settings: Settings) -> Path:
    return settings.outputs_dir / "packs"


def _root(request: Request) -> str:
    # The mount path (e.g. /matrix-pulse, behind any base_url prefix): links stay valid.
    return str(request.scope.get("root_path", "")).rstrip("/")


def _safe_file(base: Path, relative: str) -> Path:
    """``base/relative`` if it is a file inside ``base``; 404 otherwise (no ../ escapes)."""
    base = base.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"not found: {relative}")
    return target


class NotPublished(Exception):
    """The published DuckDB (or the meta tables in it) does not exist yet."""


def _query(path: Path, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
    import duckdb  # only the api-server pays for it, and only on these pages

    if not path.exists():
        raise NotPublished(f"{path} does not exist yet")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:  # e.g. half-written by a build that crashed
        raise NotPublished(f"{path} cannot be opened: {exc}") from exc
    try:
        cursor = con.execute(sql, list(params))
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
    except duckdb.CatalogException as exc:
        raise NotPublished(f"{path} has no such table yet: {exc}") from exc
    finally:
        con.close()


def _table_columns(path: Path, schema: str, name: str) -> list[str]:
    _, rows = _query(
        path,
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        (schema, name),
    )
    if not rows:
        raise NotPublished(f"{schema}.{name} is not in {path}")
    return [row[0] for row in rows]


def _not_published_html(settings: Settings, reason: str) -> str:
    return r.notice(
        "<b>Not published yet 尚未发布.</b> The load ledger and freshness come from the published "
        f"read-only DuckDB <code>{r.esc(settings.published_path)}</code>, which the pipeline writes "
        "after its first successful build. Run the ingest and dbt DAGs (or <code>make demo</code>)."
        f'<br><span class="muted">{r.esc(reason)}</span>'
    )


# --- pages -------------------------------------------------------------------------------


def overview(request: Request) -> HTMLResponse:
    s = get_settings()
    root = _root(request)
    published = s.published_path
    cards = [
        (
            "Load ledger & freshness",
            root + "/health",
            f"published DB: {'yes' if published.exists() else 'not yet 尚未发布'}",
        ),
        ("Sent packs 报告归档", root + "/packs", f"{len(_pack_files(s))} files"),
        (
            "dbt docs",
            root + "/dbt-docs/",
            "built" if (s.dbt_docs_dir / "index.html").exists() else "not generated yet 尚未生成",
        ),
        (
            "GX Data Docs",
            root + "/gx-docs/",
            "built" if (gx_site_dir(s) / "index.html").exists() else "not built yet 尚未生成",
        ),
    ]
    cards_html = "".join(
        f'<div class="card"><h3><a href="{r.esc(href)}">{r.esc(title)}</a></h3>'
        f'<div class="muted">{r.esc(note)}</div></div>'
        for title, href, note in cards
    )
    body = f'<div class="cards">{cards_html}</div>'
    return HTMLResponse(r.page("Matrix Pulse operations 运营看板", body, root, f"MP_HOME = {r.esc(s.home)}"))


def health(
    request: Request,
    status: str | None = Query(default=None, max_length=40),
    source: str | None = Query(default=None, max_length=80),
    limit: int = Query(default=200, ge=1, le=5000),
) -> HTMLResponse:
    s = get_settings()
    root = _root(request)
    path = s.published_path
    try:
        ledger_html = _ledger_section(path, status, source, limit)
        freshness_html = _freshness_section(path)
    except NotPublished as exc:
        return HTMLResponse(
            r.page("Load ledger & freshness 加载与及时性", _not_published_html(s, str(exc)), root)
        )
    published_at = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    subtitle = f"from {r.esc(path.name)} (published {published_at}, read-only)"
    return HTMLResponse(
        r.page("Load ledger & freshness 加载与及时性", freshness_html + ledger_html, root, subtitle)
    )


def _freshness_section(path: Path) -> str:
    status_counts = ", ".join(f"count(*) filter (where status = '{st}') as {st}" for st in FRESHNESS_STATUSES)
    cols, rows = _query(
        path,
        f"select source, min(data_date) as first_day, max(data_date) as last_day, {status_counts}, "
        "count(*) filter (where is_late) as late, max(landed_at) as last_landed_at "
        "from meta.source_freshness group by source order by source",
    )
    summary = r.table(cols, rows)
    pcols, problems = _query(
        path,
        "select data_date, source, status, is_late, file_name, landed_at from meta.source_freshness "
        "where status <> 'loaded' or is_late order by data_date desc, source limit 500",
    )
    return (
        "<h2>Source freshness 数据源及时性</h2>"
        '<p class="muted">One row per expected source-day in the loaded range.</p>'
        f"{summary}"
        "<h2>Missing, rejected, failed or late source-days 缺失/拒收/校验失败/迟到</h2>"
        f"{r.table(pcols, problems, status_columns=('status',))}"
    )


def _ledger_section(path: Path, status: str | None, source: str | None, limit: int) -> str:
    available = _table_columns(path, "meta", "load_ledger")
    # The contract's order first (docs/interfaces.md), anything newer after it.
    columns = [c for c in LEDGER_COLUMNS if c in available] + [
        c for c in available if c not in LEDGER_COLUMNS and c not in ("archive_path", "file_id")
    ]
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if source:
        where.append("source = ?")
        params.append(source)
    order = "first_seen_at desc nulls last" if "first_seen_at" in available else "1"
    select_list = ", ".join(f'"{c}"' for c in columns)
    where_sql = f"where {' and '.join(where)}" if where else ""
    cols, rows = _query(
        path,
        f"select {select_list} from meta.load_ledger {where_sql} order by {order} limit ?",
        (*params, limit),
    )
    _, counts = _query(path, "select status, count(*) from meta.load_ledger group by status order by 1")
    count_html = " ".join(f"{r.badge(st)} {n:,}" for st, n in counts)
    form = (
        '<form class="filters" method="get">'
        f'status <input name="status" value="{r.esc(status or "")}" size="14"> '
        f'source <input name="source" value="{r.esc(source or "")}" size="18"> '
        f'limit <input name="limit" value="{limit}" size="5"> <button>filter 筛选</button></form>'
    )
    if "sha256" in cols:  # a prefix is enough to tell files apart on screen
        i = cols.index("sha256")
        rows = [(*row[:i], (row[i] or "")[:12], *row[i + 1 :]) for row in rows]
    return (
        "<h2>Load ledger 加载台账</h2>"
        f"<p>{count_html}</p>{form}"
        f"{r.table(cols, rows, status_columns=('status',))}"
    )


def _pack_files(s: Settings) -> list[Path]:
    base = packs_dir(s)
    if not base.is_dir():
        return []
    return sorted((p for p in base.glob("*/*/*") if p.is_file()), key=lambda p: p.relative_to(base).parts)


def packs(request: Request) -> HTMLResponse:
    s = get_settings()
    root = _root(request)
    base = packs_dir(s)
    files = _pack_files(s)
    if not files:
        body = r.notice(
            f"No packs archived yet 暂无归档. The report DAG archives every sent pack under "
            f"<code>{r.esc(base)}/&lt;quarter&gt;/&lt;audience&gt;/</code>."
        )
        return HTMLResponse(r.page("Sent packs 报告归档", body, root))
    sections: list[str] = []
    quarters = sorted({p.relative_to(base).parts[0] for p in files}, reverse=True)
    for quarter in quarters:
        rows = []
        for p in files:
            q, audience, name = p.relative_to(base).parts
            if q != quarter:
                continue
            href = f"{root}/packs/files/{q}/{audience}/{name}"
            stat = p.stat()
            rows.append(
                f'<tr><td>{r.esc(audience)}</td><td><a href="{r.esc(href)}" download>{r.esc(name)}</a></td>'
                f'<td class="num">{r.esc(r.human_size(stat.st_size))}</td>'
                f"<td>{dt.datetime.fromtimestamp(stat.st_mtime):%Y-%m-%d %H:%M}</td></tr>"
            )
        sections.append(
            f"<h2>{r.esc(quarter)}</h2><table><thead><tr><th>audience 受众</th><th>file 文件</th>"
            f"<th>size</th><th>archived 归档时间</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return HTMLResponse(r.page("Sent packs 报告归档", "".join(sections), root, r.esc(str(base))))


def pack_file(quarter: str, audience: str, name: str) -> FileResponse:
    s = get_settings()
    target = _safe_file(packs_dir(s), f"{quarter}/{audience}/{name}")
    return FileResponse(target, filename=target.name)


def dbt_docs(request: Request, name: str = "") -> Any:
    s = get_settings()
    if name == "":
        if not (s.dbt_docs_dir / "index.html").exists():
            body = r.notice(
                "dbt docs are not generated yet 尚未生成. The dbt DAG runs <code>dbt docs generate</code> "
                f"into <code>{r.esc(s.dbt_docs_dir)}</code>."
            )
            return HTMLResponse(r.page("dbt docs", body, _root(request)), status_code=404)
        name = "index.html"
    if name not in DBT_DOCS_FILES:  # the target dir also holds compiled SQL and run results
        raise HTTPException(status_code=404, detail=f"not served: {name}")
    return FileResponse(_safe_file(s.dbt_docs_dir, name))


def gx_docs(request: Request, path: str = "") -> Any:
    """GX Data Docs, rewritten when served: local assets, escaped source values, strict CSP (gx_docs.py)."""
    from . import gx_docs as gx

    s = get_settings()
    site = gx_site_dir(s)
    base = _root(request) + "/gx-docs"
    if path.startswith(gx.VENDOR_PREFIX + "/"):
        asset = _safe_file(gx.ASSETS_DIR, path.removeprefix(gx.VENDOR_PREFIX + "/"))
        return FileResponse(asset, headers=gx.SECURITY_HEADERS)
    if path in ("", "/"):
        if not (site / "index.html").exists():
            body = r.notice(
                "GX Data Docs are not built yet 尚未生成. The ingest's validations build them into "
                f"<code>{r.esc(site)}</code>."
            )
            return HTMLResponse(r.page("GX Data Docs", body, _root(request)), status_code=404)
        path = "index.html"
    target = _safe_file(site, path)
    if target.suffix.lower() not in (".html", ".htm"):
        return FileResponse(target, headers=gx.SECURITY_HEADERS)
    evidence = gx.validation_json_for(site.resolve(), target)
    values = gx.source_values_with_markup(evidence) if evidence else []
    # Relative links inside the page resolve against its own folder; the asset URLs are absolute.
    text, csp = gx.rewrite_page(target.read_text(encoding="utf-8", errors="replace"), base, values)
    return HTMLResponse(text, headers={**gx.SECURITY_HEADERS, "Content-Security-Policy": csp})


def _with_slash(request: Request) -> RedirectResponse:
    return RedirectResponse(str(request.scope["path"]) + "/")


def create_app(require_login: bool = True) -> FastAPI:
    """The app the plugin mounts at /matrix-pulse.

    ``require_login`` adds Airflow's own authentication (the UI's JWT cookie or a bearer
    token): plugin apps are not protected by default, and the ledger and packs are not for
    anyone who can reach the port. Tests of the pages alone switch it off.
    """
    dependencies = []
    if require_login:
        from airflow.api_fastapi.core_api.security import requires_authenticated

        dependencies.append(Depends(requires_authenticated()))
    app = FastAPI(
        title="Matrix Pulse operations",
        dependencies=dependencies,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_api_route("/", overview, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/health", health, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/packs", packs, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/packs/files/{quarter}/{audience}/{name}", pack_file, methods=["GET"])
    # Relative links inside index.html (manifest.json, static/...) need the trailing slash.
    app.add_api_route("/dbt-docs", _with_slash, methods=["GET"])
    app.add_api_route("/dbt-docs/", dbt_docs, methods=["GET"])
    app.add_api_route("/dbt-docs/{name}", dbt_docs, methods=["GET"])
    app.add_api_route("/gx-docs", _with_slash, methods=["GET"])
    app.add_api_route("/gx-docs/{path:path}", gx_docs, methods=["GET"])
    return app
