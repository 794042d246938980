"""A chunk's staged files appended to their staging tables several files per statement.

One ``INSERT`` per staged file paid a statement's start per file and read each file on one
thread: in the national quarter crm_dcc's 89 CSVs of ~5 MB, douyin's and xiaohongshu's ~85 sheets
each (Arrow tables of ~13 k rows) and wechat_channels' 87 JSON files took ~60-75 ms each.
Files of one source with one header (the same column mapping: the same SQL but for the file's
id) now share a statement:

- CSVs: DuckDB's multi-file ``read_csv([...])`` reads the files of the list on both threads; the
  rows of each file stay together and in file order (the loader's connection keeps
  ``preserve_insertion_order``), which numbering a CSV's rows from the staging table's rowid
  needs (``staging_sql.build_normalise_sql``); ``file_index`` tells the files apart.
- xlsx and JSON (the worker's columns): the files' Arrow tables, or numpy columns, are joined
  end to end with a ``__fid`` column; their rows carry their own ``source_row``.

What stays per file: a statement that fails (an unreadable CSV, a cell over the limit) appends
nothing, and its files are appended again one by one, so the file at fault gets exactly the
rejection it got alone. A file's day is told of the file (``DayState.add``) only once its rows
are appended or it is rejected, and the waiting files are appended before another delivery of a
day they hold is staged: deliveries are replayed in arrival order as before. The worker's
columns wait in memory, so they are appended once ``ARRAYS_BYTES`` of landed files wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np

from matrix_pulse.ingest.column_map import ColumnMap
from matrix_pulse.ingest.landing_guard import excerpt
from matrix_pulse.ingest.readers import FileRejected, StagedTable
from matrix_pulse.ingest.replay import IngestContext, RunFile
from matrix_pulse.ingest.staging_sql import union_insert_sql, union_table
from matrix_pulse.ingest.summary import share_seconds

log = logging.getLogger(__name__)

AppendOne = Callable[[IngestContext, RunFile, StagedTable, ColumnMap], int]
# Landed bytes of xlsx/JSON files whose columns may wait in memory (~4 of national douyin's
# sheets, ~20 MB of columns each). A few files a statement save most of the start cost: 26
# national douyin sheets appended one by one 1.6-2.3 s, six at a time 0.75-0.8 s, three 0.9 s.
ARRAYS_BYTES = 24 * 1024 * 1024


@dataclass
class _Pending:
    rf: RunFile
    st: StagedTable
    cmap: ColumnMap

    @property
    def shape(self) -> tuple[str, str]:
        """Files with the same shape can share one statement: its SQL but for the file's id."""
        return self.st.kind, union_insert_sql("_fid_", self.st, self.cmap)


