"""E-mail the pack through Airflow's SMTP provider, exactly once per recipient (see ``ledger``).

Message structure (what common mail clients render best)::

    multipart/mixed
      multipart/alternative
        text/plain                      (short summary for clients that block HTML)
        multipart/related
          text/html                     (table layout, inline CSS, <img src="cid:...">)
          image/png  Content-ID <...>   (one per chart)
      application/pdf                   (the full pack)
      application/vnd.openxmlformats-officedocument.spreadsheetml.sheet

``SmtpHook.send_email_smtp`` builds its own flat multipart/mixed message in which
images are application/octet-stream and cannot carry our Message-ID reliably, so we use
the hook for what it is good at (the ``smtp_default`` connection: host, port, TLS/SSL,
login, from address, timeout, connect retries) and hand our MIME message to the
client it opened.
"""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING

from matrix_pulse.ops.notify import CONN_ID, DEFAULT_FROM, notify_data_team, smtp_session  # noqa: F401 (re-exported)
from matrix_pulse.report.ledger import SendLedger

if TYPE_CHECKING:
    from matrix_pulse.report.render import PackFiles

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class SendFailed(RuntimeError):
    """Some recipients could not be sent to; the task fails and Airflow retries it."""


@dataclass
class SendReport:
    quarter: str
    audience: str
    issue: int
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def build_message(files: PackFiles, recipient: str, from_addr: str, msg_id: str) -> EmailMessage:
    # policy.SMTP: CRLF line ends; smtplib sends bytes as they are and the server splits lines on CRLF.
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = files.subject
    msg["From"] = from_addr
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = msg_id
    msg["X-Matrix-Pulse-Pack"] = f"{files.quarter}/{files.audience}/issue{files.issue}"
    msg.set_content(
        f"{files.subject}\n\n本邮件为 HTML 格式；完整复盘见附件 PDF，所有表格见附件 Excel。\n"
        "本邮件由 Matrix Pulse 自动发送，每个季度每位收件人只发送一次。\n",
        cte="quoted-printable",
    )
    # quoted-printable keeps every line under SMTP's 998-octet limit (RFC 5321) whatever the template does.
    msg.add_alternative(files.mail_html.read_text(encoding="utf-8"), subtype="html", cte="quoted-printable")
    html_part = msg.get_payload()[1]
    for cid, png in files.charts.items():
        html_part.add_related(png.read_bytes(), "image", "png", cid=f"<{cid}>", filename=png.name,
                              disposition="inline")  # fmt: skip
    msg.add_attachment(files.pdf.read_bytes(), "application", "pdf", filename=files.pdf.name)
    msg.add_attachment(files.xlsx.read_bytes(), *XLSX_TYPE, filename=files.xlsx.name)
    return msg


class NotAccepted(Exception):
    """The server took nothing of this message: it refused it, or the connection failed before
    DATA began (at MAIL FROM or RCPT TO; e.g. the server went away since the last message).
    A retry cannot duplicate it."""

    def __init__(self, phase: str, error: BaseException | str) -> None:
        super().__init__(f"{phase}: {error!r}")
        self.phase = phase
        self.error = error


def send_one(client: smtplib.SMTP, from_addr: str, rcpt: str, data: bytes) -> None:
    """One SMTP transaction, step by step, so a failure says whether any data was sent.

    ``sendmail`` runs MAIL, RCPT and DATA in one call, and a dropped connection raises the
    same SMTPServerDisconnected at any of them; only a failure inside DATA (or after it,
    before the reply) is ambiguous: the server may have queued the message.
    """
    phase = "MAIL FROM"
    try:
        client.ehlo_or_helo_if_needed()
        code, resp = client.mail(from_addr)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, resp, from_addr)
        phase = "RCPT TO"
        code, resp = client.rcpt(rcpt)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({rcpt: (code, resp)})
    except (smtplib.SMTPException, OSError) as exc:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.rset()
        raise NotAccepted(phase, exc) from exc
    # From here on the server may take the message: an error now is only "not accepted"
    # when the server answered DATA with an error code.
    try:
        code, resp = client.data(data)
    except smtplib.SMTPDataError as exc:
        raise NotAccepted("DATA", exc) from exc
    if code != 250:
        raise NotAccepted("DATA", f"{code} {resp!r}")


def send_pack(files: PackFiles, recipients: list[str] | tuple[str, ...], *, run_id: str,
              ledger: SendLedger | None = None, conn_id: str = CONN_ID) -> SendReport:  # fmt: skip
    """Send ``files`` to every recipient that has not had this issue; raise SendFailed if any failed.

    A targeted re-issue (``SendLedger.issue_for_run(..., recipients=[...])``) goes to those
    recipients only. A send that failed before the server accepted any data is marked
    'failed' with its phase and is sent by the task's retry; the connection is re-opened
    for the next recipient, so one dropped connection costs no one else their pack.
    """
    ledger = ledger or SendLedger()
    report = SendReport(files.quarter, files.audience, files.issue)
    targeted = ledger.issue_recipients(files.quarter, files.audience, files.issue)
    if targeted is not None:
        recipients = [r for r in recipients if r in targeted]
    todo = []
    for rcpt in recipients:
        row = ledger.get(files.quarter, files.audience, rcpt, files.issue)
        if row is None or row.status == "failed":
            todo.append(rcpt)
        elif row.status == "sent":
            report.already_sent.append(rcpt)
        else:
            # 'attempted' without 'sent': an earlier try may have reached the server (at-most-once).
            ledger.mark_unconfirmed(
                row.message_id, f"not re-sent by run {run_id}: outcome of earlier attempt unknown"
            )
            report.unconfirmed.append(rcpt)
    if not todo:
        return report
    with contextlib.ExitStack() as stack:
        try:  # why not SmtpHook.send_email_smtp: see smtp_session
            session = stack.enter_context(smtp_session(conn_id))
        except Exception as exc:  # noqa: BLE001 - nothing was sent: every recipient is retried later
            for rcpt in todo:
                mid = ledger.record_attempt(files.quarter, files.audience, rcpt, files.issue, run_id)
                ledger.mark_failed(mid, repr(exc), "connect")
                report.failed[rcpt] = f"connect: {exc!r}"
            raise SendFailed(
                f"{files.quarter}/{files.audience} issue {files.issue}: cannot connect: {exc!r}"
            ) from exc
        for rcpt in todo:
            mid = ledger.record_attempt(files.quarter, files.audience, rcpt, files.issue, run_id)
            msg = build_message(files, rcpt, session.from_addr, mid)
            try:
                if session.client is None:  # the reconnect below failed: nothing was sent
                    raise NotAccepted("connect", "no connection to the SMTP server")
                send_one(session.client, session.from_addr, rcpt, msg.as_bytes())  # see module docstring
            except NotAccepted as exc:
                ledger.mark_failed(mid, repr(exc.error), exc.phase)
                report.failed[rcpt] = str(exc)
                if isinstance(exc.error, smtplib.SMTPServerDisconnected | OSError):
                    session.reconnect()  # the server went away between messages
                continue
            except Exception as exc:  # noqa: BLE001 - during DATA: the server may have it
                report.failed[rcpt] = repr(exc)
                break  # the connection is in an unknown state: stop, 'attempted' stays (at-most-once)
            ledger.mark_sent(mid)
            report.sent.append(rcpt)
    if report.failed:
        raise SendFailed(f"{files.quarter}/{files.audience} issue {files.issue}: {len(report.failed)} recipient(s) "
                         f"failed: {report.failed}")  # fmt: skip
    return report
