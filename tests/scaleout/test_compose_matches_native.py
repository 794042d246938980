"""docker-compose.yaml against the Compose specification and against the native Celery stack.

No container engine runs here, so the compose file is checked statically: (1) it validates
against the Compose-spec JSON schema (vendored: compose_spec.json, from the docker-compose 1.29.2
wheel on PyPI, Apache-2.0; no download at test time), after the ${VAR} interpolation Compose
does first; (2) its Airflow services run the same commands with the same settings as
matrix_pulse.ops.celery_stack, the one definition `make celery` starts.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import REPO_ROOT
from matrix_pulse.ops.celery_stack import processes, stack_env
from matrix_pulse.settings import Settings

COMPOSE = REPO_ROOT / "docker-compose.yaml"
SCHEMA = json.loads((Path(__file__).parent / "compose_spec.json").read_text())
# Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}; $$ is a literal $.
VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}")
# The native name of each process -> its compose service.
SERVICE_OF = {
    "api-server": "airflow-apiserver",
    "scheduler": "airflow-scheduler",
    "dag-processor": "airflow-dag-processor",
    "triggerer": "airflow-triggerer",
    "writer": "airflow-writer",
    "worker": "airflow-worker",
}
# Set differently on purpose: where a process listens and how it finds the others (loopback
# natively, service names in compose), and the secrets (generated natively, from .env in compose).
PER_DEPLOYMENT = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API__BASE_URL",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
}

# Natively the api-server listens on loopback:AIRFLOW_PORT; in compose on the container's default
# 0.0.0.0:8080, published by the service's port mapping.
NATIVE_ONLY = {"AIRFLOW__API__HOST", "AIRFLOW__API__PORT"}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution with ``env`` as the .env file (a missing required one fails)."""

    def one(match: re.Match) -> str:
        name, dash, default, question = match.groups()
        if name in env and (env[name] or not (dash or "").startswith(":")):
            return env[name]
        if question:
            raise KeyError(f"required variable {name} is not set")
        return default or ""

    return VAR.sub(one, text).replace("$$", "$")


def _env_example() -> dict[str, str]:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))


def service_argv(service: dict) -> tuple[str, ...]:
    """What a service runs: the image's entrypoint is `tini -- airflow` (docker/Dockerfile), a service's
    own ``entrypoint`` replaces it and the image's command (Compose's rule), then ``command``."""
    entrypoint = service.get("entrypoint", ["tini", "--", "airflow"])
    assert entrypoint[:2] == ["tini", "--"], "a service without tini leaves zombies and ignores TERM"
    return (*entrypoint[2:], *shlex.split(service.get("command", "")))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(), _env_example()))


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("mp_home"), airflow_home=tmp_path_factory.mktemp("af"))


def test_compose_file_is_valid_compose_spec(compose: dict) -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(compose)


def test_the_schema_check_rejects_a_broken_file(compose: dict) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["airflow-writer"]["depends_on"]["redis"]["condition"] = "when_it_feels_like_it"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)
    broken = json.loads(json.dumps(compose))
    broken["services"]["airflow-worker"]["comand"] = "typo"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)


def test_a_missing_required_secret_stops_compose() -> None:
    env = {k: v for k, v in _env_example().items() if k != "REDIS_PASSWORD"}
    with pytest.raises(KeyError, match="REDIS_PASSWORD"):
        interpolate(COMPOSE.read_text(), env)


def test_compose_runs_the_native_stack_processes(compose: dict, native: Settings) -> None:
    services = compose["services"]
    airflow_services = {name for name, svc in services.items() if "build" in svc and name != "airflow-init"}
    assert airflow_services == set(SERVICE_OF.values()), "compose and celery_stack list different processes"
    for proc in processes(native):
        service = services[SERVICE_OF[proc.name]]
        assert service_argv(service) == proc.argv, proc.name
        if "MP_WORKER_NAME" in proc.env:
            assert service["environment"]["MP_WORKER_NAME"] == proc.env["MP_WORKER_NAME"], proc.name


def test_compose_sets_the_native_stack_settings(compose: dict, native: Settings) -> None:
    env = {k: v for k, v in stack_env(native, port=8080).items() if k not in NATIVE_ONLY}
    shared = {k: v for k, v in env.items() if k not in PER_DEPLOYMENT}
    for name in SERVICE_OF.values():
        service_env = {k: str(v) for k, v in compose["services"][name]["environment"].items()}
        assert set(env) <= set(service_env), f"{name} lacks {sorted(set(env) - set(service_env))}"
        differing = {k: (v, service_env[k]) for k, v in shared.items() if service_env[k] != v}
        assert not differing, f"{name}: native vs compose differ: {differing}"
    # Both talk to PostgreSQL for metadata and results and to Redis for the queue.
    common = compose["services"]["airflow-scheduler"]["environment"]
    assert common["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert (
        common["AIRFLOW__CELERY__RESULT_BACKEND"].split(":")[0]
        == env["AIRFLOW__CELERY__RESULT_BACKEND"].split(":")[0]
    )


def test_dockerfile_builds_from_the_project_lock_only() -> None:
    text = (REPO_ROOT / "docker" / "Dockerfile").read_text()
    base = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert base and not any("apache/airflow" in b for b in base), "no official Airflow image underneath"
    assert re.search(r"pip install --require-hashes -r requirements\.txt", text)
    assert re.search(r'ENTRYPOINT \[.*"airflow"\]', text)
