"""Land -> archive -> stage -> normalise -> raw/quarantine/ledger, a run's files at a time.

``run_ingest`` loads every landed file the ledger has not seen, whatever its data date
(late files, re-deliveries, a quarter of backlog in one run). The run works in chunks of
whole source-days (all of a day's deliveries in one chunk):

1. per file: read the bytes once (checksum, archive copy and parse all use those bytes),
   stage every cell as text and append it to the chunk's staging table for its source
   (``_fid`` + ``source_row`` + one column per contract column), or set the file aside
   whole (unreadable, missing required column) or record it as a duplicate delivery;
2. per source: normalise all staged rows in three set-based statements (the macros are
   bound once per source per chunk, not once per file) and decide each row's fate;
3. per landing folder: one DuckDB transaction swaps the source-days: delete the earlier
   delivery's rows from raw and quarantine, insert each day's winning delivery, mark the
   earlier ledger rows ``replaced`` and write the new ledger rows.

Several deliveries of one day in one run are resolved in arrival order exactly as if they
had been loaded one by one (the last good one holds the day, the earlier ones end
``replaced``; a rejected file never displaces a good one). For every file
rows_read = rows_loaded + rows_set_aside, and every set-aside row sits in raw.quarantine
with its reason and its original values (PII replaced by hash/mask).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from matrix_pulse.clock import shanghai_now
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
SAME_BYTES_STATUSES = ("loaded", "gx_failed", "rejected")  # a new file with these bytes is a duplicate


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
        counts = {s: len(self.by_status(s)) for s in ("loaded", "rejected", "duplicate_delivery", "replaced")}
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
    # Bounded memory (settings.duckdb_config). preserve_insertion_order stays on: a CSV's
    # rows take their file order from the staging table's rowid, which needs it.
    con = duckdb.connect(str(settings.warehouse_path), config=settings.duckdb_config())
    ensure_schema(con)
    install_macros(con)
    return con


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive_file(settings: Settings, f: LandedFile, sha: str, data: bytes | None = None) -> Path:
    """Keep the landed file byte for byte as archive/<folder>/<sha256>.<ext> (write-once).

    ``data`` are the bytes the checksum was computed from (the loader reads a file once);
    without them the file is read again and must still match ``sha``.
    """
    target = settings.archive_dir / f.folder / f"{sha}{f.path.suffix.lower()}"
    if target.exists():
        return target
    if data is None:
        data = f.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise FileRejected(
                f"{f.rel_path}: changed while being archived (checksum mismatch); retried next run"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temp name and rename, so a crash never leaves a half file under a checksum name.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o440)
    os.replace(tmp, target)
    return target


# --- column mapping -----------------------------------------------------------------------


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class ColumnMap:
    mapped: dict[str, int]  # contract source_name -> position of the file's column
    extras: list[str]  # header text of columns the contract does not know
    unmapped: list[int]  # positions of every column not mapped (extras and nameless ones)


def map_columns(file_name: str, staged: StagedTable) -> ColumnMap:
    """Match headers to the contract by name (any order); a missing required column rejects."""
    folded = [fold_header(h) for h in staged.headers]
    position: dict[str, int] = {}
    for i, h in enumerate(folded):
        position.setdefault(h, i)
    mapped: dict[str, int] = {}
    missing: list[str] = []
    for c in staged.source.columns:
        i = position.get(fold_header(c.source_name))
        if i is None:
            if c.required:
                missing.append(c.source_name)
            continue
        mapped[c.source_name] = i
    if missing:
        where = f" in '{staged.source.json_path}'" if staged.source.json_path else ""
        raise FileRejected(
            f"{file_name}: required column(s) {', '.join(repr(m) for m in missing)} missing{where}; "
            f"found columns {staged.headers}"
        )
    used = set(mapped.values())
    unmapped = [i for i in range(len(staged.headers)) if i not in used]
    extras = [staged.headers[i] for i in unmapped if staged.headers[i]]
    return ColumnMap(mapped, extras, unmapped)


def required_value_columns(source: Source) -> list[str]:
    """Raw columns a row cannot be loaded without: the per-file key, plus the account."""
    names = list(source.key)
    if any(c.name == "account_id" for c in source.columns) and "account_id" not in names:
        names.append("account_id")
    return names


# --- per-source SQL -----------------------------------------------------------------------


def union_table(src: Source) -> str:
    return f"_u_{src.raw_table}"


def norm_table(src: Source) -> str:
    return f"_n_{src.raw_table}"


def union_ddl(src: Source) -> str:
    """The chunk's staging table of one source: contract column j of each file in k<j>."""
    cols = ", ".join(f"k{j} VARCHAR" for j in range(len(src.columns)))
    return (
        f"CREATE OR REPLACE TEMP TABLE {union_table(src)} (_fid INTEGER, source_row BIGINT, {cols}, "
        "_xvals VARCHAR[], _xjson VARCHAR)"
    )


