"""Land -> archive -> stage -> normalise -> raw/quarantine/ledger, one file at a time.

``run_ingest`` loads every landed file the ledger has not seen, whatever its data date
(late files, re-deliveries, a quarter of backlog in one run). Per file, one DuckDB
transaction swaps the source-day: delete that day's earlier delivery from raw and
quarantine, insert the new rows, mark the earlier ledger row ``replaced``. For every file
rows_read = rows_loaded + rows_set_aside, and every set-aside row sits in raw.quarantine
with its reason and its original values (PII replaced by hash/mask).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from matrix_pulse.ingest.discovery import JunkFile, LandedFile, scan_landing, sources_by_folder
from matrix_pulse.ingest.normalise import install_macros, typed_expression
from matrix_pulse.ingest.pii import hmac_key, hmac_sha256_hex
from matrix_pulse.ingest.readers import (
    TOTAL_MARKERS,
    FileRejected,
    StagedTable,
    fold_header,
    load_json_document,
    read_csv,
    read_json_records,
    read_xlsx,
)
from matrix_pulse.ingest.schema import LINEAGE_COLUMNS, ensure_schema, raw_columns
from matrix_pulse.settings import Settings
from matrix_pulse.sources import Source

log = logging.getLogger(__name__)

ACTIVE_STATUSES = ("loaded", "gx_failed")  # the delivery that currently holds a source-day


def shanghai_now() -> dt.datetime:
    """Asia/Shanghai wall-clock now (naive), the time basis of every table here."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=8)


def stable_seconds() -> float:
    """Seconds between the two looks at a file's size (MP_STABLE_SECONDS; tests keep it short)."""
    return float(os.environ.get("MP_STABLE_SECONDS", "2"))


@dataclass
class FileOutcome:
    file_name: str
    source: str
    fmt: str
    data_date: dt.date
    status: str
    reason: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_set_aside: int = 0
    seconds: float = 0.0


