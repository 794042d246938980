"""Great Expectations (GX Core 1.x) suites on the newly loaded files, in pandas batches per raw table.

One file context under ``settings.gx_dir``; one suite per raw table, derived from
``SOURCES``. A run validates the rows of every file waiting for checks, read from DuckDB with
only the columns the suite needs, in pandas batches of whole files of at most ``GX_BATCH_ROWS``
rows per raw table (a day's files are one batch, a quarter's backlog many). Results come back
with ``result_format`` COMPLETE and ``unexpected_index_column_names`` (source_file,
file_sha256), so every unexpected row is attributed to its file and each file gets its own
outcome, exactly as if it had been validated alone:

- "IDs unique within a file" is a compound uniqueness over (source_file, file_sha256, key);
- "times within a window of the data date" checks a column derived in DuckDB
  (``<time column>__days_from_data_date``, fractional days from the file's data date);
- ``mostly`` is applied per file (non-null rows of that file).

Every expectation carries a severity: a failed *critical* one moves that file's rows to
raw.quarantine (reason ``gx_critical: <expectation> on <column>``) and marks the ledger row
``gx_failed``, so the marts never see them and rows still reconcile; *warnings* are only
recorded. meta.gx_results gets one row per file x raw table x expectation; Data Docs
(``<gx_dir>/gx/uncommitted/data_docs/local_site``) are built once per run, for this run's
validation results (the index lists the latest ``DOCS_INDEX_LIMIT`` of them).

GX costs seconds to import (2.3-2.8 s on this project's machine, 2026-12-06): it is imported
inside ``run_quality`` only, and not at all when no file is waiting for checks, through
``gx_import.import_gx`` (without the scipy.stats and altair that no check here calls).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb

from matrix_pulse.clock import shanghai_now
from matrix_pulse.ingest.discovery import sources_by_folder
from matrix_pulse.ingest.gx_import import import_gx
from matrix_pulse.ingest.quality_checks import (
    CRITICAL,
    FILE_COLUMNS,
    PENDING_FILES,
    ROW_COLUMN,
    batch_frame,
    checks_for,
    file_batches,
)
from matrix_pulse.ingest.schema import raw_columns
from matrix_pulse.ingest.warehouse import connect, transaction
from matrix_pulse.settings import Settings
from matrix_pulse.sources import Source

log = logging.getLogger(__name__)

ROWS_NAMED = 10  # row numbers a failure message names (the count says how many in all)
BATCH_DEFINITION = "pending_files"
# Rows of one raw table a pandas batch holds at most (whole files; a larger file alone): a
# backlog is checked in batches, a day's files still in one. The national quarter (958 files,
# 16.7 M rows, 2026-12-06), one batch per raw table: 89.9 s and 7.9 GB peak RSS; batches of at
# most 1 M / 400 k / 200 k rows: 93.1 s 3.6 GB / 96.5 s 2.1 GB / 98.7 s 1.6 GB. With the frame
# made cheap for GX (``quality_checks.batch_frame``): 400 k 38.7 s 1.56 GB, 800 k / 1 M
# 37.8 s 2.17 GB / 38.2 s 2.33 GB: larger batches no longer buy time.
GX_BATCH_ROWS = 400_000
# Validation results the Data Docs index lists (newest first): keeps each docs build cheap
# however long the store's history grows (each run adds one result per raw table checked).
DOCS_INDEX_LIMIT = 500
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [*FILE_COLUMNS, ROW_COLUMN],
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 20,
}


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


def _fingerprint(source: Source) -> str:
    """Changes whenever the suite of a raw table (or the batch it runs on) would change."""
    spec = [BATCH_DEFINITION, *[(c.expectation, c.column, c.severity, c.kwargs) for c in checks_for(source)]]
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _gx_objects(context: Any, sources: list[Source]) -> tuple[dict[str, Any], list[str]]:
    """Validation definitions per raw table, and the suites (re)written by this call.

    The data source, assets, suites and validation definitions are created or updated only
    when missing or when the rules changed (a fingerprint kept in the suite's meta): every
    write of a file context rewrites YAML/JSON config, which is most of a small run's cost.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    out: dict[str, Any] = {}
    todo: list[Source] = []
    for src in sources:
        try:
            vd = context.validation_definitions.get(f"raw.{src.raw_table}.{BATCH_DEFINITION}")
            if (vd.suite.meta or {}).get("mp_fingerprint") == _fingerprint(src):
                out[src.raw_table] = vd
                continue
        except Exception:  # noqa: BLE001  (missing or unreadable: (re)create it below)
            pass
        todo.append(src)
    if not todo:
        return out, []
    try:
        datasource = context.data_sources.get("matrix_pulse_raw")
    except (KeyError, LookupError, ValueError):
        datasource = context.data_sources.add_pandas("matrix_pulse_raw")
    for src in todo:
        try:
            asset = datasource.get_asset(src.raw_table)
        except LookupError:
            asset = datasource.add_dataframe_asset(src.raw_table)
        try:
            batch_def = asset.get_batch_definition(BATCH_DEFINITION)
        except (LookupError, KeyError):
            batch_def = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        expectations = []
        for chk in checks_for(src):
            cls = getattr(gxe, chk.expectation)
            meta = {"severity": chk.severity, "column": chk.column}
            expectations.append(cls(**chk.kwargs, severity=chk.severity, meta=meta))
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name=f"raw.{src.raw_table}",
                expectations=expectations,
                meta={"mp_fingerprint": _fingerprint(src)},
            )
        )
        out[src.raw_table] = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(
                name=f"raw.{src.raw_table}.{BATCH_DEFINITION}", data=batch_def, suite=suite
            )
        )
    return out, [f"raw.{s.raw_table}" for s in todo]


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
    with transaction(con):
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


