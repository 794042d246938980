"""Matrix Pulse pages in the Airflow UI: load ledger and freshness, sent packs, dbt docs, GX Data Docs.

Airflow 3 plugin interfaces: ``fastapi_apps`` mounts the pages on the api-server under
/matrix-pulse, ``external_views`` puts them in the Browse menu (shown in an iframe), and
``fastapi_root_middlewares`` adds the REST API's cross-site request guard
(``mp_ops_ui/api_guard.py``: a cookie alone cannot POST/PATCH/PUT/DELETE /api/v2 from elsewhere).

Import stays cheap on purpose: every Airflow component (scheduler, dag-processor, task
workers) loads plugins, but only the api-server serves these pages. So this module imports
nothing beyond Airflow's plugin base; FastAPI, DuckDB and the page code load on the first
request (``_LazyApp``).
"""

from __future__ import annotations

import threading
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from mp_ops_ui.api_guard import SameOriginApiGuard  # stdlib only: cheap for every component

URL_PREFIX = "/matrix-pulse"


class _LazyApp:
    """An ASGI app that builds the real FastAPI app on its first request."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        with self._lock:
            if self._app is None:
                from mp_ops_ui.app import create_app  # plugins/ is on sys.path in Airflow

                self._app = create_app(require_login=True)
        return self._app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        app = self._app or self._build()
        await app(scope, receive, send)


def _view(name: str, path: str, route: str) -> dict[str, str]:
    # href without a leading slash: the UI resolves it against its base URL, so the
    # link also works when Airflow is served under a path prefix.
    return {
        "name": name,
        "href": f"{URL_PREFIX.lstrip('/')}{path}",
        "url_route": route,
        "destination": "nav",
        "category": "browse",
    }


class MatrixPulseOpsPlugin(AirflowPlugin):
    name = "matrix_pulse_ops"
    fastapi_apps = [{"app": _LazyApp(), "url_prefix": URL_PREFIX, "name": "Matrix Pulse operations"}]
    fastapi_root_middlewares = [
        {"middleware": SameOriginApiGuard, "name": "Matrix Pulse same-origin API guard"}
    ]
    external_views = [
        _view("Matrix Pulse: load ledger & freshness", "/health", "matrix-pulse-health"),
        _view("Matrix Pulse: sent packs", "/packs", "matrix-pulse-packs"),
        _view("Matrix Pulse: dbt docs", "/dbt-docs/", "matrix-pulse-dbt-docs"),
        _view("Matrix Pulse: GX Data Docs", "/gx-docs/", "matrix-pulse-gx-docs"),
    ]
