"""Headless Chromium for tests that look at what a reader sees (mail, pack, UI pages).

Playwright drives Debian's /usr/bin/chromium (installed by scripts/setup.sh); Playwright's
own browser download is never used. The flags are the package's (matrix_pulse.report.chromium,
which prints the pack's PDF): they keep Chromium from calling out, so a test of "nothing leaves
the machine" is not muddied by Chromium's own background traffic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from matrix_pulse.report.chromium import CHROMIUM_ARGS, ChromiumMissing, chromium_path


@contextmanager
def chromium() -> Iterator[object]:
    """A Playwright Browser on Debian's Chromium; skips the test when Chromium is absent."""
    try:
        executable = chromium_path()
    except ChromiumMissing:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
