"""Turn a clean table into the cells a real export would contain, with the mess injected.

Every lossy written form is applied only where it is exact, or the value is first rounded
and the rounded value becomes what a correct parser loads (``loaded``), so the manifest
sums always equal what the ingest must load. Row numbers of set-aside rows are 1-based
data rows under the header, the same numbering as ``source_row`` in the raw tables.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from matrix_pulse.sources import Source

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
EXCEL_EPOCH_OFFSET = 25_569  # days from 1899-12-30 to 1970-01-01
UNIX_SHANGHAI_OFFSET = 8 * 3600
COUNT_KINDS = ("count", "count_lb")
_EPOCH = datetime(1970, 1, 1)


@dataclass
class Col:
    name: str  # header as the export writes it (JSON: key path)
    kind: str
    raw: str | None  # raw table column (None for pii_drop and extra columns)
    values: np.ndarray
    required: bool = True


@dataclass
class CleanTable:
    """True values of one raw table for one file, before any mess."""

    source: Source
    cols: list[Col]
    n: int
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    defects: Counter = field(default_factory=Counter)  # injected while building (counter_decrease)


@dataclass
class Rendered:
    """One raw table as written: physical cells plus what a correct ingest loads."""

    header: list[str]
    cells: list[np.ndarray]  # per physical column, one value per physical row
    rows_read: int
    set_aside: list[dict]
    defects: Counter
    loaded: dict[str, np.ndarray]  # raw count column -> per base row float (nan = NULL)
    missing_column: str | None = None
    extra_columns: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- value forms


def _fmt_wan(values: np.ndarray) -> list[str]:
    return [f"{v / 10_000:.1f}".removesuffix(".0") for v in values]


def iso_times(sec: np.ndarray) -> np.ndarray:
    """Local naive seconds -> '2026-07-01 09:05:00'."""
    text = np.datetime_as_string(sec.astype("datetime64[s]"), unit="s")
    # 'YYYY-MM-DDTHH:MM:SS' in fixed-width UCS-4: overwrite the T in place, several times
    # faster than np.char.replace; any other shape (odd years) takes the general route.
    width = text.dtype.itemsize // 4
    chars = np.ascontiguousarray(text).view(np.uint32).reshape(len(text), width)
    if len(text) == 0 or width < 11 or not (chars[:, 10] == ord("T")).all():
        return np.char.replace(text.astype(str), "T", " ").astype(object)
    chars[:, 10] = ord(" ")
    return chars.view(text.dtype).reshape(len(text)).astype(object)


def _slash_times(sec: np.ndarray) -> list[str]:
    """Local naive seconds -> '2026/7/1 9:05'. Plain datetime arithmetic: the arrays are a few
    picked cells, where pd.to_datetime's fixed cost per call was most of the work."""
    ts = [_EPOCH + timedelta(seconds=s) for s in np.asarray(sec, dtype=np.int64).tolist()]
    return [f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}" for t in ts]


def _where(mask: np.ndarray, test, values: np.ndarray) -> np.ndarray:
    """``mask`` narrowed to the rows whose value passes ``test`` (evaluated on masked rows only)."""
    rows = np.nonzero(mask)[0]
    out = np.zeros(len(mask), bool)
    out[rows[np.array([bool(test(x)) for x in values[rows]], dtype=bool)]] = True
    return out


