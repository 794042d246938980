"""Land -> archive -> stage -> normalise -> raw/quarantine/ledger, a run's files at a time.

``run_ingest`` loads every landed file the ledger has not seen, whatever its data date
(late files, re-deliveries, a quarter of backlog in one run). The run works in chunks of
whole source-days (all of a day's deliveries in one chunk):

1. per file: copy it into the archive (by the kernel) and checksum the copy (everything after
   reads the archived copy; a chunk's files are archived three chunks ahead and their xlsx/JSON
   queued to the reader worker, which parses them while the loader stages, normalises and
   applies the chunks before: ``_ReadAhead``), then, in arrival order, stage every cell as
   text in the chunk's staging table for its source (``_fid`` + ``source_row`` + one column
   per contract column; several files a statement: ``append_batch``), or set the file aside
   whole (unreadable, missing required column) or record it as a duplicate delivery;
2. per source: normalise all staged rows in one set-based statement (the macros are
   bound once per source per chunk, not once per file) and decide each row's fate, then prove
   its exact-duplicate marks exact (``hash_collision_sql``);
3. per landing folder: one DuckDB transaction swaps the source-days: delete the earlier
   delivery's rows from raw and quarantine, insert each day's winning delivery, mark the
   earlier ledger rows ``replaced`` and write the new ledger rows; then one checkpoint writes
   the chunk into the database file (DuckDB's own, after every commit, is off for the run).

Several deliveries of one day in one run are resolved in arrival order exactly as if they
had been loaded one by one (the last good one holds the day, the earlier ones end
``replaced``; a rejected file never displaces a good one). For every file
rows_read = rows_loaded + rows_set_aside, and every set-aside row sits in raw.quarantine
with its reason and its original values (PII replaced by hash/mask).

This module tells that story; the parts live beside it: ``archive`` (step 1's archive copy),
``column_map`` (headers to contract columns), ``staging_sql`` (the statements of steps 1-2),
``replay`` (the run's state: the ledger before it, each source-day's deliveries), ``apply``
(step 3) and ``warehouse`` (the connection, ``transaction()`` and the run records).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path

import duckdb

from matrix_pulse.clock import shanghai_now
from matrix_pulse.ingest.append_batch import AppendBatch
from matrix_pulse.ingest.apply import apply_folder
from matrix_pulse.ingest.archive import copy_in, keep, sweep_stale_copies
from matrix_pulse.ingest.column_map import ColumnMap, map_columns
from matrix_pulse.ingest.discovery import LandedFile, scan_landing, sources_by_folder
from matrix_pulse.ingest.landing_guard import LandingRefused, excerpt
from matrix_pulse.ingest.pii import hmac_pads
from matrix_pulse.ingest.readers import FileRejected, StagedTable, read_csv
from matrix_pulse.ingest.replay import IngestContext, RunFile
from matrix_pulse.ingest.staging_sql import (
    build_normalise_sql,
    hash_collision_sql,
    norm_table,
    union_ddl,
    union_insert_sql,
    union_table,
)
from matrix_pulse.ingest.summary import FileOutcome, IngestSummary, share_seconds
from matrix_pulse.ingest.warehouse import connect, record_run
from matrix_pulse.settings import Settings
from matrix_pulse.sources import Source

__all__ = ["FileOutcome", "IngestSummary", "run_ingest"]

log = logging.getLogger(__name__)

PHONES = "_phones"  # the chunk's distinct phones / personal IDs and their keyed hashes (temp table)
# No automatic checkpoint during a run: DuckDB checkpoints after a commit once the data it wrote
# passes checkpoint_threshold (16 MB by default), and that includes the temp staging tables, which
# it compresses whole each time. Every file's append (one commit each) then paid for the whole
# chunk staged before it: crm_dcc's 88 national files took 15-17 s to append, 5 s without it
# (issue 17's profile). The loader checkpoints itself once a chunk is applied (_settle_chunk).
NO_AUTO_CHECKPOINT = "1TB"
# Chunks admitted ahead of the one being staged: their xlsx/JSON go to the worker at once, so it
# parses douyin's and xiaohongshu's sheets (slower to parse than to normalise) while the loader
# works through the CSV and JSON chunks before them. National quarter, 256 MB chunks: one ahead,
# the loader waited 17-19 s on the worker; two, 11-15 s; three (with READ_AHEAD_BYTES 512 MB),
# 1.8-2.3 s (README Measured).
ADMIT_AHEAD = 3


class _ReadAhead:
    """The run's xlsx/JSON files, queued to the reader worker as soon as they are admitted.

    H5: xlsx and JSON are read in one limited worker process (ingest/isolation.py). Each
    chunk's files are queued when the chunk is admitted, ``ADMIT_AHEAD`` chunks ahead of the one
    being staged, so the worker parses ahead while the loader appends, reads the CSVs, normalises
    and applies (bounded by the pool's READ_AHEAD_BYTES). Files are taken in the order they were
    queued, each exactly once, whether staged or a duplicate.
    """

    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.queue: deque[RunFile] = deque()  # queued to the worker, not taken yet

    @property
    def reading(self) -> RunFile | None:
        """The next file to be taken (the worker has it, or has read it already)."""
        return self.queue[0] if self.queue else None

    def add(self, files: list[RunFile]) -> None:
        for rf in files:
            if rf.fmt != "csv" and rf.archive_path is not None:
                self.ctx.readers.submit(
                    rf.fmt, rf.archive_path, rf.f.path.name, self.ctx.by_folder[rf.f.folder]
                )
                self.queue.append(rf)

    def take(self, rf: RunFile) -> list[StagedTable]:
        """The file's staged tables (raises FileRejected)."""
        if self.reading is not rf:
            raise RuntimeError(f"read-ahead out of order: {rf.f.rel_path} asked for while reading another")
        self.queue.popleft()
        return self.ctx.readers.result()

    def skip(self, rf: RunFile) -> None:
        """A file that needs no staging after all (a duplicate): its read is dropped."""
        with contextlib.suppress(FileRejected):
            for st in self.take(rf):
                st.drop()

    def close(self) -> None:
        """A run that stopped early leaves no file in the worker for a later run to take."""
        if self.queue:
            self.queue.clear()
            self.ctx.readers.cancel()


def _read_staged(ctx: IngestContext, rf: RunFile, reads: _ReadAhead) -> list[StagedTable]:
    """Stage the file's rows; all or nothing (a FileRejected leaves nothing staged)."""
    if rf.fmt == "csv":
        limit = ctx.settings.reader_max_cell_chars  # the same cell limit as xlsx and JSON
        data = rf.archive_path.read_bytes()  # the archived copy that was checksummed (DuckDB reads it too)
        return [read_csv(rf.f.path, ctx.by_folder[rf.f.folder][0], ctx.scratch, data, rf.archive_path, limit)]
    return reads.take(rf)


def _append(ctx: IngestContext, rf: RunFile, st: StagedTable, cmap: ColumnMap) -> int:
    """Append one staged file to its source's staging table; returns the rows appended."""
    _stg = st.data  # noqa: F841  (numpy arrays, read by DuckDB's replacement scan as "_stg")
    try:
        (rows,) = ctx.con.execute(union_insert_sql(rf.fid, st, cmap), st.params).fetchone()
    except duckdb.Error as exc:
        if st.kind != "csv":
            raise
        if st.explain_failure is not None:
            st.explain_failure()  # a cell over the limit: FileRejected naming its row and column
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # DuckDB quotes the offending line: bounded and escaped (H5, landing_guard.excerpt).
        raise FileRejected(f"{rf.f.path.name}: not a readable CSV ({excerpt(first_line, 200)})") from exc
    return rows


def _count_rows(ctx: IngestContext, st: StagedTable) -> int:  # a rejected file's rows
    if st.rows_read is not None:
        return st.rows_read
    try:
        return ctx.con.execute(f"SELECT count(*) FROM {st.relation}", st.params).fetchone()[0]
    except duckdb.Error:
        return 0


def _admit_file(ctx: IngestContext, f: LandedFile) -> RunFile | None:
    """Copy one new file into the archive and checksum the copy; None when the ledger has it.

    Every file is read later from its archived copy: a CSV by the loader when it is staged
    (its bytes are not held until then, chunks later), an xlsx/JSON file by the worker."""
    fmt = ctx.by_folder[f.folder][0].fmt
    try:
        tmp, data = copy_in(ctx.settings, f)  # H5: O_NOFOLLOW, regular files only (landing_guard.py)
    except LandingRefused as exc:
        log.warning("refused %s", exc)
        return None
    sha = hashlib.sha256(data).hexdigest()
    if (f.rel_path, sha) in ctx.known_sha:
        tmp.unlink()
        return None
    ctx.known_sha.add((f.rel_path, sha))
    rf = RunFile(f, sha, fmt, ctx.next_fid, FileOutcome(f.rel_path, f.folder, fmt, f.data_date, "loaded"))
    ctx.next_fid += 1
    if len(data) != f.size:  # changed under our feet: leave it for the next run
        tmp.unlink()
        rf.outcome.status = "in_progress"
        rf.outcome.reason = (
            f"{f.rel_path}: changed while being read (size {f.size} -> {len(data)}); retried next run"
        )
        ctx.known_sha.discard((f.rel_path, sha))
        return rf
    rf.archive_path = keep(ctx.settings, f, sha, tmp)
    return rf


def _stage_file(
    ctx: IngestContext, rf: RunFile, reads: _ReadAhead, staged_sources: set[str], batch: AppendBatch
) -> RunFile:
    """Stage one admitted file in arrival order; its rows wait in ``batch`` to be appended."""
    if rf.outcome.status == "in_progress":
        return rf
    f, sha = rf.f, rf.sha
    same = ctx.duplicate_of(f, sha)
    if same:
        # The same bytes again under another name: loaded once, recorded as a duplicate.
        if rf.fmt != "csv":
            reads.skip(rf)
        rf.outcome.status = "duplicate_delivery"
        rf.outcome.reason = f"identical (sha256) to {same[0]} ({same[1]})"
        return rf
    ctx.run_bytes[(f.folder, f.data_date, sha)] = rf
    staged: list[StagedTable] = []
    try:
        staged = _read_staged(ctx, rf, reads)
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
    for st, cmap in zip(staged, maps, strict=True):
        src = st.source
        if src.raw_table not in staged_sources:
            ctx.con.execute(union_ddl(src))
            staged_sources.add(src.raw_table)
        rf.extras += [f"{src.json_path}.{e}" if src.json_path else e for e in cmap.extras]
    batch.add(rf, staged, maps)  # appended, and its day told, when the batch is
    return rf


def _hash_phones(ctx: IngestContext, sources: list[Source]) -> str | None:
    """HMAC the distinct valid phones of the whole chunk (every CRM) into one temp table, in
    DuckDB (``mp_hmac_sha256``; the key's pads are parameters of the statement).

    Personal IDs (kind hashed_id, WeCom's external_userid) share the table under the text
    'id:<value>', which no phone's digits can equal."""
    selects = []
    for src in sources:
        for j, c in enumerate(src.columns):
            if c.kind == "hashed_id":
                selects.append(
                    f"SELECT DISTINCT 'id:' || mp_fold(k{j}) AS d FROM {union_table(src)} WHERE mp_fold(k{j}) IS NOT NULL"
                )
            if c.kind == "phone":
                selects.append(  # digits extracted once per cell, then tested
                    f"SELECT DISTINCT d FROM (SELECT mp_phone_digits(k{j}) AS d FROM {union_table(src)}) "
                    "WHERE mp_phone_valid_d(d)"
                )
    if not selects:
        return None
    ipad, opad = hmac_pads(ctx.key)
    ctx.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {PHONES} AS SELECT d AS digits, mp_hmac_sha256(?::BLOB, ?::BLOB, d) "
        f"AS phone_hash FROM ({' UNION '.join(selects)})",
        [ipad, opad],
    )
    return PHONES


