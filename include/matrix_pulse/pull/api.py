"""Platform APIs through Airflow's HttpHook: WeChat OA datacube, WeChat Channels, Bilibili.

Each fetcher turns one data date into the contract's JSON payload (the objects exactly as the
API returned them, in order) or raises ``ApiProblem`` saying why not. What the platforms do
that a pull must survive:

- WeChat access tokens: minted from app id + secret (the connection's login and password),
  cached until shortly before they expire, and minted again when a call answers
  40001/42001/40014 (invalid or expired token).
- Quota and rate limits: errcode 45009 (daily quota), Bilibili code -412, HTTP 429, HTTP 5xx
  and timeouts back off (doubling; a Retry-After header wins) and retry; what outlasts
  ``max_retries`` is 'throttled' / 'failed' and the next run tries again.
- Date ranges: each datacube endpoint has a maximum span (articles 1 day, users 7 days);
  users are fetched in windows of at most that span and split by ref_date.
- Pages: Bilibili and Channels lists are paged to the last page; a page shorter than the
  page size before the total is reached, a total that does not add up, or a truncated body
  fails the pull, so a short file never lands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matrix_pulse.pull.config import HttpOptions, PullSource
from matrix_pulse.pull.secrets import Redactor
from matrix_pulse.settings import Settings

TOKEN_ERRCODES = {40001, 40014, 42001}  # invalid credential / invalid token / token expired
THROTTLE_CODES = {45009, 45011, -412, -509}  # daily quota, frequency limit, Bilibili throttling
AUTH_ERRCODES = {40013, 40125, 40164, 41002, 41004, -101, -403}  # bad appid/secret, IP not allowed
# Maximum span (days, inclusive) of one datacube request, per endpoint.
DATACUBE_MAX_DAYS = {"getarticlesummary": 1, "getusersummary": 7}
TOKEN_MARGIN_SECONDS = 300


class ApiProblem(Exception):
    """A pull that cannot land a file; ``outcome`` is the ledger's word for it."""

    def __init__(self, outcome: str, detail: str, http_status: int | None = None, errcode: int | None = None):
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.http_status = http_status
        self.errcode = errcode


@dataclass
class CallStats:
    """What one day's pull cost: requests, retries, last status, and the raw responses."""

    requests: int = 0
    retries: int = 0
    http_status: int | None = None
    api_errcode: int | None = None
    endpoints: list[str] = field(default_factory=list)
    responses: list[tuple[str, bytes]] = field(default_factory=list)
    # The newest Last-Modified among the day's own answers (unix s), when the API sends one: the
    # landed file keeps it as its mtime, so a backfill does not make every day look late.
    last_modified: float | None = None


def _no_basic_auth(*_credentials: object) -> None:
    """HttpHook would send login/password as Basic auth on every call; the app secret must
    only ever go to the token endpoint."""
    return None


