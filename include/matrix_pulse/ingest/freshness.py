"""meta.source_freshness: one row per expected source-day, so a gap is visible as a gap.

Every content and CRM landing folder is expected every day; reference sources are not.
The range runs from the earliest to the latest data date any daily source has delivered
(or ``through``, e.g. yesterday for the scheduled run, if later), so a day that never
arrived shows ``missing`` instead of vanishing or reading as zero, and a day whose file
was rejected or had every row set aside shows ``rejected`` (nothing usable arrived; the
ledger keeps the file's own status). A source-day is late
when its file landed (file mtime) more than ``late_after_hours`` after D+1 00:00, or has
not landed and that deadline has passed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from matrix_pulse.clock import shanghai_now
from matrix_pulse.ingest.discovery import sources_by_folder
from matrix_pulse.ingest.landing_guard import data_date_window
from matrix_pulse.ingest.warehouse import connect, transaction
from matrix_pulse.settings import Settings


def daily_folders() -> list[str]:
    """Landing folders expected every day (content and CRM)."""
    return [f for f, srcs in sources_by_folder().items() if srcs[0].group in ("content", "crm")]


@dataclass
class FreshnessReport:
    rows: int = 0
    late: list[tuple[str, dt.date, str]] = field(default_factory=list)  # (source, day, status)
    missing: list[tuple[str, dt.date]] = field(default_factory=list)
    rejected: list[tuple[str, dt.date]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"{self.rows} expected source-days; {len(self.missing)} missing, "
            f"{len(self.rejected)} rejected, {len(self.late)} late"
        ]
        lines += [f"  late: {s} {d} ({st})" for s, d, st in self.late[:50]]
        return "\n".join(lines)


def refresh_freshness(
    settings: Settings, through: dt.date | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> FreshnessReport:
    """Rebuild meta.source_freshness from the ledger (cheap: one row per source-day)."""
    own = con is None
    con = con or connect(settings)
    try:
        folders = daily_folders()
        now = shanghai_now()
        with transaction(con):  # all of the rebuild or none of it
            con.execute("DELETE FROM meta.source_freshness")
            con.execute(
                f"""
                INSERT INTO meta.source_freshness
                WITH bounds AS (
                    SELECT min(data_date) AS lo, greatest(max(data_date), CAST(? AS DATE)) AS hi
                    FROM meta.load_ledger WHERE source IN ({", ".join("?" for _ in folders)})
                        -- the data-date window (landing_guard): a ledger row from before it
                        -- existed must not make freshness expect millions of days
                        AND data_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
                ),
                expected AS (
                    SELECT f.source, CAST(d.day AS DATE) AS data_date
                    FROM (SELECT unnest(?::VARCHAR[]) AS source) f,
                         bounds, range(bounds.lo, bounds.hi + INTERVAL 1 DAY, INTERVAL 1 DAY) d(day)
                    WHERE bounds.lo IS NOT NULL
                ),
                ranked AS (
                    SELECT source, data_date, status, file_name, landed_at, rows_read, rows_loaded,
                        row_number() OVER (PARTITION BY source, data_date ORDER BY
                            CASE status WHEN 'loaded' THEN 0 WHEN 'gx_failed' THEN 1 WHEN 'rejected' THEN 2 ELSE 3 END,
                            first_seen_at DESC) AS rn,
                        min(landed_at) FILTER (WHERE status <> 'duplicate_delivery')
                            OVER (PARTITION BY source, data_date) AS first_landed
                    FROM meta.load_ledger WHERE status IN ('loaded', 'gx_failed', 'rejected', 'replaced')
                )
                SELECT e.source, e.data_date,
                    CASE WHEN r.status IS NULL OR r.status = 'replaced' THEN 'missing'
                         -- every row set aside: nothing usable arrived, the day is as bad as a
                         -- rejected file (an empty file, e.g. a day without live rooms, is fine)
                         WHEN r.status = 'loaded' AND r.rows_read > 0 AND r.rows_loaded = 0 THEN 'rejected'
                         ELSE r.status END,
                    r.file_name, r.first_landed,
                    e.data_date + INTERVAL 1 DAY + to_hours(CAST(? AS BIGINT)) AS deadline,
                    coalesce(r.first_landed, CAST(? AS TIMESTAMP)) > e.data_date + INTERVAL 1 DAY + to_hours(CAST(? AS BIGINT)),
                    CAST(? AS TIMESTAMP)
                FROM expected e LEFT JOIN ranked r ON r.source = e.source AND r.data_date = e.data_date AND r.rn = 1
                ORDER BY e.source, e.data_date
                """,
                [
                    through,
                    *folders,
                    *data_date_window(),
                    folders,
                    settings.late_after_hours,
                    now,
                    settings.late_after_hours,
                    now,
                ],  # fmt: skip
            )
        report = FreshnessReport()
        for source, day, status, is_late in con.execute(
            "SELECT source, data_date, status, is_late FROM meta.source_freshness ORDER BY data_date, source"
        ).fetchall():
            report.rows += 1
            if status == "missing":
                report.missing.append((source, day))
            elif status == "rejected":
                report.rejected.append((source, day))
            if is_late:
                report.late.append((source, day, status))
        return report
    finally:
        if own:
            con.close()


def overdue_source_days(
    settings: Settings, through: dt.date, lookback_days: int = 7
) -> list[tuple[str, dt.date, str]]:
    """(source, day, status) the data team must hear about, in the last ``lookback_days`` up to
    ``through``: every unusable day (rejected, every row set aside, GX-failed) as soon as it is
    known, and every missing day once past its deadline (older ones were already reported).
    The status says which: 'missing', 'rejected', 'all rows set aside', 'gx_failed'."""
    con = connect(settings)
    try:
        return con.execute(
            """SELECT f.source, f.data_date,
                   CASE WHEN f.status = 'rejected' AND l.status = 'loaded' THEN 'all rows set aside'
                        ELSE f.status END
               FROM meta.source_freshness f
               LEFT JOIN meta.load_ledger l ON l.file_name = f.file_name AND l.source = f.source
                   AND l.data_date = f.data_date AND l.status = 'loaded'
               WHERE f.data_date BETWEEN ? AND ?
                 AND (f.status IN ('rejected', 'gx_failed') OR (f.is_late AND f.status <> 'loaded'))
               ORDER BY f.data_date, f.source""",
            [through - dt.timedelta(days=lookback_days - 1), through],
        ).fetchall()
    finally:
        con.close()