@dataclass
class IngestSummary:
    run_id: str
    files: list[FileOutcome] = field(default_factory=list)
    ignored: list[JunkFile] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    skipped_known: int = 0

    def by_status(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def rejected(self) -> list[FileOutcome]:
        return self.by_status("rejected")

    def rows_per_second(self) -> dict[str, float]:
        """Rows read per second of load time, by file format (the benchmark figure)."""
        out: dict[str, float] = {}
        for fmt in sorted({f.fmt for f in self.files}):
            rows = sum(f.rows_read for f in self.files if f.fmt == fmt)
            secs = sum(f.seconds for f in self.files if f.fmt == fmt)
            out[fmt] = rows / secs if secs else 0.0
        return out

    def describe(self) -> str:
        counts = {s: len(self.by_status(s)) for s in ("loaded", "rejected", "duplicate_delivery")}
        lines = [
            f"ingest run {self.run_id}: {len(self.files)} new file(s) {counts}, "
            f"{self.skipped_known} already loaded, {len(self.ignored)} ignored, {len(self.in_progress)} still being written"
        ]
        lines += [f"  rejected {f.file_name}: {f.reason}" for f in self.rejected]
        lines += [f"  ignored {j.rel_path}: {j.reason}" for j in self.ignored]
        lines += [f"  not yet (still being written) {p}" for p in self.in_progress]
        return "\n".join(lines)


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A writing connection to the warehouse with the raw/meta schema and the macros."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    ensure_schema(con)
    install_macros(con)
    return con


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive_file(settings: Settings, f: LandedFile, sha: str) -> Path:
    """Copy the landed file byte for byte to archive/<folder>/<sha256>.<ext> (write-once)."""
    target = settings.archive_dir / f.folder / f"{sha}{f.path.suffix.lower()}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Copy to a temp name and rename, so a crash never leaves a half file under a checksum name.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    os.close(fd)
    shutil.copyfile(f.path, tmp)
    if sha256_of(Path(tmp)) != sha:
        Path(tmp).unlink()
        raise FileRejected(
            f"{f.rel_path}: changed while being archived (checksum mismatch); retried next run"
        )
    os.chmod(tmp, 0o440)
    os.replace(tmp, target)
    return target


# --- per-table SQL ------------------------------------------------------------------------


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class ColumnMap:
    mapped: dict[str, str]  # contract source_name -> staging column c<i>
    extras: list[str]  # header text of columns the contract does not know


def map_columns(file_name: str, staged: StagedTable) -> ColumnMap:
    """Match headers to the contract by name (any order); a missing required column rejects."""
    folded = [fold_header(h) for h in staged.headers]
    position: dict[str, int] = {}
    for i, h in enumerate(folded):
        position.setdefault(h, i)
    mapped: dict[str, str] = {}
    missing: list[str] = []
    for c in staged.source.columns:
        i = position.get(fold_header(c.source_name))
        if i is None:
            if c.required:
                missing.append(c.source_name)
            continue
        mapped[c.source_name] = f"c{i}"
    if missing:
        where = f" in '{staged.source.json_path}'" if staged.source.json_path else ""
        raise FileRejected(
            f"{file_name}: required column(s) {', '.join(repr(m) for m in missing)} missing{where}; "
            f"found columns {staged.headers}"
        )
    used = set(mapped.values())
    extras = [
        staged.headers[i] for i in range(len(staged.headers)) if f"c{i}" not in used and staged.headers[i]
    ]
    return ColumnMap(mapped, extras)


def required_value_columns(source: Source) -> list[str]:
    """Raw columns a row cannot be loaded without: the per-file key, plus the account."""
    names = list(source.key)
    if any(c.name == "account_id" for c in source.columns) and "account_id" not in names:
        names.append("account_id")
    return names


def build_normalise_sql(staged: StagedTable, cmap: ColumnMap, phone_table: str | None) -> list[str]:
    """Three set-based statements that type every contract column and decide each row's fate.

    Staged in temp tables on purpose: DuckDB inlines macros, so folding once (stage 1) and
    judging rows on already-typed columns (stage 3) keeps every expression small.
    Result: ``<stage>_norm`` with the raw columns plus _reason, _detail, _original.
    """
    src = staged.source
    t = staged.table
    n = len(staged.headers)
    required = set(required_value_columns(src))
    phone_join = ""
    phone_hash = "NULL::VARCHAR"

    # Stage 1: fold every cell once; find exact duplicates on the cells as delivered.
    for c in src.columns:
        if c.kind == "phone" and c.source_name in cmap.mapped and phone_table:
            phone_join = (
                f"LEFT JOIN {phone_table} pk ON pk.digits = mp_phone_digits(s.{cmap.mapped[c.source_name]})"
            )
            phone_hash = "pk.phone_hash"
    folded = ", ".join(f"s.c{i}, mp_fold(s.c{i}) AS f{i}" for i in range(n))
    partition = ", ".join(f"s.c{i}" for i in range(n)) or "1"
    stage1 = (
        f"CREATE OR REPLACE TEMP TABLE {t}_f AS SELECT s.source_row, {folded}{',' if n else ''} "
        f"min(s.source_row) OVER (PARTITION BY {partition}) AS _dup_of, {phone_hash} AS _phone_hash "
        f"FROM {t} s {phone_join}"
    )

    # Stage 2: typed columns, still next to the folded text they came from.
    typed: list[str] = []
    problems: list[str] = []
    missing_checks: list[str] = []
    original_pairs: list[str] = []
    for c in src.columns:
        col = cmap.mapped.get(c.source_name)
        if c.kind == "pii_drop":
            continue  # names never leave the staging table, not even into quarantine
        if col is None:  # optional column absent from this file
            if c.kind == "phone":
                typed += [
                    f"NULL::VARCHAR AS {c.name}_hash",
                    f"NULL::VARCHAR AS {c.name}_masked",
                    f"FALSE AS {c.name}_is_valid",
                ]
            else:
                typed.append(f'NULL AS "{c.name}"')
                if c.kind == "count_lb":
                    typed.append(f'FALSE AS "{c.name}_is_lower_bound"')
            continue
        fcol = "f" + col[1:]
        if c.kind == "phone":
            typed += [
                f"_phone_hash AS {c.name}_hash",
                f"mp_phone_masked({fcol}) AS {c.name}_masked",
                f"mp_phone_is_valid({fcol}) AS {c.name}_is_valid",
            ]
            # The quarantine keeps the phone only as mask and hash: never the number.
            original_pairs += [
                f"{_q(c.source_name + '_masked')}, mp_phone_masked({fcol})",
                f"{_q(c.source_name + '_hash')}, _phone_hash",
            ]
            continue
        original_pairs.append(f"{_q(c.source_name)}, {col}")
        typed.append(f'{typed_expression(c.kind, fcol)} AS "{c.name}"')
        if c.kind == "count_lb":
            typed.append(f'mp_lower_bound_f({fcol}) AS "{c.name}_is_lower_bound"')
        if c.kind not in ("id", "text", "code"):
            problems.append(
                f'CASE WHEN NOT mp_unknown_f({fcol}) AND "{c.name}" IS NULL THEN '
                f"{_q(c.source_name + ': expected ' + c.kind + ', found ')} || quote_text({col}) END"
            )
        if c.name in required:
            missing_checks.append(f'CASE WHEN "{c.name}" IS NULL THEN {_q(c.source_name)} END')
    for h in cmap.extras:
        original_pairs.append(f"{_q(h)}, c{staged.headers.index(h)}")
    markers = ", ".join(_q(m) for m in TOTAL_MARKERS)
    marker_cols = [
        "f" + cmap.mapped[c.source_name][1:]
        for c in src.columns
        if c.kind in ("id", "text", "code") and c.source_name in cmap.mapped
    ]
    total_check = " OR ".join(f"coalesce({c} IN ({markers}), FALSE)" for c in marker_cols) or "FALSE"
    blank_check = f"coalesce({', '.join(f'f{i}' for i in range(n))}) IS NULL" if n else "TRUE"
    original_sql = f"json_object({', '.join(original_pairs)})" if original_pairs else "json_object()"
    stage2 = (
        f"CREATE OR REPLACE TEMP TABLE {t}_t AS SELECT *, {', '.join(typed)}, "
        f"{blank_check} AS _blank, ({total_check}) AS _total, {original_sql} AS _original FROM {t}_f"
    )

    # Stage 3: each row's fate, judged on the typed values (MESS_KINDS names as reasons).
    missing_sql = f"concat_ws(', ', {', '.join(missing_checks)})" if missing_checks else "''"
    problems_sql = f"concat_ws('; ', {', '.join(problems)})" if problems else "''"
    raw_names = ", ".join(f'"{name}"' for name, _ in raw_columns(src)[: -len(LINEAGE_COLUMNS)])
    stage3 = f"""
        CREATE OR REPLACE TEMP TABLE {t}_norm AS
        SELECT source_row, {raw_names}, _original,
            CASE
                WHEN _blank THEN 'blank_row'
                WHEN _total THEN 'total_row'
                WHEN _dup_of < source_row THEN 'exact_duplicate_row'
                WHEN _missing <> '' THEN 'missing_required_value'
                WHEN _problems <> '' THEN 'unparseable_value'
            END AS _reason,
            CASE
                WHEN _blank THEN 'blank row'
                WHEN _total THEN 'total (合计) row'
                WHEN _dup_of < source_row THEN 'exact duplicate of row ' || _dup_of
                WHEN _missing <> '' THEN 'required value empty: ' || _missing
                WHEN _problems <> '' THEN _problems
            END AS _detail
        FROM (SELECT *, {missing_sql} AS _missing, {problems_sql} AS _problems FROM {t}_t)
    """
    return [stage1, stage2, stage3, f"DROP TABLE {t}_f", f"DROP TABLE {t}_t"]


# --- per file -----------------------------------------------------------------------------


@dataclass
class TableLoad:
    staged: StagedTable
    norm_table: str
    rows_loaded: int = 0
    rows_set_aside: int = 0


class IngestContext:
    """State shared by the files of one run: connection, key, run id, scratch folder."""

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, run_id: str, scratch: Path):
        self.settings = settings
        self.con = con
        self.run_id = run_id
        self.scratch = scratch
        self.now = shanghai_now()
        self._key: bytes | None = None
        self.by_folder = sources_by_folder()

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = hmac_key(self.settings)
        return self._key