def union_insert_sql(fid: int, staged: StagedTable, cmap: ColumnMap) -> str:
    """Append one staged file to its source's staging table (mapping its columns by name)."""
    src = staged.source
    cells = [
        staged.column(cmap.mapped[c.source_name]) if c.source_name in cmap.mapped else "NULL"
        for c in src.columns
    ]
    xvals = (
        f"[{', '.join(staged.column(i) for i in cmap.unmapped)}]::VARCHAR[]"
        if cmap.unmapped
        else "NULL::VARCHAR[]"
    )
    named = [i for i in cmap.unmapped if staged.headers[i]]
    xjson = (
        f"json_object({', '.join(f'{_q(staged.headers[i])}, {staged.column(i)}' for i in named)})::VARCHAR"
        if named
        else "NULL::VARCHAR"
    )
    return (
        f"INSERT INTO {union_table(src)} SELECT {fid}, {staged.row_expr}, {', '.join(cells)}, {xvals}, {xjson} "
        f"FROM {staged.relation}"
    )


def duplicate_columns(src: Source) -> list[str]:
    """The cells (as delivered) two rows of a file must share to be exact duplicates."""
    return ["_fid"] + [f"k{j}" for j in range(len(src.columns))] + ["_xvals"]


def raw_text(j: int, alias: str = "") -> str:
    """Column j's cell as delivered, from stage 1's table (which keeps it only where folding changed it)."""
    return f"coalesce({alias}k{j}, {alias}f{j})"


def hash_collision_sql(src: Source) -> str:
    """Rows stage 1 marked as duplicates of a row whose cells differ: a 64-bit hash collision.

    Any hash partition that mixes two different rows has a non-first row that differs from
    the partition's first row, so a count of 0 proves every duplicate mark exact.
    """
    same = " AND ".join(
        [f"{raw_text(j, 'a.')} IS NOT DISTINCT FROM {raw_text(j, 'b.')}" for j in range(len(src.columns))]
        + ["a._xvals IS NOT DISTINCT FROM b._xvals"]
    )
    return (
        f"SELECT count(*) FROM {union_table(src)}_f a JOIN {union_table(src)}_f b "
        f"ON a._fid = b._fid AND b.source_row = a._dup_of WHERE a._dup_of < a.source_row AND NOT ({same})"
    )


