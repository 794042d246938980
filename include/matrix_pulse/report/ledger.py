"""The send ledger: which pack issue went to whom, in SQLite under ``settings.state_dir``.

Why SQLite and not the warehouse: DuckDB has one writer per file and the report only
reads the published copy; the ledger must survive re-runs and be written by parallel
send tasks, which SQLite (WAL, short IMMEDIATE transactions) does well.

Rows and states (one row per quarter × audience × recipient × issue):

    (none) --intent--> attempted --server said 250--> sent
                        |  \\--server refused (4xx/5xx), or the connection failed before DATA
                        |     (connect / MAIL FROM / RCPT TO: nothing accepted yet)--> failed --retry--> attempted
                        \\--crash / timeout between DATA and our update--> stays 'attempted'

A later run that finds 'attempted' without 'sent' cannot know whether the server took
the message. We choose AT-MOST-ONCE: such a row is marked 'unconfirmed', NOT re-sent,
and the data team is told (with the Message-ID, which is deterministic per quarter,
audience, recipient and issue, so it can be looked up in the mail server's log or the
recipient's mailbox). If it really was lost, ``resend=true`` issues a new number. Why not
at-least-once: a marketing director who gets the same pack twice loses trust in it; a
pack that is missing is noticed and re-sent on request. The deterministic Message-ID
also means that if an operator ever re-sends the *same* issue by hand, mail systems
that de-duplicate on Message-ID collapse it.

Issue numbers: issue 1 is the first send of a (quarter, audience). ``resend`` creates
the next number, once per DAG run (keyed by run_id), so a retried resend task reuses
the issue it created instead of bumping again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from matrix_pulse.ingest.pii import restrict_to_owner
from matrix_pulse.settings import get_settings

SCHEMA = """
create table if not exists issues (
  quarter text not null, audience text not null, issue integer not null,
  run_id text, reason text, created_at text not null,
  recipients text,
  primary key (quarter, audience, issue));
create unique index if not exists issues_by_run on issues (quarter, audience, run_id);
create table if not exists sends (
  quarter text not null, audience text not null, recipient text not null, issue integer not null,
  message_id text not null unique,
  status text not null check (status in ('attempted', 'sent', 'failed', 'unconfirmed')),
  attempts integer not null default 0,
  first_attempt_at text, last_attempt_at text, sent_at text, last_error text, run_id text,
  pack_sha256 text,
  failed_phase text,
  primary key (quarter, audience, recipient, issue));
