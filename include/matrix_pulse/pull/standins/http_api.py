"""A local HTTP server answering like the platform APIs, from the simulator's JSON files.

Endpoints (request and response shapes as the platforms document them):

  POST /cgi-bin/stable_token                 {grant_type, appid, secret} -> {access_token, expires_in}
  POST /datacube/getarticlesummary?access_token=   {begin_date, end_date} (1 day)  -> {list}
  POST /datacube/getusersummary?access_token=      {begin_date, end_date} (<= 7 days) -> {list}
  POST /channels/datacube/getpostlist?access_token= {date, page, page_size} -> {errcode, total, list}
  POST /channels/datacube/getlivelist?access_token= (same)
  GET  /x/matrix/archive/stat?date=&pn=&ps=  header access-token -> {code, message, data{list, page{pn, ps, count}}}

WeChat errors: 40013/40125 bad appid/secret, 40001 unknown token, 42001 expired token,
45009 quota, 61501 date range beyond the endpoint's limit. Bilibili: -101 not logged in.
A day with no file answers an empty list (the platform has not published it); a file that
is not valid JSON (the simulator's ``invalid_json`` mess) is answered truncated. An answer
serving days carries ``Last-Modified``: the newest mtime of their files (the simulator stamps
each file with its delivery time, so a late day stays late and a backfill is on time).

Faults a test injects (``inject``), each for the next ``times`` matching requests:
``token_expired`` (42001, and every token issued so far stops working), ``quota`` (45009,
or Bilibili -412), ``http_429`` (Retry-After: 0), ``timeout`` (answers after ``delay`` s),
``truncated`` (half the body), ``short_page`` (a page one item short). A day in
``unpublished`` ((folder, ISO date) pairs) answers no rows until it is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from matrix_pulse.settings import get_settings

DATE_LIMITS = {"getarticlesummary": 1, "getusersummary": 7}


@dataclass
class Fault:
    kind: str
    endpoint: str = ""  # start of the path; "" matches every data endpoint
    day: str | None = None  # ISO date the request must be about
    times: int = 1
    delay: float = 0.0


class PlatformApiStandIn:
    def __init__(
        self,
        root: Path,
        appid: str,
        secret: str,
        bilibili_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl: int = 7200,
    ) -> None:
        self.root = Path(root)
        self.appid, self.secret, self.bilibili_token = appid, secret, bilibili_token
        self.token_ttl = token_ttl
        self.tokens: dict[str, float] = {}  # token -> expiry (unix)
        self.faults: list[Fault] = []
        self.unpublished: set[tuple[str, str]] = set()  # (folder, ISO date) answered with no rows
        self.log: list[tuple[str, str, int]] = []  # (method, path without query, HTTP status)
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._server.server_address[0]}:{self.port}"

    def start(self) -> PlatformApiStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> PlatformApiStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults ----------------------------------------------------------------------------
    def inject(
        self,
        kind: str,
        endpoint: str = "",
        day: dt.date | str | None = None,
        times: int = 1,
        delay: float = 0,
    ):
        with self._lock:
            self.faults.append(Fault(kind, endpoint, str(day) if day else None, times, delay))

    def _take_fault(self, path: str, days: list[str]) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and path.startswith(f.endpoint) and (f.day is None or f.day in days):
                    f.times -= 1
                    if f.kind == "token_expired":
                        self.tokens = {t: 0.0 for t in self.tokens}
                    return f
        return None

    def data_requests(self) -> list[tuple[str, str, int]]:
        return [r for r in self.log if "token" not in r[1]]

    # --- data ------------------------------------------------------------------------------
    def day_file(self, folder: str, day: str) -> tuple[object | None, bytes | None]:
        """(parsed JSON, None), (None, raw bytes) when not valid JSON, or (None, None) when absent."""
        path = self.root / folder / f"{folder}_{day.replace('-', '')}.json"
        if not path.exists() or (folder, day) in self.unpublished:
            return None, None
        raw = path.read_bytes()
        try:
            return json.loads(raw), None
        except ValueError:
            return None, raw

    def last_modified(self, folder: str, days: list[str]) -> dict[str, str]:
        """The Last-Modified header for an answer serving ``days`` of ``folder`` (none if no file)."""
        from email.utils import formatdate

        paths = [self.root / folder / f"{folder}_{d.replace('-', '')}.json" for d in days
                 if (folder, d) not in self.unpublished]  # fmt: skip
        times = [p.stat().st_mtime for p in paths if p.exists()]
        return {"Last-Modified": formatdate(max(times), usegmt=True)} if times else {}


def _days(begin: str, end: str) -> list[str]:
    b, e = dt.date.fromisoformat(begin), dt.date.fromisoformat(end)
    return [(b + dt.timedelta(days=i)).isoformat() for i in range((e - b).days + 1)]


def _handler(api: PlatformApiStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, a kept-alive connection (the
        # HttpHook's pooled session) waits for the client's delayed ACK, ~40 ms per request on
        # loopback: 45 ms instead of 1.3 ms a request, most of the demo's API pull. Real API
        # servers answer without that stall, so the stand-in does too.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            """Quiet: a request line would carry the access token."""

        def _send(
            self, status: int, body: bytes, headers: dict[str, str] | None = None, cut: bool = False
        ) -> None:
            if cut:
                body = body[: max(1, len(body) // 2)]
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:  # the client gave up (an injected timeout)
                return
            with api._lock:
                api.log.append((self.command, urlparse(self.path).path, status))

        def _json(
            self, obj: object, status: int = 200, cut: bool = False, headers: dict | None = None
        ) -> None:
            body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
            self._send(status, body, headers, cut=cut)

        def do_POST(self) -> None:  # noqa: N802 - http.server hook name
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._json({"errcode": 47001, "errmsg": "data format error"})
            url = urlparse(self.path)
            if url.path == "/cgi-bin/stable_token":
                if body.get("appid") != api.appid:
                    return self._json({"errcode": 40013, "errmsg": "invalid appid"})
                if body.get("secret") != api.secret:
                    return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                token = secrets.token_urlsafe(32)
                with api._lock:
                    api.tokens[token] = time.time() + api.token_ttl
                    api.tokens_issued += 1
                return self._json({"access_token": token, "expires_in": api.token_ttl})
            token = (parse_qs(url.query).get("access_token") or [""])[0]
            expiry = api.tokens.get(token)
            if url.path.startswith("/datacube/"):
                endpoint = url.path.rsplit("/", 1)[-1]
                days = _days(body.get("begin_date", ""), body.get("end_date", ""))
            elif url.path.startswith("/channels/datacube/"):
                endpoint = url.path.rsplit("/", 1)[-1]
                days = [str(body.get("date", ""))]
            else:
                return self._json({"errcode": 40066, "errmsg": "invalid url"}, 404)
            fault = api._take_fault(url.path, days)
            if fault and fault.kind == "token_expired" or (expiry is not None and expiry < time.time()):
                return self._json({"errcode": 42001, "errmsg": "access_token expired"})
            if expiry is None:
                return self._json(
                    {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
                )
            if fault and self._common_fault(fault):
                return
            if endpoint in DATE_LIMITS and len(days) > DATE_LIMITS[endpoint]:
                return self._json({"errcode": 61501, "errmsg": "date range error"})
            cut = bool(fault and fault.kind == "truncated")
            if endpoint in DATE_LIMITS:
                key = "articles" if endpoint == "getarticlesummary" else "users"
                rows: list = []
                for d in days:
                    doc, raw = api.day_file("wechat_oa", d)
                    if raw is not None:
                        return self._send(200, raw, cut=True)
                    if doc:
                        rows += doc.get(key, [])
                return self._json({"list": rows}, cut=cut, headers=api.last_modified("wechat_oa", days))
            key = "posts" if endpoint == "getpostlist" else "lives"
            doc, raw = api.day_file("wechat_channels", days[0])
            if raw is not None:
                return self._send(200, raw, cut=True)
            rows = doc.get(key, []) if doc else []
            page, size = int(body.get("page", 1)), int(body.get("page_size", 100))
            chunk = rows[(page - 1) * size : page * size]
            if fault and fault.kind == "short_page" and chunk:
                chunk = chunk[:-1]
            return self._json(
                {"errcode": 0, "errmsg": "ok", "total": len(rows), "list": chunk},
                cut=cut,
                headers=api.last_modified("wechat_channels", days),
            )

        def do_GET(self) -> None:  # noqa: N802 - http.server hook name
            url = urlparse(self.path)
            if url.path != "/x/matrix/archive/stat":
                return self._json({"code": -404, "message": "啥都木有"}, 404)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if api.bilibili_token and self.headers.get("access-token") != api.bilibili_token:
                return self._json({"code": -101, "message": "账号未登录", "ttl": 1})
            day = q.get("date", "")
            fault = api._take_fault(url.path, [day])
            if fault and fault.kind == "quota":
                return self._json({"code": -412, "message": "请求被拦截", "ttl": 1})
            if fault and self._common_fault(fault):
                return
            doc, raw = api.day_file("bilibili_videos", day)
            if raw is not None:
                return self._send(200, raw, cut=True)
            rows = doc or []
            pn, ps = int(q.get("pn", 1)), int(q.get("ps", 30))
            chunk = rows[(pn - 1) * ps : pn * ps]
            if fault and fault.kind == "short_page" and chunk:
                chunk = chunk[:-1]
            data = {"list": chunk, "page": {"pn": pn, "ps": ps, "count": len(rows)}}
            return self._json(
                {"code": 0, "message": "0", "ttl": 1, "data": data},
                cut=bool(fault and fault.kind == "truncated"),
                headers=api.last_modified("bilibili_videos", [day]),
            )

        def _common_fault(self, fault: Fault) -> bool:
            """Answer the faults every endpoint shares; False when the request goes on."""
            if fault.kind == "quota":
                self._json({"errcode": 45009, "errmsg": "reach max api daily quota limit"})
            elif fault.kind == "http_429":
                self._send(
                    429, b'{"errcode":45011,"errmsg":"api minute-quota reach limit"}', {"Retry-After": "0"}
                )
            elif fault.kind == "timeout":
                time.sleep(fault.delay)
                return False
            else:
                return False
            return True

    return Handler


def main(argv: list[str] | None = None) -> int:
    """``python -m matrix_pulse.pull.standins.http_api --root R --port P``; credentials from env."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8306)
    args = parser.parse_args(argv)
    settings = get_settings()
    if settings.standin_appid is None or settings.standin_secret is None:
        parser.error("MP_STANDIN_APPID and MP_STANDIN_SECRET must be set")
    bilibili = settings.standin_bilibili_token
    api = PlatformApiStandIn(
        args.root,
        settings.standin_appid,
        settings.standin_secret.get_secret_value(),
        bilibili.get_secret_value() if bilibili else None,
        args.host,
        args.port,
    )
    print(f"platform API stand-in on {api.url}, serving {args.root}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        api._server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
