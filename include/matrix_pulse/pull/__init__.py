"""Pull the day's exports from where they live into landing/<source>/ (issue 12).

``config/pull.yaml`` names each landing folder's transport and Airflow connection; the
platform APIs go through HttpHook (``api``), the SFTP drops through SFTPHook (``sftp``);
every attempt is a row in the pull ledger (``ledger``). The landed file is the seam: the
loader reads it exactly as if someone had dropped it by hand. ``standins`` holds the local
HTTP and SFTP servers the tests and the demo pull from. How-to: docs/pulling.md.
"""

from __future__ import annotations

import datetime as dt

from matrix_pulse.pull.run import PullSummary, RepullRange, run_pull
from matrix_pulse.settings import Settings

__all__ = ["PullSummary", "RepullRange", "pull_for_run", "run_pull"]


def pull_for_run(settings: Settings, params: dict | None, through: dt.date, run_id: str | None) -> dict:
    """What the DAG's pull task does: read the re-pull params, pull, summarise."""
    params = params or {}
    repull = None
    if params.get("repull_from"):
        start = dt.date.fromisoformat(str(params["repull_from"]))
        end = dt.date.fromisoformat(str(params.get("repull_to") or params["repull_from"]))
        if end < start:
            raise ValueError(f"repull_to {end} is before repull_from {start}")
        repull = RepullRange(start, end, frozenset(params.get("repull_sources") or []))
    # A re-pull never reaches past the run's own data date (a later day is not published yet).
    summary = run_pull(settings, through=through, repull=repull, run_id=run_id)
    print(summary.describe())
    return summary.as_dict()
