"""Headless Chromium for tests that look at what a reader sees (mail, pack, UI pages).

Playwright drives Debian's /usr/bin/chromium (installed by scripts/setup.sh); Playwright's
own browser download is never used. The flags keep Chromium from calling out: this machine's
network is closed, and a test of "nothing leaves the machine" must not be muddied by
Chromium's own background traffic.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[object]:
    """A Playwright Browser on Debian's Chromium; skips the test when Chromium is absent."""
    if not shutil.which("chromium") and not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (scripts/setup.sh installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