def _stage(ctx: IngestContext, f: LandedFile) -> list[StagedTable]:
    sources = ctx.by_folder[f.folder]
    fmt = sources[0].fmt
    if fmt == "xlsx":
        return [read_xlsx(ctx.con, f.path, sources[0], "stg_0")]
    if fmt == "csv":
        return [read_csv(ctx.con, f.path, sources[0], "stg_0", ctx.scratch)]
    document = load_json_document(f.path)
    return [read_json_records(ctx.con, f.path, document, s, f"stg_{i}") for i, s in enumerate(sources)]


def _phone_table(ctx: IngestContext, staged: StagedTable, cmap: ColumnMap) -> str | None:
    """Hash the distinct valid phones of this file into a temp table joined by the SELECT."""
    phone_cols = [
        cmap.mapped[c.source_name]
        for c in staged.source.columns
        if c.kind == "phone" and c.source_name in cmap.mapped
    ]
    if not phone_cols:
        return None
    col = phone_cols[0]
    digits = [
        r[0]
        for r in ctx.con.execute(
            f"SELECT DISTINCT mp_phone_digits({col}) FROM {staged.table} WHERE mp_phone_is_valid({col})"
        ).fetchall()
    ]
    table = pa.table(
        {
            "digits": pa.array(digits, pa.string()),
            "phone_hash": pa.array(hmac_sha256_hex(ctx.key, digits), pa.string()),
        }
    )
    name = f"{staged.table}_phones"
    ctx.con.register(name, table)
    return name