def _configure_context(context: Any) -> None:
    """Quiet progress bars (task logs should hold results, not tqdm lines) and a bounded docs index."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    changed = False
    if getattr(context.variables, "progress_bars", None) != ProgressBarsConfig(globally=False):
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        changed = True
    sites = context.variables.data_docs_sites or {}
    for site in sites.values():
        index = site.setdefault("site_index_builder", {"class_name": "DefaultSiteIndexBuilder"})
        if index.get("validation_results_limit") != DOCS_INDEX_LIMIT:
            index["validation_results_limit"] = DOCS_INDEX_LIMIT
            changed = True
    if changed:
        context.variables.data_docs_sites = sites
        context.variables.save()


@dataclass
class _Outcome:
    """One expectation on one file (a row of meta.gx_results)."""

    success: bool
    unexpected: int | None
    details: str
    rows: list[int] = field(
        default_factory=list
    )  # the first ROWS_NAMED unexpected rows (1-based, in the file)

    def rows_text(self) -> str:
        """'rows 3, 7, 12' (and '… of N' when there are more), for messages."""
        if not self.rows:
            return ""
        more = f" … ({self.unexpected} in all)" if (self.unexpected or 0) > len(self.rows) else ""
        return ("row " if len(self.rows) == 1 else "rows ") + ", ".join(str(r) for r in self.rows) + more


def _file_outcomes(
    r: Any, files: list[tuple[str, str]], row_counts: dict, nonnull: dict, domain: list[str]
) -> dict[tuple[str, str], _Outcome]:
    """Split one batch-level expectation result into per-file outcomes via the unexpected indices."""
    cfg = r.expectation_config
    res = r.result or {}
    if (r.exception_info and r.exception_info.get("raised_exception")) or (
        not r.success and "unexpected_index_list" not in res
    ):
        # The rule could not be evaluated on the batch: no file passes it.
        msg = (r.exception_info or {}).get("exception_message") or "no unexpected index list returned"
        return {f: _Outcome(False, None, msg) for f in files}
    unexpected: dict[tuple[str, str], int] = {}
    samples: dict[tuple[str, str], list[Any]] = {}
    rows: dict[tuple[str, str], list[int]] = {}
    value_cols = [c for c in domain if c not in (*FILE_COLUMNS, ROW_COLUMN)]
    for idx in res.get("unexpected_index_list") or []:
        f = (idx["source_file"], idx["file_sha256"])
        unexpected[f] = unexpected.get(f, 0) + 1
        named = rows.setdefault(f, [])
        if len(named) < ROWS_NAMED and idx.get(ROW_COLUMN) is not None:
            named.append(int(idx[ROW_COLUMN]))
        sample = samples.setdefault(f, [])
        if len(sample) < 10:
            vals = [idx.get(c) for c in value_cols]
            sample.append(vals[0] if len(vals) == 1 else vals)
    mostly = cfg.kwargs.get("mostly")
    out: dict[tuple[str, str], _Outcome] = {}
    for f in files:
        n_bad = unexpected.get(f, 0)
        if mostly is None or n_bad == 0:
            ok = n_bad == 0
        else:
            n = nonnull.get(f, 0)
            ok = n == 0 or (n - n_bad) / n >= mostly
        details = json.dumps(
            {"partial_unexpected": samples.get(f, []), "unexpected_rows": sorted(rows.get(f, [])),
             "element_count": row_counts.get(f, 0)},
            ensure_ascii=False,
            default=str,
        )  # fmt: skip
        out[f] = _Outcome(ok, n_bad, details, sorted(rows.get(f, [])))
    return out


def run_quality(settings: Settings, run_id: str | None = None) -> QualityReport:
    """Validate every loaded file not checked yet; return what failed (the caller decides to fail)."""
    run_id = run_id or f"gx_{shanghai_now():%Y%m%dT%H%M%S}"
    report = QualityReport(run_id)
    con = connect(settings)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {PENDING_FILES} AS SELECT file_id, source, file_name, sha256, "
            "data_date, first_seen_at FROM meta.load_ledger WHERE status = 'loaded' AND gx_checked_at IS NULL"
        )
        pending = con.execute(
            f"SELECT file_id, source, file_name, sha256, data_date FROM {PENDING_FILES} "
            "ORDER BY source, data_date, first_seen_at"
        ).fetchall()
        if not pending:
            return report
        gx = import_gx()  # first (before any great_expectations.* import) and only here: seconds
        import pandas as pd
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        settings.gx_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(settings.gx_dir))
        _configure_context(context)
        folders = sources_by_folder()
        tables = [s for f in sorted({p[1] for p in pending}) for s in folders[f]]
        validations, new_suites = _gx_objects(context, tables)
        # Suite pages are rendered when a suite changed (or its page is missing), result pages once.
        docs_dir = settings.gx_data_docs_dir
        docs_ids: list[Any] = [
            ExpectationSuiteIdentifier(name=name)
            for name in sorted({f"raw.{s.raw_table}" for s in tables})
            if name in new_suites or not (docs_dir / "expectations" / "raw" / f"{name[4:]}.html").exists()
        ]
        now = shanghai_now()
        # GX file stores refuse '/' in keys. One run identifier for the run; a raw table's later
        # batches (a backlog) are stored under it with a numbered run name each.
        gx_run = RunIdentifier(run_name=run_id.replace("/", "_"), run_time=dt.datetime.now(dt.UTC))
        files_of: dict[str, list[tuple[str, str, str]]] = {}
        for file_id, folder, file_name, sha, _ in pending:
            files_of.setdefault(folder, []).append((file_id, file_name, sha))
        # (file, raw_table) -> [(column, severity, expectation type, outcome)] in suite order
        outcomes: dict[tuple[tuple[str, str], str], list[tuple[str, str, str, _Outcome]]] = {}
        for src in tables:
            files_pending = files_of[next(f for f, ss in folders.items() if src in ss)]
            batches = file_batches(con, src, files_pending, GX_BATCH_ROWS)
            suite_id = ExpectationSuiteIdentifier(name=f"raw.{src.raw_table}")
            if len(batches) > 1:
                log.info("raw.%s: %d files in %d batches", src.raw_table, len(files_pending), len(batches))
            for part, batch in enumerate(batches):
                df = batch_frame(con, src, batch)
                grouped = df.groupby(list(FILE_COLUMNS), sort=False, observed=True)
                row_counts = grouped.size().to_dict()
                nonnull_all = grouped.count()
                # one stored validation result per batch: a later batch under its own run name
                run = gx_run if part == 0 else RunIdentifier(f"{gx_run.run_name}_{part}", gx_run.run_time)
                result = validations[src.raw_table].run(
                    batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT, run_id=run
                )
                del df, grouped
                docs_ids.append(
                    ValidationResultIdentifier(suite_id, run_id=run, batch_identifier=result.batch_id)
                )
                files = [(name, sha) for _, name, sha in batch]
                for r in result.results:
                    cfg = r.expectation_config
                    severity = str(
                        getattr(cfg.severity, "value", cfg.severity)
                        or (cfg.meta or {}).get("severity", CRITICAL)
                    )
                    domain = (
                        [cfg.kwargs["column"]] if "column" in cfg.kwargs else list(cfg.kwargs["column_list"])
                    )
                    column = (cfg.meta or {}).get("column") or ",".join(domain)
                    nonnull = nonnull_all[domain[0]].to_dict() if domain[0] in nonnull_all else {}
                    for f, o in _file_outcomes(r, files, row_counts, nonnull, domain).items():
                        outcomes.setdefault((f, src.raw_table), []).append((column, severity, cfg.type, o))

        rows_out: list[list[Any]] = []
        passed: list[str] = []
        for file_id, folder, file_name, sha, data_date in pending:
            failed_critical: list[str] = []
            for src in folders[folder]:
                for column, severity, gx_type, o in outcomes.get(((file_name, sha), src.raw_table), []):
                    rows_out.append(
                        [
                            run_id,
                            folder,
                            src.raw_table,
                            data_date,
                            file_name,
                            gx_type,
                            column,
                            severity,
                            o.success,
                            o.unexpected,
                            o.details,
                            now,
                        ]
                    )
                    if o.success:
                        continue
                    # Name the rows, not only the count (file rows, 1-based under the header).
                    where = f": {o.rows_text()}" if o.rows else ""
                    msg = f"{gx_type} on {column} ({o.unexpected} unexpected{where})"
                    if severity == CRITICAL:
                        failed_critical.append(msg)
                    else:
                        report.warnings.append(f"{file_name} ({src.raw_table}): {msg}")
            report.files_checked += 1
            if failed_critical:
                reason = "gx_critical: " + "; ".join(failed_critical)
                _quarantine_file(con, file_id, folder, file_name, sha, data_date, reason, now)
                report.critical_failures += [f"{file_name}: {m}" for m in failed_critical]
            else:
                passed.append(file_id)
        results_df = pd.DataFrame(
            rows_out,
            columns=[
                "run_id",
                "source",
                "raw_table",
                "data_date",
                "file_name",
                "expectation",
                "column_name",
                "severity",
                "success",
                "unexpected_count",
                "details",
                "checked_at",
            ],
        )
        with transaction(con):
            con.register("_mp_gx_rows", results_df)
            con.execute("INSERT INTO meta.gx_results SELECT * FROM _mp_gx_rows")
            con.unregister("_mp_gx_rows")
            con.execute(
                "UPDATE meta.load_ledger SET gx_checked_at = ? WHERE file_id IN (SELECT unnest(?::VARCHAR[]))",
                [now, passed],
            )
        context.build_data_docs(resource_identifiers=docs_ids)
        report.data_docs = str(docs_dir / "index.html")
    finally:
        con.close()
    log.info(report.describe())
    return report
