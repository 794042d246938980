"""Mail to the data team (MP_ALERT_EMAILS) through the `smtp_default` connection.

Used for things that are worth an e-mail but are not task failures (overdue source-days, a
pack held back by the quality gate, an unconfirmed send) and, through ``alerts``, for task
failures. Notices are not ledgered: a duplicate notice to the data team is harmless, a lost
one is not. Bodies are Jinja2 templates in ``ops/templates`` (autoescaped HTML).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from functools import cache
from typing import TYPE_CHECKING, Any

from matrix_pulse.settings import get_settings

if TYPE_CHECKING:
    import smtplib

    import jinja2

DEFAULT_FROM = "matrix-pulse@example.com"
CONN_ID = "smtp_default"


def alert_recipients(raw: str | None = None) -> list[str]:
    """Addresses from ``MP_ALERT_EMAILS`` (comma, semicolon or space separated), de-duplicated."""
    value = get_settings().alert_emails if raw is None else raw
    seen: dict[str, None] = {}
    for address in re.split(r"[,;\s]+", value):
        if address:
            seen.setdefault(address, None)
    return list(seen)


@cache
def _templates() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("matrix_pulse.ops", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **values: Any) -> str:
    """One of ``ops/templates`` rendered with ``values`` (every value HTML-escaped)."""
    return _templates().get_template(name).render(**values)


class SmtpSession:
    """An open connection of ``smtp_session``: its client, its from-address, and a reconnect
    for a sender that goes on after the server dropped it between messages."""

    def __init__(self, hook: Any) -> None:
        self._hook = hook
        self.from_addr: str = hook.from_email or DEFAULT_FROM

    @property
    def client(self) -> smtplib.SMTP | None:
        """The connected client; None when the last reconnect could not reach the server."""
        return self._hook._smtp_client

    def reconnect(self) -> None:
        """Close the client and open a new one (the hook's connect retries apply); never raises:
        ``client`` is None when the server stays away."""
        with contextlib.suppress(Exception):
            self._hook._smtp_client.close()
        self._hook._smtp_client = None
        with contextlib.suppress(Exception):
            self._hook.get_conn()


@contextmanager
def smtp_session(conn_id: str = CONN_ID) -> Iterator[SmtpSession]:
    """The connected SMTP client of ``conn_id`` and its from-address, for messages we build ourselves.

    ``SmtpHook`` owns what the connection says (host, port, TLS/SSL, login, timeout, connect
    retries), but its only sending method, ``send_email_smtp``, builds its own flat
    multipart/mixed message: inline images become application/octet-stream and our
    Message-ID and alternative parts cannot be kept. It has no public accessor for the client
    it opens, so this is the one place that reads its ``_smtp_client`` (provider
    apache-airflow-providers-smtp 2.x); the packs and the notices both send through here.
    Raises when it cannot connect (nothing was sent); closing a connection the server already
    dropped is not an error.
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    hook = SmtpHook(smtp_conn_id=conn_id).get_conn()
    try:
        yield SmtpSession(hook)
    finally:
        with contextlib.suppress(Exception):
            hook.__exit__(None, None, None)


def notify_data_team(subject: str, html_body: str, conn_id: str = CONN_ID) -> list[str]:
    """Send one HTML notice to the data team; returns the recipients (none configured: none sent)."""
    recipients = alert_recipients()
    if not recipients:
        return []
    with smtp_session(conn_id) as session:
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = subject
        msg["From"] = session.from_addr
        msg["To"] = ", ".join(recipients)
        msg["Date"] = formatdate(localtime=True)
        msg.set_content("请使用支持 HTML 的邮件客户端查看。", cte="quoted-printable")
        msg.add_alternative(html_body, subtype="html", cte="quoted-printable")
        session.client.sendmail(session.from_addr, recipients, msg.as_bytes())
    return recipients


def notify_overdue(overdue: list[tuple[str, dt.date, str]], through: dt.date) -> list[str]:
    """Tell the data team which source-days have no usable data (source, data date, status): past
    their deadline, or landed but unusable (rejected, every row set aside, GX failed: issue 14)."""
    subject = (
        f"[Matrix Pulse] {len(overdue)} 个数据源日不可用或逾期 / source-days unusable or overdue "
        f"(through {through})"
    )
    return notify_data_team(subject, render_template("overdue_notice.html.j2", overdue=overdue))
