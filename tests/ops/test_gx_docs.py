"""GX Data Docs as the plugin serves them: offline, and a hostile source value stays text.

A crm_dcc file whose LeadStatus holds a <script> and an <img onerror> goes through the real
ingest and GX (the critical value-set check fails and renders the values into Data Docs); the
plugin app is then served by uvicorn and opened in headless Chromium with every request off
this host aborted. Nothing may run, nothing may leave, and the values must read as written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))
from tests.browser import chromium  # noqa: E402
from tests.ingest.fixtures import good_rows, write_csv  # noqa: E402

PLUGINS = REPO_ROOT / "plugins"
SCRIPT_VALUE = "<script>window.__mp_pwned = 'script'</script>"
IMG_VALUE = "<img src=x onerror=\"window.__mp_pwned = 'img'\">"
D = dt.date(2026, 7, 1)


def test_every_cdn_asset_in_gx_templates_is_vendored_as_recorded() -> None:
    """Each script/stylesheet URL GX's Data Docs templates load is mapped to a local file whose
    bytes are the npm file recorded (sha256); a GX upgrade that adds one fails here."""
    import re

    import great_expectations

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    used = set()
    for template in templates.rglob("*.j2"):
        text = template.read_text()
        used |= set(re.findall(r'src="(https://[^"]+)"', text))
        used |= {u for u in re.findall(r'href="(https://[^"]+)"', text) if u.endswith(".css")}
    assets = PLUGINS / "mp_ops_ui" / "gx_assets"
    records = json.loads((assets / "assets.json").read_text())
    assert used and used <= {r["cdn_url"] for r in records}
    for record in records:
        data = (assets / record["local"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"], record["local"]


@pytest.fixture
def served_site(mp_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Ingest + GX on a hostile crm_dcc file, then the plugin app on a free port (no login)."""
    import uvicorn
    from fastapi import FastAPI
    from matrix_pulse.ingest import run_ingest
    from matrix_pulse.ingest.quality import run_quality
    from matrix_pulse.settings import get_settings

    monkeypatch.setenv("MP_STABLE_SECONDS", "0.05")
    settings = get_settings()
    rows = good_rows("crm_dcc", D, 4)
    rows[0]["LeadStatus"] = SCRIPT_VALUE
    rows[1]["LeadStatus"] = IMG_VALUE
    write_csv(settings.landing_dir, "crm_dcc", D, rows)
    run_ingest(settings)
    report = run_quality(settings)
    assert report.critical_failures, "the unknown LeadStatus values must fail the critical check"

    monkeypatch.syspath_prepend(str(PLUGINS))
    from mp_ops_ui.app import create_app

    parent = FastAPI()
    parent.mount("/matrix-pulse", create_app(require_login=False))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(parent, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_hostile_source_values_never_run_and_read_as_written(served_site: str) -> None:
    import httpx

    index = httpx.get(f"{served_site}/matrix-pulse/gx-docs/")
    assert index.status_code == 200
    assert index.headers["x-content-type-options"] == "nosniff"
    csp = index.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    for cdn in (
        "cdn.jsdelivr.net",
        "unpkg.com",
        "cdnjs.cloudflare.com",
        "bootstrapcdn.com",
        "code.jquery.com",
    ):
        assert f'src="https://{cdn}' not in index.text and f'href="https://{cdn}' not in index.text

    left_the_machine: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        def route(r) -> None:
            if r.request.url.startswith(served_site) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                left_the_machine.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(f"{served_site}/matrix-pulse/gx-docs/")
        listing = page.locator("#section-1-content-block-2-1-body-table tbody tr")
        listing.first.wait_for(timeout=30_000)  # the list needs jQuery + bootstrap-table: served locally
        row = page.locator("#section-1-content-block-2-1-body-table tbody tr", has_text="crm_dcc").first
        row.click()  # GX's rows are links (its own inline script, allowed by hash)
        page.wait_for_load_state("networkidle")
        assert "/validations/" in page.url
        served = httpx.get(page.url).text
        body_text = page.inner_text("body")
        pwned = page.evaluate("window.__mp_pwned === undefined ? null : window.__mp_pwned")
        if os.environ.get("MP_SCREENSHOT_DIR"):  # for a reader to look at: the values shown as text
            page.get_by_text(SCRIPT_VALUE).first.scroll_into_view_if_needed()
            page.screenshot(path=str(Path(os.environ["MP_SCREENSHOT_DIR"]) / "gx_hostile_values_as_text.png"))
        images = page.evaluate("document.querySelectorAll('img[onerror]').length")
        scripts = page.evaluate("[...document.scripts].filter(s => s.text.includes('__mp_pwned')).length")
    assert left_the_machine == []
    assert pwned is None and dialogs == [] and images == 0 and scripts == 0
    assert SCRIPT_VALUE not in served and IMG_VALUE not in served  # never unescaped in the page
    assert SCRIPT_VALUE in body_text and IMG_VALUE in body_text  # shown as written
