"""scripts/airflow_up.sh starts a working, login-protected Airflow and stops it cleanly.

Private Airflow home (a copy of the migrated DB) and a private DAG folder on a free port,
so the test neither disturbs a running `make airflow` nor depends on the DAGs in progress.
Over HTTP: a JWT from /auth/token with the generated password, the DAG listed through the
REST API v2 (paused at creation), one run executed by the LocalExecutor, the plugin pages
behind the login.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, clean_airflow_env, free_port

SCRIPT = REPO_ROOT / "scripts" / "airflow_up.sh"
PROBE_DAG = """
from datetime import datetime
from airflow.sdk import DAG, task

with DAG("mp_ops_up_probe", schedule="@daily", start_date=datetime(2026, 7, 1), catchup=False, tags=["test"]):
    @task
    def say_hello() -> str:
        return "hello"

    say_hello()
"""


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_airflow_up_login_api_plugin_and_stop(tmp_path: Path, private_airflow_home: Path) -> None:
    import httpx

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "up_probe.py").write_text(PROBE_DAG)
    port = free_port()
    env = clean_airflow_env(
        private_airflow_home,
        tmp_path / "mp_home",
        AIRFLOW_PORT=str(port),
        MP_AIRFLOW_DAGS_FOLDER=str(dags),
        AIRFLOW_UP_TIMEOUT="240",
    )
    base = f"http://127.0.0.1:{port}"
    started = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=330)
    try:
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-3000:]
        password_file = private_airflow_home / "simple_auth_manager_passwords.json.generated"
        assert f"http://localhost:{port}" in started.stdout and str(password_file) in started.stdout
        assert password_file.stat().st_mode & 0o077 == 0, "the password file must be private"
        password = json.loads(password_file.read_text())["admin"]
        assert password not in started.stdout

        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/api/v2/dags").status_code == 401  # login required
            assert (
                http.post("/auth/token", json={"username": "admin", "password": "wrong"}).status_code == 401
            )
            token = http.post("/auth/token", json={"username": "admin", "password": password})
            assert token.status_code in (200, 201), token.text
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

            def listed():
                dags_json = http.get("/api/v2/dags").json()
                return [d for d in dags_json["dags"] if d["dag_id"] == "mp_ops_up_probe"]

            (probe,) = _wait_for(listed, 120, "the dag-processor to parse the probe DAG")
            # ... our dag-processor, which skips the success callbacks' parses (ops/dag_processor.py)
            pid = (private_airflow_home / "run" / "dag-processor.pid").read_text().strip()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert b"matrix_pulse.ops.dag_processor" in argv, argv
            assert probe["is_paused"] is True, "DAGs must be paused at creation"

            # The user unpauses; a manual run then goes through scheduler, LocalExecutor, execution API.
            assert http.patch("/api/v2/dags/mp_ops_up_probe", json={"is_paused": False}).status_code == 200
            run = http.post("/api/v2/dags/mp_ops_up_probe/dagRuns", json={"logical_date": None})
            assert run.status_code == 200, run.text
            run_id = run.json()["dag_run_id"]

            def finished():
                state = http.get(f"/api/v2/dags/mp_ops_up_probe/dagRuns/{run_id}").json()["state"]
                return state if state in ("success", "failed") else None

            assert _wait_for(finished, 120, "the probe run to finish") == "success"

            plugins = http.get("/api/v2/plugins").json()["plugins"]
            ours = next(p for p in plugins if p["name"] == "matrix_pulse_ops")
            assert {v["url_route"] for v in ours["external_views"]} >= {
                "matrix-pulse-health",
                "matrix-pulse-packs",
            }
            for path, expected in (
                ("/matrix-pulse/", "Matrix Pulse operations"),
                ("/matrix-pulse/health", "尚未发布"),
                ("/matrix-pulse/packs", "暂无归档"),
            ):
                page = http.get(path)
                assert page.status_code == 200 and expected in page.text, (path, page.status_code)
            assert http.get("/matrix-pulse/dbt-docs/").status_code == 404  # not generated: a clear page
            anonymous = httpx.get(f"{base}/matrix-pulse/health", timeout=30)
            assert anonymous.status_code == 401, "the plugin pages must require the login"
    finally:
        groups = [int(p.read_text()) for p in (private_airflow_home / "run").glob("*.pid")]
        stopped = subprocess.run(
            ["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=90
        )
    assert stopped.returncode == 0, stopped.stderr
    assert "Airflow stopped." in stopped.stdout
    assert not list((private_airflow_home / "run").glob("*.pid"))
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/api/v2/monitor/health", timeout=5)
    assert len(groups) == 4
    for group in groups:  # every component started its own process group: nothing of it is left
        leftovers = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True)
        assert leftovers.stdout.strip() == "", f"process group {group} still has {leftovers.stdout.split()}"


def test_stop_returns_only_when_no_process_of_a_component_is_left(
    tmp_path: Path, private_airflow_home: Path
) -> None:
    """A component whose leader exits on TERM while a worker of its group ignores TERM (as a
    busy executor worker may): `stop` kills the rest of the group and returns only once none of
    it is left, not as soon as the leader is gone."""
    run_dir = private_airflow_home / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    # started as airflow_up.sh starts a component: setsid in the background of a shell that exits
    worker = "trap '' TERM; while :; do sleep 0.2; done"
    leader = f"bash -c \"{worker}\" & trap 'exit 0' TERM; while :; do sleep 0.2; done"
    started = subprocess.run(
        ["bash", "-c", f"setsid bash -c {json.dumps(leader)} >/dev/null 2>&1 </dev/null & echo $!"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    group = int(started.stdout.strip())
    (run_dir / "scheduler.pid").write_text(f"{group}\n")
    try:
        _wait_for(lambda: len(subprocess.run(["pgrep", "-g", str(group)], capture_output=True,
                                             text=True).stdout.split()) >= 2, 10, "the worker to start")  # fmt: skip
        env = clean_airflow_env(private_airflow_home, tmp_path / "mp_home", AIRFLOW_STOP_TIMEOUT="2")
        stopped = subprocess.run(
            ["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=60
        )
        left = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout.split()
        assert stopped.returncode == 0, stopped.stderr
        assert "Airflow stopped." in stopped.stdout
        assert "scheduler did not stop within 2 s: KILL" in stopped.stderr
        assert left == [], f"process group {group} still has {left}"
        assert not (run_dir / "scheduler.pid").exists()
    finally:
        subprocess.run(["pkill", "-KILL", "-g", str(group)], capture_output=True)
