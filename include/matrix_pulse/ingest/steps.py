"""What the mp_ingest DAG's warehouse tasks call, on either backend (``Settings.warehouse_backend``).

DuckDB (embedded default): load, then GX, then freshness, each on the one warehouse file.
PostgreSQL: the load runs the GX suites before its commit (``pg_warehouse.load_and_check``),
so the check task reports what the load's suites found; freshness is rebuilt from
PostgreSQL's ledger. The DAG file stays the same for both.
"""

from __future__ import annotations

import datetime as dt

from matrix_pulse.settings import Settings


def _quality(report) -> dict:
    return {
        "files_checked": report.files_checked,
        "critical_failures": report.critical_failures,
        "warnings": len(report.warnings),
    }


def load_landed(settings: Settings, run_id: str | None) -> dict:
    """Load every landed file not loaded yet; the summary the task returns (its XCom)."""
    quality, copied = None, None
    if settings.warehouse_backend == "postgres":
        from matrix_pulse.ingest.pg_warehouse import load_and_check

        summary, report, copied = load_and_check(settings, run_id=run_id)
        print(summary.describe())
        print(report.describe())
        quality = _quality(report)
    else:
        from matrix_pulse.ingest import run_ingest

        summary = run_ingest(settings, run_id=run_id)
        print(summary.describe())
    return {
        "new_files": len(summary.files),
        "loaded": len(summary.by_status("loaded")),
        "rejected": [f"{f.file_name}: {f.reason}" for f in summary.rejected],
        "ignored": [j.rel_path for j in summary.ignored],
        "rows_per_second": summary.rows_per_second(),
        **({"quality": quality, "postgres": copied} if quality is not None else {}),
    }


def check_quality(settings: Settings, loaded: dict | None, run_id: str | None) -> dict:
    """The GX outcome of the run; raises when a critical expectation failed (after every file was
    checked and the failing ones were quarantined)."""
    if settings.warehouse_backend == "postgres":
        quality = (loaded or {}).get("quality") or {
            "files_checked": 0,
            "critical_failures": [],
            "warnings": 0,
        }
    else:
        from matrix_pulse.ingest.quality import run_quality

        report = run_quality(settings, run_id=run_id)
        print(report.describe())
        quality = _quality(report)
    if quality["critical_failures"]:
        raise RuntimeError("GX critical expectation(s) failed: " + "; ".join(quality["critical_failures"]))
    return {"files_checked": quality["files_checked"], "warnings": quality["warnings"]}


def refresh(settings: Settings, through: dt.date):
    """(FreshnessReport, overdue source-days) after rebuilding meta.source_freshness."""
    if settings.warehouse_backend == "postgres":
        from matrix_pulse.ingest.pg_warehouse import freshness

        return freshness(settings, through)
    from matrix_pulse.ingest.freshness import overdue_source_days, refresh_freshness

    return refresh_freshness(settings, through=through), overdue_source_days(settings, through)
