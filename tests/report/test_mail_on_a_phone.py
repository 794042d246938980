"""The mail as a reader sees it, in headless Chromium at phone (390 px) and desktop (800 px)
widths: nothing scrolls sideways and every chart fits. Screenshots are kept next to the pack
(``mail_390.png``, ``mail_800.png``) for a human to look at."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from matrix_pulse.report.audiences import Audience, GateConfig
from matrix_pulse.report.pack import build_pack
from matrix_pulse.report.quarters import Quarter
from matrix_pulse.report.render import CID_SUFFIX, render_pack

from tests.browser import chromium

HQ = Audience("hq", "总部市场部", "national", ("cmo@example.com",))
EAST = Audience("huadong", "华东大区", "region", ("east@example.com",), "华东")


def browser_view(files) -> Path:
    """The mail HTML with each cid: image pointing at its PNG, as a mail client shows it."""
    html = files.mail_html.read_text(encoding="utf-8")
    for cid, png in files.charts.items():
        html = html.replace(f"cid:{cid}", png.as_uri())
    assert "cid:" not in html
    out = files.mail_html.with_name("mail_view.html")
    out.write_text(html, encoding="utf-8")
    return out


@pytest.mark.parametrize("audience", [HQ, EAST], ids=lambda a: a.id)
def test_mail_reads_at_390_and_800_px(fixture_db: Path, tmp_path: Path, audience: Audience) -> None:
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        pack = build_pack(con, Quarter.parse("2026Q3"), audience, GateConfig())
    files = render_pack(pack, 1, tmp_path)
    view = browser_view(files)
    assert any(cid.startswith("trend") and cid.endswith(CID_SUFFIX) for cid in files.charts)
    with chromium() as browser:
        for width in (390, 800):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(view.as_uri())
            page.wait_for_load_state("load")
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, f"{width}px: the page scrolls sideways ({scroll_width}px)"
            images = page.evaluate(
                "[...document.images].map(i => ({src: i.src, left: i.getBoundingClientRect().left, "
                "right: i.getBoundingClientRect().right, loaded: i.complete && i.naturalWidth > 0}))"
            )
            assert len(images) >= 5
            for img in images:
                assert img["loaded"], img["src"]
                assert img["left"] >= 0 and img["right"] <= width, (width, img)
            # the KPI cards wrap instead of squeezing: none is wider than the viewport
            cards = page.evaluate(
                "[...document.querySelectorAll('.kpi')].map(c => c.getBoundingClientRect().right)"
            )
            assert len(cards) == len(pack.kpis) and max(cards) <= width
            page.screenshot(path=str(tmp_path / f"mail_{width}.png"), full_page=True)
            page.close()
    assert (tmp_path / "mail_390.png").stat().st_size > 10_000