def build_normalise_sql(src: Source, phone_table: str | None, exact_duplicates: bool = False) -> list[str]:
    """Two set-based statements that type every contract column and decide each row's fate,
    over every file of the chunk at once (``_fid`` tells the files apart).

    Staged on purpose: DuckDB inlines macros, so folding once (stage 1, a temp table the
    hash-collision check also reads) and judging rows on already-typed columns (stage 2, a
    CTE of stage 3: pipelined, no second temp table written and read back; measured ~15%
    cheaper than materialising it) keeps every expression small.
    Result: ``_n_<raw_table>`` with _fid, source_row, the raw columns, _reason, _detail, _original.
    """
    t = union_table(src)
    n = len(src.columns)
    required = set(required_value_columns(src))
    phone_join = ""
    phone_hash = "NULL::VARCHAR"
    # A phone's digits are extracted once per cell (two regex replaces), then joined to the
    # chunk's hashes and reused for the mask and the validity flag in stage 2.
    phones = [j for j, c in enumerate(src.columns) if c.kind == "phone"]
    digits = "".join(f", mp_phone_digits(u.k{j}) AS _pd{j}" for j in phones)
    digit_cols = "".join(f", s._pd{j}" for j in phones)

    # Stage 1: fold every cell once; find exact duplicates (within a file) on the cells as delivered.
    for j, c in enumerate(src.columns):
        if c.kind == "phone" and phone_table:
            phone_join = f"LEFT JOIN {phone_table} pk ON pk.digits = s._pd{j}"
            phone_hash = "pk.phone_hash"
    # Writing _f is a large share of stage 1, so a cell's text as delivered is kept (k<j>)
    # only where folding changed it: raw_text() gives it back as coalesce(k<j>, f<j>).
    folded = ", ".join(
        f"CASE WHEN s.k{j} IS DISTINCT FROM mp_fold(s.k{j}) THEN s.k{j} END AS k{j}, mp_fold(s.k{j}) AS f{j}"
        for j in range(n)
    )
    cells = ", ".join(f"u.{c}" for c in duplicate_columns(src)[1:])
    # Exact duplicates: rows of a file with the same cells share the smallest source_row.
    # Grouping a narrow (file, hash of the cells) key and joining it back costs a third of
    # a window partitioned by every text cell (which drags all columns through its sort);
    # the loader proves the marks exact (hash_collision_sql) and falls back to the cells.
    # A CSV's rows are numbered from the staging table's rowid (file order), per file.
    s_cells = ", ".join(f"s.{c}" for c in duplicate_columns(src))
    if exact_duplicates:  # the fallback: a window partitioned by the cells themselves
        dup_of, dup_join = f"min(s.source_row) OVER (PARTITION BY {s_cells})", ""
    else:
        dup_of = "g._dup_of"
        dup_join = "JOIN (SELECT _fid, _h, min(source_row) AS _dup_of FROM s GROUP BY ALL) g USING (_fid, _h)"
    stage1 = f"""
        CREATE OR REPLACE TEMP TABLE {t}_f AS
        WITH s AS MATERIALIZED (
            SELECT u.* EXCLUDE (source_row), coalesce(u.source_row, u.rowid - m.r0 + 1) AS source_row,
                hash({cells}) AS _h{digits}
            FROM {t} u JOIN (SELECT _fid, min(rowid) AS r0 FROM {t} GROUP BY _fid) m USING (_fid))
        SELECT s._fid, s.source_row, {folded}, s._xvals, s._xjson, {dup_of} AS _dup_of,
            {phone_hash} AS _phone_hash{digit_cols}
        FROM s {dup_join}
        {phone_join}
    """

    # Stage 2: typed columns, still next to the folded text they came from.
    typed: list[str] = []
    problems: list[str] = []
    missing_checks: list[str] = []
    original_pairs: list[str] = []
    for j, c in enumerate(src.columns):
        col, fcol = raw_text(j), f"f{j}"
        if c.kind == "pii_drop":
            continue  # names never leave the staging table, not even into quarantine
        if c.kind == "phone":
            typed += [
                f"_phone_hash AS {c.name}_hash",
                f"mp_phone_masked_d(_pd{j}) AS {c.name}_masked",
                f"mp_phone_valid_d(_pd{j}) AS {c.name}_is_valid",
            ]
            # The quarantine keeps the phone only as mask and hash: never the number.
            original_pairs += [
                f"{_q(c.source_name + '_masked')}, mp_phone_masked_d(_pd{j})",
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
    markers = ", ".join(_q(m) for m in TOTAL_MARKERS)
    marker_cols = [f"f{j}" for j, c in enumerate(src.columns) if c.kind in ("id", "text", "code")]
    total_check = " OR ".join(f"coalesce({c} IN ({markers}), FALSE)" for c in marker_cols) or "FALSE"
    blank_check = (
        f"coalesce({', '.join(f'f{j}' for j in range(n))}) IS NULL "
        "AND coalesce(len(list_filter(_xvals, lambda x: mp_fold(x) IS NOT NULL)), 0) = 0"
    )
    base = f"json_object({', '.join(original_pairs)})::VARCHAR"
    # Columns the contract does not know travel to quarantine too, appended to the object.
    original_sql = (
        f"(CASE WHEN _xjson IS NULL OR _xjson = '{{}}' THEN {base} "
        f"ELSE rtrim({base}, '}}') || ',' || substr(_xjson, 2) END)::JSON"
    )
    stage2 = f"SELECT *, {', '.join(typed)}, {blank_check} AS _blank, ({total_check}) AS _total FROM {t}_f"

    # Stage 3: each row's fate, judged on the typed values (MESS_KINDS names as reasons).
    missing_sql = f"concat_ws(', ', {', '.join(missing_checks)})" if missing_checks else "''"
    problems_sql = f"concat_ws('; ', {', '.join(problems)})" if problems else "''"
    raw_names = ", ".join(f'"{name}"' for name, _ in raw_columns(src)[: -len(LINEAGE_COLUMNS)])
    stage3 = f"""
        CREATE OR REPLACE TEMP TABLE {norm_table(src)} AS
        WITH typed AS NOT MATERIALIZED ({stage2})
        SELECT _fid, source_row, {raw_names},
            -- Only a set-aside row needs its original values (CASE evaluates the JSON for
            -- those rows alone: building it for every row cost half of stage 2).
            CASE WHEN _reason IS NOT NULL THEN {original_sql} END AS _original, _reason, _detail
        FROM (SELECT *,
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
        FROM (SELECT *, {missing_sql} AS _missing, {problems_sql} AS _problems FROM typed))
    """
    return [stage1, stage3, f"DROP TABLE {t}_f"]


# --- the files of a run -------------------------------------------------------------------


@dataclass
class RunFile:
    """One new file of the run: what happened to it and what the ledger will say."""

    f: LandedFile
    sha: str
    fmt: str
    fid: int
    outcome: FileOutcome
    archive_path: Path | None = None
    extras: list[str] = field(default_factory=list)
    tables: dict[str, list[int]] = field(default_factory=dict)  # raw_table -> [read, loaded, set aside]
    replaced_by: str | None = None

    @property
    def file_id(self) -> str:
        return f"{self.f.rel_path}@{self.sha[:12]}"


@dataclass
class DayState:
    """Replays a source-day's deliveries in arrival order, as one-by-one loads would."""

    prev_active: bool  # an earlier run's delivery holds the day
    prev_rejected_open: bool  # an earlier run's rejected delivery waits for a replacement
    current: RunFile | None = None  # this run's delivery holding the day
    replaces_prev: str | None = None  # file_id that displaces the earlier run's delivery
    closes_prev_rejected: str | None = None
    pending_rejected: list[RunFile] = field(default_factory=list)

    def add(self, rf: RunFile) -> None:
        if rf.outcome.status == "rejected":
            self.pending_rejected.append(rf)
            return
        if self.current is not None:
            self.current.outcome.status = "replaced"
            self.current.replaced_by = rf.file_id
        elif self.prev_active and self.replaces_prev is None:
            self.replaces_prev = rf.file_id
        if self.prev_rejected_open and self.closes_prev_rejected is None:
            self.closes_prev_rejected = rf.file_id
        for r in self.pending_rejected:
            r.replaced_by = rf.file_id
        self.pending_rejected = []
        self.current = rf


class IngestContext:
    """State shared by the files of one run: connection, key, run id, scratch folder, ledger."""

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, run_id: str, scratch: Path):
        self.settings = settings
        self.con = con
        self.run_id = run_id
        self.scratch = scratch
        self.now = shanghai_now()
        self._key: bytes | None = None
        self.by_folder = sources_by_folder()
        # The ledger as it stood before the run (one query, not one per file).
        rows = con.execute(
            "SELECT file_name, size_bytes, file_mtime, sha256, source, data_date, status, file_id, replaced_by "
            "FROM meta.load_ledger"
        ).fetchall()
        self.known_stat = {(r[0], r[1], r[2]) for r in rows}
        self.known_sha = {(r[0], r[3]) for r in rows}
        self.same_bytes: dict[tuple[str, dt.date, str], list[tuple[str, str]]] = {}
        self.active_days: set[tuple[str, dt.date]] = set()
        self.open_rejected_days: set[tuple[str, dt.date]] = set()
        for r in rows:
            if r[6] in SAME_BYTES_STATUSES:
                self.same_bytes.setdefault((r[4], r[5], r[3]), []).append((r[7], r[6]))
            if r[6] in ACTIVE_STATUSES:
                self.active_days.add((r[4], r[5]))
            if r[6] == "rejected" and r[8] is None:
                self.open_rejected_days.add((r[4], r[5]))
        self.days: dict[tuple[str, dt.date], DayState] = {}
        self.run_bytes: dict[tuple[str, dt.date, str], RunFile] = {}
        self.next_fid = 0

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = hmac_key(self.settings)
        return self._key

    def day(self, f: LandedFile) -> DayState:
        k = (f.folder, f.data_date)
        if k not in self.days:
            self.days[k] = DayState(k in self.active_days, k in self.open_rejected_days)
        return self.days[k]

    def duplicate_of(self, f: LandedFile, sha: str) -> tuple[str, str] | None:
        """(file_id, status) of a delivery with the same bytes for the same source-day."""
        earlier = self.run_bytes.get((f.folder, f.data_date, sha))
        if earlier is not None and earlier.outcome.status in ("loaded", "rejected"):
            return earlier.file_id, earlier.outcome.status
        state = self.days.get((f.folder, f.data_date))
        for file_id, status in self.same_bytes.get((f.folder, f.data_date, sha), []):
            if status in ACTIVE_STATUSES and state is not None and state.replaces_prev:
                continue  # already displaced by a delivery earlier in this run
            return file_id, status
        return None


