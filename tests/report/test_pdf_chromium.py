"""The pack's PDF printer (matrix_pulse.report.chromium): headless Chromium that loads local
files only, one browser per process, and an install hint when Chromium is missing."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from matrix_pulse.report import chromium


@pytest.fixture
def web_server():
    """A local web server that records every request made to it."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"x")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (40, 20), (31, 58, 95)).save(path)
    return path


def test_the_pdf_loads_local_files_and_nothing_from_the_network(tmp_path, web_server) -> None:
    """A URL that slipped into the HTML (an image, a style sheet, a font, a frame, a link
    prefetch, a script's fetch) is never fetched, no script runs; the local chart is printed."""
    import pypdf

    pytest.importorskip("playwright")
    try:
        chromium.chromium_path()
    except chromium.ChromiumMissing:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it as root)")
    url, seen = web_server
    chart = _png(tmp_path / "chart.png")
    html = tmp_path / "page.html"
    html.write_text(
        f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{url}/style.css"><link rel="prefetch" href="{url}/prefetch">
<style>@font-face {{ font-family: "Remote"; src: url("{url}/font.woff2"); }}
body {{ font-family: "Remote", sans-serif; background: url("{url}/bg.png"); }}</style></head>
<body><p>季度复盘</p><img src="{chart.as_uri()}" alt="chart"><img src="{url}/remote.png" alt="remote">
<iframe src="{url}/frame"></iframe>
<p id="js">脚本未启动</p><script>document.getElementById("js").textContent = "SCRIPT RAN";
fetch("{url}/from-script");</script></body></html>""",
        encoding="utf-8",
    )
    pdf = chromium.print_pdf(html, tmp_path / "page.pdf")
    assert seen == []
    page = pypdf.PdfReader(pdf).pages[0]
    text = page.extract_text()
    assert "季度复盘" in text and "脚本未启动" in text and "SCRIPT RAN" not in text
    assert (40, 20) in {img.image.size for img in page.images}  # the local chart is printed


def test_one_browser_serves_every_print_of_the_process_and_asyncio_stays_usable(tmp_path) -> None:
    """The bench renders eight packs in one process: one launch. Playwright's loop lives in
    the printer's own thread, so the caller can still run asyncio (the SMTP client does)."""
    try:
        chromium.chromium_path()
    except chromium.ChromiumMissing:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it as root)")
    html = tmp_path / "p.html"
    html.write_text("<html><body><p>一页</p></body></html>", encoding="utf-8")
    chromium.close()
    for i in range(3):
        chromium.print_pdf(html, tmp_path / f"p{i}.pdf")
        assert asyncio.run(asyncio.sleep(0, "ok")) == "ok"
    assert chromium._printer is not None and chromium._printer.launches == 1
    assert all((tmp_path / f"p{i}.pdf").read_bytes().startswith(b"%PDF") for i in range(3))
    chromium.close()
    chromium.print_pdf(html, tmp_path / "again.pdf")  # closed: the next print launches anew
    assert chromium._printer.launches == 1 and (tmp_path / "again.pdf").exists()


def test_without_chromium_the_error_says_what_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(chromium.shutil, "which", lambda _name: None)
    monkeypatch.setattr(chromium.os, "access", lambda _path, _mode: False)
    html = tmp_path / "p.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(chromium.ChromiumMissing, match="apt-get install -y chromium"):
        chromium.print_pdf(html, tmp_path / "p.pdf")
    assert not (tmp_path / "p.pdf").exists()
