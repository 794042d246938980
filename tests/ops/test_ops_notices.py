"""Notices to the data team: rendered from templates, sent through smtp_default to a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest


def test_overdue_notice_reaches_the_data_team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matrix_pulse.ops.notify import notify_overdue
    from matrix_pulse.ops.smtp_sink import SmtpSink

    with SmtpSink(tmp_path / "mailbox") as sink:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_DEFAULT",
            json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": sink.port,
                        "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10, "retry_limit": 0}}),
        )  # fmt: skip
        monkeypatch.setenv("MP_ALERT_EMAILS", "a@example.com; b@example.com")
        overdue = [
            ("douyin_posts", dt.date(2026, 7, 1), "missing"),
            ("crm<dcc>", dt.date(2026, 7, 2), "rejected"),
        ]
        sent_to = notify_overdue(overdue, dt.date(2026, 7, 2))
    assert sent_to == ["a@example.com", "b@example.com"]
    emls = sorted((tmp_path / "mailbox").rglob("*.eml"))
    assert len(emls) == 2  # one message, saved once per recipient by the sink
    message = message_from_bytes(emls[0].read_bytes(), policy=policy.default)
    assert str(message["Subject"]).endswith(
        "2 个数据源日不可用或逾期 / source-days unusable or overdue (through 2026-07-02)"
    )
    body = message.get_body(preferencelist=("html",)).get_content()
    assert "<td>douyin_posts</td><td>2026-07-01</td><td>missing</td>" in body
    assert "<td>crm&lt;dcc&gt;</td><td>2026-07-02</td><td>rejected</td>" in body  # escaped by the template


def test_no_recipients_no_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    from matrix_pulse.ops.notify import notify_overdue

    monkeypatch.setenv("MP_ALERT_EMAILS", " ")
    assert notify_overdue([("douyin_posts", dt.date(2026, 7, 1), "missing")], dt.date(2026, 7, 1)) == []