def process_file(ctx: IngestContext, f: LandedFile, sha: str, archive_path: Path) -> FileOutcome:
    """Load one file (or set it aside whole); writes raw, quarantine and the ledger."""
    con = ctx.con
    fmt = ctx.by_folder[f.folder][0].fmt
    file_id = f"{f.rel_path}@{sha[:12]}"
    started = time.perf_counter()
    outcome = FileOutcome(f.rel_path, f.folder, fmt, f.data_date, "loaded")
    loads: list[TableLoad] = []
    extras: list[str] = []
    staged_tables: list[StagedTable] = []
    try:
        staged_tables = _stage(ctx, f)
        for st in staged_tables:
            cmap = map_columns(f.rel_path, st)
            extras += [f"{st.source.json_path}.{e}" if st.source.json_path else e for e in cmap.extras]
            phones = _phone_table(ctx, st, cmap)
            norm = f"{st.table}_norm"
            for sql in build_normalise_sql(st, cmap, phones):
                con.execute(sql)
            if phones:
                con.unregister(phones)
            loads.append(TableLoad(st, norm))
    except FileRejected as exc:
        outcome.status, outcome.reason = "rejected", str(exc)
        # The whole file is set aside: every row it has (0 when unreadable) counts as set aside.
        outcome.rows_read = outcome.rows_set_aside = sum(st.rows_read for st in staged_tables)
    if outcome.status == "rejected":
        _drop_temp(con, staged_tables)
        _write_ledger(ctx, f, sha, archive_path, file_id, outcome, extras, [])
        outcome.seconds = time.perf_counter() - started
        return outcome

    for t in loads:
        (t.rows_set_aside,) = con.execute(
            f"SELECT count(*) FROM {t.norm_table} WHERE _reason IS NOT NULL"
        ).fetchone()
        t.rows_loaded = t.staged.rows_read - t.rows_set_aside
    outcome.rows_read = sum(t.staged.rows_read for t in loads)
    outcome.rows_loaded = sum(t.rows_loaded for t in loads)
    outcome.rows_set_aside = sum(t.rows_set_aside for t in loads)
    lineage = [f.data_date, f.rel_path, sha, ctx.now]

    con.execute("BEGIN TRANSACTION")
    try:
        previous = con.execute(
            f"SELECT file_id FROM meta.load_ledger WHERE source = ? AND data_date = ? AND status IN {ACTIVE_STATUSES}",
            [f.folder, f.data_date],
        ).fetchall()
        if previous:
            # A re-delivery: the source-day holds exactly one delivery, swapped atomically.
            for src in ctx.by_folder[f.folder]:
                con.execute(f"DELETE FROM raw.{src.raw_table} WHERE data_date = ?", [f.data_date])
            con.execute(
                "DELETE FROM raw.quarantine WHERE source = ? AND data_date = ?", [f.folder, f.data_date]
            )
            con.execute(
                f"UPDATE meta.load_ledger SET status = 'replaced', replaced_by = ? "
                f"WHERE source = ? AND data_date = ? AND status IN {ACTIVE_STATUSES}",
                [file_id, f.folder, f.data_date],
            )
        con.execute(
            "UPDATE meta.load_ledger SET replaced_by = ? WHERE source = ? AND data_date = ? "
            "AND status = 'rejected' AND replaced_by IS NULL",
            [file_id, f.folder, f.data_date],
        )
        for t in loads:
            src = t.staged.source
            names = [n for n, _ in raw_columns(src)[: -len(LINEAGE_COLUMNS)]]
            cols = ", ".join(f'"{n}"' for n in names)
            con.execute(
                f"INSERT INTO raw.{src.raw_table} ({cols}, data_date, source_file, file_sha256, source_row, loaded_at) "
                f"SELECT {cols}, ?, ?, ?, source_row, ? FROM {t.norm_table} WHERE _reason IS NULL ORDER BY source_row",
                lineage,
            )
            con.execute(
                "INSERT INTO raw.quarantine SELECT ?, ?, ?, ?, ?, source_row, _reason, _detail, _original, ? "
                f"FROM {t.norm_table} WHERE _reason IS NOT NULL ORDER BY source_row",
                [f.folder, src.raw_table, f.data_date, f.rel_path, sha, ctx.now],
            )
        _write_ledger(ctx, f, sha, archive_path, file_id, outcome, extras, loads)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    _drop_temp(con, staged_tables)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _drop_temp(con: duckdb.DuckDBPyConnection, staged_tables: list[StagedTable]) -> None:
    # The staging tables hold the file as read (PII included): gone as soon as it is loaded.
    for st in staged_tables:
        con.execute(f"DROP TABLE IF EXISTS {st.table}_norm")
        con.execute(f"DROP TABLE IF EXISTS {st.table}")


