"""An independent, deliberately simple reader of simulated landing files.

It shares nothing with the simulator's rendering code (only the contract in
``matrix_pulse.sources``), so when its counts agree with the manifest, the manifest
describes what a correct parser sees in the files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import python_calamine
from matrix_pulse.sources import SOURCES, Source, landing_folder

FOLD = str.maketrans("０１２３４５６７８９", "0123456789")


def parse_count(cell: object) -> tuple[int | None, bool]:
    """(value, is_lower_bound) for a count cell in any of the contract's written forms."""
    if cell is None:
        return None, False
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return int(round(cell)), False
    text = str(cell).strip().translate(FOLD)
    if text in ("", "-"):
        return None, False
    if text.endswith("万+"):
        return int(round(float(text[:-2]) * 10_000)), True
    if text.endswith(("万", "w", "W")):
        return int(round(float(text[:-1]) * 10_000)), False
    return int(round(float(text.replace(",", "")))), False


def parse_time(cell: object) -> datetime | None:
    """Local Asia/Shanghai naive datetime from ISO, 2026/7/1 9:05, unix seconds or an Excel serial."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, (int, float)):
        number = float(cell)
    else:
        text = str(cell).strip().translate(FOLD)
        if re.fullmatch(r"\d+(\.\d+)?", text):
            number = float(text)
        elif "/" in text:
            return datetime.strptime(text, "%Y/%m/%d %H:%M")
        else:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    if number > 1e8:  # unix seconds
        return datetime(1970, 1, 1) + timedelta(seconds=int(number) + 8 * 3600)
    return datetime(1899, 12, 30) + timedelta(seconds=round(number * 86_400))


def normalise_phone(cell: object) -> str | None:
    digits = re.sub(r"\D", "", str(cell or "").translate(FOLD))
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else None


@dataclass
class TableRead:
    header: list[str]
    rows: list[list]  # every data row as read (blank and total rows included)
    set_aside: list[tuple[int, str]] = field(default_factory=list)
    loaded: list[dict] = field(default_factory=list)  # header -> cell, for loaded rows
    numbers: list[int] | None = None  # data row of each row when not 1..n (an exploded list)


def _classify(table: TableRead) -> None:
    seen: dict[tuple, int] = {}
    for i, row in enumerate(table.rows):
        number = table.numbers[i] if table.numbers else i + 1
        cells = tuple("" if c is None else str(c) for c in row)
        if all(c.strip() == "" for c in cells):
            table.set_aside.append((number, "blank_row"))
        elif any(c.strip() == "合计" for c in cells):
            table.set_aside.append((number, "total_row"))
        elif seen.get(cells, number) != number:  # rows of one record's list never duplicate it
            table.set_aside.append((number, "exact_duplicate_row"))
        else:
            seen.setdefault(cells, number)
            table.loaded.append(dict(zip(table.header, row, strict=False)))


def _flatten(obj: dict) -> dict:
    flat = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def read_file(path: Path, folder: str) -> dict[str, TableRead]:
    """Raw tables in one landing file; raises on a file a correct ingest must reject as corrupt."""
    sources = [s for s in SOURCES.values() if landing_folder(s) == folder]
    first = sources[0]
    tables: dict[str, TableRead] = {}
    if first.fmt == "csv":
        data = path.read_bytes()
        text = data.decode(first.encoding)  # utf-8-sig strips the BOM
        rows = list(csv.reader(io.StringIO(text, newline="")))
        tables[first.raw_table] = TableRead(rows[0], rows[1:])
    elif first.fmt == "xlsx":
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
        header = [str(c) for c in rows[first.header_row - 1]]
        tables[first.raw_table] = TableRead(header, [list(r) for r in rows[first.header_row :]])
    else:
        payload = json.loads(path.read_bytes().decode("utf-8"))
        for source in sources:
            items = payload if source.json_path is None else payload[source.json_path]
            flat = [_flatten(o) for o in items]
            # an empty array shows no keys: nothing is missing from it
            header = sorted({k for o in flat for k in o}) if flat else [c.source_name for c in source.columns]
            explode = source.extra.get("explode")
            if explode:  # one row per element of the list, numbered by its record
                pairs = [(n, {**o, explode: m}) for n, o in enumerate(flat, 1) for m in o.get(explode) or []]
                rows = [[o.get(h) for h in header] for _, o in pairs]
                tables[source.raw_table] = TableRead(header, rows, numbers=[n for n, _ in pairs])
                continue
            rows = [[o.get(h) for h in header] for o in flat]
            tables[source.raw_table] = TableRead(header, rows)
    for table in tables.values():
        _classify(table)
    return tables


def missing_required(source: Source, table: TableRead) -> list[str]:
    present = {h.strip() for h in table.header}
    return [c for c in source.required_source_columns if c not in present]


def count_sums(source: Source, table: TableRead) -> dict[str, int]:
    sums = {}
    for col in source.columns:
        if col.kind not in ("count", "count_lb"):
            continue
        total = 0
        for row in table.loaded:
            value, _ = parse_count(row.get(col.source_name))
            total += value or 0
        sums[col.name] = total
    return sums
