"""A file's headers matched to the contract's columns by name, and the values a row cannot lack."""

from __future__ import annotations

from dataclasses import dataclass

from matrix_pulse.ingest.landing_guard import excerpt_list
from matrix_pulse.ingest.readers import FileRejected, StagedTable, fold_header
from matrix_pulse.sources import Source


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
            f"found columns {excerpt_list(staged.headers)}"  # unknown content: bounded, escaped (H5)
        )
    used = set(mapped.values())
    unmapped = [i for i in range(len(staged.headers)) if i not in used]
    # Keys another raw table of the same array loads (WeCom's contacts and their mobiles) are
    # known, not new columns: they are not reported as extras.
    known_elsewhere = {fold_header(k) for k in staged.source.extra.get("ignore", ())}
    extras = [staged.headers[i] for i in unmapped if staged.headers[i] and folded[i] not in known_elsewhere]
    return ColumnMap(mapped, extras, unmapped)


def required_value_columns(source: Source) -> list[str]:
    """Raw columns a row cannot be loaded without: the per-file key, plus the account."""
    names = list(source.key)
    if any(c.name == "account_id" for c in source.columns) and "account_id" not in names:
        names.append("account_id")
    return names
