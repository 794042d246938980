"""Great Expectations (GX Core 1.x) suites on each newly loaded file.

One file context under ``settings.gx_dir`` per run; one suite per raw table, derived from
``SOURCES``; each loaded file's rows are one pandas batch. Every expectation carries a
severity: a failed *critical* one moves that file's rows to raw.quarantine (reason
``gx_critical: <expectation> on <column>``) and marks the ledger row ``gx_failed``, so the
marts never see them and rows still reconcile; *warnings* are only recorded. Results go to
meta.gx_results and Data Docs (``<gx_dir>/uncommitted/data_docs/local_site``).

GX costs ~10 s to import: it is imported inside ``run_quality`` only, and not at all when
no file is waiting for checks.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb

from matrix_pulse.ingest.discovery import sources_by_folder
from matrix_pulse.ingest.loader import connect, shanghai_now
from matrix_pulse.ingest.schema import raw_columns
from matrix_pulse.settings import Settings
from matrix_pulse.sources import DCC_STATUS, LEGACY_STATUS, MATRIX_TIERS, REVIEW_STATUS, Source

log = logging.getLogger(__name__)

CRITICAL, WARNING = "critical", "warning"
# Times in a file may reach back this far before its data date (old posts, long-open leads).
TIME_WINDOW_DAYS_BEFORE = 400
TIME_WINDOW_DAYS_AFTER = 2


@dataclass(frozen=True)
class Check:
    expectation: str  # GX expectation class name
    column: str | None
    severity: str
    kwargs: dict[str, Any]


def checks_for(source: Source) -> list[Check]:
    """The data-quality rules of one raw table (also what Data Docs shows)."""
    checks: list[Check] = []
    cols = {c.name: c for c in source.columns}
    for key in source.key:
        checks.append(Check("ExpectColumnValuesToNotBeNull", key, CRITICAL, {"column": key}))
    if len(source.key) == 1:
        checks.append(
            Check("ExpectColumnValuesToBeUnique", source.key[0], CRITICAL, {"column": source.key[0]})
        )
    else:
        checks.append(
            Check(
                "ExpectCompoundColumnsToBeUnique",
                ",".join(source.key),
                CRITICAL,
                {"column_list": list(source.key)},
            )
        )
    for c in source.columns:
        if c.kind in ("count", "count_lb"):
            checks.append(
                Check("ExpectColumnValuesToBeBetween", c.name, CRITICAL, {"column": c.name, "min_value": 0})
            )
        elif c.kind == "rate":
            checks.append(
                Check(
                    "ExpectColumnValuesToBeBetween",
                    c.name,
                    CRITICAL,
                    {"column": c.name, "min_value": 0, "max_value": 1},
                )
            )
        elif c.kind == "duration":
            checks.append(
                Check("ExpectColumnValuesToBeBetween", c.name, WARNING, {"column": c.name, "min_value": 0})
            )
        elif c.kind in ("time", "unix"):
            checks.append(
                Check(
                    "ExpectColumnValuesToBeBetween",
                    c.name,
                    WARNING,
                    {
                        "column": c.name,
                        "min_value": {"$PARAMETER": "earliest_time"},
                        "max_value": {"$PARAMETER": "latest_time"},
                    },
                )
            )
    if "lead_status" in cols:
        known = list(DCC_STATUS) if source.name == "crm_dcc" else list(LEGACY_STATUS)
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                "lead_status",
                CRITICAL,
                {"column": "lead_status", "value_set": known},
            )
        )
    if "matrix_tier" in cols:
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                "matrix_tier",
                CRITICAL,
                {"column": "matrix_tier", "value_set": list(MATRIX_TIERS)},
            )
        )
    if "review_status" in cols:
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                "review_status",
                WARNING,
                {"column": "review_status", "value_set": list(REVIEW_STATUS)},
            )
        )
    if any(c.kind == "phone" for c in source.columns):
        # Junk phones are kept (flagged); a file of mostly junk numbers is worth a look.
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                "phone_is_valid",
                WARNING,
                {"column": "phone_is_valid", "value_set": [True], "mostly": 0.8},
            )
        )
    return checks


@dataclass
class QualityReport:
    run_id: str
    files_checked: int = 0
    critical_failures: list[str] = field(default_factory=list)  # "<file>: <expectation> on <column>"
    warnings: list[str] = field(default_factory=list)
    data_docs: str | None = None

    def describe(self) -> str:
        lines = [
            f"GX run {self.run_id}: {self.files_checked} file(s) checked, "
            f"{len(self.critical_failures)} critical failure(s), {len(self.warnings)} warning(s)"
        ]
        lines += [f"  CRITICAL {m}" for m in self.critical_failures]
        lines += [f"  warning {m}" for m in self.warnings[:50]]
        return "\n".join(lines)


def _gx_objects(context: Any, sources: list[Source]) -> dict[str, Any]:
    """Data source, assets, suites and validation definitions (idempotent across runs)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    datasource = context.data_sources.add_or_update_pandas("matrix_pulse_raw")
    out: dict[str, Any] = {}
    for src in sources:
        try:
            asset = datasource.get_asset(src.raw_table)
        except LookupError:
            asset = datasource.add_dataframe_asset(src.raw_table)
        try:
            batch_def = asset.get_batch_definition("one_file")
        except (LookupError, KeyError):
            batch_def = asset.add_batch_definition_whole_dataframe("one_file")
        expectations = []
        for chk in checks_for(src):
            cls = getattr(gxe, chk.expectation)
            expectations.append(cls(**chk.kwargs, severity=chk.severity, meta={"severity": chk.severity}))
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(name=f"raw.{src.raw_table}", expectations=expectations)
        )
        out[src.raw_table] = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"raw.{src.raw_table}.one_file", data=batch_def, suite=suite)
        )
    return out