class AppendBatch:
    """The staged files waiting to be appended together (``flush``)."""

    def __init__(self, ctx: IngestContext, append_one: AppendOne) -> None:
        self.ctx = ctx
        self.append_one = append_one  # the loader's one-file append (the fallback)
        self.pending: list[_Pending] = []
        self.files: list[RunFile] = []  # the waiting files, in arrival order
        self.arrays_bytes = 0

    def add(self, rf: RunFile, staged: list[StagedTable], maps: list[ColumnMap]) -> None:
        self.pending += [_Pending(rf, st, cmap) for st, cmap in zip(staged, maps, strict=True)]
        self.files.append(rf)
        if rf.fmt != "csv":
            self.arrays_bytes += rf.f.size

    def due_before(self, rf: RunFile) -> bool:
        """Whether to append the waiting files before staging ``rf``: a delivery of its source-day
        waits here (replay order), or ``ARRAYS_BYTES`` of the worker's files do (memory)."""
        day = (rf.f.folder, rf.f.data_date)
        return self.arrays_bytes >= ARRAYS_BYTES or any(
            (w.f.folder, w.f.data_date) == day for w in self.files
        )

    def flush(self) -> None:
        """Append every waiting file, then settle each one's day in arrival order."""
        pending, files = self.pending, self.files
        self.pending, self.files, self.arrays_bytes = [], [], 0
        groups: dict[tuple[str, str], list[_Pending]] = {}
        for p in pending:
            groups.setdefault(p.shape, []).append(p)
        for group in groups.values():
            t0 = time.perf_counter()
            counts = self._append_together(group) if len(group) > 1 else None
            if counts is not None:
                share_seconds(
                    time.perf_counter() - t0, [(p.rf.outcome, counts.get(p.rf.fid, 0)) for p in group]
                )
                for p in group:
                    rows = counts.get(p.rf.fid, 0)
                    p.rf.tables[p.st.source.raw_table] = [rows, rows, 0]
                continue
            for p in group:
                t1 = time.perf_counter()
                self._append_alone(p)
                p.rf.outcome.seconds += time.perf_counter() - t1
        for p in pending:
            p.st.drop()  # the staged copy holds the file as read (PII included)
        for rf in files:
            if rf.outcome.status != "rejected":
                rf.outcome.rows_read = sum(t[0] for t in rf.tables.values())
            self.ctx.day(rf.f).add(rf)

    def _append_together(self, group: list[_Pending]) -> dict[int, int] | None:
        """One statement for the group; rows appended per file id, or None when it failed."""
        first = group[0]
        fids = [p.rf.fid for p in group]
        if first.st.kind == "csv":
            sql = union_insert_sql(f"{fids}[file_index::BIGINT + 1]", first.st, first.cmap)
            params = [[[p.st.params[0] for p in group]]]
            _stg = None
        else:
            _stg = _joined([p.st.data for p in group], fids)  # noqa: F841  (DuckDB scans it as "_stg")
            if _stg is None:
                return None
            sql, params = union_insert_sql("__fid", first.st, first.cmap), [first.st.params]
        try:
            self.ctx.con.execute(sql, *params)
        except duckdb.Error as exc:
            # Only the first line: DuckDB's CSV errors quote the offending line next (a CRM row's
            # phone and name), which must not reach a log (H5; _append keeps the same line).
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.info(
                "%d files of %s appended one by one: %s", len(group), first.st.source.name, excerpt(why, 200)
            )
            return None
        return dict(
            self.ctx.con.execute(
                f"SELECT _fid, count(*) FROM {union_table(first.st.source)} "
                f"WHERE _fid BETWEEN {min(fids)} AND {max(fids)} GROUP BY _fid"
            ).fetchall()
        )

    def _append_alone(self, p: _Pending) -> None:
        rf = p.rf
        try:
            rows = self.append_one(self.ctx, rf, p.st, p.cmap)
        except FileRejected as exc:  # only a CSV, before any of its rows was appended
            rf.outcome.status, rf.outcome.reason = "rejected", str(exc)
            rf.tables, rf.extras = {}, []
            log.warning("set aside %s: %s", rf.f.rel_path, rf.outcome.reason)
            return
        rf.tables[p.st.source.raw_table] = [rows, rows, 0]


def _joined(parts: list[object], fids: list[int]) -> object | None:
    """The worker's columns of several files end to end, with each row's file id in ``__fid``;
    None when they do not line up (other columns or types): then they go one by one."""
    import pyarrow as pa

    if all(isinstance(d, pa.Table) for d in parts):
        if any(not d.schema.equals(parts[0].schema) for d in parts):
            return None
        joined = pa.concat_tables(parts)
        sizes = [d.num_rows for d in parts]
        return joined.append_column("__fid", pa.array(np.repeat(np.array(fids, dtype=np.int64), sizes)))
    if not all(isinstance(d, dict) for d in parts):
        return None
    keys = list(parts[0])
    if any(list(d) != keys or any(d[k].dtype != parts[0][k].dtype for k in keys) for d in parts):
        return None
    joined = {k: np.concatenate([d[k] for d in parts]) for k in keys}
    sizes = [len(d["source_row"]) for d in parts]
    joined["__fid"] = np.repeat(np.array(fids, dtype=np.int64), sizes)
    return joined
