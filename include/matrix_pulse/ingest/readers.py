"""Readers: one landed file -> DuckDB staging table(s) of all-VARCHAR columns.

Each staging relation has a 1-based data row under the header (the numbering the
simulator's manifest and ``raw.*.source_row`` use) and one VARCHAR column per header cell
(``StagedTable.column(i)`` names it); the header texts come back separately, because real
headers contain spaces, quotes and duplicates that make poor SQL identifiers. An xlsx
sheet is read into Arrow text columns; JSON cells become text column-wise (numpy arrays,
numbers formatted in SQL; json_records.py); DuckDB scans either in place. A CSV is read by
DuckDB itself into the staging table. Nothing is normalised here: that happens in SQL
(normalise.py), over all of a run's files of a source at once (loader.py).

A file that cannot be read at all raises ``FileRejected`` with a reason that names the
file and what was expected and found; the loader sets it aside whole.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from matrix_pulse.ingest.landing_guard import excerpt, excerpt_list
from matrix_pulse.sources import Source

TOTAL_MARKERS = ("合计", "总计", "合 计", "总 计", "Total", "TOTAL")


class FileRejected(Exception):
    """The whole file is set aside; the message is the ledger's reason."""


@dataclass
class StagedTable:
    """One file's rows for one raw table, ready to be appended to the run's staging table.

    ``kind`` 'arrays': the cells are numpy arrays in ``data`` (xlsx, JSON), scanned by DuckDB
    under the name ``relation``; 'csv': ``relation`` is a ``read_csv(...)`` call (with
    ``params``) that DuckDB runs straight into the staging table, rows in file order.
    """

    source: Source  # the raw table this file feeds
    relation: str  # what the INSERT reads FROM
    headers: list[str]  # header text of the file's columns as the file wrote it
    rows_read: int | None  # None for a CSV until it is read
    kind: str = "arrays"
    columns: list[str] | None = None  # SQL for header cell i (default c<i>)
    row_expr: str = "source_row"  # SQL for the 1-based data row (NULL: numbered from rowid later)
    data: object = None  # numpy arrays by column name (JSON) or an Arrow table (xlsx)
    params: list[object] = field(default_factory=list)
    scratch_file: Path | None = None  # a UTF-8 copy of a GB18030 file, deleted by drop()
    where: str | None = None  # a CSV's row check, run by the INSERT that stages it
    explain_failure: Callable[[], None] | None = None  # a CSV: raises the precise FileRejected, if any

    def column(self, i: int) -> str:
        return self.columns[i] if self.columns is not None else f"c{i}"

    def drop(self) -> None:
        """Forget the staged copy (it holds the file as read, PII included)."""
        self.data = None
        self.explain_failure = None
        if self.scratch_file is not None:
            self.scratch_file.unlink(missing_ok=True)


def fold_header(text: str) -> str:
    """Header text as compared with the contract: trimmed, full-width folded, BOM dropped."""
    out = text.replace("\ufeff", "").replace("\u3000", " ").strip()
    return out.translate(str.maketrans("０１２３４５６７８９（）", "0123456789()"))


# --- xlsx -------------------------------------------------------------------------------


def _find_header_row(grid: list[list[object]], source: Source) -> int:
    """0-based index of the header row: the row among the first ten that names most of the
    required columns (a title line above it, as in Douyin's export, is skipped)."""
    wanted = {fold_header(c) for c in source.required_source_columns}
    best, best_hits = source.header_row - 1, 0
    for i, row in enumerate(grid[:10]):
        hits = sum(1 for v in row if isinstance(v, str) and fold_header(v) in wanted)
        if hits > best_hits:
            best, best_hits = i, hits
    return best


def read_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str, read_from: Path | None = None
) -> StagedTable:
    """Read the sheet as Arrow text columns (fastexcel, calamine underneath): no Python object
    per cell, and DuckDB scans the Arrow table directly.

    Every cell comes back as fastexcel writes it as text: a number as its shortest form
    ('12000', '0.235'; at most 9 decimals, finer than any export here carries), a date or
    time cell as 'YYYY-MM-DD HH:MM:SS', a boolean as 'true'/'false'.
    """
    import fastexcel
    import pyarrow as pa

    try:
        reader = fastexcel.read_excel(str(read_from or path))
        names = reader.sheet_names
        if source.sheet and source.sheet not in names:
            raise FileRejected(
                f"{path.name}: sheet '{source.sheet}' not found; the workbook has {excerpt_list(names)}"
            )
        # header_row=None: the sheet's rows as they are (the header is found below, under
        # any title line); one text type for every column, whatever the cells hold.
        grid = reader.load_sheet(source.sheet or 0, header_row=None, dtypes="string").to_arrow()
    except FileRejected:
        raise
    except Exception as exc:  # fastexcel raises its own types for zip/xml damage
        raise FileRejected(
            f"{path.name}: not a readable xlsx workbook ({type(exc).__name__}: {excerpt(str(exc), 200)})"
        ) from exc
    if grid.num_rows == 0 or grid.num_columns == 0:
        raise FileRejected(f"{path.name}: the sheet is empty; expected a header row")
    top = [list(r.values()) for r in grid.slice(0, 10).to_pylist()]
    header_idx = _find_header_row(top, source)
    headers = [str(v or "") for v in top[header_idx]] if header_idx < len(top) else []
    # Trailing empty header cells are the sheet's used range, not columns.
    while headers and headers[-1] == "":
        headers.pop()
    rows = grid.slice(min(header_idx + 1, grid.num_rows))
    n = rows.num_rows
    data = pa.table(
        [pa.array(np.arange(1, n + 1, dtype=np.int64)), *(rows.column(i) for i in range(len(headers)))],
        names=["source_row", *(f"c{i}" for i in range(len(headers)))],
    )
    # An empty text cell is no value, as for every other format.
    sql = [f"nullif(c{i}, '')" for i in range(len(headers))]
    return StagedTable(source, table, headers, n, "arrays", sql, data=data)


