"""Keep credentials out of log lines, ledger rows and error messages.

Airflow already masks a connection's password in task logs; access tokens are minted at run
time, so each is registered with Airflow's masker the moment it exists, and every text the
pull writes (ledger detail, exception message) goes through ``Redactor.clean`` as well, which
also covers runs outside a task (the tests, the CLI).
"""

from __future__ import annotations

import re

MASK = "***"


def _register_with_airflow(value: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older layouts
        try:
            from airflow.sdk.execution_time.secrets_masker import mask_secret
        except ImportError:
            return
    mask_secret(value)


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self._secrets.add(value)
            _register_with_airflow(value)

    def clean(self, text: object) -> str:
        out = str(text)
        for s in sorted(self._secrets, key=len, reverse=True):
            out = out.replace(s, MASK)
        # Whatever else rides in a URL query (a token minted elsewhere) never leaves either.
        return re.sub(r"(access_token|secret|appsecret|access_key)=[^&\s'\"]+", rf"\1={MASK}", out)
