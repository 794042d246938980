"""Readers: one landed file -> DuckDB staging table(s) of all-VARCHAR columns.

Each staging table has ``source_row`` (1-based data row under the header, the numbering
the simulator's manifest and ``raw.*.source_row`` use) and one column ``c<i>`` per header
cell; the header texts come back separately, because real headers contain spaces, quotes
and duplicates that make poor SQL identifiers. Nothing is normalised here: that happens
in SQL (normalise.py), over the whole file at once.

A file that cannot be read at all raises ``FileRejected`` with a reason that names the
file and what was expected and found; the loader sets it aside whole.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from matrix_pulse.sources import Source

TOTAL_MARKERS = ("合计", "总计", "合 计", "总 计", "Total", "TOTAL")


class FileRejected(Exception):
    """The whole file is set aside; the message is the ledger's reason."""


@dataclass
class StagedTable:
    source: Source  # the raw table this staging table feeds
    table: str  # DuckDB temp table: source_row, c0..cN VARCHAR
    headers: list[str]  # header text of c0..cN as the file wrote it
    rows_read: int


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


def _register_rows(
    con: duckdb.DuckDBPyConnection, table: str, headers: list[str], rows: list[list[object]]
) -> None:
    width = len(headers)
    columns: dict[str, list] = {"source_row": list(range(1, len(rows) + 1))}
    for i in range(width):
        columns[f"c{i}"] = [_cell_text(r[i]) if i < len(r) else None for r in rows]
    arrow = pa.table(
        columns,
        schema=pa.schema([("source_row", pa.int64())] + [(f"c{i}", pa.string()) for i in range(width)]),
    )
    con.register(f"{table}_arrow", arrow)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_arrow")
    con.unregister(f"{table}_arrow")


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


def read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str) -> StagedTable:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        if source.sheet and source.sheet in names:
            sheet = workbook.get_sheet_by_name(source.sheet)
        elif source.sheet:
            raise FileRejected(f"{path.name}: sheet '{source.sheet}' not found; the workbook has {names}")
        else:
            sheet = workbook.get_sheet_by_index(0)
        grid = sheet.to_python(skip_empty_area=False)
    except FileRejected:
        raise
    except Exception as exc:  # calamine raises its own types for zip/xml damage
        raise FileRejected(
            f"{path.name}: not a readable xlsx workbook ({type(exc).__name__}: {exc})"
        ) from exc
    if not grid:
        raise FileRejected(f"{path.name}: the sheet is empty; expected a header row")
    header_idx = _find_header_row(grid, source)
    headers = [str(_cell_text(v) or "") for v in grid[header_idx]]
    # Trailing empty header cells are the sheet's used range, not columns.
    while headers and headers[-1] == "":
        headers.pop()
    rows = grid[header_idx + 1 :]
    _register_rows(con, table, headers, rows)
    return StagedTable(source, table, headers, len(rows))


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


def read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, source: Source, table: str, scratch_dir: Path
) -> StagedTable:
    raw = path.read_bytes()
    encoding = source.encoding or "utf-8"
    text = _decode_check(path, raw, encoding)
    read_path = path
    if encoding == "gb18030":
        # DuckDB has no GB18030 reader here (extensions cannot be downloaded): hand it UTF-8.
        scratch_dir.mkdir(parents=True, exist_ok=True)
        read_path = scratch_dir / f"{table}.utf8.csv"
        read_path.write_text(text, encoding="utf-8")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_csv AS SELECT * FROM read_csv(?, header = true, "
            "all_varchar = true, delim = ',', quote = '\"', escape = '\"', normalize_names = false, "
            "sample_size = -1)",
            [str(read_path)],
        )
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileRejected(f"{path.name}: not a readable CSV ({first_line})") from exc
    finally:
        if read_path != path:
            read_path.unlink(missing_ok=True)
    headers = [r[0] for r in con.execute(f"DESCRIBE {table}_csv").fetchall()]
    cols = ", ".join(f'"{h.replace(chr(34), chr(34) * 2)}" AS c{i}' for i, h in enumerate(headers))
    # rowid is the insertion order of the scan, i.e. the file's row order.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT rowid + 1 AS source_row, {cols} FROM {table}_csv"
    )
    con.execute(f"DROP TABLE {table}_csv")
    rows_read = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    # DuckDB drops a BOM and names header-less columns column<N>; keep what the file said.
    return StagedTable(source, table, [fold_header(h) for h in headers], rows_read)


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


def load_json_document(path: Path) -> object:
    raw = path.read_bytes()
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
                f"{path.name}: missing key '{source.json_path}'; the object has keys {sorted(document)[:10]}"
            )
        records = document[source.json_path]
    else:
        records = document
    if not isinstance(records, list):
        where = f"'{source.json_path}'" if source.json_path else "the top level"
        raise FileRejected(f"{path.name}: expected a JSON array at {where}, found {type(records).__name__}")
    flat = [_flatten(r) for r in records]
    headers: list[str] = list(dict.fromkeys(k for r in flat for k in r))
    for c in source.columns:
        # A key no record carries is treated as present-but-empty only when some record
        # is empty ({} rows); otherwise the column check below decides.
        if c.source_name not in headers and not flat:
            headers.append(c.source_name)
    rows = [[r.get(h) for h in headers] for r in flat]
    _register_rows(con, table, headers, rows)
    return StagedTable(source, table, headers, len(rows))
