"""Personal information (PIPL): the keyed hash for CRM phones and where its key comes from.

The key is looked up, in order, in the environment (``MP_PII_HMAC_KEY``), an Airflow
Variable ``mp_pii_hmac_key`` (or the password of connection ``mp_pii_hmac``), and for the
demo only a local key file created on first use with 0600 permissions. The key is never
logged, stored in the warehouse or written next to the data.

Hashing runs in Python over the *distinct* valid numbers of one file (a few thousand at
most), not per row: the result is joined back in DuckDB, so the per-row work stays in SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from matrix_pulse.settings import Settings, get_settings

log = logging.getLogger(__name__)

ENV_KEY = "MP_PII_HMAC_KEY"
AIRFLOW_VARIABLE = "mp_pii_hmac_key"
AIRFLOW_CONNECTION = "mp_pii_hmac"


def _key_from_airflow() -> str | None:
    # Only inside a running task (Airflow exports AIRFLOW_CTX_* there): elsewhere the lookup
    # would try to reach an API server and time out.
    if not get_settings().airflow_ctx_dag_id:
        return None
    try:
        from airflow.sdk import Connection, Variable
    except Exception:  # pragma: no cover - Airflow not installed
        return None
    try:
        value = Variable.get(AIRFLOW_VARIABLE, default=None)
        if value:
            return str(value)
    except Exception:
        pass
    try:
        conn = Connection.get(AIRFLOW_CONNECTION)
        if conn and conn.password:
            return str(conn.password)
    except Exception:
        pass
    return None


def _key_from_file(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL + 0600: two processes racing on first use cannot both write, and the key
        # is never readable by others even for an instant.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        log.info("Created a local demo PII key file at %s (0600); production sets %s", path, ENV_KEY)
    return path.read_text().strip()


def hmac_key(settings: Settings) -> bytes:
    """The PII hashing key (bytes); see the module docstring for the lookup order."""
    from_env = settings.pii_hmac_key.get_secret_value() if settings.pii_hmac_key else None
    key = from_env or _key_from_airflow() or _key_from_file(settings.hmac_key_file)
    return key.encode("utf-8")


def hmac_sha256_hex(key: bytes, values: list[str]) -> list[str]:
    """HMAC-SHA256 (hex) of each value: real RFC 2104 HMAC, not a salted hash."""
    return [hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest() for v in values]
