"""Print where every output of a demo run is, with the counts a new user wants to see."""

from __future__ import annotations

import argparse
from pathlib import Path

from matrix_pulse.settings import get_settings


def _line(label: str, path: Path, detail: str = "") -> None:
    mark = "ok " if path.exists() else "-- "
    print(f"  {mark}{label:<28} {path}{('  ' + detail) if detail else ''}")


def _ledger_detail(published: Path) -> str:
    if not published.exists():
        return ""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        try:
            files, read, loaded, aside = con.execute(
                "select count(*), sum(rows_read), sum(rows_loaded), sum(rows_set_aside) "
                "from meta.load_ledger where status <> 'replaced'"
            ).fetchone()
        except duckdb.Error:
            return ""
    return f"{files} files, {read} rows read = {loaded} loaded + {aside} set aside"


def _marts_detail(published: Path, quarter: str) -> str:
    """The quarters with leads (history for QoQ/YoY) and how many of the quarter's creator deals had content."""
    if not published.exists():
        return ""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        try:
            quarters = [q for (q,) in con.execute(
                "select distinct period_label from marts.mart_kpi_by_period "
                "where period_type = 'quarter' and leads > 0 order by 1").fetchall()]  # fmt: skip
            deals, found = con.execute(
                "select count(*), count(*) filter (where posts_matched + live_sessions_matched > 0) "
                "from marts.mart_creator_roi where quarter_label = ?",
                [quarter],
            ).fetchone()
        except duckdb.Error:
            return ""
    span = f"{quarters[0]}..{quarters[-1]}" if quarters else "none"
    return f"{len(quarters)} quarters with leads ({span}); {quarter}: {deals} creator deals, {found} with content found"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quarter", required=True)
    args = parser.parse_args(argv)
    s = get_settings()
    print("\nMatrix Pulse demo outputs")
    _line("landing (simulated exports)", s.landing_dir)
    _line("archive (files as arrived)", s.archive_dir)
    _line("warehouse (pipeline writes)", s.warehouse_path)
    _line("published copy (analysts)", s.published_path, _ledger_detail(s.published_path))
    _line("marts", s.published_path, _marts_detail(s.published_path, args.quarter))
    _line("GX Data Docs", s.gx_data_docs_dir / "index.html")
    _line("dbt docs", s.dbt_docs_dir / "index.html")
    packs = s.outputs_dir / "packs" / args.quarter
    _line(f"packs {args.quarter}", packs)
    if packs.exists():
        for f in sorted(p for p in packs.rglob("*") if p.is_file()):
            print(f"       {f.relative_to(packs)}  ({f.stat().st_size // 1024} KiB)")
    mailbox = s.outputs_dir / "mailbox"
    emls = sorted(mailbox.glob("*.eml")) if mailbox.exists() else []
    _line("e-mails received (.eml)", mailbox, f"{len(emls)} messages")
    for f in emls:
        print(f"       {f.name}")


if __name__ == "__main__":
    main()
