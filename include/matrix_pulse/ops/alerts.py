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

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from matrix_pulse.clock import data_date_of, to_shanghai
from matrix_pulse.ops.notify import DEFAULT_FROM, alert_recipients, render_template

ALERT_EMAILS_ENV = "MP_ALERT_EMAILS"
# A traceback can be long and may quote data; the log link has the whole story.
_MAX_ERROR_CHARS = 2000


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
    body = render_template(
        "failure_alert.html.j2",
        task_label=task_label,
        dag_id=dag_id,
        data_date=data_date,
        rows=rows,
        error_type=error_type,
        error_text=error_text,
        log_url=log_url,
    )
    return subject, body


class FailureAlertNotifier(SmtpNotifier):
    """SmtpNotifier whose recipients and content are worked out when the alert fires.

    Subject and body are rendered when the alert fires (``ops/templates/failure_alert.html.j2``,
    our own Jinja environment) and never kept on the instance: a body kept there would be
    re-rendered as an Airflow template by the next task that reuses this notifier
    (``DEFAULT_ARGS`` shares one instance), breaking on any ``{{`` in an error text.
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
