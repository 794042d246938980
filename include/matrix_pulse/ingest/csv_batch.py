"""A chunk's CSVs appended to their staging tables several files per statement.

One ``INSERT ... FROM read_csv(<file>)`` per CSV read each file on one thread, and paid the
statement's start per file: the national quarter's 450 CSVs (crm_dcc alone 89 files of ~5 MB)
spent ~60 ms each. DuckDB's multi-file ``read_csv([...])`` reads the files of one list on both
threads; the rows of each file stay together and in file order (the loader's connection keeps
``preserve_insertion_order``), which is what numbering a CSV's rows from the staging table's
rowid needs (``staging_sql.build_normalise_sql``), and ``file_index`` tells the files apart.

What stays per file: the files of one statement share their source and their header (the same
column mapping); a statement that fails (an unreadable file, a cell over the limit) appends
nothing, and the files are appended again one by one, so the file at fault gets exactly the
rejection it got alone. A file's day is told of the file (``DayState.add``) only once its rows
are appended or it is rejected, and the batch is appended before another delivery of a day it
holds is staged: deliveries are replayed in arrival order as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from matrix_pulse.ingest.column_map import ColumnMap
from matrix_pulse.ingest.readers import FileRejected, StagedTable
from matrix_pulse.ingest.replay import IngestContext, RunFile
from matrix_pulse.ingest.staging_sql import union_insert_sql, union_table
from matrix_pulse.ingest.summary import share_seconds

log = logging.getLogger(__name__)

AppendOne = Callable[[IngestContext, RunFile, StagedTable, ColumnMap], int]


@dataclass
class _Pending:
    rf: RunFile
    st: StagedTable
    cmap: ColumnMap

    @property
    def shape(self) -> str:
        """Files with the same shape can share one statement: its SQL but for the file's id."""
        return union_insert_sql("_fid_", self.st, self.cmap)


class CsvBatch:
    """The CSVs staged since the last ``flush``, waiting to be appended together."""

    def __init__(self, ctx: IngestContext, append_one: AppendOne) -> None:
        self.ctx = ctx
        self.append_one = append_one  # the loader's one-file append (the fallback)
        self.pending: list[_Pending] = []

    def add(self, rf: RunFile, st: StagedTable, cmap: ColumnMap) -> None:
        self.pending.append(_Pending(rf, st, cmap))

    def holds_day_of(self, rf: RunFile) -> bool:
        """Whether a delivery of ``rf``'s source-day waits here (append those first)."""
        day = (rf.f.folder, rf.f.data_date)
        return any((p.rf.f.folder, p.rf.f.data_date) == day for p in self.pending)

    def flush(self) -> None:
        """Append every waiting file, then settle each one's day in arrival order."""
        pending, self.pending = self.pending, []
        groups: dict[str, list[_Pending]] = {}
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
            if p.rf.outcome.status != "rejected":
                p.rf.outcome.rows_read = sum(t[0] for t in p.rf.tables.values())
            self.ctx.day(p.rf.f).add(p.rf)

    def _append_together(self, group: list[_Pending]) -> dict[int, int] | None:
        """One statement for the group; rows appended per file id, or None when it failed."""
        first = group[0]
        fids = [p.rf.fid for p in group]
        sql = union_insert_sql(f"{fids}[file_index::BIGINT + 1]", first.st, first.cmap)
        try:
            self.ctx.con.execute(sql, [[p.st.params[0] for p in group]])
        except duckdb.Error as exc:
            log.info(
                "%d CSVs of %s appended one by one: %s", len(group), first.st.source.name, str(exc)[:200]
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
        except FileRejected as exc:  # only this file: nothing of it was appended
            rf.outcome.status, rf.outcome.reason = "rejected", str(exc)
            rf.tables, rf.extras = {}, []
            log.warning("set aside %s: %s", rf.f.rel_path, rf.outcome.reason)
            return
        rf.tables[p.st.source.raw_table] = [rows, rows, 0]
