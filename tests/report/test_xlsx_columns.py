"""The XLSX sheets are written a column at a time (issue 17); every cell must come out as the
cell-by-cell writer (_write_cell, which wrote every sheet before) types it: the same Excel
type, value and number format, blanks for unknown values, source text never a formula or a
hyperlink, dates as Excel dates."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from matrix_pulse.report.model import ROW_KIND, Column, Table, cell_kind

from tests.report.pack_checks import xlsx_cells

N = 6


def _columns() -> tuple[pd.DataFrame, list[Column]]:
    """One column per kind of value a pack's tables hold, with the awkward values in each."""
    data: dict[str, object] = {
        "count_int": pd.Series([1, 22, 333, 4_444, 0, -5], dtype="int64"),
        "count_nullable": pd.Series([1, None, 3, None, 5, 6], dtype="Int64"),
        "int32_int": pd.Series([1, 2, 3, 4, 5, 6], dtype="int32"),
        "pct_float": [0.1, float("nan"), 0.123456789, 1.0, 0.0, -0.02],
        "yuan_nullable": pd.Series([12.5, None, 0.0, 1e7, 3.25, None], dtype="Float64"),
        "hours_seconds": [3600.0, 5400.0, float("nan"), 0.0, 7.0, 86_400.0],
        "minutes": [1.5, 2.0, float("nan"), 1_000.25, 0.0, 3.0],
        "number_all_missing": [float("nan")] * N,
        "text_str": pd.Series(["星驰", "=SUM(A1)", "http://example.com/x", "", None, "123"], dtype="str"),
        "text_object": [
            "a",
            None,
            '=HYPERLINK("http://example.com","点我")',
            "mailto:x@example.com",
            "b",
            "0.5",
        ],
        "text_numbers": pd.Series([101, 202, 303, 404, 505, 606], dtype="int64"),  # codes: text, not numbers
        "text_float": [1.5, float("nan"), 2.0, 3.25, 0.0, 1e6],
        "text_mixed": [1, 2.5, None, "x", True, Decimal("1.10")],
        "text_bool": [True, False, True, True, False, False],
        "count_decimal": [Decimal("1.5"), Decimal("2"), None, Decimal("3.25"), Decimal("0"), Decimal("9")],
        "count_mixed": [1, "n/a", None, 2.5, 3, "="],
        "date_ts": pd.to_datetime(
            ["2026-07-01", None, "2026-09-30", "2026-08-15", "2026-07-02", "2026-07-03"]
        ),
        "date_objects": [
            date(2026, 7, 1),
            None,
            date(2026, 9, 30),
            date(2026, 1, 1),
            date(2025, 12, 31),
            None,
        ],
        "datetime_ts": pd.to_datetime(
            [
                "2026-07-01 10:30",
                "2026-07-01 00:00",
                None,
                "2026-09-30 23:59",
                "2026-08-01 00:01",
                "2026-08-02 12:00",
            ]
        ),  # fmt: skip
        "datetime_tz": pd.to_datetime(
            [
                "2026-07-01 10:30",
                None,
                "2026-09-30 23:59",
                "2026-07-02 00:00",
                "2026-07-03 08:00",
                "2026-07-04 09:00",
            ]
        ).tz_localize("Asia/Shanghai"),  # fmt: skip
        "row_value": [0.25, 1_234.0, 5.5, float("nan"), 7.0, 0.5],
        "kind": ["pct", "count", "minutes", "count", "number", "pct"],
    }
    kinds = {"count_int": "count", "count_nullable": "count", "int32_int": "int", "pct_float": "pct",
             "yuan_nullable": "yuan", "hours_seconds": "hours", "minutes": "minutes",
             "number_all_missing": "number", "text_str": "text", "text_object": "text",
             "text_numbers": "text", "text_float": "text", "text_mixed": "text", "text_bool": "text",
             "count_decimal": "count", "count_mixed": "count", "date_ts": "date", "date_objects": "date",
             "datetime_ts": "datetime", "datetime_tz": "datetime", "row_value": ROW_KIND, "kind": "text"}  # fmt: skip
    try:  # DuckDB can hand over Arrow-backed columns
        data["count_arrow"] = pd.Series([1, None, 3, 4, None, 6], dtype="int64[pyarrow]")
        data["text_arrow"] = pd.Series(["x", None, "=1+1", "", "y", "z"], dtype="string[pyarrow]")
        kinds |= {"count_arrow": "count", "text_arrow": "text"}
    except (ImportError, TypeError):
        pass
    columns = [Column(key, key, kind) for key, kind in kinds.items()]
    columns.append(Column("not_in_the_frame", "absent", "count"))  # a column the query did not return
    return pd.DataFrame(data), columns


