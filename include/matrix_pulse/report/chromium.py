"""Print the pack's HTML to PDF with headless Chromium (Debian's /usr/bin/chromium, via Playwright).

Chromium lays out and prints a pack about four times faster than WeasyPrint did (issue 17), and
it supports what the template needs from CSS paged media: @page margin boxes with
counter(page)/counter(pages), repeated table headers, break-inside rules.

One browser per process, launched on the first print and reused for every later one (the bench
renders eight packs in one process; launching costs ~1 s), closed at exit. Playwright's sync API
runs its own asyncio loop and marks it as running in the thread that uses it, so it lives in a
thread of its own here: the caller's thread stays free for asyncio.run() (the SMTP client, Airflow).

Nothing is fetched from the network: every request that is not a file:// URL is aborted, so a
source-data string can never make the PDF pull a URL, and the page runs no script; the flags
below keep Chromium's own background traffic off. Playwright's own browser download is never used.
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import threading
from concurrent.futures import Future
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI and the Airflow workers run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "Chromium is not installed: the pack's PDF is printed by headless Chromium. "
    "Install it with: apt-get install -y chromium  (scripts/setup.sh does this when run as root; "
    "docker/Dockerfile installs it in the image)"
)
# Long enough for the national hq pack on a loaded 2-core machine; a hung print still ends.
TIMEOUT_MS = 180_000


class ChromiumMissing(RuntimeError):
    """Raised when no Chromium binary is installed."""


def chromium_path() -> str:
    """Debian's chromium binary; ChromiumMissing with the fix when there is none."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if not found:
        raise ChromiumMissing(INSTALL_HINT)
    return found


def _only_local_files(route) -> None:
    if route.request.url.startswith("file://"):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _new_context(browser):
    """A fresh context for one print: nothing (cache, images) is carried from another pack's."""
    # No script runs in the page (the template has none; a source string that became markup
    # could not run either); Playwright's own evaluate below still works.
    context = browser.new_context(java_script_enabled=False, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", _only_local_files)
    return context


def _print(context, html: Path, pdf: Path) -> Path:
    try:
        page = context.new_page()
        # "load" waits for the charts. A web font starts loading only when layout needs it:
        # lay the page out (offsetHeight), then wait for document.fonts.ready, so no page is
        # printed in a fallback font.
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.evaluate("() => { void document.body.offsetHeight; return document.fonts.ready.then(() => 0); }")
        # The page size and margins come from the template's @page rule.
        page.pdf(path=str(pdf), print_background=True, prefer_css_page_size=True)
    finally:
        context.close()
    return pdf


class _Printer:
    """A thread that owns Playwright and one browser; print jobs are queued to it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.launches = 0  # browsers launched (one, unless one crashed)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="mp-chromium", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        pw = browser = spare = None
        try:
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                fn, done = job
                try:
                    if browser is None or not browser.is_connected():
                        pw = pw or sync_playwright().start()
                        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                        self.launches += 1
                        spare = None
                    context, spare = spare or _new_context(browser), None
                    done.set_result(fn(context))  # the job closes its context
                except BaseException as exc:  # handed to the caller, who raises it
                    done.set_exception(exc)
                # The next print's context (~0.15 s), made now, while the caller is still busy
                # with the next pack's queries and charts, instead of at the start of its print.
                if browser is not None and browser.is_connected():
                    try:
                        spare = _new_context(browser)
                    except Exception:  # made at the next print instead, which reports the error
                        spare = None
        finally:
            for closer in (browser and browser.close, pw and pw.stop):
                try:
                    if closer:
                        closer()
                except Exception:  # the driver may be gone already at exit
                    pass

    def submit(self, fn, *args) -> Future:
        """Queue ``fn(context, *args)`` on a fresh browser context, which ``fn`` closes."""
        done: Future = Future()
        self.jobs.put((lambda context: fn(context, *args), done))
        return done

    def close(self, timeout: float = 30) -> None:
        self.jobs.put(None)
        self.thread.join(timeout)


_lock = threading.Lock()
_printer: _Printer | None = None


def _get_printer() -> _Printer:
    global _printer
    with _lock:
        # After a fork the parent's thread does not exist in the child: start our own.
        if _printer is None or _printer.pid != os.getpid() or not _printer.thread.is_alive():
            _printer = _Printer()
            atexit.register(_printer.close)
        return _printer


def submit_pdf(html: Path, pdf: Path) -> Future:
    """Queue the print of the HTML file (its images and fonts as file:// URLs) to a PDF file;
    the Future gives the PDF's path, or raises what went wrong. Chromium lays out and prints in
    processes of its own, so the caller can go on meanwhile (render_pack writes the XLSX)."""
    chromium_path()  # fail with the install hint before starting anything
    return _get_printer().submit(_print, Path(html), Path(pdf))


def warm() -> Future:
    """Launch this process's browser now, in its thread, so that the launch (~1 s) overlaps
    the caller's own work (the pack's queries) instead of delaying the first print."""
    chromium_path()
    return _get_printer().submit(lambda context: context.close())


def print_pdf(html: Path, pdf: Path) -> Path:
    """Print the HTML file to a PDF file, and wait for it."""
    return submit_pdf(html, pdf).result()


def close() -> None:
    """Close this process's browser now (it is also closed at exit)."""
    global _printer
    with _lock:
        if _printer is not None and _printer.pid == os.getpid():
            _printer.close()
        _printer = None
