"""The data-quality rules as data: which GX expectations each raw table gets (``checks_for``),
with a severity each, and the batch those checks run on (``batch_sql``, ``file_batches``,
``batch_frame``). ``quality`` runs them; this module imports no GX, so the rules can be read and
tested cheaply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matrix_pulse.ingest.schema import raw_columns
from matrix_pulse.sources import DCC_STATUS, LEGACY_STATUS, MATRIX_TIERS, REVIEW_STATUS, Source

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

CRITICAL, WARNING = "critical", "warning"
# Times in a file may reach back this far before its data date (old posts, long-open leads).
TIME_WINDOW_DAYS_BEFORE = 400
TIME_WINDOW_DAYS_AFTER = 2
# Columns that tell which file a row came from (also what GX reports unexpected rows by).
FILE_COLUMNS = ("source_file", "file_sha256")
# The row within its file: GX reports it with each unexpected row, so a failure names rows.
ROW_COLUMN = "source_row"
# What the batch query returns in place of the file columns: the file's position in its batch
# (``batch_frame`` turns it back into FILE_COLUMNS, as categoricals, without fetching two strings a row).
FILE_INDEX = "file_index"
# Temp tables of a GX run's connection: the files waiting for checks (``quality.run_quality``
# fills it: file_id, source, file_name, sha256, data_date, first_seen_at) and one batch of them.
PENDING_FILES, BATCH_FILES = "_mp_gx_pending", "_mp_gx_batch"
DAYS_SUFFIX = "__days_from_data_date"


@dataclass(frozen=True)
class Check:
    expectation: str  # GX expectation class name
    column: str | None  # the column the rule is about (gx_results.column_name, quarantine reason)
    severity: str
    kwargs: dict[str, Any]  # GX kwargs, over the columns of the batch frame


def _exploded_column(source: Source) -> str | None:
    """The raw column that tells apart the rows of one exploded list element, if any."""
    name = source.extra.get("explode")
    column = next((c for c in source.columns if name and c.source_name == name), None)
    if column is None:
        return None
    return f"{column.name}_hash" if column.is_hashed else column.name


def checks_for(source: Source) -> list[Check]:
    """The data-quality rules of one raw table (also what Data Docs shows).

    The kwargs address the batch frame of ``batch_sql``, which holds the rows of many files:
    per-file rules are expressed over the file columns or a derived column.
    """
    checks: list[Check] = []
    cols = {c.name: c for c in source.columns}
    for key in source.key:
        checks.append(Check("ExpectColumnValuesToNotBeNull", key, CRITICAL, {"column": key}))
    # Unique within one file: the file columns join the key (a NULL key is the not-null rule's
    # business, as with a single-column uniqueness rule).
    unique, ignore = (
        list(source.key),
        "any_value_is_missing" if len(source.key) == 1 else "all_values_are_missing",
    )
    exploded = _exploded_column(source)
    if exploded:
        # One row per element of a list (WeCom's remark_mobiles): a record with two phones is
        # two rows of the same key, so the element joins it; a junk element (hash NULL) is
        # kept, flagged invalid, and not compared.
        unique, ignore = [*unique, exploded], "any_value_is_missing"
    checks.append(
        Check(
            "ExpectCompoundColumnsToBeUnique",
            ",".join(unique),
            CRITICAL,
            {"column_list": [*FILE_COLUMNS, *unique], "ignore_row_if": ignore},
        )
    )
    for c in source.columns:
        if c.kind in ("count", "count_lb"):
            checks.append(
                Check("ExpectColumnValuesToBeBetween", c.name, CRITICAL, {"column": c.name, "min_value": 0})
            )
        elif c.kind == "rate":
            checks.append(
                Check(
                    "ExpectColumnValuesToBeBetween",
                    c.name,
                    CRITICAL,
                    {"column": c.name, "min_value": 0, "max_value": 1},
                )
            )
        elif c.kind == "duration":
            checks.append(
                Check("ExpectColumnValuesToBeBetween", c.name, WARNING, {"column": c.name, "min_value": 0})
            )
        elif c.kind in ("time", "unix"):
            checks.append(
                Check(
                    "ExpectColumnValuesToBeBetween",
                    c.name,
                    WARNING,
                    {
                        "column": c.name + DAYS_SUFFIX,
                        "min_value": -TIME_WINDOW_DAYS_BEFORE,
                        "max_value": TIME_WINDOW_DAYS_AFTER,
                    },
                )
            )
    if "lead_status" in cols:
        known = list(DCC_STATUS) if source.name == "crm_dcc" else list(LEGACY_STATUS)
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                "lead_status",
                CRITICAL,
                {"column": "lead_status", "value_set": known},
            )
        )
    if "matrix_tier" in cols:
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                "matrix_tier",
                CRITICAL,
                {"column": "matrix_tier", "value_set": list(MATRIX_TIERS)},
            )
        )
    if "review_status" in cols:
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                "review_status",
                WARNING,
                {"column": "review_status", "value_set": list(REVIEW_STATUS)},
            )
        )
    for c in source.columns:
        if c.kind != "phone":
            continue
        # Junk phones are kept (flagged); a file of mostly junk numbers is worth a look.
        valid = f"{c.name}_is_valid"
        checks.append(
            Check(
                "ExpectColumnValuesToBeInSet",
                valid,
                WARNING,
                {"column": valid, "value_set": [True], "mostly": 0.8},
            )
        )
    return checks


def _check_columns(chk: Check) -> list[str]:
    """Batch-frame columns an expectation reads."""
    if "column" in chk.kwargs:
        return [chk.kwargs["column"]]
    return list(chk.kwargs.get("column_list", []))


def _rows_of_files(source: Source, files_table: str) -> str:
    """FROM clause: the rows of ``source``'s raw table that belong to the files in ``files_table``."""
    return (
        f"FROM raw.{source.raw_table} r "
        f"JOIN {files_table} p ON r.source_file = p.file_name AND r.file_sha256 = p.sha256"
    )


