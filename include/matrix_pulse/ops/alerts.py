"""Failure alerts: an e-mail to the data team when a task has failed for good.

Usage in the shared default args (``matrix_pulse.orchestration``)::

    from matrix_pulse.ops.alerts import failure_alert

    DEFAULT_ARGS["on_failure_callback"] = failure_alert()

Airflow calls ``on_failure_callback`` only once the last retry has failed (retries call
``on_retry_callback``), so a flaky task that recovers sends nothing.

The mail goes through the ``smtp_default`` connection (``AIRFLOW_CONN_SMTP_DEFAULT``, see
``scripts/env.sh``) to the addresses in ``MP_ALERT_EMAILS``. Both are read when the alert is
sent, not when the DAG file is parsed, so a worker's environment decides, and changing the
recipients needs no DAG re-parse.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from matrix_pulse.clock import data_date_of, to_shanghai
from matrix_pulse.ops.notify import DEFAULT_FROM
from matrix_pulse.settings import get_settings

ALERT_EMAILS_ENV = "MP_ALERT_EMAILS"
# A traceback can be long and may quote data; the log link has the whole story.
_MAX_ERROR_CHARS = 2000


def alert_recipients(raw: str | None = None) -> list[str]:
    """Addresses from ``MP_ALERT_EMAILS`` (comma, semicolon or space separated), de-duplicated."""
    value = get_settings().alert_emails if raw is None else raw
    seen: dict[str, None] = {}
    for address in re.split(r"[,;\s]+", value):
        if address:
            seen.setdefault(address, None)
    return list(seen)


def _fmt(moment: datetime | None) -> str:
    return to_shanghai(moment).strftime("%Y-%m-%d %H:%M %Z") if moment is not None else "—"


def _log_url(context: Mapping[str, Any]) -> str:
    ti = context.get("ti") or context.get("task_instance")
    url = getattr(ti, "log_url", None)
    if url:
        return str(url)
    # Only a DAG-level callback gets here (no task instance): link the run instead.
    from airflow.configuration import conf

    base_url = conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or "unknown"
    run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", "")
    return f"{base_url}/dags/{dag_id}/runs/{quote(str(run_id))}"


def render_failure_email(context: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and HTML body of the alert for one failed task (or DAG run) context."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None) or "unknown"
    task_id = getattr(ti, "task_id", None) or "(DAG run)"
    map_index = getattr(ti, "map_index", -1)
    task_label = f"{task_id}[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else task_id
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "—"
    try_number = getattr(ti, "try_number", None)
    max_tries = getattr(ti, "max_tries", None)
    data_date = data_date_of(context).isoformat()
    log_url = _log_url(context)
    error = context.get("exception") or context.get("reason") or ""
    error_text = str(error)
    if len(error_text) > _MAX_ERROR_CHARS:
        error_text = error_text[:_MAX_ERROR_CHARS] + " …"
    error_type = type(error).__name__ if isinstance(error, BaseException) else ""

    subject = f"[Matrix Pulse] 任务失败 Task failed: {dag_id}.{task_label} — data date {data_date}"

    rows = [
        ("DAG", dag_id),
        ("Task 任务", task_label),
        ("Data date 数据日期", data_date),
        ("Logical date 逻辑日期", _fmt(context.get("logical_date"))),
        (
            "Data interval 数据区间",
            f"{_fmt(context.get('data_interval_start'))} → {_fmt(context.get('data_interval_end'))}",
        ),
        ("Run", str(run_id)),
        ("Try 尝试", f"{try_number} of {max_tries + 1}" if try_number and max_tries is not None else "—"),
        ("Host", str(getattr(ti, "hostname", "") or "—")),
    ]
    row_html = "".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0">{html.escape(k)}</th>'
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    error_html = (
        f"<p><b>Error 错误:</b> {html.escape(error_type)}</p>"
        f'<pre style="white-space:pre-wrap;background:#f6f6f6;padding:8px">{html.escape(error_text)}</pre>'
        if error_text
        else ""
    )
    body = (
        '<html><body style="font-family:sans-serif">'
        f"<p>Matrix Pulse: task <b>{html.escape(task_label)}</b> in DAG <b>{html.escape(dag_id)}</b> "
        f"failed after its last retry (data date {html.escape(data_date)}, Asia/Shanghai).</p>"
        f"<p>任务在最后一次重试后仍然失败，请查看日志。</p>"
        f"<table>{row_html}</table>"
        f"{error_html}"
        f'<p>Log 日志: <a href="{html.escape(log_url, quote=True)}">{html.escape(log_url)}</a></p>'
        "</body></html>"
    )
    return subject, body


class FailureAlertNotifier(SmtpNotifier):
    """SmtpNotifier whose recipients and content are worked out when the alert fires.

    Subject and body are built in Python rather than as Jinja templates: converting dates to
    Asia/Shanghai and escaping an exception message are awkward in Jinja, and a body kept on
    the instance would be re-rendered as a template by the next task that reuses this
    notifier (``DEFAULT_ARGS`` shares one instance), breaking on any ``{{`` in an error text.
    """

    def __init__(
        self,
        to: str | Iterable[str] | None = None,
        smtp_conn_id: str | None = None,
        from_email: str | None = None,
    ) -> None:
        super().__init__(to=to or [], smtp_conn_id=smtp_conn_id, from_email=from_email)
        self._fixed_to = to

    def recipients(self) -> list[str]:
        if self._fixed_to:
            fixed = [self._fixed_to] if isinstance(self._fixed_to, str) else list(self._fixed_to)
            return alert_recipients(",".join(fixed))
        return alert_recipients()

    def notify(self, context: Any) -> None:
        to = self.recipients()
        if not to:
            self.log.warning("No alert sent: %s is empty", ALERT_EMAILS_ENV)
            return
        subject, body = render_failure_email(context)
        with self.hook as smtp_hook:
            smtp_hook.send_email_smtp(
                smtp_conn_id=self.smtp_conn_id,
                from_email=self.from_email or smtp_hook.from_email or DEFAULT_FROM,
                to=to,
                subject=subject,
                html_content=body,
                mime_charset="utf-8",
            )
        self.log.info("Failure alert sent to %s: %s", ", ".join(to), subject)


def failure_alert(
    to: str | Iterable[str] | None = None,
    smtp_conn_id: str | None = None,
) -> FailureAlertNotifier:
    """The ``on_failure_callback`` every Matrix Pulse task gets through ``DEFAULT_ARGS``.

    ``to`` fixes the recipients; by default they come from ``MP_ALERT_EMAILS`` at send time.
    """
    return FailureAlertNotifier(to=to, smtp_conn_id=smtp_conn_id)
