"""docker-compose.yaml, docker/Dockerfile and .env.example, checked statically (no Docker here).

No Compose JSON schema ships in a pip package we have, so the structure is checked by hand:
the services the deployment needs, the shared x-airflow-common block, dependencies, every
${VAR} documented in .env.example, the repo folders mounted, CeleryExecutor, no secrets.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "airflow api-server",
    "airflow-scheduler": "airflow scheduler",
    "airflow-dag-processor": "python -m matrix_pulse.ops.dag_processor",
    "airflow-writer": "airflow celery worker",
    "airflow-worker": "airflow celery worker",
    "airflow-triggerer": "airflow triggerer",
    "airflow-init": None,
}
OTHER_SERVICES = {"postgres", "redis", "mailpit", "warehouse-postgres"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|HMAC|TOKEN|_KEY$", re.IGNORECASE)
# ${NAME}, ${NAME:-default}, ${NAME:?error}; $${NAME} is an escaped literal for the container shell.
VAR_REF = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def test_every_needed_service_exists(compose: dict) -> None:
    services = compose["services"]
    missing = (set(AIRFLOW_SERVICES) | OTHER_SERVICES) - set(services)
    assert not missing, f"docker-compose.yaml lacks {sorted(missing)}"
    for name, command in AIRFLOW_SERVICES.items():
        if command:
            # The image's entrypoint is `tini -- airflow`; a service may replace it with ours.
            argv = services[name].get("entrypoint", ["tini", "--", "airflow"])[2:]
            runs = " ".join([*argv, services[name].get("command", "")])
            assert runs.startswith(command), name
    assert services["warehouse-postgres"]["profiles"] == ["postgres-warehouse"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert "mailpit" in services["mailpit"]["image"]


def test_airflow_services_share_the_common_block(compose: dict) -> None:
    text = COMPOSE.read_text()
    assert "x-airflow-common: &airflow-common" in text
    for name in AIRFLOW_SERVICES:
        block = re.search(rf"^  {re.escape(name)}:\n((?:    .*\n|\n)+)", text, re.MULTILINE)
        assert block and "<<: *airflow-common\n" in block.group(1), f"{name} does not use x-airflow-common"
        service = compose["services"][name]
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert service["build"]["dockerfile"] == "docker/Dockerfile", name
        assert "postgresql" in service["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert "@redis:6379/" in service["environment"]["AIRFLOW__CELERY__BROKER_URL"]


def test_depends_on_names_existing_services(compose: dict) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for target in depends if isinstance(depends, list) else depends.keys():
            assert target in services, f"{name} depends on unknown service {target}"
            assert target != name


def test_repo_folders_are_mounted(compose: dict) -> None:
    volumes = compose["services"]["airflow-scheduler"]["volumes"]
    sources = {v.split(":")[0] for v in volumes}
    for folder in ("./dags", "./dbt", "./include", "./plugins", "./data"):
        assert folder in sources, f"{folder} is not mounted"
        if folder != "./data":  # data/ is git-ignored and created on first run
            assert (REPO_ROOT / folder).is_dir()
    # The package is installed editable from /opt/matrix-pulse: include/ must be mounted there.
    assert "./include:/opt/matrix-pulse/include" in volumes


def test_every_variable_is_documented_in_env_example() -> None:
    used = set(VAR_REF.findall(COMPOSE.read_text()))
    documented = set(_env_example())
    assert used, "no ${VAR} found: the regex is wrong"
    assert used <= documented, f"missing from .env.example: {sorted(used - documented)}"


def test_no_literal_secrets(compose: dict) -> None:
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        items = env.items() if isinstance(env, dict) else (e.partition("=")[::2] for e in env)
        for key, value in items:
            value = str(value)
            # A *_FILE setting names where a secret lives (a path in the container), not the secret.
            if SECRET_NAME.search(key) and value and not key.endswith("_FILE"):
                assert VAR_REF.fullmatch(value) or re.fullmatch(r"\$\{[^}]+\}", value), (
                    f"{name}.{key} must come from .env, found a literal"
                )
            for credential in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert credential.startswith("${"), f"{name}.{key}: a literal password in a URL"
            for password in re.findall(r'"password":\s*"([^"]*)"', value):
                assert password == "" or password.startswith("${"), f"{name}.{key}: a literal password"
    for key, value in _env_example().items():
        if SECRET_NAME.search(key):
            assert value in ("", "CHANGE_ME"), f".env.example {key} must be a placeholder, found {value!r}"


def test_env_file_is_git_ignored_and_example_is_not() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT)
    assert ignored.returncode == 0, ".env must be git-ignored"
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=REPO_ROOT)
    assert example.returncode == 1, ".env.example must be committed"


def test_dockerfile_installs_the_lock_and_the_package() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM ", text, re.MULTILINE)
    assert re.search(r"pip install [^\n]*-r requirements\.txt", text)
    assert re.search(r"pip install [^\n]*-e \.", text)
    assert "COPY --chown=airflow:0 include ./include" in text
