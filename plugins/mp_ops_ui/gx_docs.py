"""GX Data Docs as the Matrix Pulse pages serve them: offline, and with source values inert.

GX renders its site with links to public CDNs and renders values from the data (e.g. an
unexpected ``LeadStatus`` in a failed expectation) as raw HTML. Served as-is on the Airflow
origin, the first leaves the validation list empty without internet and the second runs a
source file's ``<script>`` in the data team's session. So every HTML page is rewritten when
served (the files on disk stay as GX wrote them):

1. **Local assets.** Each CDN URL is replaced by the same file from the project's install
   (``gx_assets/``, vendored from the npm registry by ``scripts/vendor_gx_assets.py``, with
   the version the URL names; GX's own SRI hashes still hold). The GX logo comes from the
   site's ``static/`` folder.
2. **Source values escaped.** Every string in the validation result behind a page (the JSON GX
   rendered it from) that contains markup is replaced by its HTML-escaped form: the value is
   shown as text, as written.
3. **A strict Content-Security-Policy** as the second line: scripts only from this origin, plus
   the inline scripts and ``onclick`` handlers GX's templates write, each allowed by its SHA-256
   only when it has the shape of one of them (``GX_INLINE_SCRIPT`` / ``GX_HANDLER``); nothing
   may be loaded from, or sent to, another host. ``X-Content-Type-Options: nosniff`` on every
   file, so nothing served as text or JSON is ever run as a script or page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

ASSETS_DIR = Path(__file__).resolve().parent / "gx_assets"
VENDOR_PREFIX = "_vendor"
GX_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[\w.-]+\.amazonaws\.com/([\w.-]+\.png)(\?[^\"'\s<>]*)?"
)

# The inline scripts GX's Data Docs templates write (index table set-up, "show all / hide
# succeeded" toggles, walkthrough modal, footer banner): anything else inline never runs.
GX_INLINE_SCRIPT = re.compile(
    r"^\s*(?:function rowStyleLinks\(row, index\) \{"
    r"|\$\('#[\w-]+-table'\)\.bootstrapTable\("
    r"|try \{\s*if \(localStorage\.getItem\('ge-walkthrough-modal-dismissed'\)"
    r"|function showAllValidations\(\) \{"
    r"|if \(sessionStorage\.getItem\(\"showCta\"\) !== \"false\"\))"
)
GX_HANDLER = re.compile(
    r"^(?:showAllValidations\(\)|hideSucceededValidations\(\)|clearTableFilters\('[\w-]+'\))$"
)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)
HANDLER_ATTR = re.compile(r"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
MARKUP = re.compile(r"[<>&]")

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@cache
def vendored_assets() -> dict[str, str]:
    """CDN URL -> path under gx_assets/ (from gx_assets/assets.json)."""
    records = json.loads((ASSETS_DIR / "assets.json").read_text())
    return {r["cdn_url"]: r["local"] for r in records if r["cdn_url"]}


def _sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _strings(node: Any) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set().union(*(_strings(k) | _strings(v) for k, v in node.items())) if node else set()
    if isinstance(node, list | tuple):
        return set().union(*(_strings(v) for v in node)) if node else set()
    return set()


def source_values_with_markup(validation_json: Path) -> list[str]:
    """Strings in a stored validation result that HTML would read as markup, longest first."""
    try:
        result = json.loads(validation_json.read_text())
    except (OSError, ValueError):
        return []
    found = {s for s in _strings(result.get("results", result)) if MARKUP.search(s)}
    return sorted(found, key=len, reverse=True)


def validation_json_for(site: Path, page: Path) -> Path | None:
    """The JSON GX rendered a validation page from: uncommitted/validations/<same path>.json."""
    try:
        relative = page.relative_to(site / "validations")
    except ValueError:
        return None
    return site.parents[1] / "validations" / relative.with_suffix(".json")


def rewrite_page(text: str, base: str, source_values: list[str] = ()) -> tuple[str, str]:
    """The page to serve and its Content-Security-Policy. ``base`` is the site's URL path."""
    for url, local in sorted(vendored_assets().items(), key=lambda kv: len(kv[0]), reverse=True):
        text = text.replace(f'"{url}"', f'"{base}/{VENDOR_PREFIX}/{local}"')
    text = GX_LOGO.sub(lambda m: f"{base}/static/images/{m.group(1)}", text)
    for value in source_values:
        text = text.replace(value, html.escape(value, quote=True))

    allowed = {
        _sha256_source(m.group(1)) for m in INLINE_SCRIPT.finditer(text) if GX_INLINE_SCRIPT.match(m.group(1))
    }
    handlers = {
        _sha256_source(body)
        for m in HANDLER_ATTR.finditer(text)
        if GX_HANDLER.match(body := m.group(1) if m.group(1) is not None else m.group(2))
    }
    script_src = " ".join(
        ["'self'", *sorted(allowed), *(["'unsafe-hashes'", *sorted(handlers)] if handlers else [])]
    )
    csp = (
        f"default-src 'none'; script-src {script_src}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    )
    return text, csp