def _read_staged(ctx: IngestContext, rf: RunFile, data: bytes) -> list[StagedTable]:
    """Stage the file's rows; all or nothing (a FileRejected leaves nothing staged)."""
    f = rf.f
    sources = ctx.by_folder[f.folder]
    con = ctx.con
    if rf.fmt == "xlsx":
        return [read_xlsx(con, f.path, sources[0], "_stg", read_from=rf.archive_path)]
    if rf.fmt == "csv":
        return [read_csv(f.path, sources[0], ctx.scratch, data=data, read_from=rf.archive_path)]
    document = load_json_document(f.path, data)
    return [read_json_records(con, f.path, document, s, "_stg") for s in sources]


def _append(ctx: IngestContext, rf: RunFile, st: StagedTable, cmap: ColumnMap) -> int:
    """Append one staged file to its source's staging table; returns the rows appended."""
    _stg = st.data  # noqa: F841  (numpy arrays, read by DuckDB's replacement scan as "_stg")
    try:
        (rows,) = ctx.con.execute(union_insert_sql(rf.fid, st, cmap), st.params).fetchone()
    except duckdb.Error as exc:
        if st.kind != "csv":
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileRejected(f"{rf.f.path.name}: not a readable CSV ({first_line})") from exc
    return rows


def _count_rows(ctx: IngestContext, st: StagedTable) -> int:
    if st.rows_read is not None:
        return st.rows_read
    try:
        return ctx.con.execute(f"SELECT count(*) FROM {st.relation}", st.params).fetchone()[0]
    except duckdb.Error:
        return 0