def batch_sql(source: Source, files_table: str = BATCH_FILES) -> str:
    """The batch of one raw table: the rows of the files in ``files_table``, only the columns the
    suite reads, with the file's ``FILE_INDEX`` in place of ``FILE_COLUMNS``.

    ``files_table`` is a temp table ``(file_id, source, file_name, sha256, data_date, file_index)``:
    one batch of the run's pending files (``file_batches``), ``file_index`` its position there.
    """
    stored = {n for n, _ in raw_columns(source)}
    select = [f"p.{FILE_INDEX}", f"r.{ROW_COLUMN}"]
    for chk in checks_for(source):
        for col in _check_columns(chk):
            if col in (*FILE_COLUMNS, ROW_COLUMN) or any(s.endswith(f'"{col}"') for s in select):
                continue
            if col.endswith(DAYS_SUFFIX) and col.removesuffix(DAYS_SUFFIX) in stored:
                t = col.removesuffix(DAYS_SUFFIX)
                select.append(
                    f'(epoch(r."{t}") - epoch(CAST(r.data_date AS TIMESTAMP))) / 86400.0 AS "{col}"'
                )
            elif col in stored:
                select.append(f'r."{col}"')
    return (
        f"SELECT {', '.join(select)} {_rows_of_files(source, files_table)} "
        f"ORDER BY p.{FILE_INDEX}, r.{ROW_COLUMN}"
    )


def file_batches(
    con: duckdb.DuckDBPyConnection, source: Source, files: list[tuple[str, str, str]], max_rows: int
) -> list[list[tuple[str, str, str]]]:
    """``files`` ((file_id, file_name, sha256), pending, of ``source``'s folder) in groups of whole
    files holding at most ``max_rows`` rows of its raw table, in order; a larger file is a group
    of its own. Each file's outcome comes from its own rows, so the grouping changes no outcome,
    only how much of a backlog one pandas batch holds (``quality.GX_BATCH_ROWS``)."""
    rows_of = {
        (name, sha): n
        for name, sha, n in con.execute(
            f"SELECT r.source_file, r.file_sha256, count(*) {_rows_of_files(source, PENDING_FILES)} GROUP BY ALL"
        ).fetchall()
    }
    batches: list[list[tuple[str, str, str]]] = []
    rows = 0
    for file_id, name, sha in files:
        n = rows_of.get((name, sha), 0)
        if not batches or rows + n > max_rows:
            batches.append([])
            rows = 0
        batches[-1].append((file_id, name, sha))
        rows += n
    return batches


def batch_frame(
    con: duckdb.DuckDBPyConnection, source: Source, batch: list[tuple[str, str, str]]
) -> pd.DataFrame:
    """The pandas frame GX validates for one batch of ``file_batches`` ((file_id, file_name,
    sha256) of pending files): ``batch_sql``'s rows, FILE_COLUMNS rebuilt from the file index as
    categoricals, integer columns as numpy dtypes. Both are for GX's speed; no value changes."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {BATCH_FILES} AS SELECT p.*, b.{FILE_INDEX} "
        f"FROM {PENDING_FILES} p JOIN (SELECT unnest(?::VARCHAR[]) AS file_id, "
        f"unnest(range(?)) AS {FILE_INDEX}) b USING (file_id)",
        [[file_id for file_id, _, _ in batch], len(batch)],
    )
    df = con.execute(batch_sql(source, BATCH_FILES)).df()
    _file_columns(df, batch)
    _numpy_numbers(df)
    return df


def _file_columns(df: pd.DataFrame, batch: list[tuple[str, str, str]]) -> None:
    """Put FILE_COLUMNS (source_file, file_sha256) back in place of the batch query's
    ``FILE_INDEX``, as categoricals: fetching the two strings for every row cost 4.9 of the
    national quarter's 13.3 s of fetches (2026-12-06), and categoricals keep GX's many row
    selections on the frame cheap. GX reports the same strings in its unexpected index list."""
    import numpy as np
    import pandas as pd

    index = df.pop(FILE_INDEX).to_numpy()
    for pos, (col, values) in enumerate(
        (("source_file", [name for _, name, _ in batch]), ("file_sha256", [sha for _, _, sha in batch]))
    ):
        # a categorical's categories are unique; a file name alone need not be (its checksum tells)
        categories = sorted(set(values))
        code_of = {v: i for i, v in enumerate(categories)}
        codes = np.array([code_of[v] for v in values], dtype=np.int32)
        df.insert(pos, col, pd.Categorical.from_codes(codes[index], categories=categories))


def _numpy_numbers(df: pd.DataFrame) -> None:
    """Integer columns of a batch frame as numpy ``int64``, or ``float64`` where the batch holds a
    NULL. DuckDB hands over integers as pandas' nullable ``Int64`` (or ``int32``), and GX's between
    rule is vectorised only for numpy int64/float64 columns: on any other dtype it calls a Python
    function per value (the national quarter, 2026-12-06: 69 M calls, 81.5 s of checks -> 53.2 s).
    GX leaves null rows out of a column rule either way (NaN is null to pandas), so no outcome
    changes. A sample value could show as 5.0, but no integer column can fail a rule: the ingest
    sets aside a count it cannot read as a non-negative integer."""
    import numpy as np
    import pandas as pd

    for col in df.columns:
        dtype = df[col].dtype
        if pd.api.types.is_integer_dtype(dtype) and dtype != np.int64:
            df[col] = df[col].astype("float64" if df[col].hasnans else "int64")