def _normalise(ctx: IngestContext, src: Source, phones: str | None, by_fid: dict[int, RunFile]) -> None:
    con = ctx.con
    for sql in build_normalise_sql(src, phones):
        con.execute(sql)
    if con.execute(hash_collision_sql(src)).fetchone()[0]:
        log.warning("hash collision among %s rows: exact duplicates found on the cells instead", src.name)
        for sql in build_normalise_sql(src, phones, exact_duplicates=True):
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


def _admit_chunk(
    ctx: IngestContext, chunk: list[LandedFile], summary: IngestSummary, reads: _ReadAhead
) -> list[RunFile]:
    """Archive and checksum a chunk's new files, and queue their xlsx/JSON to the worker."""
    admitted: list[RunFile] = []
    for f in chunk:
        t0 = time.perf_counter()
        rf = _admit_file(ctx, f)
        if rf is None:
            summary.skipped_known += 1
            continue
        rf.outcome.seconds += time.perf_counter() - t0
        admitted.append(rf)
    reads.add(admitted)
    return admitted


def _run_chunks(ctx: IngestContext, chunks: list[list[LandedFile]], summary: IngestSummary) -> list[RunFile]:
    """Each chunk staged, then the chunk ``ADMIT_AHEAD`` after it admitted (its xlsx/JSON queued
    to the worker, which parses them meanwhile), then this one normalised and applied."""
    reads, run_files = _ReadAhead(ctx), []
    batch = AppendBatch(ctx, lambda *a: _append(*a))  # looked up per call: tests replace _append
    try:
        ahead = deque(_admit_chunk(ctx, chunk, summary, reads) for chunk in chunks[:ADMIT_AHEAD])
        for i in range(len(chunks)):
            staged_sources: set[str] = set()
            files = []
            for rf in ahead.popleft():
                if batch.due_before(rf):
                    batch.flush()
                t0 = time.perf_counter()
                files.append(_stage_file(ctx, rf, reads, staged_sources, batch))
                rf.outcome.seconds += time.perf_counter() - t0
            batch.flush()
            if i + ADMIT_AHEAD < len(chunks):
                ahead.append(_admit_chunk(ctx, chunks[i + ADMIT_AHEAD], summary, reads))
            _settle_chunk(ctx, files, staged_sources)
            run_files += files
    finally:
        reads.close()
    return run_files