def _stage_file(ctx: IngestContext, f: LandedFile, staged_sources: set[str]) -> RunFile | None:
    """Checksum, archive and stage one new file; None when the ledger already has it."""
    fmt = ctx.by_folder[f.folder][0].fmt
    data = f.path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if (f.rel_path, sha) in ctx.known_sha:
        return None
    ctx.known_sha.add((f.rel_path, sha))
    rf = RunFile(f, sha, fmt, ctx.next_fid, FileOutcome(f.rel_path, f.folder, fmt, f.data_date, "loaded"))
    ctx.next_fid += 1
    if len(data) != f.size:  # changed under our feet: leave it for the next run
        rf.outcome.status = "in_progress"
        rf.outcome.reason = (
            f"{f.rel_path}: changed while being read (size {f.size} -> {len(data)}); retried next run"
        )
        ctx.known_sha.discard((f.rel_path, sha))
        return rf
    rf.archive_path = archive_file(ctx.settings, f, sha, data)
    same = ctx.duplicate_of(f, sha)
    if same:
        # The same bytes again under another name: loaded once, recorded as a duplicate.
        rf.outcome.status = "duplicate_delivery"
        rf.outcome.reason = f"identical (sha256) to {same[0]} ({same[1]})"
        return rf
    ctx.run_bytes[(f.folder, f.data_date, sha)] = rf
    con = ctx.con
    staged: list[StagedTable] = []
    try:
        staged = _read_staged(ctx, rf, data)
        maps = [map_columns(f.rel_path, st) for st in staged]
    except FileRejected as exc:
        rf.outcome.status, rf.outcome.reason = "rejected", str(exc)
        # The whole file is set aside: every row it has (0 when unreadable) counts as set aside.
        rf.outcome.rows_read = rf.outcome.rows_set_aside = sum(_count_rows(ctx, st) for st in staged)
        for st in staged:
            st.drop()
        log.warning("set aside %s: %s", f.rel_path, rf.outcome.reason)
        ctx.day(f).add(rf)
        return rf
    try:
        for st, cmap in zip(staged, maps, strict=True):
            src = st.source
            if src.raw_table not in staged_sources:
                con.execute(union_ddl(src))
                staged_sources.add(src.raw_table)
            rows = _append(ctx, rf, st, cmap)
            st.drop()  # the staged copy holds the file as read (PII included): gone at once
            rf.extras += [f"{src.json_path}.{e}" if src.json_path else e for e in cmap.extras]
            rf.tables[src.raw_table] = [rows, rows, 0]
    except FileRejected as exc:  # only a CSV (one table) can fail here, before any row is appended
        rf.outcome.status, rf.outcome.reason = "rejected", str(exc)
        rf.tables, rf.extras = {}, []
        for st in staged:
            st.drop()
        log.warning("set aside %s: %s", f.rel_path, rf.outcome.reason)
        ctx.day(f).add(rf)
        return rf
    rf.outcome.rows_read = sum(t[0] for t in rf.tables.values())
    ctx.day(f).add(rf)
    return rf


