"""CLI: ``python -m matrix_pulse.simulator --scale demo --start 2026-07-01 --end 2026-09-30``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from matrix_pulse.settings import get_settings

from .run import simulate
from .scale import SCALES


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, write the landing folder and print a one-line summary."""
    parser = argparse.ArgumentParser(prog="python -m matrix_pulse.simulator", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 7, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 9, 30))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mess-rate", type=float, default=0.02)
    parser.add_argument(
        "--out", type=Path, default=None, help="landing folder (default: settings landing_dir)"
    )
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error(f"--end {args.end} is before --start {args.start}")
    out = args.out or get_settings().landing_dir
    began = time.perf_counter()
    manifest = simulate(out, args.scale, args.start, args.end, args.seed, args.mess_rate)
    rows = sum(f["rows_read"] for f in manifest["files"])
    print(
        f"wrote {len(manifest['files'])} files ({rows} rows), {len(manifest['missing'])} missing, "
        f"{len(manifest['junk'])} junk to {out} in {time.perf_counter() - began:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