def _settle_chunk(ctx: IngestContext, files: list[RunFile], staged_sources: set[str]) -> None:
    """Normalise a staged chunk per source and apply it per landing folder."""
    by_fid = {rf.fid: rf for rf in files if rf.tables}
    sources = [s for srcs in ctx.by_folder.values() for s in srcs if s.raw_table in staged_sources]
    t0 = time.perf_counter()
    phones = _hash_phones(ctx, sources)
    # Shared by the files whose tables carry a phone or personal ID (the CRMs' and WeCom's alike).
    hashed = {s.raw_table for s in sources if any(c.is_hashed for c in s.columns)}
    owners = [(rf.outcome, sum(n[0] for t, n in rf.tables.items() if t in hashed)) for rf in by_fid.values()]
    share_seconds(time.perf_counter() - t0, [(o, w) for o, w in owners if w])
    for src in sources:
        t0 = time.perf_counter()
        _normalise(ctx, src, phones, by_fid)
        mine = [
            (rf.outcome, rf.tables[src.raw_table][0]) for rf in by_fid.values() if src.raw_table in rf.tables
        ]
        share_seconds(time.perf_counter() - t0, mine)
    if phones:
        ctx.con.execute(f"DROP TABLE {phones}")
    for folder in dict.fromkeys(rf.f.folder for rf in files if rf.outcome.status != "in_progress"):
        mine = [rf for rf in files if rf.f.folder == folder and rf.outcome.status != "in_progress"]
        t0 = time.perf_counter()
        apply_folder(ctx, folder, mine, staged_sources)
        share_seconds(time.perf_counter() - t0, [(rf.outcome, rf.outcome.rows_read) for rf in mine])
    for src in sources:
        ctx.con.execute(f"DROP TABLE IF EXISTS {norm_table(src)}")
    # The chunk's raw rows and ledger go from the write-ahead log into the file, as the automatic
    # checkpoint would have done after its applies (NO_AUTO_CHECKPOINT), with no staging left.
    t0 = time.perf_counter()
    ctx.con.execute("CHECKPOINT")
    share_seconds(time.perf_counter() - t0, [(rf.outcome, rf.outcome.rows_read) for rf in files if rf.tables])
    # The day states of this chunk are settled (a chunk holds whole source-days).
    for rf in files:
        ctx.days.pop((rf.f.folder, rf.f.data_date), None)


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
    ready, junk, in_progress = scan_landing(
        settings.landing_dir, _folders_of(sources), settings.stable_seconds
    )
    started = time.perf_counter()
    summary = IngestSummary(run_id, ignored=junk, in_progress=in_progress)
    sweep_stale_copies(settings)
    con = connect(settings)
    try:
        con.execute(f"SET checkpoint_threshold = '{NO_AUTO_CHECKPOINT}'")
        with tempfile.TemporaryDirectory(prefix="mp_ingest_") as scratch:
            ctx = IngestContext(settings, con, run_id, Path(scratch))
            chunks = _chunks(_not_loaded_yet(ctx, ready, summary), settings.ingest_chunk_bytes)
            run_files = _run_chunks(ctx, chunks, summary)
        summary.files = [rf.outcome for rf in run_files]
        record_run(con, summary, ctx.now if ready else shanghai_now())
    finally:
        con.close()
    summary.share_overhead(time.perf_counter() - started)
    log.info(summary.describe())
    return summary


def _folders_of(sources: list[str] | None) -> list[str] | None:
    """The landing folders of ``sources`` (folder or source names); None: every folder."""
    if not sources:
        return None
    by_folder = sources_by_folder()
    return sorted({fo for fo, srcs in by_folder.items() for s in srcs if fo in sources or s.name in sources})


def _not_loaded_yet(ctx: IngestContext, ready: list[LandedFile], summary: IngestSummary) -> list[LandedFile]:
    """The ready files the ledger has not seen (by name, size and mtime), in arrival order:
    replaying deliveries in that order lets a later re-delivery replace an earlier one."""
    new: list[LandedFile] = []
    for f in ready:
        if (f.rel_path, f.size, f.mtime) in ctx.known_stat:
            summary.skipped_known += 1
        else:
            new.append(f)
    return sorted(new, key=lambda f: (f.folder, f.data_date, f.mtime, f.rel_path))
