"""CLI: ``python -m matrix_pulse.pull [--through D] [--sources a,b] [--repull-from D --repull-to D]``.

Pulls what is due, exactly as the DAG's pull_exports task does, with the connections of this
environment (AIRFLOW_CONN_* or the Airflow metadata DB); prints the run's summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from matrix_pulse.pull import RepullRange, run_pull
from matrix_pulse.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix_pulse.pull", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--through", type=dt.date.fromisoformat, default=None, help="last data date (default: yesterday)"
    )
    parser.add_argument(
        "--sources", default="", help="comma-separated landing folders (default: all configured)"
    )
    parser.add_argument("--repull-from", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--repull-to", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    sources = [s for s in args.sources.split(",") if s] or None
    repull = None
    if args.repull_from:
        repull = RepullRange(args.repull_from, args.repull_to or args.repull_from, frozenset(sources or []))
    summary = run_pull(get_settings(), sources=sources, through=args.through, repull=repull)
    print(summary.describe())
    print(json.dumps(summary.as_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
