"""The FastAPI app behind the Matrix Pulse pages in the Airflow UI.

- ``/``            overview: what exists (published DB, dbt docs, Data Docs, packs)
- ``/health``      problems first (rejected, missing, GX-failed, set-aside-heavy, late, each with
                   its reason), freshness per source, then the whole load ledger; paginated
- ``/packs``       every send from the send ledger (recipient, issue, Message-ID, state, time)
                   with links to the archived pack, then the archived files
- ``/dbt-docs/``   dbt's static docs site (index.html, manifest.json, catalog.json) as-is
- ``/gx-docs/``    Great Expectations Data Docs, rewritten when served (gx_docs.py): assets from
                   the project's install, source values escaped, strict Content-Security-Policy

Every time shown is Asia/Shanghai and says so (render.TZ_LABEL).

The published DuckDB is opened read-only for each request and closed again: the pipeline
replaces that file atomically after every build, and a connection held across requests
would keep reading the old, unlinked copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from matrix_pulse.settings import Settings, get_settings

from . import render as r
from .health_sections import (  # noqa: F401  tests read the page's limits as app.<NAME>
    FRESHNESS_STATUSES,
    LEDGER_COLUMNS,
    PAGE_SIZE,
    SET_ASIDE_HEAVY_SHARE,
    _freshness_section,
    _ledger_section,
    _problems_section,
)
from .published import NotPublished, _query, _table_columns  # noqa: F401

DBT_DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


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
    kind: str | None = Query(default=None, max_length=40),
    status: str | None = Query(default=None, max_length=40),
    source: str | None = Query(default=None, max_length=80),
    page: int = Query(default=1, ge=1, le=100_000),
    ledger_page: int = Query(default=1, ge=1, le=100_000),
    per_page: int = Query(default=PAGE_SIZE, ge=10, le=1000),
) -> HTMLResponse:
    """Problems first (each with its reason), then freshness per source, then the whole ledger.

    Every list is paginated with the count of what is on other pages or filtered out; nothing
    is cut silently. Every time is Asia/Shanghai, the zone the contract and the ledger use.
    """
    s = get_settings()
    root = _root(request)
    path = s.published_path
    title = "Load ledger & freshness 加载与及时性"
    filters = {"kind": kind, "status": status, "source": source, "per_page": per_page}
    try:
        problems_html = _problems_section(path, kind, source, page, per_page, filters, ledger_page)
        freshness_html = _freshness_section(path)
        ledger_html = _ledger_section(path, status, source, ledger_page, per_page, filters, page)
    except NotPublished as exc:
        return HTMLResponse(r.page(title, _not_published_html(s, str(exc)), root))
    published_at = r.shanghai_from_epoch(path.stat().st_mtime)
    subtitle = (
        f"from {r.esc(path.name)} (published {published_at} {r.TZ_LABEL}, read-only) · all times {r.TZ_LABEL}"
    )
    return HTMLResponse(r.page(title, problems_html + freshness_html + ledger_html, root, subtitle))


def _pack_files(s: Settings) -> list[Path]:
    base = packs_dir(s)
    if not base.is_dir():
        return []
    return sorted((p for p in base.glob("*/*/*") if p.is_file()), key=lambda p: p.relative_to(base).parts)


def send_ledger_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of the send ledger's ``sends`` table as a dict, newest first.

    Read-only, by column name: the report owns the ledger (matrix_pulse.report.ledger) and may
    add columns (per-recipient retries); a column this page does not know is simply not shown.
    """
    import sqlite3

    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        cursor = con.execute("select * from sends")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except sqlite3.OperationalError:  # no sends table yet
        return []
    finally:
        con.close()
    when = lambda row: row.get("sent_at") or row.get("last_attempt_at") or row.get("first_attempt_at") or ""  # noqa: E731
    return sorted(
        rows, key=lambda row: (when(row), row.get("audience") or "", row.get("recipient") or ""), reverse=True
    )