def _write_ledger(
    ctx: IngestContext,
    f: LandedFile,
    sha: str,
    archive_path: Path,
    file_id: str,
    outcome: FileOutcome,
    extras: list[str],
    loads: list[TableLoad],
) -> None:
    ctx.con.execute(
        "INSERT INTO meta.load_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?)",
        [
            file_id,
            f.folder,
            f.data_date,
            f.rel_path,
            str(archive_path),
            f.size,
            sha,
            outcome.rows_read,
            outcome.rows_loaded,
            outcome.rows_set_aside,
            outcome.status,
            outcome.reason,
            extras,
            f.landed_at,
            ctx.now,
            ctx.now if outcome.status == "loaded" else None,
            f.mtime,
            ctx.run_id,
        ],
    )
    for t in loads:
        ctx.con.execute(
            "INSERT INTO meta.load_ledger_tables VALUES (?, ?, ?, ?, ?)",
            [file_id, t.staged.source.raw_table, t.staged.rows_read, t.rows_loaded, t.rows_set_aside],
        )


# --- the run ------------------------------------------------------------------------------


def run_ingest(
    settings: Settings, sources: list[str] | None = None, run_id: str | None = None
) -> IngestSummary:
    """Load every landed file not loaded yet (any data date) into the warehouse.

    ``sources`` limits the run to some landing folders (e.g. ``['wechat_oa']``); raw-table
    names are accepted too. Returns what happened to each new file; never raises for a bad
    file (those are set aside and reported), only for a broken warehouse.
    """
    run_id = run_id or f"ingest_{shanghai_now():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
    folders = None
    if sources:
        by_folder = sources_by_folder()
        folders = sorted(
            {fo for fo, srcs in by_folder.items() for s in srcs if fo in sources or s.name in sources}
        )
    ready, junk, in_progress = scan_landing(settings.landing_dir, folders, stable_seconds())
    summary = IngestSummary(run_id, ignored=junk, in_progress=in_progress)
    con = connect(settings)
    try:
        known = con.execute(
            "SELECT file_name, size_bytes, file_mtime, sha256 FROM meta.load_ledger"
        ).fetchall()
        known_stat = {(r[0], r[1], r[2]) for r in known}
        known_sha = {(r[0], r[3]) for r in known}
        # Replay deliveries in arrival order, so a later re-delivery replaces an earlier one.
        ready.sort(key=lambda f: (f.folder, f.data_date, f.mtime, f.rel_path))
        with tempfile.TemporaryDirectory(prefix="mp_ingest_") as scratch:
            ctx = IngestContext(settings, con, run_id, Path(scratch))
            for f in ready:
                if (f.rel_path, f.size, f.mtime) in known_stat:
                    summary.skipped_known += 1
                    continue
                sha = sha256_of(f.path)
                if (f.rel_path, sha) in known_sha:
                    summary.skipped_known += 1
                    continue
                summary.files.append(_ingest_one(ctx, f, sha))
                known_sha.add((f.rel_path, sha))
        _record_run(con, summary, ctx.now if ready else shanghai_now())
    finally:
        con.close()
    log.info(summary.describe())
    return summary


