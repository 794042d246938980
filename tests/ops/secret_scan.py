"""Find secret values where they must not be: the git tree, Airflow's logs, the data folder.

Reusable from tests and from the command line (exit status 1 when something leaked)::

    python tests/ops/secret_scan.py                       # git-tracked (and to-be-added) files
    python tests/ops/secret_scan.py airflow_home/logs data  # a demo run's logs and outputs

The secrets searched for are the real values this machine uses (read from where they are
kept: the environment, data/secrets/, the simple-auth password file, airflow.cfg, .env), so
a leak is found byte for byte in any file, text or binary. Findings name the file and the
secret, never the value.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Shorter values (e.g. "admin") would match everywhere without meaning anything.
MIN_SECRET_LENGTH = 8
PLACEHOLDERS = {"", "CHANGE_ME", "changeme", "airflow", "admin"}
# Folders where secrets live by design: scanning them would only find the secrets themselves.
SECRET_HOMES = ("secrets",)
PATTERNS = {
    "private key (PEM)": re.compile(rb"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(rb"\bAKIA[0-9A-Z]{16}\b"),
}


@dataclass(frozen=True)
class Finding:
    path: Path
    secret: str

    def __str__(self) -> str:
        return f"{self.path}: contains {self.secret}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def known_secret_values(
    repo_root: Path = REPO_ROOT,
    airflow_home: Path | None = None,
    mp_home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every secret value this checkout knows about, by a name that says where it came from."""
    env = os.environ if environ is None else environ
    airflow_home = airflow_home or Path(env.get("AIRFLOW_HOME", repo_root / "airflow_home"))
    mp_home = mp_home or Path(env.get("MP_HOME", repo_root / "data"))
    found: dict[str, str] = {}

    for name in ("MP_PII_HMAC_KEY", "MP_PG_PASSWORD", "SMTP_PASSWORD", "AIRFLOW__CORE__FERNET_KEY"):
        if env.get(name):
            found[f"${name}"] = env[name]
    for name in ("pii_hmac.key", "pg_password"):
        value = _read(mp_home / "secrets" / name)
        if value:
            found[f"data/secrets/{name}"] = value

    passwords = _read(airflow_home / "simple_auth_manager_passwords.json.generated")
    if passwords:
        try:
            for user, password in json.loads(passwords).items():
                found[f"Airflow password of {user}"] = password
        except ValueError:
            pass

    cfg_path = airflow_home / "airflow.cfg"
    if cfg_path.exists():
        cfg = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            cfg.read(cfg_path)
        except configparser.Error:
            cfg = configparser.ConfigParser()
        for section, key in (("core", "fernet_key"), ("api", "secret_key"), ("api_auth", "jwt_secret")):
            value = cfg.get(section, key, fallback="")
            if value:
                found[f"airflow.cfg [{section}] {key}"] = value

    dotenv = _read(repo_root / ".env")
    for line in (dotenv or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and re.search(r"PASSWORD|SECRET|KEY|TOKEN", key) and not key.lstrip().startswith("#"):
            found[f".env {key.strip()}"] = value.strip().strip("'\"")

    return {
        name: value
        for name, value in found.items()
        if len(value) >= MIN_SECRET_LENGTH and value not in PLACEHOLDERS
    }


def git_tree_files(repo_root: Path = REPO_ROOT) -> list[Path]:
    """Files git tracks plus untracked files that are not ignored (what the next commit may add)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo_root,
        capture_output=True,
        check=True,
    ).stdout
    return [repo_root / p for p in out.decode().split("\0") if p and (repo_root / p).is_file()]


def _walk(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = [d for d in dirs if d not in SECRET_HOMES and d != ".git"]
                for name in files:
                    yield Path(root) / name


def scan_for_secrets(
    paths: Iterable[Path],
    secrets: Mapping[str, str],
    allowed: Mapping[str, Iterable[str]] | None = None,
    root: Path = REPO_ROOT,
) -> list[Finding]:
    """Files (or folders, walked) under ``paths`` that contain a secret value or a key pattern.

    ``allowed`` maps a secret name to path prefixes (relative to ``root``) where it may
    appear, e.g. the fixed test HMAC key in tests/.
    """
    needles = {name: value.encode() for name, value in secrets.items()}
    allowed = {name: tuple(prefixes) for name, prefixes in (allowed or {}).items()}
    findings: list[Finding] = []
    for path in _walk(paths):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        try:
            relative = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = str(path)
        hits = [name for name, needle in needles.items() if needle in content]
        hits += [name for name, pattern in PATTERNS.items() if pattern.search(content)]
        for name in hits:
            prefixes = allowed.get(name, ())
            if not (prefixes and relative.startswith(prefixes)):
                findings.append(Finding(path, name))
    return findings


def main(argv: list[str]) -> int:
    secrets = known_secret_values()
    if argv:
        findings = scan_for_secrets([Path(a) for a in argv], secrets)
    else:
        # The fixed test key (tests/conftest.py) is public by design, but only in tests/.
        allowed = {"$MP_PII_HMAC_KEY": ["tests/"]}
        findings = scan_for_secrets(git_tree_files(), secrets, allowed)
    print(f"checked for {len(secrets)} secret values and {len(PATTERNS)} key patterns")
    for finding in findings:
        print(f"LEAK {finding}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
