"""Readers: one landed file -> DuckDB staging table(s) of all-VARCHAR columns.

Each staging relation has a 1-based data row under the header (the numbering the
simulator's manifest and ``raw.*.source_row`` use) and one VARCHAR column per header cell
(``StagedTable.column(i)`` names it); the header texts come back separately, because real
headers contain spaces, quotes and duplicates that make poor SQL identifiers. An xlsx
sheet is read into Arrow text columns; JSON cells become text column-wise (numpy arrays,
numbers formatted in SQL); DuckDB scans either in place. A CSV is read by DuckDB itself
into the staging table. Nothing is
normalised here: that happens in SQL (normalise.py), over all of a run's files of a
source at once (loader.py).

A file that cannot be read at all raises ``FileRejected`` with a reason that names the
file and what was expected and found; the loader sets it aside whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
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


def _cell_text(value: object) -> str | None:
    """One xlsx/JSON cell as the text the SQL normalisation expects."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores every number as a float; an integral one is written without '.0'.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds())
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if text != "" else None


_NONE = type(None)
_INT_SAFE = 10**15  # integers below this survive a trip through float64 and print without exponent


def _number_text_sql(col: str) -> str:
    """SQL writing a DOUBLE cell as ``_cell_text`` writes a Python number ('12000', '0.235')."""
    return (
        f"CASE WHEN {col} = trunc({col}) AND abs({col}) < 1e15 THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) "
        f"ELSE CAST({col} AS VARCHAR) END"
    )


def _split_column(i: int, col: Sequence[object], data: dict[str, np.ndarray]) -> str:
    """One column of Python cells -> numpy array(s) in ``data``; returns the SQL giving its text.

    Vectorised for the shapes real exports have (text, numbers, numbers mixed with text
    such as '1.2万' or '-'): text goes to ``c<i>`` (object array), numbers to ``d<i>``
    (float64, formatted in SQL); only a column with other types goes cell by cell.
    """
    types = set(map(type, col))
    if types <= {str, _NONE}:
        arr = np.array(col, dtype=object)
        if len(arr):
            arr[arr == ""] = None
        data[f"c{i}"] = arr
        return f"c{i}"
    numeric = {float, int} & types
    if numeric and types <= {int, float, _NONE}:
        # Numbers only (None for a missing key): numpy converts in C, None to NaN. An integer
        # at or beyond _INT_SAFE (or too big for a float at all) goes cell by cell below.
        try:
            arr = np.array(col, dtype=np.float64)
        except OverflowError:
            arr = None
        if arr is not None and (
            int not in types
            or (np.nanmax(np.abs(arr)) < _INT_SAFE if float not in types else not _has_big_int(col))
        ):
            data[f"d{i}"] = arr
            return _number_text_sql(f"d{i}")
    if types <= {str, float, int, _NONE} and not (int in types and _has_big_int(col)):
        nan = float("nan")
        data[f"d{i}"] = np.fromiter(
            (v if type(v) in numeric else nan for v in col), dtype=np.float64, count=len(col)
        )
        number = _number_text_sql(f"d{i}")
        if str not in types:
            return number
        data[f"c{i}"] = np.array([v if type(v) is str and v != "" else None for v in col], dtype=object)
        return f"coalesce(c{i}, {number})"
    data[f"c{i}"] = np.array([_cell_text(v) for v in col], dtype=object)
    return f"c{i}"


def _has_big_int(col: Sequence[object]) -> bool:
    return any(abs(v) >= _INT_SAFE for v in col if type(v) is int)


def columns_to_numpy(
    columns: Sequence[Sequence[object]], n_rows: int
) -> tuple[dict[str, np.ndarray], list[str]]:
    """source_row + the cells of each column, ready for DuckDB to scan (no pandas, no pyarrow)."""
    data: dict[str, np.ndarray] = {"source_row": np.arange(1, n_rows + 1, dtype=np.int64)}
    sql = [_split_column(i, col, data) for i, col in enumerate(columns)]
    return data, sql


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


# --- json -------------------------------------------------------------------------------


def _flatten(obj: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(obj, dict):
        return {}
    out: dict[str, object] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def load_json_document(path: Path, data: bytes | None = None) -> object:
    raw = path.read_bytes() if data is None else data
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"{path.name}: not valid UTF-8 JSON: undecodable bytes at byte offset {exc.start}"
        ) from exc
    except json.JSONDecodeError as exc:
        raise FileRejected(
            f"{path.name}: invalid JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}"
        ) from exc


def read_json_records(
    con: duckdb.DuckDBPyConnection, path: Path, document: object, source: Source, table: str
) -> StagedTable:
    if source.json_path:
        if not isinstance(document, dict):
            raise FileRejected(
                f"{path.name}: expected a JSON object with key '{source.json_path}', found {type(document).__name__}"
            )
        if source.json_path not in document:
            raise FileRejected(
                f"{path.name}: missing key '{source.json_path}'; the object has keys {excerpt_list(sorted(document))}"
            )
        records = document[source.json_path]
    else:
        records = document
    if not isinstance(records, list):
        where = f"'{source.json_path}'" if source.json_path else "the top level"
        raise FileRejected(f"{path.name}: expected a JSON array at {where}, found {type(records).__name__}")
    # Most API records are flat already: only those holding an object pay for flattening.
    # (set(map(type, ...)) iterates in C: a generator per record cost seconds per national file.)
    flat = [r if type(r) is dict and dict not in set(map(type, r.values())) else _flatten(r) for r in records]
    # API records nearly always carry the same keys in the same order: then the headers are
    # the first record's keys and the columns a transposition (C speed); otherwise every
    # key in order of first appearance, and a missing key is None.
    orders = set(map(tuple, flat))
    same_keys = len(orders) == 1
    headers: list[str] = (
        list(next(iter(orders))) if same_keys else list(dict.fromkeys(k for r in flat for k in r))
    )
    for c in source.columns:
        # A key no record carries is treated as present-but-empty only when some record
        # is empty ({} rows); otherwise the column check below decides.
        if c.source_name not in headers and not flat:
            headers.append(c.source_name)
    explode = source.extra.get("explode")
    if explode:
        return _exploded(source, table, flat, headers, explode)
    if same_keys and len(headers) == len(next(iter(orders))):
        columns = list(zip(*map(dict.values, flat), strict=True)) if headers else []
    else:
        columns = [[r.get(h) for r in flat] for h in headers]
    data, sql = columns_to_numpy(columns, len(flat))
    return StagedTable(source, table, headers, len(flat), "arrays", sql, data=data)


def _exploded(source: Source, table: str, flat: list[dict], headers: list[str], key: str) -> StagedTable:
    """One row per element of the list ``key`` of each record (WeCom's remark_mobiles), so each
    element is normalised and hashed like any single value. ``source_row`` stays the
    record's own row, so a row of this table points at its record in the file; the headers
    are the records' (a file whose records lack ``key`` is rejected like a missing column)."""
    rows: list[dict] = []
    record_rows: list[int] = []
    for i, r in enumerate(flat, start=1):
        items = r.get(key)
        if items is None or items == "":
            continue
        for item in items if isinstance(items, list) else [items]:
            rows.append({**r, key: item})
            record_rows.append(i)
    data, sql = columns_to_numpy([[r.get(h) for r in rows] for h in headers], len(rows))
    data["source_row"] = np.array(record_rows, dtype=np.int64)
    return StagedTable(source, table, headers, len(rows), "arrays", sql, data=data)
