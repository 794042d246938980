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


def _definitely_not_accepted(exc: BaseException) -> bool:
    """True when the server answered with an error: it did not take the message, a retry is safe.

    A dropped connection or a timeout while sending DATA is the ambiguous case: the server
    may have queued the message before we lost the reply.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and not isinstance(
        exc, smtplib.SMTPServerDisconnected
    )


def send_pack(files: PackFiles, recipients: list[str] | tuple[str, ...], *, run_id: str,
              ledger: SendLedger | None = None, conn_id: str = CONN_ID) -> SendReport:  # fmt: skip
    """Send ``files`` to every recipient that has not had this issue; raise SendFailed if any failed."""
    ledger = ledger or SendLedger()
    report = SendReport(files.quarter, files.audience, files.issue)
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
    with smtp_session(conn_id) as (client, from_addr):  # why not SmtpHook.send_email_smtp: see there
        for rcpt in todo:
            mid = ledger.record_attempt(files.quarter, files.audience, rcpt, files.issue, run_id)
            msg = build_message(files, rcpt, from_addr, mid)
            try:
                refused = client.sendmail(from_addr, [rcpt], msg.as_bytes())
            except Exception as exc:  # noqa: BLE001 - classified below, never swallowed
                if _definitely_not_accepted(exc):
                    ledger.mark_failed(mid, repr(exc))
                report.failed[rcpt] = repr(exc)
                if not _definitely_not_accepted(exc):
                    break  # the connection is gone or in an unknown state: stop, let the retry decide
                continue
            if refused:
                ledger.mark_failed(mid, repr(refused))
                report.failed[rcpt] = repr(refused)
                continue
            ledger.mark_sent(mid)
            report.sent.append(rcpt)
    if report.failed:
        raise SendFailed(f"{files.quarter}/{files.audience} issue {files.issue}: {len(report.failed)} recipient(s) "
                         f"failed: {report.failed}")  # fmt: skip
    return report
