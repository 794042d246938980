"""No secret value in the git tree; the scanner finds one wherever it is planted.

The scanner (tests/ops/secret_scan.py) is also what to run on a demo run's outputs:
``python tests/ops/secret_scan.py airflow_home/logs data``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO_ROOT
from secret_scan import git_tree_files, known_secret_values, scan_for_secrets

TEST_HMAC_KEY_NAME = "$MP_PII_HMAC_KEY"


def test_git_tree_holds_no_secret_value() -> None:
    secrets = known_secret_values()
    # tests/conftest.py sets a fixed test-only key: the scan must at least look for that one.
    assert TEST_HMAC_KEY_NAME in secrets
    files = git_tree_files()
    assert any(p.name == "pyproject.toml" for p in files)
    findings = scan_for_secrets(files, secrets, allowed={TEST_HMAC_KEY_NAME: ["tests/"]})
    assert findings == [], "\n".join(map(str, findings))


def test_scanner_finds_planted_secrets_in_logs_and_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow_home, mp_home = tmp_path / "airflow_home", tmp_path / "data"
    (mp_home / "secrets").mkdir(parents=True)
    (mp_home / "secrets" / "pg_password").write_text("pg-Secret-4711xyz\n")
    (airflow_home / "logs" / "dag_id=mp_ingest").mkdir(parents=True)
    (airflow_home / "simple_auth_manager_passwords.json.generated").write_text('{"admin": "Adm1n-pw-9Qz"}')
    monkeypatch.setenv("MP_PII_HMAC_KEY", "hmac-key-for-this-test-0001")

    secrets = known_secret_values(REPO_ROOT, airflow_home, mp_home)
    assert set(secrets) >= {"$MP_PII_HMAC_KEY", "data/secrets/pg_password", "Airflow password of admin"}

    log = airflow_home / "logs" / "dag_id=mp_ingest" / "attempt=1.log"
    log.write_text("hashing phones with key hmac-key-for-this-test-0001\n")
    (mp_home / "outputs").mkdir()
    (mp_home / "outputs" / "pack.bin").write_bytes(b"\x00\x01Adm1n-pw-9Qz\x00")
    (mp_home / "outputs" / "clean.txt").write_text("nothing to see")

    findings = scan_for_secrets([airflow_home / "logs", mp_home], secrets, root=tmp_path)
    assert {(f.path.name, f.secret) for f in findings} == {
        ("attempt=1.log", "$MP_PII_HMAC_KEY"),
        ("pack.bin", "Airflow password of admin"),
    }  # data/secrets/ itself is where the secrets live: not reported
    assert all("hmac-key-for-this-test" not in str(f) for f in findings), "findings must not print values"