# --- csv --------------------------------------------------------------------------------


def _decode_check(path: Path, raw: bytes, encoding: str) -> str:
    """Strictly decode, naming the byte offset of the first bad byte."""
    codec = "utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        found = raw[exc.start : exc.start + 4].hex(" ")
        raise FileRejected(
            f"{path.name}: not valid {encoding.upper()}: undecodable bytes at byte offset {exc.start} "
            f"(found {found})"
        ) from exc
    if codec == "gb18030" and not text.isascii():
        # Most UTF-8 Chinese also "decodes" as GB18030 (as mojibake): a file that is valid
        # UTF-8 with non-ASCII text is a UTF-8 file delivered under the wrong encoding.
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise FileRejected(f"{path.name}: expected GB18030 but the file is UTF-8 encoded")
    return text


def check_csv_cells(name: str, text: str, max_cell_chars: int) -> None:
    """Refuse a CSV with a cell longer than the limit, naming its row and column (issue 14:
    a 100 MB cell would otherwise hit DuckDB's line-size cap with no row, or load whole).
    Only a file longer than the limit can hold such a cell; Python's C csv parser scans it."""
    if len(text) <= max_cell_chars:
        return
    old = csv.field_size_limit()
    csv.field_size_limit(max(len(text), old))
    try:
        rows = csv.reader(io.StringIO(text))
        header = next(rows, [])
        for row_number, row in enumerate(rows, start=1):
            if row and max(map(len, row)) > max_cell_chars:
                j = max(range(len(row)), key=lambda i: len(row[i]))
                column = excerpt(header[j]) if j < len(header) else "(beyond the header)"
                raise FileRejected(
                    f"{name}: row {row_number} (line {rows.line_num}), column {j + 1} {column}: a cell of "
                    f"{len(row[j]):,} characters, above the limit of {max_cell_chars:,} "
                    "(MP_READER_MAX_CELL_CHARS); set aside"
                )
    except csv.Error:
        return  # not our limit: DuckDB's read names what is wrong with the file
    finally:
        csv.field_size_limit(old)


def _cell_limit_sql(n_columns: int, max_cell_chars: int) -> str:
    """A WHERE clause failing the statement when a cell of c0..c<n-1> is longer than the limit.

    strlen (bytes, stored with the value) is tested first: only a cell of more bytes than the
    limit pays for counting its characters. The statement's error only says *that* the limit
    was broken; the loader then asks ``check_csv_cells`` for the row and column."""
    if n_columns == 0:
        return "TRUE"
    over = " OR ".join(
        f"(strlen(c{i}) > {max_cell_chars} AND length(c{i}) > {max_cell_chars})" for i in range(n_columns)
    )
    return f"CASE WHEN {over} THEN error('a cell is longer than MP_READER_MAX_CELL_CHARS') ELSE TRUE END"


def read_csv(
    path: Path,
    source: Source,
    scratch_dir: Path,
    data: bytes | None = None,
    read_from: Path | None = None,
    max_cell_chars: int | None = None,
) -> StagedTable:
    """Check and describe a CSV; DuckDB reads it when the loader appends it (one statement).

    ``data`` are the file's bytes when already read (checksummed); DuckDB reads
    ``read_from`` (the archived copy, byte-identical) when given, else ``path``. The header
    is parsed here, from the strictly decoded text, so no sniffing pass is needed.

    The cell limit (``max_cell_chars``) is checked by DuckDB as it reads (a WHERE clause of
    the staging INSERT, ``_cell_limit_sql``), not by a Python parse of every file (issue 17:
    that parse cost ~8% of the CSV load); when DuckDB fails, ``explain_failure`` parses the
    file in Python to name the row and column of a cell over the limit (a 100 MB cell breaks
    DuckDB's own line-size cap first).
    """
    raw = path.read_bytes() if data is None else data
    encoding = source.encoding or "utf-8"
    text = _decode_check(path, raw, encoding)
    read_path = read_from or path
    scratch_file = None
    if encoding == "gb18030":
        # DuckDB has no GB18030 reader here (extensions cannot be downloaded): hand it UTF-8.
        scratch_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=scratch_dir, suffix=".utf8.csv")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        read_path = scratch_file = Path(name)
    try:
        header = next(csv.reader(io.StringIO(text)))  # parses the first record only
    except (StopIteration, csv.Error) as exc:
        raise FileRejected(f"{path.name}: not a readable CSV (no header row)") from exc
    del text  # the decoded copy is not kept: explain_failure decodes again, on failure only
    names = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    relation = (
        "read_csv(?, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {{{names}}}, auto_detect = false)"
    )
    explain = None
    where = None
    if max_cell_chars is not None:
        where = _cell_limit_sql(len(header), max_cell_chars)

        def explain() -> None:
            check_csv_cells(path.name, _decode_check(path, raw, encoding), max_cell_chars)

    # The rows get their file order from the staging table's rowid (one INSERT per file).
    return StagedTable(
        source, relation, [fold_header(h) for h in header], None, "csv", None, "NULL",
        params=[str(read_path)], scratch_file=scratch_file, where=where, explain_failure=explain,
    )  # fmt: skip