def _quarantine_file(
    con: duckdb.DuckDBPyConnection,
    file_id: str,
    source_folder: str,
    file_name: str,
    sha: str,
    data_date: dt.date,
    reason: str,
    now: dt.datetime,
) -> None:
    """Move a file's loaded rows to quarantine (one transaction) and mark it gx_failed."""
    con.execute("BEGIN TRANSACTION")
    try:
        for src in sources_by_folder()[source_folder]:
            names = [n for n, _ in raw_columns(src)]
            payload = ", ".join(f"'{n}', \"{n}\"" for n in names if n not in ("source_file", "file_sha256"))
            con.execute(
                f"INSERT INTO raw.quarantine SELECT ?, ?, data_date, source_file, file_sha256, source_row, ?, ?, "
                f"json_object({payload}), ? FROM raw.{src.raw_table} WHERE source_file = ? AND file_sha256 = ?",
                [source_folder, src.raw_table, "gx_critical", reason, now, file_name, sha],
            )
            con.execute(
                f"DELETE FROM raw.{src.raw_table} WHERE source_file = ? AND file_sha256 = ?", [file_name, sha]
            )
        con.execute(
            "UPDATE meta.load_ledger_tables SET rows_set_aside = rows_read, rows_loaded = 0 WHERE file_id = ?",
            [file_id],
        )
        con.execute(
            "UPDATE meta.load_ledger SET status = 'gx_failed', reason = ?, rows_loaded = 0, "
            "rows_set_aside = rows_read, gx_checked_at = ? WHERE file_id = ?",
            [reason, now, file_id],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _quiet_progress_bars(context: Any) -> None:
    # Task logs should hold results, not thousands of tqdm lines.
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if getattr(context.variables, "progress_bars", None) != ProgressBarsConfig(globally=False):
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()


def run_quality(settings: Settings, run_id: str | None = None) -> QualityReport:
    """Validate every loaded file not checked yet; return what failed (the caller decides to fail)."""
    run_id = run_id or f"gx_{shanghai_now():%Y%m%dT%H%M%S}"
    report = QualityReport(run_id)
    con = connect(settings)
    try:
        pending = con.execute(
            "SELECT file_id, source, file_name, sha256, data_date FROM meta.load_ledger "
            "WHERE status = 'loaded' AND gx_checked_at IS NULL ORDER BY source, data_date, first_seen_at"
        ).fetchall()
        if not pending:
            return report
        import great_expectations as gx  # noqa: F401  (lazy: ~10 s, never at DAG parse time)
        from great_expectations.core.run_identifier import RunIdentifier

        settings.gx_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(settings.gx_dir))
        _quiet_progress_bars(context)
        folders = sources_by_folder()
        validations = _gx_objects(context, [s for f in {p[1] for p in pending} for s in folders[f]])
        now = shanghai_now()
        rows_out: list[list[Any]] = []
        for file_id, folder, file_name, sha, data_date in pending:
            failed_critical: list[str] = []
            day = dt.datetime.combine(data_date, dt.time())
            params = {
                "earliest_time": day - dt.timedelta(days=TIME_WINDOW_DAYS_BEFORE),
                "latest_time": day + dt.timedelta(days=TIME_WINDOW_DAYS_AFTER),
            }
            for src in folders[folder]:
                df = con.execute(
                    f"SELECT * FROM raw.{src.raw_table} WHERE source_file = ? AND file_sha256 = ?",
                    [file_name, sha],
                ).df()
                result = validations[src.raw_table].run(
                    batch_parameters={"dataframe": df},
                    expectation_parameters=params,
                    result_format="SUMMARY",
                    run_id=RunIdentifier(
                        # GX file stores refuse '/' in keys: the run name carries the file name only.
                        run_name=f"{run_id}__{file_name.split('/')[-1]}",
                        run_time=dt.datetime.now(dt.UTC),
                    ),
                )
                for r in result.results:
                    cfg = r.expectation_config
                    severity = str(
                        getattr(cfg.severity, "value", cfg.severity) or cfg.meta.get("severity", CRITICAL)
                    )
                    kwargs = cfg.kwargs
                    column = kwargs.get("column") or ",".join(kwargs.get("column_list", []) or [])
                    res = r.result or {}
                    unexpected = res.get("unexpected_count")
                    if r.exception_info and r.exception_info.get("raised_exception"):
                        details = r.exception_info.get("exception_message")
                    else:
                        details = json.dumps(
                            {
                                "partial_unexpected": res.get("partial_unexpected_list", [])[:10],
                                "element_count": res.get("element_count"),
                            },
                            ensure_ascii=False,
                            default=str,
                        )
                    rows_out.append(
                        [
                            run_id,
                            folder,
                            src.raw_table,
                            data_date,
                            file_name,
                            cfg.type,
                            column,
                            severity,
                            bool(r.success),
                            unexpected,
                            details,
                            now,
                        ]
                    )
                    if not r.success:
                        msg = f"{cfg.type} on {column}"
                        if severity == CRITICAL:
                            failed_critical.append(msg)
                        else:
                            report.warnings.append(
                                f"{file_name} ({src.raw_table}): {msg} ({unexpected} unexpected)"
                            )
            report.files_checked += 1
            if failed_critical:
                reason = "gx_critical: " + "; ".join(failed_critical)
                _quarantine_file(con, file_id, folder, file_name, sha, data_date, reason, now)
                report.critical_failures += [f"{file_name}: {m}" for m in failed_critical]
            else:
                con.execute("UPDATE meta.load_ledger SET gx_checked_at = ? WHERE file_id = ?", [now, file_id])
        if rows_out:
            con.executemany(
                "INSERT INTO meta.gx_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows_out
            )
        context.build_data_docs()
        report.data_docs = str(
            settings.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
        )
    finally:
        con.close()
    log.info(report.describe())
    return report
