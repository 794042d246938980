"""Airflow on the CeleryExecutor as native processes (`make celery` / `make celery-stop`).

The scale-out shape of Matrix Pulse without a container engine: the same components as
docker-compose.yaml, started as processes on this machine.

* metadata DB: the local PostgreSQL (scripts/postgres_up.sh; database ``<MP_PG_DATABASE>_airflow``)
* broker: ``redis-server`` on 127.0.0.1:``MP_REDIS_PORT``, password-protected
* api-server, scheduler, dag-processor, triggerer
* two Celery workers: ``writer`` serves only the DuckDB writer queue with one slot (it owns the
  warehouse file, so DuckDB's single-writer rule holds across machines), ``worker`` serves the
  ``default`` queue (pulling, Assets, report builds, e-mail). On the PostgreSQL warehouse
  (``MP_WAREHOUSE_BACKEND=postgres``) both serve ``default`` with two slots each.

``PROCESSES`` is the one definition of the stack: this module starts it, and
tests/scaleout check that docker-compose.yaml runs the same commands with the same settings.
Secrets (Fernet key, JWT secret, API secret key, Redis password) are generated once into
``$MP_HOME/secrets/celery.json`` (mode 600, git-ignored) and reach the processes through their
environment only, never a command line or a log.

Usage: ``python -m matrix_pulse.ops.celery_stack start|stop|status`` (scripts/celery_up.sh first
makes sure PostgreSQL and Redis are installed and the metadata database exists).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from matrix_pulse.settings import Settings, get_settings, process_environment

# Fixed log-server ports per process (both workers on one machine must not share 8793).
_WORKER_LOG_PORTS = {"writer": 8393, "worker": 8394}
_TRIGGERER_LOG_PORT = 8395


# `airflow dag-processor` through our entry point, which skips re-parsing a DAG file for the task
# success callbacks Airflow's processor would only log (ops/dag_processor.py; scripts/airflow_up.sh
# starts the embedded one the same way).
DAG_PROCESSOR = ("python", "-m", "matrix_pulse.ops.dag_processor")


@dataclass(frozen=True)
class StackProcess:
    """One long-running process of the stack: its name, what it runs (``argv``) and its own env."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def processes(settings: Settings) -> list[StackProcess]:
    """The Airflow processes of the stack, in start order (Redis is started before them)."""
    # On the PostgreSQL warehouse no task needs the machine that owns a file: both workers serve
    # the default queue and share every task (Settings.writer_task_args).
    on_postgres = settings.warehouse_backend == "postgres"
    writer_queue = "default" if on_postgres else settings.writer_queue
    return [
        StackProcess("api-server", ("airflow", "api-server")),
        StackProcess("scheduler", ("airflow", "scheduler")),
        StackProcess("dag-processor", DAG_PROCESSOR),
        StackProcess(
            "triggerer",
            ("airflow", "triggerer"),
            {"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_TRIGGERER_LOG_PORT)},
        ),
        # Concurrency 1: one writer at a time on the file, whatever the pool says.
        StackProcess(
            "writer",
            (
                "airflow",
                "celery",
                "worker",
                "--queues",
                writer_queue,
                "--concurrency",
                "2" if on_postgres else "1",
                "--celery-hostname",
                "writer@%h",
            ),
            {
                "MP_WORKER_NAME": "writer",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_WORKER_LOG_PORTS["writer"]),
            },
        ),
        StackProcess(
            "worker",
            (
                "airflow",
                "celery",
                "worker",
                "--queues",
                "default",
                "--concurrency",
                "2",
                "--celery-hostname",
                "worker@%h",
            ),
            {
                "MP_WORKER_NAME": "worker",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_WORKER_LOG_PORTS["worker"]),
            },
        ),
    ]


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` on the stack: the worker's name when set, so the task
    instance records which worker ran it (two workers on one machine share the machine's name)."""
    return get_settings().worker_name or socket.getfqdn()


def secrets_file(settings: Settings) -> Path:
    return settings.home / "secrets" / "celery.json"


def stack_secrets(settings: Settings) -> dict[str, str]:
    """The stack's generated secrets, created on first use in a private file."""
    path = secrets_file(settings)
    if path.exists():
        return json.loads(path.read_text())
    from cryptography.fernet import Fernet

    values = {
        "fernet_key": Fernet.generate_key().decode(),
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "redis_password": secrets.token_urlsafe(24),
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh)
    return values


def password_file(settings: Settings) -> Path:
    """The UI login's password file, generated private on first use (same file as `make airflow`)."""
    path = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"admin": secrets.token_urlsafe(16)}, fh)
    return path


def metadata_database(settings: Settings) -> str:
    return f"{settings.pg_database}_airflow"


def stack_env(settings: Settings, port: int) -> dict[str, str]:
    """The Airflow settings every process of the stack shares (docker-compose.yaml sets the same keys)."""
    sec = stack_secrets(settings)
    pg = f"{settings.pg_user}:{settings.pg_password.get_secret_value()}@{settings.pg_host}:{settings.pg_port}"
    db = metadata_database(settings)
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}/{db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{pg}/{db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:{sec['redis_password']}@127.0.0.1:{settings.redis_port}/0",
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": sec["api_secret_key"],
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "matrix_pulse.ops.celery_stack.worker_hostname",
        # Login as in `make airflow`: the simple auth manager with the password file that
        # scripts/airflow_up.sh generates (otherwise the api-server prints a password into its log).
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file(settings)),
        # A task whose worker died unacknowledged is handed to another worker after this long
        # (the broker's redelivery; the scheduler's heartbeat timeout catches it too).
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
    }


class Stack:
    """Start, stop and inspect the processes; pid files and logs under ``$AIRFLOW_HOME/celery``."""

    def __init__(self, settings: Settings | None = None, port: int = 8080) -> None:
        self.settings = settings or get_settings()
        self.port = port
        self.run_dir = self.settings.airflow_home / "celery"
        self._children: dict[str, subprocess.Popen] = {}

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return process_environment({**stack_env(self.settings, self.port), **(extra or {})})

    def _pid(self, name: str) -> int | None:
        pid_file = self.run_dir / f"{name}.pid"
        if not pid_file.exists():
            return None
        pid = int(pid_file.read_text())
        child = self._children.get(name)
        if child is not None and child.pid == pid:  # started by this process: poll() also reaps it
            return None if child.poll() is not None else pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        (self.run_dir / f"{name}.pid").write_text(str(proc.pid))
        self._children[name] = proc

    def names(self) -> list[str]:
        return ["redis", *(p.name for p in processes(self.settings))]

    def start_redis(self) -> None:
        if self._pid("redis"):
            return
        # The password goes in a private config file, not on the command line (ps shows that).
        conf = self.run_dir / "redis.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(
                f'port {self.settings.redis_port}\nbind 127.0.0.1\nsave ""\nappendonly no\n'
                f"dir {self.run_dir}\nrequirepass {stack_secrets(self.settings)['redis_password']}\n"
            )
        self._spawn("redis", ["redis-server", str(conf)], process_environment())

    def migrate(self) -> None:
        """Create or upgrade the metadata schema and the writer pool before the processes start."""
        # `airflow db migrate` and `airflow pools set`, in one Airflow process (ops.airflow_bootstrap)
        argv = ["python", "-m", "matrix_pulse.ops.airflow_bootstrap"]
        done = subprocess.run(argv, env=self.env(), capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"`airflow db migrate` or `airflow pools set` failed:\n{done.stderr[-3000:]}")

    def start(self, timeout: float = 240.0) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._pid("scheduler"):
            print(f"Celery stack already running on http://localhost:{self.port}")
            return
        self.start_redis()
        self.migrate()
        for proc in processes(self.settings):
            self._spawn(proc.name, list(proc.argv), self.env(proc.env))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n in self.names() if not self._pid(n)]
            if dead:
                tail = (self.run_dir / f"{dead[0]}.log").read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"{dead[0]} exited during start-up; end of its log:\n{tail}")
            if self.healthy():
                print(f"Celery stack up: http://localhost:{self.port} (logs in {self.run_dir})")
                return
            time.sleep(1)
        raise RuntimeError(
            f"the Celery stack did not become healthy in {timeout:.0f} s; logs in {self.run_dir}"
        )

    def healthy(self) -> bool:
        """api-server answers, scheduler/dag-processor/triggerer heartbeat, both workers answer a ping."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=5
            ) as resp:
                health = json.load(resp)
        except OSError:
            return False
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        if not all((health.get(p) or {}).get("status") == "healthy" for p in parts):
            return False
        return set(self.workers_answering()) >= {"writer", "worker"}

    def workers_answering(self) -> list[str]:
        ping = subprocess.run(
            [
                "celery",
                "--app",
                "airflow.providers.celery.executors.celery_executor.app",
                "inspect",
                "ping",
                "--json",
            ],
            env=self.env(),
            capture_output=True,
            text=True,
        )
        try:
            replies = json.loads(ping.stdout.strip().splitlines()[-1]) if ping.stdout.strip() else {}
        except (json.JSONDecodeError, IndexError):
            return []
        return sorted(name.split("@")[0] for name in replies)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one process's whole group (a Celery worker's pool children die with it)."""
        pid = self._pid(name)
        if pid:
            os.killpg(pid, sig)

    def stop(self) -> None:
        running = [n for n in reversed(self.names()) if self._pid(n)]
        for name in running:
            self.kill(name, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(self._pid(n) for n in running):
            time.sleep(0.5)
        for name in running:
            if self._pid(name):
                self.kill(name)
            (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
        print("Celery stack stopped." if running else "Celery stack was not running.")

    def status(self) -> None:
        for name in self.names():
            pid = self._pid(name)
            print(f"{name}: " + (f"running (pid {pid})" if pid else "stopped"))


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "start"
    port = int(argv[1]) if len(argv) > 1 else 8080
    stack = Stack(port=port)
    {"start": stack.start, "stop": stack.stop, "status": stack.status}[action]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