def _ingest_one(ctx: IngestContext, f: LandedFile, sha: str) -> FileOutcome:
    fmt = ctx.by_folder[f.folder][0].fmt
    try:
        archive_path = archive_file(ctx.settings, f, sha)
    except FileRejected as exc:  # changed under our feet: leave it for the next run
        return FileOutcome(f.rel_path, f.folder, fmt, f.data_date, "in_progress", str(exc))
    same = ctx.con.execute(
        "SELECT file_id, status FROM meta.load_ledger WHERE source = ? AND data_date = ? AND sha256 = ? "
        "AND status IN ('loaded', 'gx_failed', 'rejected') LIMIT 1",
        [f.folder, f.data_date, sha],
    ).fetchone()
    if same:
        # The same bytes again under another name: loaded once, recorded as a duplicate.
        outcome = FileOutcome(
            f.rel_path,
            f.folder,
            fmt,
            f.data_date,
            "duplicate_delivery",
            f"identical (sha256) to {same[0]} ({same[1]})",
        )
        _write_ledger(ctx, f, sha, archive_path, f"{f.rel_path}@{sha[:12]}", outcome, [], [])
        return outcome
    outcome = process_file(ctx, f, sha, archive_path)
    if outcome.status == "rejected":
        log.warning("set aside %s: %s", f.rel_path, outcome.reason)
    return outcome


def _record_run(con: duckdb.DuckDBPyConnection, s: IngestSummary, started: dt.datetime) -> None:
    ignored = [[s.run_id, j.rel_path, j.reason, started] for j in s.ignored]
    ignored += [
        [s.run_id, p, "still being written (size changed between two looks)", started] for p in s.in_progress
    ]
    if ignored:
        con.executemany("INSERT INTO meta.ignored_files VALUES (?, ?, ?, ?)", ignored)
    con.execute(
        "INSERT INTO meta.ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            s.run_id,
            started,
            shanghai_now(),
            len(s.files) + s.skipped_known,
            len(s.by_status("loaded")),
            len(s.rejected),
            len(s.by_status("duplicate_delivery")),
            0,
            len(s.ignored),
            len(s.in_progress),
            sum(f.rows_read for f in s.files),
            sum(f.rows_loaded for f in s.files),
            sum(f.rows_set_aside for f in s.files),
        ],
    )
