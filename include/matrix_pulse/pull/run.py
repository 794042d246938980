"""One pull run: every configured source, every data date that is due, overdue or re-pulled.

API sources: each date from ``since`` to ``through`` without a successful pull is fetched
(a date that failed before is retried while it is at most ``retry_days`` old); SFTP sources:
every stable remote file not pulled yet in its current size and mtime. A re-pull range
fetches its dates again (a file with the same bytes lands nothing). Every attempt is a row
in the pull ledger; nothing here raises for a source that failed: the ledger, the returned
summary and the overdue notice say what happened, and the next run retries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from matrix_pulse.clock import shanghai_now, shanghai_today
from matrix_pulse.pull.api import FETCHERS, ApiClient, ApiProblem
from matrix_pulse.pull.config import PullConfig, PullSource, load_pull_config
from matrix_pulse.pull.landing import land_bytes, land_temp, stream_to_temp
from matrix_pulse.pull.ledger import PullAttempt, PullLedger
from matrix_pulse.pull.secrets import Redactor
from matrix_pulse.pull.sftp import SftpSession, group_by_conn
from matrix_pulse.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepullRange:
    """Data dates to fetch again even if pulled (DAG params repull_from / repull_to)."""

    start: dt.date
    end: dt.date
    sources: frozenset[str] = frozenset()  # empty: every configured source

    def covers(self, folder: str, day: dt.date) -> bool:
        return self.start <= day <= self.end and (not self.sources or folder in self.sources)


@dataclass
class PullSummary:
    run_id: str
    attempts: list[PullAttempt] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # folder -> why it was not pulled
    seconds: Counter = field(default_factory=Counter)  # transport kind (http/sftp) -> seconds
    requests: Counter = field(default_factory=Counter)  # transport kind -> requests/downloads

    def outcomes(self) -> Counter:
        return Counter(a.outcome for a in self.attempts)

    def problems(self) -> list[PullAttempt]:
        return [a for a in self.attempts if a.outcome not in ("landed", "redelivered", "unchanged")]

    def describe(self) -> str:
        head = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes().items())) or "nothing due"
        lines = [f"pull {self.run_id}: {head}"]
        for kind in sorted(self.seconds):
            lines.append(f"  {kind}: {self.requests[kind]} requests in {self.seconds[kind]:.1f} s")
        lines += [f"  {a.describe()}" for a in self.problems()[:100]]
        lines += [f"  {folder} not pulled: {why}" for folder, why in sorted(self.skipped.items())]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "outcomes": dict(self.outcomes()),
            "requests": dict(self.requests),
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "problems": [a.describe() for a in self.problems()[:100]],
            "skipped": self.skipped,
        }


def yesterday_in_shanghai() -> dt.date:
    return shanghai_today() - dt.timedelta(days=1)


def dumps_contract_json(payload: object) -> bytes:
    """The contract's JSON file as the platform's export writes it (compact UTF-8)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def run_pull(
    settings: Settings,
    config: PullConfig | None = None,
    *,
    sources: list[str] | None = None,
    through: dt.date | None = None,
    repull: RepullRange | None = None,
    run_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PullSummary:
    """Pull what is due for the configured sources (or the given subset) up to ``through``."""
    config = config or load_pull_config(settings=settings)
    through = through or yesterday_in_shanghai()
    run_id = run_id or f"pull_{shanghai_now():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
    summary = PullSummary(run_id)
    redactor = Redactor()
    chosen = []
    for src in (s for s in config.sources.values() if not sources or s.folder in sources):
        if connection_defined(src.conn_id):
            chosen.append(src)
        else:
            summary.skipped[src.folder] = (
                f"connection {src.conn_id} is not defined: the folder is filled by hand"
            )
            log.warning(
                "%s: connection %s not defined, not pulled (landing filled by hand)", src.folder, src.conn_id
            )
    with PullLedger.open(settings) as ledger, ExitStack() as stack:
        # SFTP first looks before the HTTP pulls, the second looks after them: the files settle
        # while the APIs answer, instead of in a wait of their own per connection.
        began = time.perf_counter()
        conns = [_SftpConn(c, g) for c, g in group_by_conn([s for s in chosen if s.transport == "sftp"])]
        _sftp_connect_and_look(conns, stack, ledger, redactor, summary, through)
        looked_at = time.monotonic()
        if conns:
            summary.seconds["sftp"] += time.perf_counter() - began
        for src in (s for s in chosen if s.is_api):
            began = time.perf_counter()
            _pull_api(settings, config, src, ledger, through, repull, redactor, summary, sleep)
            summary.seconds["http"] += time.perf_counter() - began
        if conns:
            began = time.perf_counter()
            _sftp_settle_and_pull(
                settings, config, conns, looked_at, ledger, repull, redactor, summary, through, sleep
            )
            summary.seconds["sftp"] += time.perf_counter() - began
    log.info(summary.describe())
    return summary


def connection_defined(conn_id: str) -> bool:
    """A configured source whose connection does not exist here keeps today's behaviour."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk.bases.hook import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def due_api_days(
    config: PullConfig, src: PullSource, ledger: PullLedger, through: dt.date, repull: RepullRange | None
) -> list[dt.date]:
    pulled, attempted = ledger.pulled_days(src.folder), ledger.attempted_days(src.folder)
    days: set[dt.date] = set()
    d = config.since
    while d <= through:
        if d not in pulled and (d not in attempted or (through - d).days < config.retry_days):
            days.add(d)
        d += dt.timedelta(days=1)
    if repull:
        d = repull.start
        while d <= min(repull.end, through):
            if repull.covers(src.folder, d):
                days.add(d)
            d += dt.timedelta(days=1)
    return sorted(days)


def _record(ledger: PullLedger, summary: PullSummary, a: PullAttempt, kind: str) -> PullAttempt:
    ledger.record(summary.run_id, a)
    summary.attempts.append(a)
    summary.requests[kind] += a.requests
    (log.info if a.outcome in ("landed", "redelivered", "unchanged") else log.warning)(a.describe())
    return a


def _pull_api(
    settings: Settings,
    config: PullConfig,
    src: PullSource,
    ledger: PullLedger,
    through: dt.date,
    repull: RepullRange | None,
    redactor: Redactor,
    summary: PullSummary,
    sleep: Callable[[float], None],
) -> None:
    days = due_api_days(config, src, ledger, through, repull)
    if not days:
        return
    try:
        client = ApiClient(settings, src, config.http, redactor, sleep)
        try:
            results = FETCHERS[src.transport](client, days)
        finally:
            client.close()
    except ApiProblem as e:
        results = None
        problem = e
    except Exception as e:  # noqa: BLE001 - a missing connection must not stop the other sources
        results = None
        problem = ApiProblem("failed", f"connection {src.conn_id}: {type(e).__name__}: {redactor.clean(e)}")
    if results is None:
        for d in days:
            a = PullAttempt(src.folder, d, src.transport, src.conn_id, outcome=problem.outcome)
            a.detail = redactor.clean(problem.detail)
            _record(ledger, summary, a, "http")
        return
    for d, res in sorted(results.items()):
        a = PullAttempt(src.folder, d, src.transport, src.conn_id, remote_name=res.endpoints)
        st = res.stats
        a.requests, a.retries, a.http_status, a.api_errcode = (
            st.requests,
            st.retries,
            st.http_status,
            st.api_errcode,
        )
        if res.problem is not None:
            a.outcome = res.problem.outcome
            a.detail = redactor.clean(res.problem.detail)
            a.http_status = res.problem.http_status or a.http_status
            a.api_errcode = res.problem.errcode  # not an earlier error the pull recovered from
        elif not res.published:
            a.outcome = "empty"
            a.detail = "the API answered with no rows for the day (not published yet): nothing landed"
        else:
            data = dumps_contract_json(res.payload)
            sha = hashlib.sha256(data).hexdigest()
            name = f"{src.folder}_{d:%Y%m%d}.json"
            prev_sha, _ = ledger.last_landed(src.folder, d)
            a.bytes, a.sha256 = len(data), sha
            if prev_sha == sha and (settings.landing_dir / src.folder / name).exists():
                a.outcome = "unchanged"
            else:
                a.landed_as, _ = land_bytes(settings, src.folder, name, data, st.last_modified)
                a.outcome = "redelivered" if prev_sha else "landed"
        _record(ledger, summary, a, "http")
        _archive_responses(settings, src.folder, d, a.attempt_id or 0, res.stats.responses)


def _archive_responses(
    settings: Settings, folder: str, day: dt.date, attempt_id: int, responses: list[tuple[str, bytes]]
) -> None:
    """The raw bodies of an attempt, as received (a truncated body too), for audit and replay."""
    if not responses:
        return
    target = settings.pull_responses_dir / folder / f"{day:%Y%m%d}"
    target.mkdir(parents=True, exist_ok=True)
    for n, (label, body) in enumerate(responses, start=1):
        (target / f"a{attempt_id:06d}_{n:03d}_{label}.json").write_bytes(body)


@dataclass
class _SftpConn:
    conn_id: str
    group: list[PullSource]
    session: SftpSession | None = None
    first: dict = field(default_factory=dict)  # sftp.Look
    failed: bool = False


def _sftp_connect_and_look(
    conns: list[_SftpConn], stack: ExitStack, ledger, redactor, summary, through
) -> None:
    """Connect every SFTP connection and take the first look at its folders."""
    for c in conns:
        try:
            session = SftpSession(c.conn_id)
            redactor.add(session.hook.password)
            c.session = stack.enter_context(session)
            c.first = c.session.first_look(c.group)
        except Exception as e:  # noqa: BLE001 - connecting or authenticating failed: say so per folder
            _sftp_conn_failed(c, e, ledger, redactor, summary, through)


def _sftp_settle_and_pull(
    settings,
    config,
    conns: list[_SftpConn],
    looked_at: float,
    ledger,
    repull,
    redactor,
    summary,
    through,
    sleep,
) -> None:
    """One wait for every connection's files to settle, what is left of ``settle_seconds`` since
    the first looks (the HTTP pulls ran meanwhile), and none when nothing was due; then the second
    looks and the downloads."""
    live = [c for c in conns if not c.failed]
    recheck: dict[str, set[str]] = {}
    for c in live:
        recheck[c.conn_id] = set()
        for src in c.group:
            look = c.first.get(src.folder)
            if isinstance(look, tuple):
                states = ledger.remote_states(src.folder)
                if any(_sftp_due(src, f, states, repull) for f in look[0].values()):
                    recheck[c.conn_id].add(src.folder)
    if any(recheck.values()):
        sleep(max(0.0, config.settle_seconds - (time.monotonic() - looked_at)))
    for c in live:
        assert c.session is not None
        try:
            listings = c.session.second_look(c.group, c.first, recheck[c.conn_id])
            for src in c.group:
                _pull_sftp_folder(
                    settings,
                    src,
                    listings[src.folder],
                    c.session,
                    ledger,
                    repull,
                    redactor,
                    summary,
                    through,
                    config.parallel_downloads,
                )
        except Exception as e:  # noqa: BLE001 - the connection broke: say so per folder
            _sftp_conn_failed(c, e, ledger, redactor, summary, through)


def _sftp_due(src: PullSource, f, states: dict, repull: RepullRange | None) -> bool:
    """Not pulled yet in this size and mtime, or in the re-pull range."""
    return states.get(f.path) != (f.size, f.mtime) or (
        repull is not None and repull.covers(src.folder, f.data_date)
    )


def _sftp_conn_failed(c: _SftpConn, e: Exception, ledger, redactor, summary, through) -> None:
    c.failed = True
    outcome = (
        "auth_failed" if type(e).__name__ in ("AuthenticationException", "BadHostKeyException") else "failed"
    )
    for src in c.group:
        a = PullAttempt(src.folder, through, "sftp", c.conn_id, outcome=outcome, remote_name=src.remote_dir)
        a.sftp_error = redactor.clean(f"{type(e).__name__}: {e}")
        a.detail = (
            f"SFTP connection {c.conn_id} failed ({type(e).__name__}): files up to {through} not checked"
        )
        _record(ledger, summary, a, "sftp")


def _pull_sftp_folder(
    settings, src, listing, session, ledger, repull, redactor, summary, through, parallel
) -> None:
    if listing.error:
        a = PullAttempt(
            src.folder, through, "sftp", src.conn_id, outcome="failed", remote_name=src.remote_dir
        )
        a.sftp_error = redactor.clean(listing.error)
        _record(ledger, summary, a, "sftp")
        return
    for name, why in listing.ignored:
        log.info("%s: remote %s ignored (%s)", src.folder, name, why)
    states = ledger.remote_states(src.folder)
    for f in listing.moving:
        if states.get(f.path) == (f.size, f.mtime):
            continue
        a = PullAttempt(src.folder, f.data_date, "sftp", src.conn_id, outcome="not_ready", remote_name=f.path)
        a.remote_size, a.remote_mtime = f.size, f.mtime
        a.detail = "size or mtime changed between two looks: still being written, left for the next run"
        _record(ledger, summary, a, "sftp")
    due = [f for f in listing.stable if _sftp_due(src, f, states, repull)]

    def to_temp(f, write):
        started = dt.datetime.now(dt.UTC)
        return (*stream_to_temp(settings, f.name, write), started)

    # Downloads overlap (SftpSession.downloads, several files in flight); the results come back
    # in listing order and each file is landed, then recorded, here on this thread, one at a
    # time, as before: the ledger's row for a file is committed only after its rename.
    def discard(got) -> None:
        got[0].unlink(missing_ok=True)

    for f, got in session.downloads(due, to_temp, parallel, discard):
        a = PullAttempt(src.folder, f.data_date, "sftp", src.conn_id, remote_name=f.path, requests=1)
        a.remote_size, a.remote_mtime = f.size, f.mtime
        try:
            if isinstance(got, Exception):
                raise got
            tmp, sha, size, a.started_at = got
            a.bytes, a.sha256 = size, sha
            prev = ledger.last_remote_sha(src.folder, f.path)
            if size != f.size:
                tmp.unlink(missing_ok=True)
                a.outcome = "failed"
                a.detail = f"downloaded {size} bytes, the listing said {f.size}: changed during the download"
            elif prev == sha and (settings.landing_dir / src.folder / f.name).exists():
                tmp.unlink(missing_ok=True)
                a.outcome = "unchanged"
            else:
                a.landed_as = land_temp(settings, tmp, src.folder, f.name, mtime=f.mtime)
                a.outcome = "redelivered" if prev else "landed"
        except Exception as e:  # noqa: BLE001 - one file's error must not stop the others
            a.outcome = "failed"
            a.sftp_error = redactor.clean(f"{type(e).__name__}: {e}")
        _record(ledger, summary, a, "sftp")