def _pack_links(root: str, base: Path, quarter: str, audience: str, issue: Any) -> str:
    """Links to the archived pack of one issue (PDF, XLSX, HTML), escaped."""
    folder = base / quarter / audience
    links = []
    for suffix, label in ((".pdf", "PDF"), (".xlsx", "XLSX"), (".html", "HTML")):
        for f in sorted(folder.glob(f"*_issue{issue}{suffix}")) if folder.is_dir() else []:
            href = f"{root}/packs/files/{quarter}/{audience}/{f.name}"
            links.append(f'<a href="{r.esc(href)}" download title="{r.esc(f.name)}">{label}</a>')
    return " · ".join(links) or '<span class="muted">not archived</span>'


def packs(request: Request) -> HTMLResponse:
    s = get_settings()
    root = _root(request)
    base = packs_dir(s)
    ledger = s.state_dir / "send_ledger.sqlite"
    sends = send_ledger_rows(ledger)
    files = _pack_files(s)
    if not files and not sends:
        body = r.notice(
            f"No packs archived yet 暂无归档. The report DAG archives every sent pack under "
            f"<code>{r.esc(base)}/&lt;quarter&gt;/&lt;audience&gt;/</code> and records each send in "
            f"<code>{r.esc(ledger)}</code>."
        )
        return HTMLResponse(r.page("Sent packs 报告归档", body, root))
    headers = ["audience 受众", "recipient 收件人", "quarter", "issue", "state 状态", f"time ({r.TZ_SHORT})",
               "attempts", "Message-ID", "last error", "pack 报告"]  # fmt: skip
    rows = [
        (
            row.get("audience"),
            row.get("recipient"),
            row.get("quarter"),
            row.get("issue"),
            row.get("status"),
            r.shanghai_from_iso(
                row.get("sent_at") or row.get("last_attempt_at") or row.get("first_attempt_at")
            ),
            row.get("attempts"),
            row.get("message_id"),
            row.get("last_error"),
            _pack_links(root, base, str(row.get("quarter")), str(row.get("audience")), row.get("issue")),
        )
        for row in sends
    ]
    states = {}
    for row in sends:
        states[row.get("status")] = states.get(row.get("status"), 0) + 1
    counts = " ".join(
        f"{r.badge(str(st))} {n:,}" for st, n in sorted(states.items(), key=lambda kv: str(kv[0]))
    )
    sections = [
        "<h2>Sends 发送记录</h2>"
        f'<p>{counts} <span class="muted">one row per recipient and issue, from the send ledger '
        f"<code>{r.esc(ledger.name)}</code>; time = sent, or the last attempt when not sent</span></p>"
        + r.table(
            headers,
            rows,
            status_columns=("state 状态",),
            raw_html_columns=("pack 报告",),
            nowrap_columns=("recipient 收件人", f"time ({r.TZ_SHORT})", "pack 报告"),
        )
    ]
    quarters = sorted({p.relative_to(base).parts[0] for p in files}, reverse=True)
    for quarter in quarters:
        file_rows = []
        for p in files:
            q, audience, name = p.relative_to(base).parts
            if q != quarter:
                continue
            href = f"{root}/packs/files/{q}/{audience}/{name}"
            stat = p.stat()
            file_rows.append(
                f'<tr><td>{r.esc(audience)}</td><td><a href="{r.esc(href)}" download>{r.esc(name)}</a></td>'
                f'<td class="num">{r.esc(r.human_size(stat.st_size))}</td>'
                f'<td class="nowrap">{r.shanghai_from_epoch(stat.st_mtime)}</td></tr>'
            )
        sections.append(
            f'<h2>Archived files 归档文件 {r.esc(quarter)}</h2><div class="scroll"><table><thead><tr>'
            f"<th>audience 受众</th><th>file 文件</th><th>size</th><th>archived 归档时间 ({r.TZ_SHORT})</th>"
            f"</tr></thead><tbody>{''.join(file_rows)}</tbody></table></div>"
        )
    subtitle = f"{r.esc(str(base))} · all times {r.TZ_LABEL}"
    return HTMLResponse(r.page("Sent packs 报告归档", "".join(sections), root, subtitle))


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
