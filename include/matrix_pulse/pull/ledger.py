"""The pull ledger: one row per pull attempt of a source and data date.

SQLite beside the send ledger (``Settings.pull_ledger_path``), not ``meta.*`` in DuckDB: the warehouse
has one writer at a time, and a pull (minutes of waiting on remote ends) must not hold the
writer pool. Rows never carry a secret: only what a data team needs to see why a day is
missing ("the API refused us since Tuesday").

outcome       meaning
------------  ------------------------------------------------------------------------------
landed        a new file is in landing/<folder>/ (first pull of that remote file or day)
redelivered   the remote changed after an earlier pull: the new bytes replaced the landed file
unchanged     pulled again (re-pull, or remote touched) with the same bytes: nothing landed
empty         the API answered with no rows for the day (not published yet): nothing landed
not_ready     an SFTP file still being written (size or mtime moved between two looks)
throttled     quota / rate limit (45009, HTTP 429, -412) outlasted the back-off: retried later
failed        timeout, truncated body, short page, SFTP error: nothing landed, retried later
auth_failed   the credentials in the connection were refused
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from matrix_pulse.settings import Settings

SUCCESS = ("landed", "redelivered", "unchanged")
PROBLEMS = ("empty", "not_ready", "throttled", "failed", "auth_failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pull_ledger (
    attempt_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        TEXT NOT NULL,
    source        TEXT NOT NULL,      -- landing folder
    data_date     TEXT NOT NULL,      -- YYYY-MM-DD
    attempt       INTEGER NOT NULL,   -- 1, 2, ... per source and data date
    transport     TEXT NOT NULL,
    conn_id       TEXT NOT NULL,
    remote_name   TEXT,               -- SFTP path or API endpoint(s)
    remote_size   INTEGER,
    remote_mtime  INTEGER,            -- unix seconds, as the SFTP server reports it
    bytes         INTEGER,
    sha256        TEXT,
    http_status   INTEGER,            -- last HTTP status seen
    api_errcode   INTEGER,            -- last non-zero errcode/code in an API body
    sftp_error    TEXT,
    requests      INTEGER NOT NULL DEFAULT 0,
    retries       INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT NOT NULL,
    detail        TEXT,
    landed_as     TEXT,               -- <folder>/<file> in landing
    started_at    TEXT NOT NULL,      -- UTC ISO
    finished_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pull_ledger_day ON pull_ledger (source, data_date);
"""


@dataclass
class PullAttempt:
    source: str
    data_date: dt.date
    transport: str
    conn_id: str
    outcome: str = "failed"
    remote_name: str | None = None
    remote_size: int | None = None
    remote_mtime: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    http_status: int | None = None
    api_errcode: int | None = None
    sftp_error: str | None = None
    requests: int = 0
    retries: int = 0
    detail: str | None = None
    landed_as: str | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    attempt: int = 0
    attempt_id: int | None = None

    def describe(self) -> str:
        bits = [f"{self.source} {self.data_date} {self.outcome}"]
        if self.landed_as:
            bits.append(f"-> {self.landed_as} ({self.bytes} bytes)")
        if self.http_status is not None:
            bits.append(f"HTTP {self.http_status}")
        if self.api_errcode:
            bits.append(f"errcode {self.api_errcode}")
        if self.retries:
            bits.append(f"{self.retries} retries")
        if self.detail:
            bits.append(f": {self.detail}")
        return " ".join(bits)


