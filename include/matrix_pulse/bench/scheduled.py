"""The bench's DAG runs under the real scheduler, as production runs them.

Issue 17 asks what `mp_transform` costs over a bare `dbt build` under the real scheduler, and
what a new day costs until the marts are published. `airflow dags test` answers neither: it runs
the tasks one at a time in one process, so the 57 model tasks that the scheduler runs in the
triggerer, beside the build, queue behind it there, and it pays a process start, two parses of
the DAG file and the interpreter's exit in every figure. Here the bench starts the embedded
Airflow once (scripts/airflow_up.sh: api-server, scheduler, dag-processor, triggerer; LocalExecutor,
SQLite) in a private Airflow home beside the bench's data, triggers each run through the REST API
(ops.airflow_runs, as `make demo` does) and reads its duration from the run itself: from the
trigger (``queued_at``) to its end (``end_date``), what the Airflow UI shows a data team.

Airflow's start (~10 s) and the DAG file's first parse are not in any figure: in production they
happen once, not per run. Its own settings are airflow_up.sh's (the scheduler's loops at their
default pace); only ``use_job_schedule`` is off, so that nothing but the bench's runs starts.

Memory is the peak of the RSS summed over every process of the four components' process groups
during the run (the task processes and dbt under the scheduler, the triggerer's consumers, the
api-server), so a step's figure includes what the components hold while idle (``idle_rss_mb``:
1,752 MB in the runs of 2026-12-07), which counts the pages the forked executor workers share with
the scheduler once per process (their PSS summed was 859 MB, measured once): an upper bound.

CPU is each component's process tree from the trigger to the run's end (``cpu_s``: a process's own
time plus what it reaped of its children, so a DAG file's parse is counted once it has ended). The
scheduler's tree holds the task processes and the dbt build; the other three are Airflow's own work
beside it: the triggerer answering the consumers' polls in process, the dag-processor's parses (its
30 s refresh, and failure callbacks; ops/dag_processor.py skips the success callbacks a trigger
files when it ends a task, each batch of which cost a parse of the DAG file), the api-server.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from matrix_pulse.bench.memory import PeakRss, tree_cpu_seconds, tree_rss
from matrix_pulse.ops.airflow_runs import AirflowApi, run_dag
from matrix_pulse.ops.smtp_sink import free_port
from matrix_pulse.settings import REPO_ROOT, get_settings

SCRIPT = REPO_ROOT / "scripts" / "airflow_up.sh"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def prepare_airflow_home(home: Path, env: dict[str, str]) -> None:
    """A migrated metadata DB with the writer pool in ``home``: the repo's (`make setup` made it),
    copied with SQLite's backup API, else made by scripts/bootstrap_airflow.sh (~25 s)."""
    home.mkdir(parents=True, exist_ok=True)
    shared = get_settings().airflow_home / "airflow.db"
    if shared.exists():
        source, target = sqlite3.connect(shared), sqlite3.connect(home / "airflow.db")
        with target:
            source.backup(target)
        source.close()
        target.close()
    else:
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "bootstrap_airflow.sh")], env=env, check=True)