def render_values(
    col: Col, fmt: str, rng: np.random.Generator, rate: float, defects: Counter
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cells for one column (xlsx: str/int/float/None; csv: str) and loaded numbers for counts."""
    v = col.values
    n = len(v)
    xlsx = fmt == "xlsx"
    kind = col.kind
    u = rng.random(n) if rate > 0 else np.ones(n)
    pick = u < rate
    form = rng.integers(0, 4, n) if rate > 0 else np.zeros(n, dtype=np.int64)

    if kind in COUNT_KINDS:
        loaded = v.astype(float)
        cells = v.astype(object) if xlsx else v.astype(str).astype(object)
        lower = np.zeros(n, bool)
        if kind == "count_lb" and rate > 0:  # Weibo shows every read count above 100k as 10万+
            lower = v > 100_000
            cells[lower] = "10万+"
            loaded[lower] = 100_000
            defects["count_lower_bound"] += int(lower.sum())
        pick &= ~lower
        m = pick & (form == 0)
        cells[m] = np.where(rng.random(int(m.sum())) < 0.5, "-", None if xlsx else "")
        loaded[m] = np.nan
        defects["count_unknown"] += int(m.sum())
        for code, suffix, kind_name in ((1, "万", "count_wan"), (2, "w", "count_w")):
            m = pick & (form == code) & (v >= 10_000)
            rounded = np.round(v[m] / 1000).astype(np.int64) * 1000
            loaded[m] = rounded
            cells[m] = np.array([s + suffix for s in _fmt_wan(rounded)], dtype=object)
            defects[kind_name] += int(m.sum())
        m = pick & (form == 3) & (v >= 1000)
        cells[m] = np.array([f"{x:,}" for x in v[m]], dtype=object)
        defects["count_thousands_sep"] += int(m.sum())
        return cells, loaded

    if kind == "rate":
        cells = v.astype(object) if xlsx else np.array([f"{x:.3f}" for x in v], dtype=object)
        m = pick & (form <= 1)
        cells[m] = np.array([f"{x * 100:.1f}%" for x in v[m]], dtype=object)
        m2 = pick & (form >= 2) & (v > 0.011)  # bare 23.5 is only unambiguous above 1 %
        bare = np.round(v[m2] * 100, 1)
        cells[m2] = bare.astype(object) if xlsx else np.array([f"{x:.1f}" for x in bare], dtype=object)
        defects["rate_forms"] += int(m.sum() + m2.sum())
        return cells, None

    if kind == "duration":
        cells = v.astype(object) if xlsx else v.astype(str).astype(object)
        m = pick & (form <= 1)
        cells[m] = np.array(
            [f"{x // 3600:02d}:{x % 3600 // 60:02d}:{x % 60:02d}" for x in v[m]], dtype=object
        )
        m2 = pick & (form >= 2)
        cells[m2] = np.array([f"{x // 60}分{x % 60}秒" if x >= 60 else f"{x}秒" for x in v[m2]], dtype=object)
        defects["duration_forms"] += int(m.sum() + m2.sum())
        return cells, None

    if kind == "time":
        empty = v < 0
        cells = iso_times(np.where(empty, 0, v))
        cells[empty] = None if xlsx else ""
        pick &= ~empty
        m = pick & (form <= 1)
        cells[m] = np.array(_slash_times(v[m]), dtype=object)
        m2 = pick & (form == 2)
        unix = v[m2] - UNIX_SHANGHAI_OFFSET
        cells[m2] = unix.astype(object) if xlsx else unix.astype(str).astype(object)
        m3 = pick & (form == 3)
        if xlsx:
            cells[m3] = (v[m3] / 86_400 + EXCEL_EPOCH_OFFSET).astype(object)
        else:
            cells[m3] = (v[m3] - UNIX_SHANGHAI_OFFSET).astype(str).astype(object)
        defects["time_forms"] += int(m.sum() + m2.sum() + m3.sum())
        return cells, None

    if kind == "phone":
        cells = v.astype(object).copy()
        valid = np.array([len(p) == 11 and p.isdigit() for p in v]) if n else np.zeros(0, bool)
        defects["phone_junk"] += int((~valid).sum())
        m = pick & valid & (form <= 1)
        cells[m] = np.array([f"+86 {p[:3]} {p[3:7]} {p[7:]}" for p in v[m]], dtype=object)
        m2 = pick & valid & (form >= 2)
        cells[m2] = np.array([f"{p[:3]}-{p[3:7]}-{p[7:]}" for p in v[m2]], dtype=object)
        defects["phone_forms"] += int(m.sum() + m2.sum())
        return cells, None

    if kind in ("money",):
        cells = np.array([int(x) if float(x).is_integer() else float(x) for x in v], dtype=object)
        if not xlsx:
            cells = cells.astype(str).astype(object)
        return cells, None

    # id, code, text, date, pii_drop: strings
    cells = v.astype(object).copy()
    if rate > 0 and kind in ("id", "code", "text"):
        # The per-value tests run only on the few picked rows (~rate of them): over every cell
        # they were a tenth of a demo run.
        if kind in ("id", "code"):
            m = _where(pick & (form <= 1), lambda x: any(ch.isdigit() for ch in str(x)), cells)
            cells[m] = np.array([str(x).translate(FULLWIDTH) for x in cells[m]], dtype=object)
            defects["fullwidth_digits"] += int(m.sum())
            m2 = _where(pick & (form >= 2), bool, cells)
        else:
            m2 = _where(pick, bool, cells)
        cells[m2] = np.array([f"{x}{' ' * (1 + i % 3)}" for i, x in enumerate(cells[m2])], dtype=object)
        defects["trailing_spaces"] += int(m2.sum())
    if xlsx:
        cells[cells == ""] = None
    return cells, None


# ---------------------------------------------------------------------------- tabular files

EXTRA_COLUMNS = {
    "douyin_posts": ("推荐量", "count"),
    "xiaohongshu_notes": ("笔记链接", "text"),
    "kuaishou_posts": ("作品链接", "text"),
    "weibo_posts": ("转评赞合计", "count"),
    "live_sessions": ("直播标题", "text"),
    "crm_dcc": ("LeadScore", "count"),
    "crm_legacy": ("备注", "text"),
}


def render_tabular(
    table: CleanTable,
    fmt: str,
    rng: np.random.Generator,
    rate: float,
    file_kinds: set[str],
    total_row_p: float,
) -> Rendered:
    """Cells, row insertions and column-level defects for one CSV or xlsx file."""
    defects: Counter = Counter(table.defects)
    header: list[str] = []
    cells: list[np.ndarray] = []
    kinds: list[str] = []
    loaded: dict[str, np.ndarray] = {}
    for col in table.cols:
        c, num = render_values(col, fmt, rng, rate, defects)
        header.append(col.name)
        cells.append(c)
        kinds.append(col.kind)
        if num is not None and col.raw:
            loaded[col.raw] = num
    n = table.n
    out = Rendered(header, cells, n, [], defects, loaded)

    if "missing_required_column" in file_kinds:
        required = [i for i, col in enumerate(table.cols) if col.required and i > 0]
        drop = required[int(rng.integers(0, len(required)))]
        out.missing_column = header[drop]
        del header[drop], cells[drop], kinds[drop]
    if "extra_column" in file_kinds:
        name, kind = EXTRA_COLUMNS.get(table.source.name, ("备注", "text"))
        if kind == "count":
            values = rng.integers(0, 5000, n)
            extra = values.astype(object) if fmt == "xlsx" else values.astype(str).astype(object)
        else:
            extra = np.array(
                [f"https://example.cn/item/{i}" if "链接" in name else "" for i in range(n)], dtype=object
            )
        pos = int(rng.integers(1, len(header) + 1))
        header.insert(pos, name)
        cells.insert(pos, extra)
        kinds.insert(pos, "extra")
        out.extra_columns.append(name)
    if "column_reorder" in file_kinds and len(header) > 2:
        perm = rng.permutation(len(header))
        while (perm == np.arange(len(header))).all():
            perm = rng.permutation(len(header))
        header[:] = [header[i] for i in perm]
        cells[:] = [cells[i] for i in perm]
        kinds[:] = [kinds[i] for i in perm]

    # row insertions: exact duplicates, blank rows, a 合计 row at the end
    keys = [np.arange(n, dtype=float)]
    origin = [np.arange(n)]  # >=0 base row, -1 blank, -2 total
    is_dup = [np.zeros(n, bool)]
    if rate > 0 and n:
        dup = np.nonzero(rng.random(n) < rate)[0]
        keys.append(dup + rng.uniform(0.01, 15, len(dup)).clip(max=n - dup - 0.5).clip(min=0.01))
        origin.append(dup)
        is_dup.append(np.ones(len(dup), bool))
        if n >= 2:
            n_blank = int(rng.binomial(n, rate / 2))
            keys.append(rng.uniform(0.5, n - 1.5, n_blank))
            origin.append(np.full(n_blank, -1))
            is_dup.append(np.zeros(n_blank, bool))
    has_total = rate > 0 and n > 0 and rng.random() < total_row_p
    if has_total:
        keys.append(np.array([n + 1.0]))
        origin.append(np.array([-2]))
        is_dup.append(np.zeros(1, bool))
    key = np.concatenate(keys)
    org = np.concatenate(origin)
    dupf = np.concatenate(is_dup)
    order = np.argsort(key, kind="stable")
    org, dupf = org[order], dupf[order]
    n_phys = len(org)
    row_no = np.arange(1, n_phys + 1)
    base_pos = np.zeros(n, dtype=np.int64)
    first_copy = (org >= 0) & ~dupf
    base_pos[org[first_copy]] = row_no[first_copy]

    empty = None if fmt == "xlsx" else ""
    src = np.where(org >= 0, org, 0)
    phys_cells = []
    for c, kind, name in zip(cells, kinds, header, strict=True):
        pc = c[src] if n else np.empty(n_phys, dtype=object)
        pc = pc.astype(object)
        pc[org < 0] = empty
        if has_total:
            total_pos = n_phys - 1
            if kind in COUNT_KINDS:
                raw = next((col.raw for col in table.cols if col.name == name), None)
                s = int(np.nansum(loaded[raw])) if raw in loaded else 0
                pc[total_pos] = s if fmt == "xlsx" else str(s)
        phys_cells.append(pc)
    if has_total:
        phys_cells[0][n_phys - 1] = "合计"
        defects["total_row"] += 1
    out.cells = phys_cells
    out.rows_read = n_phys
    special = np.nonzero((org < 0) | dupf)[0]  # only these rows are set aside: skip the others
    for r, o, d in zip(row_no[special].tolist(), org[special].tolist(), dupf[special].tolist(), strict=True):
        if o == -1:
            out.set_aside.append({"row": int(r), "reason": "blank_row"})
        elif o == -2:
            out.set_aside.append({"row": int(r), "reason": "total_row"})
        elif d:
            out.set_aside.append(
                {"row": int(r), "reason": "exact_duplicate_row", "duplicate_of": int(base_pos[o])}
            )
    defects["blank_row"] += int((org == -1).sum())
    defects["exact_duplicate_row"] += int(dupf.sum())
    return out


def write_csv(path: Path, rendered: Rendered, encoding: str, lineterminator: str = "\n") -> bytes:
    """CSV as the exporting tool writes it; returns the bytes (for checksums and re-encoding).

    The csv module with the dialect pandas' ``to_csv(index=False)`` uses (minimal quoting,
    doubled quotes, missing values as empty fields), fed the same cell objects: the same
    bytes as the DataFrame route, without building a DataFrame per file (that route was
    ~20 % of a demo run).
    """
    if not rendered.cells:
        frame = pd.DataFrame()
        frame.columns = rendered.header
        text = frame.to_csv(index=False, lineterminator=lineterminator)
    else:
        columns = []
        for c in rendered.cells:
            c = np.asarray(c, dtype=object)
            missing = pd.isna(c)  # None / NaN -> '' (pandas' na_rep)
            if missing.any():
                c = c.copy()
                c[missing] = ""
            columns.append(c.tolist())
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=lineterminator)
        writer.writerow(rendered.header)
        writer.writerows(zip(*columns, strict=True))
        text = buffer.getvalue()
    data = text.encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _col_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_cells(values: np.ndarray, letter: str, row_numbers: list[str]) -> list[str]:
    """One column's <c> elements: inline strings, plain numbers; None writes nothing.

    A plain loop with f-strings: measured faster than numpy string ufuncs for this job.
    Columns of one kind (all numbers, or all strings with nothing to escape) take a list
    comprehension without the per-value type tests: ~30 % faster on such columns.
    """
    vals = values.tolist()
    if len(vals) != len(row_numbers):
        raise ValueError(f"{len(vals)} values for {len(row_numbers)} rows")
    types = set(map(type, vals))
    if str not in types and type(None) not in types:
        return [f'<c r="{letter}{r}"><v>{v!r}</v></c>' for v, r in zip(vals, row_numbers, strict=True)]
    if types == {str}:
        joined = "".join(vals)
        if "&" not in joined and "<" not in joined and ">" not in joined:
            return [
                f'<c r="{letter}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                if v == v.strip()
                else f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>'
                for v, r in zip(vals, row_numbers, strict=True)
            ]
    out = []
    append = out.append
    for value, r in zip(vals, row_numbers, strict=True):
        if value is None:
            append("")
        elif type(value) is str:
            if "&" in value or "<" in value or ">" in value:
                value = _escape(value)
            if value != value.strip():
                append(f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>')
            else:
                append(f'<c r="{letter}{r}" t="inlineStr"><is><t>{value}</t></is></c>')
        else:
            append(f'<c r="{letter}{r}"><v>{value!r}</v></c>')
    return out


_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
        'Target="docProps/core.xml"/>'
        "</Relationships>"
    ),
    "docProps/core.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:creator>matrix tool</dc:creator>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2026-01-01T00:00:00Z</dcterms:created>'
        "</cp:coreProperties>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border/></borders>'
        '<cellStyleXfs count="1"><xf/></cellStyleXfs>'
        '<cellXfs count="1"><xf xfId="0"/></cellXfs>'
        "</styleSheet>"
    ),
}


def write_xlsx(path: Path, rendered: Rendered, sheet: str, title: str | None) -> bytes:
    """A minimal single-sheet xlsx (inline strings), written directly.

    xlsxwriter spends about 9 microseconds per cell, which makes a national quarter of
    Douyin and Xiaohongshu files take most of an hour; building the sheet XML column by
    column is an order of magnitude faster. Zip entries carry a fixed timestamp and the
    core properties a fixed creation date, so reruns are byte-identical.
    """
    first = 1 if title is None else 2  # header row number
    n_rows = len(rendered.cells[0]) if rendered.cells else 0
    row_numbers = [str(r) for r in range(first + 1, first + 1 + n_rows)]
    columns = [_xml_cells(c, _col_letter(i), row_numbers) for i, c in enumerate(rendered.cells)]
    head = "".join(
        f'<c r="{_col_letter(i)}{first}" t="inlineStr"><is><t>{_escape(h)}</t></is></c>'
        for i, h in enumerate(rendered.header)
    )
    body = [f'<row r="{first}">{head}</row>']
    if title is not None:
        body.insert(0, f'<row r="1"><c r="A1" t="inlineStr"><is><t>{_escape(title)}</t></is></c></row>')
    for r, cells in zip(row_numbers, zip(*columns, strict=True), strict=True):
        joined = "".join(cells)
        if joined:  # a blank row has no cells and no <row>: readers see an empty row in the gap
            body.append(f'<row r="{r}">{joined}</row>')
    last_col = _col_letter(max(len(rendered.header), 1) - 1)
    sheet_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{last_col}{first + n_rows}"/><sheetData>'
        + "".join(body)
        + "</sheetData></worksheet>"
    )
    workbook_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{_escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    parts = dict(_PARTS)
    parts["xl/workbook.xml"] = workbook_xml
    parts["xl/worksheets/sheet1.xml"] = sheet_xml
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"), compresslevel=1)
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


# ---------------------------------------------------------------------------- JSON files

JSON_EXTRA_KEYS = {
    "bilibili_videos": "is_cooperation",
    "wechat_oa_articles": "item_show_type",
    "wechat_oa_users": "user_source",
    "wechat_channels_posts": "media_type",
    "wechat_channels_lives": "live_status",
}


def render_json(
    table: CleanTable, rng: np.random.Generator, rate: float, file_kinds: set[str], missing_key: bool
) -> tuple[list[dict], Rendered]:
    """API objects for one raw table; mess limited to what an API dump really shows."""
    defects: Counter = Counter(table.defects)
    loaded: dict[str, np.ndarray] = {}
    columns: list[tuple[str, list]] = []
    for col in table.cols:
        v = col.values
        if col.kind in COUNT_KINDS:
            num = v.astype(float)
            values = v.tolist()
            if rate > 0:
                m = np.nonzero(rng.random(len(v)) < rate * 0.5)[0]
                for i in m:
                    values[i] = None
                num[m] = np.nan
                defects["count_unknown"] += len(m)
            loaded[col.raw] = num
        elif col.kind == "text" and rate > 0:
            values = v.tolist()
            for i in np.nonzero(rng.random(len(v)) < rate)[0]:
                values[i] = values[i] + " "
                defects["trailing_spaces"] += 1
        else:
            values = v.tolist()
        columns.append((col.name, values))
    names = [c[0] for c in columns]
    out = Rendered(names, [], table.n, [], defects, loaded)
    if missing_key:
        required = [c.name for c in table.cols if c.required][1:]
        out.missing_column = required[int(rng.integers(0, len(required)))]
    extra_key = JSON_EXTRA_KEYS.get(table.source.name) if "extra_column" in file_kinds else None
    if extra_key and table.n:
        out.extra_columns.append(extra_key)
    objects: list[dict] = []
    rows = zip(*(c[1] for c in columns), strict=True)
    if out.missing_column is None and not any("." in name for name in names):
        for row in rows:  # flat objects, every key: one dict(zip) per row (same keys, same order)
            obj = dict(zip(names, row, strict=True))
            if extra_key:
                obj[extra_key] = 0
            objects.append(obj)
    else:
        split = {name: name.split(".", 1) for name in names if "." in name}
        for row in rows:
            obj = {}
            for name, value in zip(names, row, strict=True):
                if name == out.missing_column:
                    continue
                if name in split:
                    outer, inner = split[name]
                    obj.setdefault(outer, {})[inner] = value
                else:
                    obj[name] = value
            if extra_key:
                obj[extra_key] = 0
            objects.append(obj)
    if rate > 0 and objects:
        dup = np.nonzero(rng.random(len(objects)) < rate)[0]
        pos = {int(i): int(i) + int(rng.integers(1, 10)) for i in dup}
        final: list[dict] = []
        copies: dict[int, list[int]] = {}
        for i in range(len(objects)):
            for j in copies.pop(i, []):
                final.append(objects[j])
            final.append(objects[i])
            if i in pos:
                copies.setdefault(min(pos[i], len(objects)), []).append(i)
        for j in copies.pop(len(objects), []):
            final.append(objects[j])
        first_row = {id(o): k + 1 for k, o in reversed(list(enumerate(final)))}
        seen: set[int] = set()
        for k, obj in enumerate(final, start=1):
            if id(obj) in seen:
                out.set_aside.append(
                    {"row": k, "reason": "exact_duplicate_row", "duplicate_of": first_row[id(obj)]}
                )
                defects["exact_duplicate_row"] += 1
            seen.add(id(obj))
        objects = final
    out.rows_read = len(objects)
    return objects, out


def dumps_json(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