class PullLedger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.con = sqlite3.connect(path, timeout=60, isolation_level=None)
        # One commit per attempt (a landed file and its row belong together). In the default
        # rollback journal each commit waits on ~3 fsyncs, ~9 ms here: 45 s of a first pull of
        # ~5,000 files. WAL with synchronous=NORMAL commits without waiting on the disk; a commit
        # is still atomic, and an OS crash can lose only the last attempts: the next run pulls
        # those files again, and the same bytes landed twice load nothing twice (the ingest's
        # ledger). Read-only readers (pull_notes, the cockpit) open a WAL file as before.
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.executescript(_SCHEMA)

    @classmethod
    def open(cls, settings: Settings) -> PullLedger:
        return cls(settings.pull_ledger_path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> PullLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, run_id: str, a: PullAttempt) -> PullAttempt:
        """Append one attempt (numbered per source and data date) and return it."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            (n,) = self.con.execute(
                "SELECT count(*) FROM pull_ledger WHERE source = ? AND data_date = ?",
                [a.source, a.data_date.isoformat()],
            ).fetchone()
            a.attempt = n + 1
            row = asdict(a)
            row.pop("attempt_id")
            row["data_date"] = a.data_date.isoformat()
            row["started_at"] = a.started_at.isoformat(timespec="seconds")
            row["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            row["run_id"] = run_id
            cols = ", ".join(row)
            cur = self.con.execute(
                f"INSERT INTO pull_ledger ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
            )
            a.attempt_id = cur.lastrowid
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return a

    def rows(self, source: str | None = None) -> list[dict]:
        self.con.row_factory = sqlite3.Row
        try:
            sql = (
                "SELECT * FROM pull_ledger" + (" WHERE source = ?" if source else "") + " ORDER BY attempt_id"
            )
            return [dict(r) for r in self.con.execute(sql, [source] if source else [])]
        finally:
            self.con.row_factory = None

    def pulled_days(self, source: str) -> set[dt.date]:
        """Data dates of ``source`` with a successful pull (a file is in landing for them)."""
        return {
            dt.date.fromisoformat(d)
            for (d,) in self.con.execute(
                f"SELECT DISTINCT data_date FROM pull_ledger WHERE source = ? AND outcome IN {SUCCESS}",
                [source],
            )
        }

    def attempted_days(self, source: str) -> set[dt.date]:
        return {
            dt.date.fromisoformat(d)
            for (d,) in self.con.execute(
                "SELECT DISTINCT data_date FROM pull_ledger WHERE source = ?", [source]
            )
        }

    def last_landed(self, source: str, data_date: dt.date) -> tuple[str | None, str | None]:
        """(sha256, landed_as) of the bytes now in landing for this source-day, if pulled."""
        row = self.con.execute(
            "SELECT sha256, landed_as FROM pull_ledger WHERE source = ? AND data_date = ? "
            "AND outcome IN ('landed', 'redelivered') ORDER BY attempt_id DESC LIMIT 1",
            [source, data_date.isoformat()],
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def last_remote_sha(self, source: str, remote_name: str) -> str | None:
        """sha256 of the last bytes pulled successfully from this remote file."""
        row = self.con.execute(
            f"SELECT sha256 FROM pull_ledger WHERE source = ? AND remote_name = ? AND outcome IN {SUCCESS} "
            "ORDER BY attempt_id DESC LIMIT 1",
            [source, remote_name],
        ).fetchone()
        return row[0] if row else None

    def remote_states(self, source: str) -> dict[str, tuple[int, int]]:
        """remote_name -> (size, mtime) when it was last pulled successfully (SFTP)."""
        out: dict[str, tuple[int, int]] = {}
        for name, size, mtime in self.con.execute(
            f"SELECT remote_name, remote_size, remote_mtime FROM pull_ledger WHERE source = ? "
            f"AND outcome IN {SUCCESS} ORDER BY attempt_id",
            [source],
        ):
            out[name] = (size, mtime)
        return out


@dataclass(frozen=True)
class PullNote:
    """What the pull ledger says about a source-day that is not loaded."""

    outcome: str
    attempts: int
    failing_since: str | None  # UTC time of the first problem attempt after the last success
    detail: str | None

    def describe(self) -> str:
        text = f"pull {self.outcome} ({self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if self.failing_since:
            text += f", since {self.failing_since[:16].replace('T', ' ')} UTC"
        text += ")"
        return text + (f": {self.detail}" if self.detail else "")


def pull_notes(
    settings: Settings, source_days: Iterable[tuple[str, dt.date]]
) -> dict[tuple[str, dt.date], PullNote]:
    """For freshness and the overdue notice: the pull's last word on each given source-day
    (only those the pull ledger knows). Read-only; no ledger file means no notes."""
    path = settings.pull_ledger_path
    if not path.exists():
        return {}
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        notes: dict[tuple[str, dt.date], PullNote] = {}
        for source, day in source_days:
            rows = con.execute(
                "SELECT outcome, detail, started_at, http_status, api_errcode, sftp_error FROM pull_ledger "
                "WHERE source = ? AND data_date = ? ORDER BY attempt_id",
                [source, day.isoformat()],
            ).fetchall()
            if not rows:
                continue
            since = None
            for outcome, _, started, *_ in rows:
                if outcome in SUCCESS:
                    since = None
                elif since is None:
                    since = started
            outcome, detail, _, status, errcode, sftp_error = rows[-1]
            why = detail or sftp_error or (f"HTTP {status}" if status else None)
            if errcode and why and str(errcode) not in why:
                why = f"errcode {errcode}: {why}"
            notes[(source, day)] = PullNote(outcome, len(rows), since, why)
        return notes
    finally:
        con.close()
