"""The time zone Airflow runs in is the project's (Asia/Shanghai), read from the effective config.

Airflow 3 removed ``[webserver] default_ui_timezone`` (``airflow config lint`` lists it as
removed): the React UI shows times in the browser's own zone, and each user can pick another in
the user menu (kept in the browser's localStorage). So the server-side setting that exists is
``[core] default_timezone``, which scripts/env.sh sets; a browser in China shows +08:00 like our
pages. If a later Airflow brings a UI default back, the second assertion fails and tells us to set it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _config(section: str, key: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    return subprocess.run(
        ["bash", "-c", f'source scripts/env.sh && airflow config get-value "{section}" "{key}"'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_airflow_runs_in_the_projects_time_zone() -> None:
    got = _config("core", "default_timezone")
    assert got.returncode == 0, got.stderr[-2000:]
    assert got.stdout.strip() == "Asia/Shanghai"


def test_airflow_has_no_server_side_ui_time_zone_to_set() -> None:
    got = _config("webserver", "default_ui_timezone")
    # Airflow 3.3 warns "section/key [webserver/default_ui_timezone] not found in config"
    said = got.stdout + got.stderr
    assert "default_ui_timezone] not found in config" in said, (
        f"Airflow knows default_ui_timezone again ({got.stdout.strip()!r}): set it in env.sh"
    )