def _write_both(path: Path, table: Table) -> None:
    """The table as the pack writes it (sheet "cols"), and the same cells one _write_cell call
    each (sheet "cells")."""
    import xlsxwriter
    from matrix_pulse.report.render import XLSX_OPTIONS, _write_cell, _write_sheet, _xlsx_formats

    wb = xlsxwriter.Workbook(str(path), XLSX_OPTIONS)
    head, _title, note, text, formats = _xlsx_formats(wb)
    _write_sheet(wb, table, head, note, text, formats)
    ws = wb.add_worksheet("cells")
    for i, rec in enumerate(table.df.to_dict("records"), start=1):
        for j, c in enumerate(table.columns):
            _write_cell(ws, i, j, rec.get(c.key), cell_kind(c, rec), text, formats)
    wb.close()


def test_column_writes_give_every_cell_the_type_value_and_format_of_a_cell_by_cell_write(tmp_path) -> None:
    from python_calamine import CalamineWorkbook

    df, columns = _columns()
    table = Table("t", "列写入", df, columns, sheet="cols")
    path = tmp_path / "columns.xlsx"
    _write_both(path, table)

    ours, reference = xlsx_cells(path, "cols"), xlsx_cells(path, "cells")
    data_cells = {k: v for k, v in ours.items() if k[0] >= 1}  # below the header row
    assert data_cells == reference
    book = CalamineWorkbook.from_path(str(path))
    got = book.get_sheet_by_name("cols").to_python()[1:]
    # Trailing blank cells of the reference sheet are not read back: pad to the header's width.
    want = [row + [""] * (len(columns) - len(row)) for row in book.get_sheet_by_name("cells").to_python()]
    assert len(got) == len(want) == N
    for i, (row, ref) in enumerate(zip(got, want, strict=True)):
        for j, (a, b) in enumerate(zip(row, ref, strict=True)):
            assert (type(a), a) == (type(b), b), (i + 1, columns[j].key, a, b)

    # What a reader of the sheet sees, whatever wrote it.
    col = {c.key: j for j, c in enumerate(columns)}
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert not any(b"<f>" in z.read(n) or b"<hyperlink" in z.read(n) for n in sheets)
    assert got[1][col["text_str"]] == "=SUM(A1)" and ours[(2, col["text_str"])]["type"] == "s"
    assert got[2][col["text_str"]] == "http://example.com/x"
    assert got[5][col["text_str"]] == "123" and ours[(6, col["text_str"])]["type"] == "s"
    assert got[0][col["text_numbers"]] == "101"  # a code column stays text
    assert got[0][col["text_bool"]] == "是" and got[1][col["text_bool"]] == "否"
    assert got[1][col["count_nullable"]] == "" and ours[(2, col["count_nullable"])]["type"] == "n"
    assert ours[(2, col["count_nullable"])]["format"] == "General"  # a blank: the text format, no number
    assert got[0][col["hours_seconds"]] == 1.0 and ours[(1, col["hours_seconds"])]["format"] == "#,##0.0"
    assert got[0][col["date_ts"]] == date(2026, 7, 1) and ours[(1, col["date_ts"])]["format"] == "yyyy-mm-dd"
    assert got[0][col["datetime_tz"]] == datetime(2026, 7, 1, 10, 30)
    assert ours[(1, col["datetime_ts"])]["format"] == "yyyy-mm-dd hh:mm"
    assert (
        ours[(1, col["pct_float"])]["format"] == "0.0%" and ours[(1, col["count_int"])]["format"] == "#,##0"
    )
    assert [ours[(i, col["row_value"])]["format"] for i in (1, 2, 3)] == ["0.0%", "#,##0", "0.0"]
    assert all(got[i][col["not_in_the_frame"]] == "" for i in range(N))


@pytest.mark.parametrize("rows", [0, 1])
def test_an_empty_or_one_row_table_writes_its_header_only_or_its_row(tmp_path, rows) -> None:
    from python_calamine import CalamineWorkbook

    df, columns = _columns()
    table = Table("t", "列写入", df.head(rows), columns, sheet="cols")
    path = tmp_path / "small.xlsx"
    _write_both(path, table)
    book = CalamineWorkbook.from_path(str(path))
    got = book.get_sheet_by_name("cols").to_python()
    assert got[0][:2] == ["count_int", "count_nullable"] and got[0][4] == "yuan_nullable（元）"
    assert len(got) == 1 + rows
    want = [row + [""] * (len(columns) - len(row)) for row in book.get_sheet_by_name("cells").to_python()]
    assert got[1:] == (want if rows else [])