class ApiClient:
    """One HttpHook connection, with the retry, token and error rules above."""

    def __init__(
        self,
        settings: Settings,
        source: PullSource,
        opts: HttpOptions,
        redactor: Redactor,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        self.settings = settings
        self.source = source
        self.opts = opts
        self.redactor = redactor
        self.sleep = sleep
        self.hooks = {
            m: HttpHook(method=m, http_conn_id=source.conn_id, auth_type=_no_basic_auth)
            for m in ("GET", "POST")
        }
        self.conn = self.hooks["GET"].get_connection(source.conn_id)
        redactor.add(self.conn.password)
        self._token: str | None = None
        self._sessions: dict[str, Any] = {}  # method -> requests.Session, kept for the pull

    def _session(self, method: str) -> Any:
        """One session per method for the whole pull, configured by the hook exactly as
        HttpHook.run configures the one it builds for every request. The TCP connection was
        already kept (the hook's keep-alive adapter); what a kept session saves is building a
        session and looking the connection up again per request, ~2-3 ms of the ~13 ms a
        Bilibili page took here under load."""
        if method not in self._sessions:
            extra = {"timeout": self.opts.timeout_seconds, "check_response": False}
            self._sessions[method] = self.hooks[method].get_conn(None, extra)
        return self._sessions[method]

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    # --- WeChat access token --------------------------------------------------------------
    def _token_file(self) -> Path:
        # One token per app (host + app id), whichever connection names it: minting a new one
        # for a second connection would only spend the app's token quota.
        app = hashlib.sha256(f"{self.conn.host}:{self.conn.port}:{self.conn.login}".encode()).hexdigest()[:16]
        return self.settings.pull_token_dir / f"wechat_{app}.json"

    def access_token(self, stats: CallStats) -> str:
        if self._token:
            return self._token
        path = self._token_file()
        if path.exists():
            cached = json.loads(path.read_text())
            if cached.get("expires_at", 0) - TOKEN_MARGIN_SECONDS > time.time():
                self._token = cached["access_token"]
                self.redactor.add(self._token)
                return self._token
        if not self.conn.login or not self.conn.password:
            raise ApiProblem(
                "auth_failed", f"connection {self.source.conn_id}: app id (login) or secret (password) empty"
            )
        # stable_token takes the secret in the body, so it never sits in a URL or an access log.
        body = self._call(
            "POST",
            "/cgi-bin/stable_token",
            stats,
            json_body={
                "grant_type": "client_credential",
                "appid": self.conn.login,
                "secret": self.conn.password,
            },
            archive=False,  # the response is the token itself
        )
        token = body.get("access_token")
        if not token:
            raise ApiProblem("auth_failed", "token endpoint answered without access_token")
        self.redactor.add(token)
        self._token = token
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(
                {"access_token": token, "expires_at": time.time() + int(body.get("expires_in", 7200))}, f
            )
        return token

    def forget_token(self) -> None:
        self._token = None
        self._token_file().unlink(missing_ok=True)

    def wechat(self, endpoint: str, body: dict, stats: CallStats) -> dict:
        """POST a WeChat API with the cached token, minting a new one once if it was refused."""
        for refreshed in (False, True):
            token = self.access_token(stats)
            try:
                return self._call("POST", endpoint, stats, json_body=body, params={"access_token": token})
            except ApiProblem as e:
                if e.errcode in TOKEN_ERRCODES and not refreshed:
                    self.forget_token()
                    continue
                raise
        raise AssertionError("unreachable")

    # --- one request, with back-off -------------------------------------------------------
    def _call(
        self,
        method: str,
        endpoint: str,
        stats: CallStats,
        params: dict | None = None,
        json_body: dict | None = None,
        archive: bool = True,
        headers: dict | None = None,
    ) -> Any:
        import requests

        hook = self.hooks[method]
        label = endpoint.rsplit("/", 1)[-1]
        stats.endpoints.append(endpoint)
        wait = self.opts.backoff_seconds
        last: ApiProblem | None = None
        for attempt in range(self.opts.max_retries + 1):
            if attempt:
                stats.retries += 1
                self.sleep(wait)
                wait *= 2
            kwargs: dict[str, Any] = {"json": json_body} if json_body is not None else {}
            data = params
            if method == "POST" and params:
                # Query parameters of a POST (the access token) go in as requests' params, so
                # the hook's own "Sending ... to url" line never carries them.
                kwargs["params"], data = params, None
            stats.requests += 1
            try:
                session = self._session(method)
                # As HttpHook.run builds it: GET data are query parameters, POST data the body.
                data_kw = {"params": data} if method == "GET" else {"data": data}
                req = requests.Request(
                    method, hook.url_from_endpoint(endpoint), headers=headers, **data_kw, **kwargs
                )
                resp = hook.run_and_check(session, session.prepare_request(req), hook.merged_extra)
            except requests.Timeout:
                last = ApiProblem("failed", f"{endpoint}: no answer within {self.opts.timeout_seconds:g} s")
                continue
            except requests.RequestException as e:
                last = ApiProblem("failed", f"{endpoint}: {type(e).__name__}: {self.redactor.clean(e)}")
                continue
            stats.http_status = resp.status_code
            if archive:
                stats.responses.append((label, resp.content))
            if resp.status_code == 429 or resp.status_code >= 500:
                outcome = "throttled" if resp.status_code == 429 else "failed"
                last = ApiProblem(outcome, f"{endpoint}: HTTP {resp.status_code}", resp.status_code)
                retry_after = resp.headers.get("Retry-After")
                if retry_after and retry_after.isdigit():
                    wait = min(float(retry_after), 600.0)
                continue
            if resp.status_code in (401, 403):
                raise ApiProblem("auth_failed", f"{endpoint}: HTTP {resp.status_code}", resp.status_code)
            if resp.status_code >= 400:
                raise ApiProblem("failed", f"{endpoint}: HTTP {resp.status_code}", resp.status_code)
            try:
                body = json.loads(resp.content)
            except ValueError:
                raise ApiProblem(
                    "failed",
                    f"{endpoint}: truncated or invalid JSON body ({len(resp.content)} bytes, "
                    f"Content-Length {resp.headers.get('Content-Length', '?')})",
                    resp.status_code,
                ) from None
            code = body.get("errcode", body.get("code", 0)) if isinstance(body, dict) else 0
            if code:
                stats.api_errcode = int(code)
                message = self.redactor.clean(body.get("errmsg") or body.get("message") or "")
                problem = ApiProblem(
                    "failed", f"{endpoint}: errcode {code} {message}".strip(), resp.status_code, code
                )
                if code in THROTTLE_CODES or code == -1:  # -1: WeChat "system busy"
                    problem.outcome = "throttled" if code != -1 else "failed"
                    last = problem
                    continue
                if code in AUTH_ERRCODES:
                    problem.outcome = "auth_failed"
                raise problem
            stats.last_modified = _newest(stats.last_modified, resp.headers.get("Last-Modified"))
            return body
        assert last is not None
        last.detail += f" (gave up after {self.opts.max_retries} retries)"
        raise last


# --- the three APIs ---------------------------------------------------------------------------
def paged(fetch_page: Callable[[int], tuple[list, int]], page_size: int, what: str) -> list:
    """All items of a paged list, pages numbered from 1; any short page fails the pull."""
    items: list = []
    page = 1
    while True:
        got, total = fetch_page(page)
        items.extend(got)
        if len(items) >= total:
            if len(items) > total:
                raise ApiProblem("failed", f"{what}: {len(items)} items for a total of {total}")
            return items
        if len(got) < page_size:
            raise ApiProblem(
                "failed",
                f"{what}: short page {page} ({len(got)} of {page_size} items) with {len(items)} of {total} received",
            )
        page += 1


def day_windows(days: list[dt.date], max_days: int) -> list[list[dt.date]]:
    """Consecutive runs of ``days`` cut to at most ``max_days`` each (a datacube span limit)."""
    windows: list[list[dt.date]] = []
    for d in sorted(days):
        if windows and (d - windows[-1][-1]).days == 1 and len(windows[-1]) < max_days:
            windows[-1].append(d)
        else:
            windows.append([d])
    return windows


@dataclass
class DayPayload:
    payload: Any = None
    problem: ApiProblem | None = None
    stats: CallStats = field(default_factory=CallStats)
    endpoints: str = ""

    @property
    def published(self) -> bool:
        """Whether the platform has the day yet: its always-present list has rows (OA users
        exist for every account every day, Channels posts for the last 30 days; a day may
        well have no articles or no lives)."""
        if isinstance(self.payload, dict):
            return bool(self.payload.get("users") if "users" in self.payload else self.payload.get("posts"))
        return bool(self.payload)


def fetch_wechat_oa(client: ApiClient, days: list[dt.date]) -> dict[dt.date, DayPayload]:
    """{articles, users} per day: articles one day per call, users in windows of up to 7."""
    out = {d: DayPayload(endpoints="datacube/getarticlesummary+getusersummary") for d in days}
    windows = day_windows(days, DATACUBE_MAX_DAYS["getusersummary"])
    while windows:
        window = windows.pop(0)
        stats = CallStats()
        try:
            body = client.wechat(
                "/datacube/getusersummary",
                {"begin_date": window[0].isoformat(), "end_date": window[-1].isoformat()},
                stats,
            )
        except ApiProblem as e:
            for d in window:
                _merge(out[d].stats, stats, first_day=d == window[0])
            if e.outcome == "failed" and len(window) > 1:
                # One bad day must not cost its neighbours: ask for each day on its own.
                windows[:0] = [[d] for d in window]
                continue
            for d in window:
                out[d].problem = e
            continue
        users_by_day: dict[str, list] = {}
        for row in body.get("list", []):
            users_by_day.setdefault(str(row.get("ref_date")), []).append(row)
        for d in window:
            _merge(out[d].stats, stats, first_day=d == window[0])
            try:
                art = client.wechat(
                    "/datacube/getarticlesummary",
                    {"begin_date": d.isoformat(), "end_date": d.isoformat()},
                    out[d].stats,
                )
                out[d].payload = {
                    "articles": art.get("list", []),
                    "users": users_by_day.get(d.isoformat(), []),
                }
            except ApiProblem as e:
                out[d].problem = e
    return out


def fetch_wechat_channels(client: ApiClient, days: list[dt.date]) -> dict[dt.date, DayPayload]:
    """{posts, lives} per day, each list paged to its last page."""
    out: dict[dt.date, DayPayload] = {}
    ps = client.opts.page_size
    for d in days:
        res = DayPayload(endpoints="channels/datacube/getpostlist+getlivelist")
        try:
            tables = {}
            for key, endpoint in (
                ("posts", "/channels/datacube/getpostlist"),
                ("lives", "/channels/datacube/getlivelist"),
            ):

                def page(
                    pn: int, endpoint: str = endpoint, d: dt.date = d, res: DayPayload = res
                ) -> tuple[list, int]:
                    body = client.wechat(
                        endpoint, {"date": d.isoformat(), "page": pn, "page_size": ps}, res.stats
                    )
                    return body.get("list", []), int(body.get("total", 0))

                tables[key] = paged(page, ps, f"{endpoint} {d}")
            res.payload = tables
        except ApiProblem as e:
            res.problem = e
        out[d] = res
    return out


def fetch_bilibili(client: ApiClient, days: list[dt.date]) -> dict[dt.date, DayPayload]:
    """The day's video objects (bvid, mid, title, pubdate, duration, stat{...}), all pages.
    The connection's password, if set, is the open-platform access token (a header)."""
    out: dict[dt.date, DayPayload] = {}
    ps = client.opts.page_size
    headers = {"access-token": client.conn.password} if client.conn.password else None
    for d in days:
        res = DayPayload(endpoints="x/matrix/archive/stat")

        def page(pn: int, d: dt.date = d, res: DayPayload = res) -> tuple[list, int]:
            params = {"date": d.isoformat(), "pn": pn, "ps": ps}
            body = client._call("GET", "/x/matrix/archive/stat", res.stats, params=params, headers=headers)
            data = body.get("data") or {}
            return data.get("list") or [], int((data.get("page") or {}).get("count", 0))

        try:
            res.payload = paged(page, ps, f"/x/matrix/archive/stat {d}")
        except ApiProblem as e:
            res.problem = e
        out[d] = res
    return out


def _newest(current: float | None, header: str | None) -> float | None:
    """Fold one Last-Modified header (RFC 9110 date) into the newest seen; a bad date is ignored."""
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(header).timestamp() if header else None
    except (TypeError, ValueError):
        when = None
    return when if current is None or (when is not None and when > current) else current


def _merge(into: CallStats, shared: CallStats, first_day: bool) -> None:
    """A users window serves several days: its requests count once (on the window's first
    day, so a run's requests add up), its raw responses are archived with every day."""
    if first_day:
        into.requests += shared.requests
        into.retries += shared.retries
    into.http_status = shared.http_status
    into.api_errcode = into.api_errcode or shared.api_errcode
    into.responses.extend(shared.responses)
    # not last_modified: a window's answer is as new as its newest day; each day takes it from
    # its own one-day article call instead


FETCHERS: dict[str, Callable[[ApiClient, list[dt.date]], dict[dt.date, DayPayload]]] = {
    "wechat_oa": fetch_wechat_oa,
    "wechat_channels": fetch_wechat_channels,
    "bilibili": fetch_bilibili,
}
