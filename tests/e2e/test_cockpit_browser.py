"""The data team's cockpit after `make demo`, as a new data engineer sees it in headless Chromium.

After the session's demo run (tests/e2e/conftest.py), `scripts/airflow_up.sh` serves the same
Airflow home and MP_HOME; the browser logs in with a token cookie, every request that would
leave the machine is aborted (and recorded), and the test asserts what a user must see: a
task's log line in the Airflow UI, the rejected and missing source-days with their reasons on
the ledger page, the GX Data Docs validation list, and a recipient row on the sent-packs page.
Screenshots (1280 px wide) go to MP_SCREENSHOT_DIR when set, else to the test's tmp folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from matrix_pulse.ops.smtp_sink import free_port

from tests.browser import chromium
from tests.e2e.conftest import expected_days

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cockpit(demo: dict, tmp_path_factory: pytest.TempPathFactory):
    """Airflow (api-server, scheduler, dag-processor, triggerer) on the demo's homes; stopped after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MP_", "AIRFLOW_CONN_SMTP"))}
    env.update(MP_HOME=str(demo["home"]), AIRFLOW_PORT=str(port))
    script = ["bash", "-c", 'source scripts/env.sh && scripts/airflow_up.sh "$0"']
    started = subprocess.run([*script, "start"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                             timeout=400)  # fmt: skip
    try:
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        home = Path(env.get("AIRFLOW_HOME", REPO_ROOT / "airflow_home"))
        password = json.loads((home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
        base = f"http://localhost:{port}"
        token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30)
        assert token.status_code in (200, 201), token.text
        shots = Path(os.environ.get("MP_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
        shots.mkdir(parents=True, exist_ok=True)
        yield {"base": base, "token": token.json()["access_token"], "shots": shots, **demo}
    finally:
        subprocess.run([*script, "stop"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def page(cockpit: dict):
    """A 1280 px page logged in with the token cookie; any request off this host is aborted."""
    left_the_machine: list[str] = []
    with chromium() as browser:
        # the team's browsers are in China: Airflow 3's UI shows times in the browser's zone
        # (it has no server-side default, tests/ops/test_ui_timezone.py), our pages in Asia/Shanghai
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai")
        context.add_cookies([{"name": "_token", "value": cockpit["token"], "url": cockpit["base"]}])

        def route(r) -> None:
            if r.request.url.startswith(cockpit["base"]) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                left_the_machine.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        p = context.new_page()
        yield p
        context.close()
    assert left_the_machine == [], "requests that would have left the machine"


def _api(cockpit: dict, path: str, **params) -> dict:
    headers = {"Authorization": f"Bearer {cockpit['token']}"}
    response = httpx.get(f"{cockpit['base']}{path}", params=params, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_task_log_is_in_the_ui_and_runs_have_real_durations(cockpit: dict, page) -> None:
    runs = _api(cockpit, "/api/v2/dags/mp_ingest/dagRuns", order_by="-start_date", limit=1)["dag_runs"]
    (run,) = runs
    assert run["state"] == "success"
    from datetime import datetime

    took = datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])
    assert took.total_seconds() < 30 * 60, f"a demo ingest run of {took} is not a real duration"
    assert run["start_date"][:10] != run["logical_date"][:10], (
        "start date is the real one, not the logical date"
    )
    page.goto(f"{cockpit['base']}/dags/mp_ingest/runs/{run['dag_run_id']}/tasks/load_landed_files")
    # the loader's own stdout, as the log pane shows it (the latest run finds every file loaded)
    page.get_by_text("already loaded", exact=False).first.wait_for(timeout=90_000)
    assert "Log file not found" not in page.content()
    page.screenshot(path=str(cockpit["shots"] / "airflow_task_log.png"))


def test_ledger_page_lists_rejected_and_missing_days_with_reasons(cockpit: dict, page) -> None:
    page.goto(f"{cockpit['base']}/matrix-pulse/health")
    page.screenshot(path=str(cockpit["shots"] / "ledger_first_screen.png"))
    # the first screen is problems first: rejected and missing before anything merely late
    first_kinds = [
        c.strip() for c in page.locator("table").first.locator("tbody tr td:first-child").all_inner_texts()
    ]
    assert first_kinds and set(first_kinds) <= {"rejected", "missing", "gx_failed"}, first_kinds[:5]
    # five quarters hold more problems than one page: read each kind through the page's own filter
    by_kind: dict[str, dict[tuple[str, str], tuple[str, str]]] = {}
    for kind in ("rejected", "missing"):
        page.goto(f"{cockpit['base']}/matrix-pulse/health?kind={kind}&per_page=1000")
        rows = page.locator("table").first.locator("tbody tr")
        for i in range(rows.count()):
            cells = rows.nth(i).locator("td").all_inner_texts()
            row_kind, day, source, file_name, reason = (c.strip() for c in cells[:5])
            by_kind.setdefault(row_kind, {})[(source, day)] = (file_name, reason)
    # the demo pulls: an API day answered truncated is missing (a failed pull), not rejected
    expected = expected_days(cockpit["manifest"])
    rejected, missing = expected["rejected"], expected["missing"]
    assert {k: v[0] for k, v in by_kind.get("rejected", {}).items()} == rejected
    assert all(reason for _, reason in by_kind["rejected"].values()), "every rejected file says why"
    assert set(by_kind.get("missing", {})) == missing
    assert all("no file landed" in reason for _, reason in by_kind["missing"].values())
    text = page.inner_text("body")
    assert "Asia/Shanghai (UTC+8)" in text
    # the page fits its frame: nothing wider than the 1280 px viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_gx_data_docs_show_the_validations_offline(cockpit: dict, page) -> None:
    page.goto(f"{cockpit['base']}/matrix-pulse/gx-docs/")
    validations = page.locator("#section-1-content-block-2-1-body-table tbody tr")
    validations.first.wait_for(timeout=30_000)
    assert validations.count() >= 10
    assert "raw.crm_dcc" in page.inner_text("#section-1-content-block-2-1-body-table")
    page.screenshot(path=str(cockpit["shots"] / "gx_data_docs_offline.png"))


def test_sent_packs_show_each_recipient(cockpit: dict, page) -> None:
    page.goto(f"{cockpit['base']}/matrix-pulse/packs")
    row = page.locator("tr", has_text="cmo@example.com").first
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "hq" and cells[2] == "2026Q3" and cells[4] == "sent"
    assert cells[7].startswith("<mp.2026Q3.hq.i1.")
    assert row.locator("a", has_text="PDF").count() == 1
    page.screenshot(path=str(cockpit["shots"] / "sent_packs.png"))


def test_late_means_late(demo: dict) -> None:
    """The simulator stamps each file with its contract landing time (mtime): the source-days
    judged late are exactly the late and re-delivered ones, not every day of the backfill."""
    import duckdb

    daily = {f["source"] for f in demo["manifest"]["files"] if f["source"] not in
             ("matrix_roster", "dealers", "campaigns", "creator_costs")}  # fmt: skip
    sent_late = {
        (f["source"], f["data_date"])
        for f in demo["manifest"]["files"]
        if f["final"] and not f["rejected"] and f["source"] in daily
        and {"late_file", "redelivered_file"} & set(f["file_defects"])
    }  # fmt: skip
    with duckdb.connect(str(demo["published"]), read_only=True) as con:
        judged_late = {
            (source, day.isoformat())
            for source, day in con.execute(
                "select source, data_date from meta.source_freshness where status = 'loaded' and is_late"
            ).fetchall()
        }
        landed = con.execute(
            "select min(landed_at), max(landed_at) from meta.load_ledger where status = 'loaded'"
        ).fetchone()
    assert sent_late and judged_late == sent_late
    # landing times are the simulated ones (Asia/Shanghai), not the day the demo ran
    from datetime import date, timedelta

    days = [date.fromisoformat(f["data_date"]) for f in demo["manifest"]["files"]]
    assert min(days) < landed[0].date() and landed[1].date() <= max(days) + timedelta(days=10)