"""
# Columns added after the first ledgers were written (issue 14): added in place, existing
# columns untouched (the UI's sent-packs page reads them).
#   issues.recipients    JSON list: a re-issue for these recipients only (NULL: everyone)
#   sends.failed_phase   where a failed send stopped: 'connect', 'MAIL FROM', 'RCPT TO'
#                        (before any data: safe to retry) or 'DATA' (refused by the server)
ADDED_COLUMNS = (("issues", "recipients", "text"), ("sends", "failed_phase", "text"))
MESSAGE_ID_DOMAIN = "matrix-pulse.example.com"


def ledger_path() -> Path:
    return get_settings().state_dir / "send_ledger.sqlite"


def message_id(quarter: str, audience: str, recipient: str, issue: int) -> str:
    """Deterministic RFC 5322 Message-ID; the recipient is hashed (no address in logs of other systems)."""
    digest = hashlib.sha256(f"{quarter}|{audience}|{recipient.lower()}|{issue}".encode()).hexdigest()[:20]
    return f"<mp.{quarter}.{audience}.i{issue}.{digest}@{MESSAGE_ID_DOMAIN}>"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SendRow:
    quarter: str
    audience: str
    recipient: str
    issue: int
    message_id: str
    status: str
    attempts: int
    sent_at: str | None
    last_error: str | None


class SendLedger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ledger_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # executescript commits on its own: run it outside the explicit transaction helper.
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("pragma journal_mode=wal")
            con.executescript(SCHEMA)
            for table, column, type_ in ADDED_COLUMNS:
                have = {r[1] for r in con.execute(f"pragma table_info({table})")}
                if column not in have:
                    con.execute(f"alter table {table} add column {column} {type_}")
        finally:
            con.close()
        # Recipients' addresses and what they were sent: owner-only (issue 14).
        restrict_to_owner(self.path)

    @contextmanager
    def _tx(self):
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("pragma journal_mode=wal")
            con.execute("begin immediate")  # serialise writers: parallel send tasks share this file
            try:
                yield con
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            con.close()

    # --- issues -----------------------------------------------------------------------
    def current_issue(self, quarter: str, audience: str) -> int | None:
        with self._tx() as con:
            row = con.execute("select max(issue) from issues where quarter = ? and audience = ?",
                              (quarter, audience)).fetchone()  # fmt: skip
        return row[0]

    def issue_for_run(self, quarter: str, audience: str, run_id: str, resend: bool,
                      recipients: list[str] | None = None) -> int:  # fmt: skip
        """The issue this run sends: the current one, or (resend) a new one created once per run.

        ``recipients`` (with ``resend``): the new issue goes to these recipients only, e.g. the
        one whose copy was lost, so nobody else gets a second pack."""
        with self._tx() as con:
            mine = con.execute("select issue from issues where quarter = ? and audience = ? and run_id = ?",
                               (quarter, audience, run_id)).fetchone()  # fmt: skip
            if mine:
                return mine[0]
            latest = con.execute("select max(issue) from issues where quarter = ? and audience = ?",
                                 (quarter, audience)).fetchone()[0]  # fmt: skip
            if latest is not None and not resend:
                return latest
            issue = (latest or 0) + 1
            reason = (
                ("resend to " + ", ".join(recipients))
                if latest and recipients
                else "resend"
                if latest
                else "first"
            )
            con.execute(
                "insert into issues (quarter, audience, issue, run_id, reason, created_at, recipients) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                (quarter, audience, issue, run_id, reason, _now(),
                 json.dumps(sorted(recipients)) if latest and recipients else None),
            )  # fmt: skip
            return issue

    def issue_recipients(self, quarter: str, audience: str, issue: int) -> list[str] | None:
        """The recipients a targeted re-issue goes to; None when it goes to everyone."""
        with self._tx() as con:
            row = con.execute("select recipients from issues where quarter = ? and audience = ? and issue = ?",
                              (quarter, audience, issue)).fetchone()  # fmt: skip
        return json.loads(row[0]) if row and row[0] else None

    # --- sends ------------------------------------------------------------------------
    def get(self, quarter: str, audience: str, recipient: str, issue: int) -> SendRow | None:
        with self._tx() as con:
            row = con.execute(
                "select quarter, audience, recipient, issue, message_id, status, attempts, sent_at, last_error "
                "from sends where quarter = ? and audience = ? and recipient = ? and issue = ?",
                (quarter, audience, recipient, issue),
            ).fetchone()
        return SendRow(*row) if row else None

    def record_attempt(self, quarter: str, audience: str, recipient: str, issue: int, run_id: str,
                       pack_sha256: str | None = None) -> str:  # fmt: skip
        """Write the intent BEFORE talking to the server; returns the Message-ID to use."""
        mid = message_id(quarter, audience, recipient, issue)
        now = _now()
        with self._tx() as con:
            con.execute(
                """insert into sends (quarter, audience, recipient, issue, message_id, status, attempts,
                                      first_attempt_at, last_attempt_at, run_id, pack_sha256)
                   values (?, ?, ?, ?, ?, 'attempted', 1, ?, ?, ?, ?)
                   on conflict (quarter, audience, recipient, issue) do update set
                     status = 'attempted', attempts = attempts + 1, last_attempt_at = excluded.last_attempt_at,
                     run_id = excluded.run_id, pack_sha256 = excluded.pack_sha256
                   where sends.status = 'failed'""",
                (quarter, audience, recipient, issue, mid, now, now, run_id, pack_sha256),
            )
        return mid

    def _set(self, message_id_: str, status: str, error: str | None = None, phase: str | None = None) -> None:
        with self._tx() as con:
            con.execute(
                "update sends set status = ?, last_error = coalesce(?, last_error), failed_phase = ?, "
                "sent_at = case when ? = 'sent' then ? else sent_at end where message_id = ?",
                (status, error, phase, status, _now(), message_id_),
            )

    def mark_sent(self, message_id_: str) -> None:
        self._set(message_id_, "sent")

    def mark_failed(self, message_id_: str, error: str, phase: str | None = None) -> None:
        """The server definitely did not take the message (refused it, or the connection failed
        before DATA: at connect, MAIL FROM or RCPT TO): a retry may send it."""
        self._set(message_id_, "failed", error[:500], phase)

    def failed_phase(self, quarter: str, audience: str, recipient: str, issue: int) -> str | None:
        with self._tx() as con:
            row = con.execute(
                "select failed_phase from sends where quarter = ? and audience = ? and recipient = ? and issue = ?",
                (quarter, audience, recipient, issue),
            ).fetchone()
        return row[0] if row else None

    def mark_unconfirmed(self, message_id_: str, note: str) -> None:
        self._set(message_id_, "unconfirmed", note[:500])

    def rows(self, quarter: str | None = None) -> list[SendRow]:
        with self._tx() as con:
            sql = ("select quarter, audience, recipient, issue, message_id, status, attempts, sent_at, last_error "
                   "from sends" + (" where quarter = ?" if quarter else "") + " order by quarter, audience, issue, recipient")  # fmt: skip
            return [SendRow(*r) for r in con.execute(sql, (quarter,) if quarter else ()).fetchall()]

    def all_sent(
        self, quarter: str, audience: str, recipients: list[str] | tuple[str, ...], issue: int
    ) -> bool:
        return all((r := self.get(quarter, audience, rc, issue)) is not None and r.status in ("sent", "unconfirmed")
                   for rc in recipients)  # fmt: skip
