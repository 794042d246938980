"""Helpers shared by the pull tests that look at the loader's side of the seam."""

from __future__ import annotations

import duckdb
from matrix_pulse.settings import Settings


def load_ledger_statuses(settings: Settings, file_name: str) -> list[str]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT status FROM meta.load_ledger WHERE file_name LIKE ? ORDER BY first_seen_at",
                [f"%{file_name}"],
            ).fetchall()
        ]
    finally:
        con.close()
