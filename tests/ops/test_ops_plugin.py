"""The Matrix Pulse plugin: pages render from real files and a real read-only DuckDB.

The app is mounted under /matrix-pulse in a bare FastAPI parent (as the api-server does),
without Airflow's login dependency; tests/ops/test_ops_airflow_up.py covers the login.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

PLUGINS = REPO_ROOT / "plugins"


@pytest.fixture
def client(mp_home: Path, monkeypatch: pytest.MonkeyPatch):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    monkeypatch.syspath_prepend(str(PLUGINS))
    from mp_ops_ui.app import create_app

    parent = FastAPI()
    parent.mount("/matrix-pulse", create_app(require_login=False))
    with TestClient(parent) as test_client:
        yield test_client


def _publish(mp_home: Path) -> Path:
    import duckdb
    from matrix_pulse.settings import get_settings

    path = get_settings().published_path
    path.parent.mkdir(parents=True)
    con = duckdb.connect(str(path))
    con.execute("create schema meta")
    con.execute(
        "create table meta.load_ledger (file_id varchar, source varchar, data_date date, file_name varchar,"
        " archive_path varchar, size_bytes bigint, sha256 varchar, rows_read integer, rows_loaded integer,"
        " rows_set_aside integer, status varchar, reason varchar, extra_columns varchar,"
        " first_seen_at timestamp, loaded_at timestamp, replaced_by varchar)"
    )
    con.execute(
        "insert into meta.load_ledger values"
        " ('f1', 'douyin_posts', '2026-07-01', 'douyin_posts_20260701.xlsx', '/a/f1', 1024, 'ab'||repeat('0',62),"
        "  120, 118, 2, 'loaded', null, null, '2026-07-02 08:00', '2026-07-02 08:01', null),"
        " ('f2', 'weibo_posts', '2026-07-01', 'weibo_posts_20260701.csv', '/a/f2', 10, 'cd'||repeat('0',62),"
        "  0, 0, 0, 'rejected', 'header row not found', null, '2026-07-02 09:00', null, null)"
    )
    con.execute(
        "create table meta.source_freshness (source varchar, data_date date, status varchar,"
        " file_name varchar, landed_at timestamp, is_late boolean)"
    )
    con.execute(
        "insert into meta.source_freshness values"
        " ('douyin_posts', '2026-07-01', 'loaded', 'douyin_posts_20260701.xlsx', '2026-07-02 08:00', false),"
        " ('weibo_posts', '2026-07-01', 'rejected', 'weibo_posts_20260701.csv', '2026-07-02 09:00', false),"
        " ('weibo_posts', '2026-07-02', 'missing', null, null, true)"
    )
    con.close()
    return path


def test_health_says_not_published_before_the_first_build(client) -> None:
    page = client.get("/matrix-pulse/health")
    assert page.status_code == 200
    assert "Not published yet" in page.text and "尚未发布" in page.text


def test_health_renders_ledger_and_freshness_read_only(client, mp_home: Path) -> None:
    import duckdb

    path = _publish(mp_home)
    page = client.get("/matrix-pulse/health")
    assert page.status_code == 200, page.text
    for expected in ("douyin_posts_20260701.xlsx", "header row not found", "missing", "rejected", "加载台账"):
        assert expected in page.text
    assert "ab0000000000" in page.text and "ab" + "0" * 62 not in page.text  # sha256 shortened
    assert 'href="/matrix-pulse/packs"' in page.text  # links follow the mount path

    filtered = client.get("/matrix-pulse/health", params={"status": "rejected"})
    assert "weibo_posts_20260701.csv" in filtered.text and "douyin_posts_20260701.xlsx" not in filtered.text
    # Closed after the request: a writer can take the file again (DuckDB allows one writer).
    duckdb.connect(str(path)).close()


def test_packs_are_listed_and_downloadable(client, mp_home: Path) -> None:
    pack = mp_home / "outputs" / "packs" / "2026Q3" / "华东大区" / "matrix_pulse_2026Q3_华东.pdf"
    pack.parent.mkdir(parents=True)
    pack.write_bytes(b"%PDF-1.7 test pack")
    listing = client.get("/matrix-pulse/packs")
    assert "2026Q3" in listing.text and "华东大区" in listing.text
    download = client.get("/matrix-pulse/packs/files/2026Q3/华东大区/matrix_pulse_2026Q3_华东.pdf")
    assert download.status_code == 200 and download.content == b"%PDF-1.7 test pack"
    assert "attachment" in download.headers["content-disposition"]
    assert client.get("/matrix-pulse/packs/files/2026Q3/..%2F..%2F..%2Fstate/x/y").status_code == 404


def test_dbt_docs_are_served_as_is(client, mp_home: Path) -> None:
    assert client.get("/matrix-pulse/dbt-docs/").status_code == 404  # not generated: a clear page
    target = mp_home / "dbt_target" / "docs"
    target.mkdir(parents=True)
    (target / "index.html").write_text("<html>dbt docs index</html>")
    manifest = json.dumps({"nodes": {"model.matrix_pulse.fct_leads": {}}})
    (target / "manifest.json").write_text(manifest)
    (target / "catalog.json").write_text("{}")
    (target / "run_results.json").write_text("{}")
    assert client.get("/matrix-pulse/dbt-docs/").text == "<html>dbt docs index</html>"
    assert client.get("/matrix-pulse/dbt-docs/manifest.json").text == manifest
    assert client.get("/matrix-pulse/dbt-docs/catalog.json").status_code == 200
    assert client.get("/matrix-pulse/dbt-docs/run_results.json").status_code == 404
    redirect = client.get("/matrix-pulse/dbt-docs", follow_redirects=False)
    assert redirect.status_code in (302, 307) and redirect.headers["location"].endswith(
        "/matrix-pulse/dbt-docs/"
    )


def test_gx_data_docs_are_served_from_the_local_site(client, mp_home: Path) -> None:
    site = mp_home / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
    (site / "validations").mkdir(parents=True)
    (site / "index.html").write_text("<html>GX index</html>")
    (site / "validations" / "run.html").write_text("<html>one run</html>")
    assert client.get("/matrix-pulse/gx-docs/").text == "<html>GX index</html>"
    assert client.get("/matrix-pulse/gx-docs/validations/run.html").text == "<html>one run</html>"
    assert client.get("/matrix-pulse/gx-docs/../../secrets/pii_hmac.key").status_code == 404


def test_overview_links_every_page(client) -> None:
    page = client.get("/matrix-pulse/")
    assert page.status_code == 200
    for href in (
        "/matrix-pulse/health",
        "/matrix-pulse/packs",
        "/matrix-pulse/dbt-docs/",
        "/matrix-pulse/gx-docs/",
    ):
        assert f'href="{href}"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no external assets


def test_airflow_loads_the_plugin_cheaply(tmp_path: Path) -> None:
    """Airflow finds the plugin (and skips the UI package); importing it loads no FastAPI/DuckDB."""
    code = (
        "import sys, json, time\n"
        "t = time.perf_counter()\n"
        "from airflow import plugins_manager as pm\n"
        "pm.ensure_plugins_loaded()\n"
        "plugins, errors = pm._get_plugins()\n"
        "ours = [p for p in plugins if p.name == 'matrix_pulse_ops']\n"
        "views, _ = pm._get_ui_plugins()\n"
        "print(json.dumps({'errors': errors, 'found': len(ours),\n"
        "  'views': [v['url_route'] for v in views],\n"
        "  'apps': [a['url_prefix'] for a in pm.get_fastapi_plugins()[0]],\n"
        "  'heavy': [m for m in ('duckdb', 'mp_ops_ui.app', 'app') if m in sys.modules]}))\n"
    )
    env = {
        "PATH": str(REPO_ROOT / ".venv" / "bin"),
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow.db",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["errors"] == {} and info["found"] == 1
    assert "matrix-pulse-health" in info["views"] and "/matrix-pulse" in info["apps"]
    assert info["heavy"] == []


def test_plugin_module_imports_nothing_heavy() -> None:
    # plugins/ is on sys.path in every Airflow component, as here. The CSRF guard
    # (mp_ops_ui.api_guard, stdlib only) must load with the plugin; the page code must not.
    code = (
        "import sys, runpy; sys.path.insert(0, sys.argv[2]); runpy.run_path(sys.argv[1]);"
        "print(sorted(m for m in sys.modules if m in ('fastapi', 'starlette', 'duckdb')"
        " or (m.startswith('mp_ops_ui.') and m != 'mp_ops_ui.api_guard')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(PLUGINS / "matrix_pulse_ops_plugin.py"), str(PLUGINS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_problems_come_first_with_reasons_and_nothing_is_cut_silently(client, mp_home: Path) -> None:
    import duckdb

    path = _publish(mp_home)
    con = duckdb.connect(str(path))
    con.execute("alter table meta.source_freshness add column deadline timestamp")
    # 130 late source-days: more than a page, so the page must say how many are on later pages
    con.execute(
        "insert into meta.source_freshness select 'kuaishou_posts', date '2026-07-01' + i::int, 'loaded',"
        " 'kuaishou_posts_x.csv', date '2026-07-05' + i::int + interval 10 hour, true,"
        " date '2026-07-03' + i::int + interval 6 hour from range(130) t(i)"
    )
    con.close()
    page = client.get("/matrix-pulse/health")
    assert page.status_code == 200, page.text
    problems = page.text.split("Problems 问题", 1)[1].split("Source freshness", 1)[0]
    # rejected and missing lead the list, each reason on its own row
    assert problems.index("weibo_posts_20260701.csv") < problems.index("kuaishou_posts_x.csv")
    assert "header row not found" in problems and "no file landed" in problems
    assert "rows 1–100 of 132 (32 more on later pages)" in problems
    assert "52 h after the deadline" in problems  # landed D+4 10:00, deadline D+2 06:00
    second = client.get("/matrix-pulse/health", params={"page": 2})
    assert "rows 101–132 of 132" in second.text
    only_missing = client.get("/matrix-pulse/health", params={"kind": "missing"})
    assert "131 hidden by the filter" in only_missing.text
    assert "Asia/Shanghai (UTC+8)" in page.text and "1.0 KiB" in page.text


def test_sent_packs_join_the_send_ledger_and_tolerate_new_columns(client, mp_home: Path) -> None:
    import sqlite3

    from matrix_pulse.report.ledger import SendLedger, ledger_path

    ledger = SendLedger()
    sent = ledger.record_attempt("2026Q3", "hq", "cmo@example.com", 1, "run-1")
    ledger.mark_sent(sent)
    failed = ledger.record_attempt("2026Q3", "hq", "ops@example.com", 1, "run-1")
    ledger.mark_failed(failed, "550 mailbox unavailable")
    with sqlite3.connect(ledger_path()) as con:  # a column a later ledger adds (per-recipient retries)
        con.execute("alter table sends add column retry_of text")
    pack = mp_home / "outputs" / "packs" / "2026Q3" / "hq" / "MatrixPulse_2026Q3_hq_issue1.pdf"
    pack.parent.mkdir(parents=True)
    pack.write_bytes(b"%PDF-1.7 test pack")

    page = client.get("/matrix-pulse/packs")
    assert page.status_code == 200, page.text
    rows = {row.split("</td>")[1]: row for row in page.text.split("<tr>")[1:] if "@example.com" in row}
    cmo = rows['<td class="nowrap">cmo@example.com']
    assert "2026Q3" in cmo and ">sent<" in cmo and "&lt;mp.2026Q3.hq.i1." in cmo
    assert 'href="/matrix-pulse/packs/files/2026Q3/hq/MatrixPulse_2026Q3_hq_issue1.pdf"' in cmo
    ops = rows['<td class="nowrap">ops@example.com']
    assert ">failed<" in ops and "550 mailbox unavailable" in ops