def _hash_phones(ctx: IngestContext, sources: list[Source]) -> str | None:
    """HMAC the distinct valid phones of the whole chunk (every CRM) into one temp table."""
    selects = []
    for src in sources:
        for j, c in enumerate(src.columns):
            if c.kind == "phone":
                selects.append(  # digits extracted once per cell, then tested
                    f"SELECT DISTINCT d FROM (SELECT mp_phone_digits(k{j}) AS d FROM {union_table(src)}) "
                    "WHERE mp_phone_valid_d(d)"
                )
    if not selects:
        return None
    digits = [r[0] for r in ctx.con.execute(" UNION ".join(selects)).fetchall()]
    table = {
        "digits": np.array(digits, dtype=object),
        "phone_hash": np.array(hmac_sha256_hex(ctx.key, digits), dtype=object),
    }
    ctx.con.register("_phones", table)
    return "_phones"


def _normalise(ctx: IngestContext, src: Source, phones: str | None, by_fid: dict[int, RunFile]) -> None:
    con = ctx.con
    stage1, *rest = build_normalise_sql(src, phones)
    con.execute(stage1)
    if con.execute(hash_collision_sql(src)).fetchone()[0]:
        log.warning("hash collision among %s rows: exact duplicates found on the cells instead", src.name)
        con.execute(build_normalise_sql(src, phones, exact_duplicates=True)[0])
    for sql in rest:
        con.execute(sql)
    con.execute(f"DROP TABLE {union_table(src)}")  # raw phones and names: gone once normalised
    for fid, aside in con.execute(
        f"SELECT _fid, count(*) FILTER (WHERE _reason IS NOT NULL) FROM {norm_table(src)} GROUP BY _fid"
    ).fetchall():
        counts = by_fid[fid].tables[src.raw_table]
        counts[1], counts[2] = counts[0] - aside, aside
    for rf in by_fid.values():
        if src.raw_table in rf.tables:
            rf.outcome.rows_loaded = sum(t[1] for t in rf.tables.values())
            rf.outcome.rows_set_aside = sum(t[2] for t in rf.tables.values())


def _ledger_row(ctx: IngestContext, rf: RunFile) -> list[object]:
    o = rf.outcome
    return [
        rf.file_id, rf.f.folder, rf.f.data_date, rf.f.rel_path, str(rf.archive_path), rf.f.size, rf.sha,
        o.rows_read, o.rows_loaded, o.rows_set_aside, o.status, o.reason, rf.extras, rf.f.landed_at,
        ctx.now, ctx.now if o.status in ("loaded", "replaced") else None, rf.replaced_by, rf.f.mtime,
        None, ctx.run_id,
    ]  # fmt: skip


def _insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[list[object]], batch: int = 200
) -> None:
    """Multi-row INSERT ... VALUES (one statement per ``batch`` rows, not one per row)."""
    for i in range(0, len(rows), batch):
        part = rows[i : i + batch]
        marks = "(" + ", ".join("?" * len(part[0])) + ")"
        con.execute(
            f"INSERT INTO {table} VALUES {', '.join([marks] * len(part))}", [v for r in part for v in r]
        )