def airflow_environment(env: dict[str, str], airflow_home: Path) -> dict[str, str]:
    """``env`` for scripts that source scripts/env.sh with another Airflow home.

    The caller's ``AIRFLOW__*`` and ``AIRFLOW_CONN_*`` values came from env.sh for the repo's home
    (the Cosmos cache, the metadata DB, the log folder): dropped, so that env.sh sets them anew for
    ``airflow_home``. The ``MP_*`` settings stay: the bench's data home is the one to run on.
    """
    kept = {k: v for k, v in env.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    return {**kept, "AIRFLOW_HOME": str(airflow_home)}


class ScheduledAirflow:
    """The embedded Airflow for the bench's runs: ``with ScheduledAirflow(...) as af: af.run(...)``."""

    def __init__(self, airflow_home: Path, env: dict[str, str], log_dir: Path) -> None:
        self.home = airflow_home
        self.log_dir = log_dir
        self.port = free_port()
        self.env = {
            **airflow_environment(env, airflow_home),
            "AIRFLOW_PORT": str(self.port),
            "AIRFLOW_UP_TIMEOUT": "300",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }
        self.api: AirflowApi | None = None
        self.started_at = 0.0

    def __enter__(self) -> ScheduledAirflow:
        prepare_airflow_home(self.home, self.env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        with open(self.log_dir / "airflow_up.log", "w") as log:
            up = subprocess.run(["bash", str(SCRIPT), "start"], env=self.env, stdout=log, stderr=log)
        if up.returncode != 0:
            self._stop()
            tail = (self.log_dir / "airflow_up.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"the bench's Airflow did not start (exit {up.returncode}):\n{tail}")
        password = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())[
            "admin"
        ]
        self.api = AirflowApi(f"http://127.0.0.1:{self.port}", "admin", password)
        return self

    def __exit__(self, *exc) -> None:
        if self.api is not None:
            self.api.http.close()
        self._stop()

    def _stop(self) -> None:
        with open(self.log_dir / "airflow_stop.log", "w") as log:
            subprocess.run(["bash", str(SCRIPT), "stop"], env=self.env, stdout=log, stderr=log, timeout=120)

    def _leaders(self) -> dict[str, int]:
        pids = {}
        for comp in COMPONENTS:
            with contextlib.suppress(OSError, ValueError):
                pids[comp] = int((self.home / "run" / f"{comp}.pid").read_text())
        return pids

    @staticmethod
    def _each_tree(leaders: dict[str, int], measure) -> dict[str, float]:
        """``measure`` (bench.memory's) of each component's process tree now; 0 for one that is gone."""
        import psutil

        out = {}
        for comp, pid in leaders.items():
            try:
                out[comp] = measure(psutil.Process(pid))
            except psutil.NoSuchProcess:
                out[comp] = 0
        return out

    @classmethod
    def rss(cls, leaders: dict[str, int]) -> int:
        """Bytes held now by every process of Airflow's components (``leaders``' whole trees)."""
        return sum(cls._each_tree(leaders, tree_rss).values())

    @classmethod
    def cpu_seconds(cls, leaders: dict[str, int]) -> dict[str, float]:
        """CPU seconds used so far by each component's process tree."""
        return cls._each_tree(leaders, tree_cpu_seconds)

    def run(self, dag_id: str, timeout: float = 3600) -> tuple[float, float, dict]:
        """Trigger ``dag_id`` and wait for it; (seconds from trigger to end, peak RSS MB, detail)."""
        assert self.api is not None, "use ScheduledAirflow as a context manager"
        self.api.wait_parsed(dag_id, datetime.fromtimestamp(self.started_at, UTC), timeout=300)
        leaders = self._leaders()  # read once: the components run through the whole run
        idle = self.rss(leaders)
        cpu_before = self.cpu_seconds(leaders)
        with PeakRss(lambda: self.rss(leaders)) as peak:
            finished = run_dag(self.api, dag_id, None, {}, timeout)
        cpu_after = self.cpu_seconds(leaders)
        queued = datetime.fromisoformat(finished["queued_at"])
        started = datetime.fromisoformat(finished["start_date"])
        ended = datetime.fromisoformat(finished["end_date"])
        detail = {
            "run_id": finished["dag_run_id"],
            "queued_to_start_s": round((started - queued).total_seconds(), 2),
            "idle_rss_mb": round(idle / 1e6),
            # from the trigger to at most 2 s past the run's end (run_dag polls for it every 2 s); the
            # scheduler's tree holds the task processes, so its figure includes the dbt build
            "cpu_s": {comp: round(cpu_after[comp] - cpu_before[comp], 1) for comp in leaders},
        }
        return (ended - queued).total_seconds(), max(idle, peak.bytes) / 1e6, detail
