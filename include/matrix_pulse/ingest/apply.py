"""The apply step: one transaction per landing folder swaps its source-days in raw, quarantine and the ledger."""

from __future__ import annotations

from matrix_pulse.ingest.replay import ACTIVE_STATUSES, IngestContext, RunFile
from matrix_pulse.ingest.schema import LINEAGE_COLUMNS, raw_columns
from matrix_pulse.ingest.staging_sql import norm_table
from matrix_pulse.ingest.warehouse import insert_rows, transaction


def ledger_row(ctx: IngestContext, rf: RunFile) -> list[object]:
    o = rf.outcome
    return [
        rf.file_id, rf.f.folder, rf.f.data_date, rf.f.rel_path, str(rf.archive_path), rf.f.size, rf.sha,
        o.rows_read, o.rows_loaded, o.rows_set_aside, o.status, o.reason, rf.extras, rf.f.landed_at,
        ctx.now, ctx.now if o.status in ("loaded", "replaced") else None, rf.replaced_by, rf.f.mtime,
        None, ctx.run_id,
    ]  # fmt: skip


def apply_folder(ctx: IngestContext, folder: str, files: list[RunFile], staged_sources: set[str]) -> None:
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
    with transaction(con):
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
        insert_rows(con, "meta.load_ledger", [ledger_row(ctx, rf) for rf in files])
        tables = [[rf.file_id, t, *c] for rf in files for t, c in rf.tables.items()]
        if tables:
            insert_rows(con, "meta.load_ledger_tables", tables)
