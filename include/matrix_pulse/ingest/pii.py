"""Personal information (PIPL): the keyed hash for CRM phones and where its key comes from.

The key is looked up, in order, in the environment (``MP_PII_HMAC_KEY``), an Airflow
Variable ``mp_pii_hmac_key`` (or the password of connection ``mp_pii_hmac``), and for the
demo only a local key file created on first use with 0600 permissions. The key is never
logged, stored in the warehouse or written next to the data.

Hashing runs in DuckDB over the *distinct* valid numbers of a chunk (``mp_hmac_sha256``,
RFC 2104 over DuckDB's sha256, the key's pads passed as statement parameters and never
stored), then joined back: no Python call per number (issue 17: 180k numbers a week of
national CRM cost ~2 s in Python's hmac). ``hmac_sha256_hex`` is the reference it equals.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from pathlib import Path

from matrix_pulse.settings import Settings, get_settings
from matrix_pulse.sources import Source

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
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created atomically WITH its content: the key is written and fsynced under a temp
        # name (0600 from the start), then hard-linked to the final name, which fails if
        # another process got there first. So no reader ever sees an empty or partial key
        # (with O_CREAT|O_EXCL and a write after it, 2 of 20 concurrent first uses read "").
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pii_hmac.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
                log.info("Created a local demo PII key file at %s (0600); production sets %s", path, ENV_KEY)
            except FileExistsError:
                pass  # another process created it first: use theirs
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def restrict_to_owner(path: Path) -> None:
    """0600 for a file the pipeline writes (and its -wal/-shm/.wal companions), 0700 for its
    folder: the warehouse and ledgers hold hashed PII and business numbers, not for every
    local account whatever the umask of the process that created them."""
    if path.parent.exists():
        os.chmod(path.parent, 0o700)
    for p in [path, *path.parent.glob(path.name + "-*"), *path.parent.glob(path.name + ".wal")]:
        if p.exists() and not p.is_symlink():
            os.chmod(p, 0o600)


def hmac_key(settings: Settings) -> bytes:
    """The PII hashing key (bytes); see the module docstring for the lookup order."""
    from_env = settings.pii_hmac_key.get_secret_value() if settings.pii_hmac_key else None
    key = from_env or _key_from_airflow() or _key_from_file(settings.hmac_key_file)
    return key.encode("utf-8")


def hmac_sha256_hex(key: bytes, values: list[str]) -> list[str]:
    """HMAC-SHA256 (hex) of each value: real RFC 2104 HMAC, not a salted hash."""
    return [hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest() for v in values]


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """RFC 2104's inner and outer padded keys for SHA-256 (block 64 bytes), the parameters
    of the SQL macro ``mp_hmac_sha256(ipad, opad, text)``; equal to ``hmac_sha256_hex``."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


# --- PII typed into free text (issue 14) ------------------------------------------------------

# Contract columns that are free text in practice besides kind 'text': CRM staff type the
# source post by hand (SourceContentId / 来源内容 have carried phone numbers). Post and
# live-room IDs are 19-digit or alphanumeric, so a phone-shaped value there is no ID.
# NOT SourceAccountId: Douyin/Kuaishou account IDs are often 11 digits starting 1[3-9]
# (the demo has them), indistinguishable from a phone; masking them broke lead attribution.
FREE_TEXT_ID_COLUMNS = frozenset({"source_content_id"})


def free_text_columns(source: Source) -> list[int]:
    """Positions of the columns whose cells are scrubbed of phone/ID numbers at load."""
    return [j for j, c in enumerate(source.columns) if c.kind == "text" or c.name in FREE_TEXT_ID_COLUMNS]


def scrub_replace_sql(source: Source, alias: str = "u") -> str:
    """A ``REPLACE (...)`` clause for ``<alias>.*`` over the loader's staging table: every
    free-text cell (k<j>) and every column the contract does not know (_xvals, _xjson) goes
    through mp_pii_scrub before anything else reads it, so the phone in a title reaches
    neither raw nor quarantine. Customer names typed into free text cannot be told from
    other words and are NOT caught (only the CustomerName column is dropped)."""
    cells = [f"mp_pii_scrub({alias}.k{j}) AS k{j}" for j in free_text_columns(source)]
    cells += [
        f"list_transform({alias}._xvals, lambda x: mp_pii_scrub(x)) AS _xvals",
        f"mp_pii_scrub({alias}._xjson) AS _xjson",
    ]
    return f"REPLACE ({', '.join(cells)})"
