"""Fixtures for the operations tests: a real SMTP server and a private Airflow home."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from matrix_pulse.ops.smtp_sink import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class ReceivedMail:
    """What a real aiosmtpd server accepted: envelope recipients and the parsed message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook name)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, ReceivedMail]]:
    """A real SMTP server on a free port (aiosmtpd), collecting every message it receives."""
    from aiosmtpd.controller import Controller

    handler = ReceivedMail()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@pytest.fixture
def private_airflow_home(tmp_path: Path) -> Path:
    """An Airflow home of its own, with a copy of the repo's migrated metadata DB.

    Copying (SQLite backup API, consistent even while others write) saves the ~25 s
    migration and keeps test DAG runs and bundle changes out of the shared DB.
    """
    home = tmp_path / "airflow_home"
    home.mkdir()
    shared_db = REPO_ROOT / "airflow_home" / "airflow.db"
    if shared_db.exists():
        source = sqlite3.connect(shared_db)
        target = sqlite3.connect(home / "airflow.db")
        with target:
            source.backup(target)
        source.close()
        target.close()
    else:
        subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "bootstrap_airflow.sh")],
            env=clean_airflow_env(home, tmp_path / "mp_home"),
            check=True,
            timeout=300,
        )
    return home


def clean_airflow_env(airflow_home: Path, mp_home: Path, **extra: str) -> dict[str, str]:
    """The environment for a child that sources scripts/env.sh with its own homes.

    Variables env.sh only defaults (``${X:-...}``) are dropped so that they follow the new
    AIRFLOW_HOME instead of leaking the repo's values in from the pytest process.
    """
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "MP_")) and k != "AIRFLOW_HOME"
    }
    env.update(AIRFLOW_HOME=str(airflow_home), MP_HOME=str(mp_home), **extra)
    return env
