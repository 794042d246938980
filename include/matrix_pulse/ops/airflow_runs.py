"""Run a DAG the way production does: a triggered run, executed by a running Airflow's scheduler.

``make demo`` uses this instead of ``airflow dags test``: the run goes through the scheduler,
the LocalExecutor and the api-server's execution API, so every task writes its log where the
UI reads it (``$AIRFLOW_HOME/logs``) and the run has its real start, end and duration.

Everything goes through Airflow's REST API v2 with a bearer token (what the API expects of a
non-browser client), using the login ``scripts/airflow_up.sh`` generated:

    python -m matrix_pulse.ops.airflow_runs --url http://127.0.0.1:8080 \\
        run mp_ingest --logical-date 2026-10-01T06:00:00+08:00

``run`` waits until the DAG file has been parsed since ``--parsed-after`` (the dag-processor
just started: an older serialised DAG would run yesterday's code), unpauses the DAG for the
run and pauses it again afterwards (DAGs stay paused at rest, so opening the UI later starts
nothing by itself), and exits non-zero with the failed tasks' log tails when the run fails.

A logical date already used by an earlier run (the demo run again) is re-run the way the data
team re-runs a day in the UI: that run's task instances are cleared, and its log keeps both tries.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from matrix_pulse.settings import get_settings

TERMINAL = ("success", "failed")


class AirflowRunError(RuntimeError):
    """A run that could not be started or did not succeed; the message says which and why."""


class AirflowApi:
    """The few REST API v2 calls a triggered run needs, authenticated with a bearer token."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 60) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        token = self.http.post("/auth/token", json={"username": username, "password": password})
        if token.status_code not in (200, 201):
            raise AirflowRunError(f"login as {username} at {url} failed: HTTP {token.status_code}")
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def _ok(self, response: httpx.Response, what: str) -> dict:
        if response.status_code >= 400:
            raise AirflowRunError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
        return response.json() if response.content else {}

    def wait_parsed(self, dag_id: str, after: datetime, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dag = self.http.get(f"/api/v2/dags/{dag_id}")
            if dag.status_code == 200:
                parsed = dag.json().get("last_parsed_time")
                if parsed and datetime.fromisoformat(parsed) >= after:
                    return
            time.sleep(1)
        errors = self.http.get("/api/v2/importErrors").json().get("import_errors", [])
        detail = (
            "; ".join(f"{e['filename']}: {e['stack_trace'][-400:]}" for e in errors) or "no import errors"
        )
        raise AirflowRunError(f"{dag_id} was not parsed within {timeout:.0f} s ({detail})")

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._ok(self.http.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": paused}), f"pause {dag_id}")

    def trigger(self, dag_id: str, logical_date: str | None, conf: dict) -> str:
        """A new run; or, for a logical date that already has one, that run cleared to run again."""
        body = {"logical_date": logical_date, "conf": conf}
        created = self.http.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        if created.status_code == 409 and logical_date:
            return self._rerun(dag_id, logical_date)
        return self._ok(created, f"trigger {dag_id}")["dag_run_id"]

    def _rerun(self, dag_id: str, logical_date: str) -> str:
        when = datetime.fromisoformat(logical_date)
        runs = self._ok(
            self.http.get(
                f"/api/v2/dags/{dag_id}/dagRuns",
                params={"logical_date_gte": when.isoformat(), "logical_date_lte": when.isoformat()},
            ),
            f"find the {dag_id} run of {logical_date}",
        )["dag_runs"]
        if not runs:
            raise AirflowRunError(f"{dag_id}: a run of {logical_date} exists but cannot be found")
        run_id = runs[0]["dag_run_id"]
        self._ok(
            self.http.post(
                f"/api/v2/dags/{dag_id}/clearTaskInstances",
                json={"dry_run": False, "dag_run_id": run_id, "only_failed": False, "reset_dag_runs": True},
            ),
            f"clear {dag_id} {run_id}",
        )
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> dict:
        return self._ok(self.http.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"), f"{dag_id} {run_id}")

    def failed_task_logs(self, dag_id: str, run_id: str, lines: int = 30) -> str:
        tis = self._ok(
            self.http.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}),
            "task instances",
        )["task_instances"]
        out = []
        for ti in tis:
            if ti["state"] not in ("failed", "upstream_failed"):
                continue
            mapped = "" if ti.get("map_index", -1) < 0 else f"[{ti['map_index']}]"
            out.append(f"--- {ti['task_id']}{mapped}: {ti['state']}")
            if ti["state"] == "failed":
                log = self.http.get(
                    f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{ti['try_number']}",
                    params={"full_content": True, "map_index": ti.get("map_index", -1)},
                    headers={"Accept": "application/x-ndjson"},
                )
                out.extend(_log_text(line) for line in log.text.splitlines()[-lines:])
        return "\n".join(out)


def _log_text(line: str) -> str:
    """One structured task-log line (JSON) as the UI shows it: time, level, message."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    event = record.get("event", "")
    if record.get("error_detail"):
        event += f" {json.dumps(record['error_detail'])[-1500:]}"
    return f"{record.get('timestamp', '')} {record.get('level', '')} {event}"


def _password(path: Path, username: str) -> str:
    try:
        return json.loads(path.read_text())[username]
    except (OSError, KeyError, ValueError) as exc:
        raise AirflowRunError(
            f"no password for {username} in {path} (scripts/airflow_up.sh writes it)"
        ) from exc


def run_dag(api: AirflowApi, dag_id: str, logical_date: str | None, conf: dict, timeout: float) -> dict:
    """Trigger (or re-run) one DAG run and wait for it; returns the finished run as the API reports it."""
    api.set_paused(dag_id, False)
    try:
        run_id = api.trigger(dag_id, logical_date, conf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = api.run_state(dag_id, run_id)
            if run["state"] in TERMINAL and run.get("end_date"):
                break
            time.sleep(2)
        else:
            raise AirflowRunError(f"{dag_id} {run_id} did not finish within {timeout:.0f} s")
    finally:
        api.set_paused(dag_id, True)
    if run["state"] != "success":
        raise AirflowRunError(
            f"{dag_id} {run_id} ended {run['state']}:\n{api.failed_task_logs(dag_id, run_id)}"
        )
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="the api-server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--username", default="admin")
    default_passwords = get_settings().airflow_home / "simple_auth_manager_passwords.json.generated"
    parser.add_argument("--password-file", type=Path, default=default_passwords)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="trigger a DAG run and wait for it")
    run.add_argument("dag_id")
    run.add_argument(
        "--logical-date", default=None, help="ISO date-time with zone; none: like an asset trigger"
    )
    run.add_argument("--conf", default="{}", help="the run's conf (JSON)")
    run.add_argument(
        "--parsed-after", type=float, default=0.0, help="epoch seconds the DAG must be parsed after"
    )
    run.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)

    try:
        api = AirflowApi(args.url, args.username, _password(args.password_file, args.username))
        api.wait_parsed(args.dag_id, datetime.fromtimestamp(args.parsed_after, UTC), timeout=180)
        finished = run_dag(api, args.dag_id, args.logical_date, json.loads(args.conf), args.timeout)
    except AirflowRunError as exc:
        print(f"{args.dag_id}: FAILED: {exc}", file=sys.stderr)
        return 1
    start = datetime.fromisoformat(finished["start_date"])
    end = datetime.fromisoformat(finished["end_date"])
    print(
        f"{args.dag_id}: success in {(end - start).total_seconds():.0f} s "
        f"(run {finished['dag_run_id']}, {start:%Y-%m-%d %H:%M:%S %z} .. {end:%H:%M:%S})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