def _apply_folder(ctx: IngestContext, folder: str, files: list[RunFile], staged_sources: set[str]) -> None:
    """One transaction: swap this folder's source-days, write raw, quarantine and the ledger."""
    con = ctx.con
    days = {k: v for k, v in ctx.days.items() if k[0] == folder}
    replace = [(d, s.replaces_prev) for (_, d), s in days.items() if s.replaces_prev]
    close = [(d, s.closes_prev_rejected) for (_, d), s in days.items() if s.closes_prev_rejected]
    winners = [
        rf
        for rf in files
        if rf.outcome.status == "loaded" and rf.tables and days[(folder, rf.f.data_date)].current is rf
    ]
    day_pairs = "(SELECT unnest(?::DATE[]) AS data_date, unnest(?::VARCHAR[]) AS file_id) r"
    con.execute("BEGIN TRANSACTION")
    try:
        if replace:
            # A re-delivery: the source-day holds exactly one delivery, swapped atomically.
            dates = [d for d, _ in replace]
            for src in ctx.by_folder[folder]:
                con.execute(
                    f"DELETE FROM raw.{src.raw_table} WHERE data_date IN (SELECT unnest(?::DATE[]))", [dates]
                )
            con.execute(
                "DELETE FROM raw.quarantine WHERE source = ? AND data_date IN (SELECT unnest(?::DATE[]))",
                [folder, dates],
            )
            con.execute(
                f"UPDATE meta.load_ledger SET status = 'replaced', replaced_by = r.file_id FROM {day_pairs} "
                "WHERE load_ledger.source = ? AND load_ledger.data_date = r.data_date "
                f"AND load_ledger.status IN {ACTIVE_STATUSES}",
                [dates, [i for _, i in replace], folder],
            )
        if close:
            con.execute(
                f"UPDATE meta.load_ledger SET replaced_by = r.file_id FROM {day_pairs} "
                "WHERE load_ledger.source = ? AND load_ledger.data_date = r.data_date "
                "AND load_ledger.status = 'rejected' AND load_ledger.replaced_by IS NULL",
                [[d for d, _ in close], [i for _, i in close], folder],
            )
        if winners:
            win = (
                "(SELECT unnest(?::INTEGER[]) AS _fid, unnest(?::DATE[]) AS data_date, "
                "unnest(?::VARCHAR[]) AS source_file, unnest(?::VARCHAR[]) AS file_sha256) w"
            )
            win_params = [
                [rf.fid for rf in winners],
                [rf.f.data_date for rf in winners],
                [rf.f.rel_path for rf in winners],
                [rf.sha for rf in winners],
            ]
            for src in ctx.by_folder[folder]:
                if src.raw_table not in staged_sources:
                    continue
                names = [f'"{n}"' for n, _ in raw_columns(src)[: -len(LINEAGE_COLUMNS)]]
                con.execute(
                    f"INSERT INTO raw.{src.raw_table} ({', '.join(names)}, data_date, source_file, file_sha256, "
                    f"source_row, loaded_at) SELECT {', '.join(f'n.{c}' for c in names)}, w.data_date, "
                    f"w.source_file, w.file_sha256, n.source_row, ? FROM {norm_table(src)} n "
                    f"JOIN {win} USING (_fid) WHERE n._reason IS NULL ORDER BY n._fid, n.source_row",
                    [ctx.now, *win_params],
                )
                con.execute(
                    "INSERT INTO raw.quarantine SELECT ?, ?, w.data_date, w.source_file, w.file_sha256, "
                    f"n.source_row, n._reason, n._detail, n._original, ? FROM {norm_table(src)} n "
                    f"JOIN {win} USING (_fid) WHERE n._reason IS NOT NULL ORDER BY n._fid, n.source_row",
                    [folder, src.raw_table, ctx.now, *win_params],
                )
        _insert_rows(con, "meta.load_ledger", [_ledger_row(ctx, rf) for rf in files])
        tables = [[rf.file_id, t, *c] for rf in files for t, c in rf.tables.items()]
        if tables:
            _insert_rows(con, "meta.load_ledger_tables", tables)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _share(seconds: float, files: list[RunFile], weight) -> None:
    """Apportion a batched step's time across its files by rows (+1, so empty files pay a little)."""
    weights = [weight(rf) + 1 for rf in files]
    total = sum(weights)
    if not total:
        return
    for rf, w in zip(files, weights, strict=True):
        rf.outcome.seconds += seconds * w / total


