"""Cross-site request forgery guard for Airflow's REST API (issue 14).

Airflow 3.3's api-server takes its ``_token`` cookie as a full credential for every method
(``core_api/security.py: get_user``: a Bearer header wins, else the cookie). The cookie is
``SameSite=Lax``, which keeps it off cross-*site* POSTs, but another origin on the same
site (another port on this host, a sibling sub-domain) still sends it, and a tool replaying
a browser's cookie needs no Origin at all: a cookie-authenticated ``POST /api/v2/variables``
answered 201.

The rule, as OWASP's "verifying origin with standard headers": a state-changing call
(POST/PUT/PATCH/DELETE) under ``/api/v2/`` that carries the session cookie and no Bearer
token must come from this origin: its ``Origin`` (or, without one, ``Referer``) must name
the host the request was sent to. The Airflow UI sends Origin on its own POSTs, so it keeps
working; scripts and other services send ``Authorization: Bearer <token from /auth/token>``
(what Airflow's API expects of a non-browser client) and are not affected. Everything else
(reads, /auth, /execution, the plugin pages) passes untouched.

Plain ASGI and the standard library only: every Airflow component imports plugins, and
only the api-server runs this.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GUARDED_PREFIX = "/api/v2/"
SESSION_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN


def _has_session_cookie(cookie_header: str) -> bool:
    return any(part.strip().split("=", 1)[0] == SESSION_COOKIE for part in cookie_header.split(";"))


def refusal(method: str, path: str, headers: dict[str, str]) -> str | None:
    """Why this request is refused, or None when it may go on."""
    if method not in UNSAFE_METHODS or not path.startswith(GUARDED_PREFIX):
        return None
    if headers.get("authorization", "").lower().startswith("bearer "):
        return None  # an explicit credential: Airflow uses it, not the cookie
    if not _has_session_cookie(headers.get("cookie", "")):
        return None  # no credential at all: Airflow answers 401 itself
    host = headers.get("x-forwarded-host") or headers.get("host", "")
    claimed = headers.get("origin") or headers.get("referer")
    if not claimed or claimed == "null":
        return (
            "a state-changing API call authenticated by the session cookie needs an Origin or Referer header"
        )
    if urlsplit(claimed).netloc.lower() != host.lower():
        return "a state-changing API call authenticated by the session cookie must come from this origin"
    return None


class SameOriginApiGuard:
    """ASGI middleware applying ``refusal`` (registered as a plugin root middleware)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            why = refusal(scope.get("method", ""), scope.get("path", ""), headers)
            if why:
                body = json.dumps(
                    {"detail": f"{why}; scripts send 'Authorization: Bearer <token from POST /auth/token>'"}
                ).encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
