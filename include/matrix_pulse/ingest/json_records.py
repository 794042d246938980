"""JSON exports -> staged columns: the document's records as text columns (numbers formatted in SQL).

Runs in the reader worker (ingest/isolation.py), one file at a time. The records of an API
export are nearly always flat dicts with the same keys in the same order: then the columns are
one transposition in C, and only a document holding nested objects or differing keys pays for
flattening record by record. A document several sources read (WeCom's export feeds four raw
tables, two of them from ``contacts``) is turned into columns once per key (``JsonColumns``).
"""

from __future__ import annotations

import codecs
import functools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import msgspec
import numpy as np

from matrix_pulse.ingest.landing_guard import excerpt_list
from matrix_pulse.ingest.readers import FileRejected, StagedTable
from matrix_pulse.sources import Source

# json.dumps(v, ensure_ascii=False) builds a new encoder per call: one, made once, writes the same text.
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode


def _cell_text(value: object) -> str | None:
    """One JSON cell (what ``json.loads`` gives) as the text the SQL normalisation expects."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # An integral float (12.0, as some exports write counts) is written without '.0'.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list):
        return _JSON_TEXT(value)
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
    if types <= {list, _NONE}:  # WeCom's remark_mobiles where it is not exploded: no dispatch per cell
        data[f"c{i}"] = np.array([None if v is None else _JSON_TEXT(v) for v in col], dtype=object)
    else:
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


_DECODE = msgspec.json.Decoder().decode


def decode_json_fast(data: bytes) -> object:
    """The document as ``json.loads`` gives it (dicts in key order, ints of any size, floats
    correctly rounded, a UTF-8 BOM ignored), through msgspec's parser; raises ``ValueError`` for
    what it refuses where ``json.loads`` might not (NaN, 1e400, a lone surrogate), so the caller
    asks ``load_json_document`` then."""
    return _DECODE(data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data)


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


# msgspec runs its C parser straight from parse_json_bounded's frame, json.loads below Python
# frames of its own: under one recursion limit msgspec goes 4 levels deeper (measured on Python
# 3.11.7 with the exact bound, a nesting limit of 64: 68 levels against 64). With its limit 8
# below json.loads' it stops at 60, and json.loads decides at the edge.
_FAST_MARGIN = 8


def _recursion_depth() -> int:
    """The interpreter's recursion depth at the caller as its recursion limit counts it: Python
    frames and the C calls that count too (pytest's stack has more of those than frames), so
    not the frames on the stack. The lowest limit ``sys.setrecursionlimit`` accepts is one
    above it; found by bisection (~10 tries, microseconds)."""
    old = sys.getrecursionlimit()
    low, high = 1, old
    try:
        while low < high:
            mid = (low + high) // 2
            try:
                sys.setrecursionlimit(mid)
                high = mid
            except RecursionError:  # "the limit is too low" at this depth
                low = mid + 1
    finally:
        sys.setrecursionlimit(old)
    return low


@functools.cache
def _json_loads_spare() -> int:
    """Recursion levels json.loads' call chain takes below the caller beyond its one per nesting
    level (2 on Python 3.11), measured once per process on a small probe called as
    parse_json_bounded calls it: with it the nesting limit is exact, N levels accepted and N + 1
    rejected (measured at 64 on the old fixed bound: 61 accepted)."""
    levels = 4
    probe = b"[" * levels + b"]" * levels
    load_json_document(Path("probe.json"), probe)  # a first call imports the decoders: deeper, once
    old = sys.getrecursionlimit()
    try:
        for spare in range(64):
            try:
                sys.setrecursionlimit(_recursion_depth() + levels + spare)
                load_json_document(Path("probe.json"), probe)
                return spare
            except RecursionError:
                continue
    finally:
        sys.setrecursionlimit(old)
    raise RuntimeError("json.loads did not parse a JSON document 4 levels deep")


def parse_json_bounded(data: bytes, name: str, max_nesting: int) -> object:
    """The document, or FileRejected naming `name` when it is invalid or nested deeper than
    `max_nesting` arrays/objects. Both parsers count one level per nested array/object against the
    interpreter's recursion limit, which is set exactly there, so they stop cheaply instead of
    walking the document. msgspec parses first (half json.loads' time on the exports, the same
    objects); a document it refuses (invalid, NaN, a number beyond a double, near the nesting
    limit) goes to json.loads, which accepts or rejects it, in the words of its errors, as before.
    The recursion limit is the whole process's (every thread's): this runs in the single-threaded
    reader worker (isolation.read_file), not beside other threads."""
    spare = _json_loads_spare()
    old = sys.getrecursionlimit()
    bound = _recursion_depth() + max_nesting + spare
    try:
        if max_nesting > _FAST_MARGIN:
            sys.setrecursionlimit(bound - _FAST_MARGIN)
            try:
                return decode_json_fast(data)
            except (ValueError, RecursionError):
                pass
        sys.setrecursionlimit(bound)
        return load_json_document(Path(name), data)
    except RecursionError:
        raise FileRejected(
            f"{name}: JSON nested deeper than {max_nesting} levels (MP_READER_MAX_NESTING)"
        ) from None
    finally:
        sys.setrecursionlimit(old)


@dataclass
class JsonColumns:
    """One key's records (or the top level's) as columns: headers in order of first appearance,
    one column per header (None where a record lacks the key), ``n`` records."""

    headers: list[str]
    columns: list[Sequence[object]]
    n: int

    @classmethod
    def of(cls, records: list) -> JsonColumns:
        # The common case in C: every record a dict with the same keys in the same order and no
        # object among its values (tested per column: a set per record cost ~2 s per national
        # source; tuples of the keys are the one thing built per record).
        if records and set(map(type, records)) == {dict}:
            orders = set(map(tuple, records))
            if len(orders) == 1:
                headers = list(next(iter(orders)))
                columns = list(zip(*map(dict.values, records), strict=True)) if headers else []
                if not any(dict in set(map(type, col)) for col in columns):
                    return cls(headers, columns, len(records))
        flat = [
            r if type(r) is dict and dict not in set(map(type, r.values())) else _flatten(r) for r in records
        ]
        orders = dict.fromkeys(map(tuple, flat))  # each key order once, in order of first appearance
        if len(orders) == 1:
            headers = list(next(iter(orders)))
            columns = list(zip(*map(dict.values, flat), strict=True)) if headers else []
        else:
            # Keys in order of first appearance: the orders' keys in theirs (a record repeating
            # an order seen before brings no new key); a cell per dict.get, without a frame each.
            headers = list(dict.fromkeys(k for order in orders for k in order))
            columns = [list(map(dict.get, flat, repeat(h, len(flat)))) for h in headers]
        return cls(headers, columns, len(flat))


def read_json_records(
    path: Path,
    document: object,
    source: Source,
    table: str,
    seen: dict[str | None, JsonColumns] | None = None,
) -> StagedTable:
    """Stage the records of ``source`` (under its ``json_path``); ``seen`` keeps each key's
    columns for the next source reading the same document."""
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
    seen = {} if seen is None else seen
    if source.json_path not in seen:
        seen[source.json_path] = JsonColumns.of(records)
    t = seen[source.json_path]
    headers, columns = list(t.headers), list(t.columns)
    if not t.n:
        # No records: the contract's columns are present and empty (a missing one cannot be told).
        for c in source.columns:
            if c.source_name not in headers:
                headers.append(c.source_name)
                columns.append([])
    explode = source.extra.get("explode")
    if explode:
        return _exploded(source, table, JsonColumns(headers, columns, t.n), explode)
    data, sql = columns_to_numpy(columns, t.n)
    return StagedTable(source, table, headers, t.n, "arrays", sql, data=data)


def _exploded(source: Source, table: str, t: JsonColumns, key: str) -> StagedTable:
    """One row per element of the list ``key`` of each record (WeCom's remark_mobiles), so each
    element is normalised and hashed like any single value. ``source_row`` stays the
    record's own row, so a row of this table points at its record in the file; the headers
    are the records' (a file whose records lack ``key`` is rejected like a missing column).
    The other columns are repeated per element in C (numpy), not copied record by record."""
    lists = t.columns[t.headers.index(key)] if key in t.headers else [None] * t.n
    counts = np.zeros(t.n, dtype=np.int64)
    items: list[object] = []
    for i, v in enumerate(lists):
        if v is None or v == "":
            continue
        if type(v) is list:
            counts[i] = len(v)
            items.extend(v)
        else:
            counts[i] = 1
            items.append(v)
    columns = [
        items if h == key else np.repeat(np.fromiter(col, dtype=object, count=t.n), counts).tolist()
        for h, col in zip(t.headers, t.columns, strict=True)
    ]
    data, sql = columns_to_numpy(columns, len(items))
    data["source_row"] = np.repeat(np.arange(1, t.n + 1, dtype=np.int64), counts)
    return StagedTable(source, table, t.headers, len(items), "arrays", sql, data=data)