def _run_chunk(ctx: IngestContext, chunk: list[LandedFile], summary: IngestSummary) -> list[RunFile]:
    """Stage, normalise and apply one chunk of whole source-days."""
    staged_sources: set[str] = set()
    files: list[RunFile] = []
    for f in chunk:
        t0 = time.perf_counter()
        rf = _stage_file(ctx, f, staged_sources)
        if rf is None:
            summary.skipped_known += 1
            continue
        rf.outcome.seconds += time.perf_counter() - t0
        files.append(rf)
    by_fid = {rf.fid: rf for rf in files if rf.tables}
    sources = [s for srcs in ctx.by_folder.values() for s in srcs if s.raw_table in staged_sources]
    t0 = time.perf_counter()
    phones = _hash_phones(ctx, sources)
    _share(time.perf_counter() - t0, [rf for rf in by_fid.values() if rf.f.folder.startswith("crm")],
           lambda rf: rf.outcome.rows_read)  # fmt: skip
    for src in sources:
        t0 = time.perf_counter()
        _normalise(ctx, src, phones, by_fid)
        _share(time.perf_counter() - t0, [rf for rf in by_fid.values() if src.raw_table in rf.tables],
               lambda rf, t=src.raw_table: rf.tables[t][0])  # fmt: skip
    if phones:
        ctx.con.unregister(phones)
    for folder in dict.fromkeys(rf.f.folder for rf in files if rf.outcome.status != "in_progress"):
        mine = [rf for rf in files if rf.f.folder == folder and rf.outcome.status != "in_progress"]
        t0 = time.perf_counter()
        _apply_folder(ctx, folder, mine, staged_sources)
        _share(time.perf_counter() - t0, mine, lambda rf: rf.outcome.rows_read)
    for src in sources:
        ctx.con.execute(f"DROP TABLE IF EXISTS {norm_table(src)}")
    # The day states of this chunk are settled (a chunk holds whole source-days).
    for rf in files:
        ctx.days.pop((rf.f.folder, rf.f.data_date), None)
    return files


def _chunks(files: list[LandedFile], limit: int) -> list[list[LandedFile]]:
    """Consecutive groups of whole source-days of about ``limit`` landed bytes."""
    out: list[list[LandedFile]] = []
    current: list[LandedFile] = []
    size = 0
    for f in files:
        if (
            current
            and size >= limit
            and (current[-1].folder, current[-1].data_date) != (f.folder, f.data_date)
        ):
            out.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        out.append(current)
    return out


# --- the run ------------------------------------------------------------------------------


def run_ingest(
    settings: Settings, sources: list[str] | None = None, run_id: str | None = None
) -> IngestSummary:
    """Load every landed file not loaded yet (any data date) into the warehouse.

    ``sources`` limits the run to some landing folders (e.g. ``['wechat_oa']``); raw-table
    names are accepted too. Returns what happened to each new file; never raises for a bad
    file (those are set aside and reported), only for a broken warehouse.

    ``FileOutcome.seconds`` add up to the run's wall time (after the landing scan): each
    file's own reading and staging, plus its share (by rows) of the batched steps.
    """
    run_id = run_id or f"ingest_{shanghai_now():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
    folders = None
    if sources:
        by_folder = sources_by_folder()
        folders = sorted(
            {fo for fo, srcs in by_folder.items() for s in srcs if fo in sources or s.name in sources}
        )
    ready, junk, in_progress = scan_landing(settings.landing_dir, folders, settings.stable_seconds)
    started = time.perf_counter()
    summary = IngestSummary(run_id, ignored=junk, in_progress=in_progress)
    con = connect(settings)
    try:
        with tempfile.TemporaryDirectory(prefix="mp_ingest_") as scratch:
            ctx = IngestContext(settings, con, run_id, Path(scratch))
            new: list[LandedFile] = []
            for f in ready:
                if (f.rel_path, f.size, f.mtime) in ctx.known_stat:
                    summary.skipped_known += 1
                else:
                    new.append(f)
            # Replay deliveries in arrival order, so a later re-delivery replaces an earlier one.
            new.sort(key=lambda f: (f.folder, f.data_date, f.mtime, f.rel_path))
            run_files: list[RunFile] = []
            for chunk in _chunks(new, settings.ingest_chunk_bytes):
                run_files += _run_chunk(ctx, chunk, summary)
        summary.files = [rf.outcome for rf in run_files]
        _record_run(con, summary, ctx.now if ready else shanghai_now())
    finally:
        con.close()
    # What no single step owns (connecting, the ledger, the run record) is shared by rows too.
    overhead = time.perf_counter() - started - sum(o.seconds for o in summary.files)
    if summary.files and overhead > 0:
        weights = [o.rows_read + 1 for o in summary.files]
        total = sum(weights)
        for o, w in zip(summary.files, weights, strict=True):
            o.seconds += overhead * w / total
    log.info(summary.describe())
    return summary


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
