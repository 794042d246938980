"""Plain notices to the data team (MP_ALERT_EMAILS) through the `smtp_default` connection.

Used for things that are worth an e-mail but are not task failures: overdue source-days,
a pack held back by the quality gate, an unconfirmed send. Notices are not ledgered: a
duplicate notice to the data team is harmless, a lost one is not.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import formatdate

DEFAULT_FROM = "matrix-pulse@example.com"
CONN_ID = "smtp_default"


def notify_data_team(subject: str, html_body: str, conn_id: str = CONN_ID) -> list[str]:
    """Send one HTML notice to the data team; returns the recipients (none configured: none sent)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from matrix_pulse.ops.alerts import alert_recipients

    recipients = alert_recipients()
    if not recipients:
        return []
    with SmtpHook(smtp_conn_id=conn_id) as hook:
        from_addr = hook.from_email or DEFAULT_FROM
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = subject
        msg["From"] = from_addr
        msg["To"] = ", ".join(recipients)
        msg["Date"] = formatdate(localtime=True)
        msg.set_content("请使用支持 HTML 的邮件客户端查看。", cte="quoted-printable")
        msg.add_alternative(html_body, subtype="html", cte="quoted-printable")
        # SmtpHook's own send_email_smtp flattens the message; we hand it ours as built.
        hook._smtp_client.sendmail(from_addr, recipients, msg.as_bytes())
    return recipients
